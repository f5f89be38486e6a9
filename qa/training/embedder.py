"""Fits the embedder to questions about passages (`python -m qa train-embedder`).

all-MiniLM-L6-v2 was trained to match sentences with sentences; asked a SQuAD question in open mode it
ranks the answering passage first for 64% of SQuAD v1.1 dev questions, where BM25 manages 78%, and every
answering passage that hybrid retrieval ranks second or lower costs the reader 16-60 F1. DPR (Karpukhin
et al., 2020) showed what fixes this: train the question and passage encoders on (question, answering
passage) pairs, contrasting each with the other passages of the batch and with a hard negative, the
passage retrieval ranks highest that does not hold the answer. Here the passages are exactly the ones
the index holds (the project's chunker, the title prefixed as the index embeds it), and the hard
negative comes from the pipeline's own retriever over the file's open-mode corpus; the loss is
sentence-transformers' MultipleNegativesRankingLoss.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from qa.datasets.squad import SquadExample, holds_answer, squad_article_id
from qa.embedding.embedder import Embedder
from qa.retrieval.open_domain import open_domain
from qa.settings import load_settings
from qa.store.base import embedding_text
from qa.training.data import training_file
from qa.training.loop import Recipe, run_steps, start, write_training_record

log = logging.getLogger(__name__)

# Recipe fields that only the reader's training reads.
READER_ONLY = ("max_length", "stride", "max_question_tokens", "negative_ratio", "other_window_keep")


@dataclass(frozen=True)
class Triplet:
    question: str
    positive: str  # the passage holding the gold answer, as the index embeds it
    negative: str  # the best-ranked passage without a gold answer, as the index embeds it


def triplets(examples: list[SquadExample], settings, embedder, held: set[int] = frozenset(), negatives_from: int = 10) -> list[Triplet]:
    """One triplet per answerable question of one file (one open-mode corpus, as `eval squad --mode open`
    builds it), leaving out the `held` ones (id(), the questions scripts/tune_fusion.py tunes on). Questions
    with no passage free of the answer among the top `negatives_from` keep no triplet: nothing hard to contrast."""
    wanted = [ex for ex in examples if ex.answers and id(ex) not in held]
    index, retriever = open_domain(examples, settings, embedder)
    hit_lists = retriever.run_many([ex.question for ex in wanted], negatives_from)
    out = []
    for ex, hits in zip(wanted, hit_lists):
        positive = _answering_passage(index.article_passages(squad_article_id(ex.paragraph_key)), ex)
        golds = [a.text for a in ex.answers]
        negative = next((h.passage for h in hits if not holds_answer(h.passage.text, golds)), None)
        if positive is None or negative is None:
            continue
        out.append(Triplet(ex.question, *(embedding_text(index.article(p.article_id), p) for p in (positive, negative))))
    return out


def _answering_passage(passages, ex: SquadExample):
    """The passage that holds the first gold answer where the annotator marked it (passages overlap, so
    the first one that covers it whole)."""
    for answer in ex.answers:
        for p in passages:
            if p.start <= answer.start and answer.start + len(answer.text) <= p.end:
                return p
    return None


def distinct_batches(items: list[Triplet], batch_size: int) -> list[list[Triplet]]:
    """Batches in which no passage appears twice: every other passage of the batch is a negative, and a
    paragraph with five questions would otherwise count its own passage as a wrong answer. The last
    questions left tend to share a few paragraphs; batches under half size are dropped, as they contrast
    too little to teach."""
    batches, waiting = [], list(items)
    while waiting:
        batch, seen, later = [], set(), []
        for t in waiting:
            if len(batch) < batch_size and t.positive not in seen and t.negative not in seen:
                batch.append(t)
                seen.update((t.positive, t.negative))
            else:
                later.append(t)
        batches.append(batch)
        waiting = later
    return [b for b in batches if len(b) >= max(1, batch_size // 2)]


def train_embedder(recipe: Recipe, out_dir: Path, hold_out: int = 0, log_every: int = 20) -> Path:
    """Fine-tune `recipe.base` (a sentence-transformers model) on the triplets of `recipe.data`; write it
    to `out_dir` in fp16 with the record of how it was made."""
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    rng = start(recipe)
    # Negatives are mined with the model about to be trained (before any step), with the project's
    # retrieval settings.
    settings = load_settings(embedder=recipe.base)
    embedder = Embedder.from_settings(settings.replace(runtime="torch"))  # trains the PyTorch weights
    items: list[Triplet] = []
    for path in recipe.data:  # one corpus per file, as open-mode evaluation builds it
        examples, held = training_file(path, recipe.mix, rng, hold_out)
        found = triplets(examples, settings, embedder, held)
        log.info("%s: %d triplets", Path(path).name, len(found))
        items += found
    rng.shuffle(items)
    batches = distinct_batches(items, recipe.batch_size)
    if not batches:
        raise ValueError(
            f"{len(items)} usable questions make no batch of {recipe.batch_size // 2} or more without a repeated passage: "
            "give more paragraphs or a smaller --batch-size"
        )
    total = recipe.max_steps or max(1, int(len(batches) * recipe.epochs))
    model = embedder.network.model
    loss_fn = MultipleNegativesRankingLoss(model)

    def step_loss(step: int) -> float:
        batch = batches[(step - 1) % len(batches)]
        features = [model.preprocess([getattr(t, part) for t in batch]) for part in ("question", "positive", "negative")]
        loss = loss_fn(features, None)
        loss.backward()
        return loss.item()

    losses = run_steps(model, recipe, total, step_loss, log_every)
    step = total
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.half()  # what ships in git: fp16, no optimizer state
    model.save(str(out_dir), create_model_card=False)
    info = {"stage": "embedder: questions vs answering passages, in-batch and hard negatives", "hold_out": hold_out,
            "triplets": len(items), "batches": len(batches), "step": step, "total_steps": total,
            "minutes": round(losses.seconds() / 60, 1), "history": losses.history}
    write_training_record(out_dir, recipe, info, unused=READER_ONLY)
    return out_dir
