"""Teaches the reader to compare passages: shared normalisation over what retrieval hands it
(`python -m qa train-reader-passages`).

A reader trained on one paragraph at a time scores each window on its own scale, so in open mode a
confident-looking span in a wrong passage can outscore the right one (SQuAD v1.1 dev: F1 74.5 when the
answering passage is retrieved first, 53 when second). Clark & Gardner (2018, "Simple and Effective
Multi-Paragraph Reading Comprehension") fix this by normalising the start and end scores over every
window of the question at once during training, so the raw span scores compare across windows; the
windows here are exactly the ones the pipeline reads (retrieved passages with their neighbours). Each
window also keeps its own loss, gold span or [CLS], so the per-window probability that abstention is
calibrated on stays meaningful.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from qa.reading.reader import clip_question
from qa.reading.windows import reading_windows
from qa.retrieval.open_domain import open_domain
from qa.settings import load_settings
from qa.training.data import training_file
from qa.training.labels import answer_tokens
from qa.training.loop import Recipe, Resume, autocast, run_steps, start
from qa.training.reader import qa_model, save_reader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Group:
    """One training question with the texts the pipeline would read for it."""

    question: str
    windows: list[str]
    answers: list[str]  # gold answer texts; every occurrence in a window counts as gold


def retrieved_groups(examples, settings, top_k: int, neighbours: int, show_progress: bool = False) -> list[tuple[Group, object]]:
    """(group, its example) per answerable question: the reading windows of its own file's open-mode corpus (as `eval squad
    --mode open` builds it). Questions whose windows hold no gold answer are dropped: nothing to point at."""
    from qa.embedding.embedder import Embedder

    store, retriever = open_domain(examples, settings, Embedder.from_settings(settings), show_progress)
    answerable = [ex for ex in examples if ex.answers]
    hit_lists = retriever.run_many([ex.question for ex in answerable], top_k)
    groups = []
    for ex, hits in zip(answerable, hit_lists):
        texts = [w.passage.text for w in reading_windows(hits, store.article_passages, neighbours)]
        golds = sorted({a.text for a in ex.answers if a.text.strip()})
        if any(g in t for g in golds for t in texts):
            groups.append((Group(ex.question, texts, golds), ex))
    return groups


def group_features(tokenizer, group: Group, recipe: Recipe) -> dict[str, torch.Tensor]:
    """Tokenised windows of one question, padded into one batch, with
    `start_positions`/`end_positions`: each window's first gold span, or [CLS] (per-window loss);
    `gold_starts`/`gold_ends`: every token that starts / ends a gold answer in any window (shared loss);
    `context`: which tokens are passage text."""
    question = clip_question(tokenizer, group.question, recipe.max_question_tokens)
    enc = tokenizer(
        [question] * len(group.windows),
        group.windows,
        truncation="only_second",
        max_length=recipe.max_length,
        stride=recipe.stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="longest",
        return_tensors="pt",
    )
    n, length = enc["input_ids"].shape
    context = torch.zeros(n, length, dtype=torch.bool)
    gold_starts = torch.zeros(n, length, dtype=torch.bool)
    gold_ends = torch.zeros(n, length, dtype=torch.bool)
    starts, ends = torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)
    for w in range(n):
        text = group.windows[int(enc["overflow_to_sample_mapping"][w])]
        offsets = enc["offset_mapping"][w].tolist()
        tokens = [i for i, s in enumerate(enc.sequence_ids(w)) if s == 1]
        context[w, tokens] = True
        for a, z in _occurrences(text, group.answers):
            found = answer_tokens(offsets, tokens, a, z)
            if found:
                s, e = found
                gold_starts[w, s] = gold_ends[w, e] = True
                if starts[w] == 0:
                    starts[w], ends[w] = s, e
    features = {k: enc[k] for k in ("input_ids", "token_type_ids", "attention_mask") if k in enc}
    return {**features, "start_positions": starts, "end_positions": ends,
            "gold_starts": gold_starts, "gold_ends": gold_ends, "context": context}


def _occurrences(text: str, answers: list[str]) -> list[tuple[int, int]]:
    found = []
    for answer in answers:
        at = text.find(answer)
        while at >= 0:
            found.append((at, at + len(answer)))
            at = text.find(answer, at + 1)
    return found


def shared_loss(logits: torch.Tensor, gold: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """-log P(gold) with P a softmax over the passage tokens of every window of the question together."""
    everything = torch.logsumexp(logits.masked_fill(~context, float("-inf")).flatten(), 0)
    return everything - torch.logsumexp(logits.masked_fill(~gold, float("-inf")).flatten(), 0)


def train_reader_on_passages(
    recipe: Recipe, out_dir: Path, init: str, top_k: int, neighbours: int, hold_out: int = 0, log_every: int = 20,
    resume: Resume | None = None,
) -> Path:
    """Continue training `init` with shared normalisation on retrieved windows; write it to `out_dir`.
    One optimizer step per `recipe.batch_size` questions. The `hold_out` questions of each file that
    scripts/tune_fusion.py tunes on are left out of training (they stay in the retrieval corpus)."""
    rng = start(recipe)
    tokenizer, model, device = qa_model(init)
    settings = load_settings(read_neighbours=neighbours, top_k=top_k)
    groups = []
    for path in recipe.data:  # one corpus per file, as open-mode evaluation builds it
        examples, held = training_file(path, recipe.mix, rng, hold_out)
        groups += [g for g, ex in retrieved_groups(examples, settings, top_k, neighbours) if id(ex) not in held]
        log.info("%s: %d questions with a gold answer in their windows", Path(path).name, len(groups))
    if not groups:
        raise ValueError(f"no question in {', '.join(recipe.data)} has a gold answer in its retrieved windows: nothing to train on")
    rng.shuffle(groups)
    total = recipe.max_steps or max(1, int(len(groups) * recipe.epochs / recipe.batch_size))

    def step_loss(step: int) -> float:
        batch = [groups[((step - 1) * recipe.batch_size + i) % len(groups)] for i in range(recipe.batch_size)]
        total_loss = 0.0
        for group in batch:
            f = {k: v.to(device) for k, v in group_features(tokenizer, group, recipe).items()}
            with autocast(recipe, device):
                out = model(**{k: f[k] for k in ("input_ids", "token_type_ids", "attention_mask", "start_positions", "end_positions") if k in f})
            shared = shared_loss(out.start_logits.float(), f["gold_starts"], f["context"]) + shared_loss(
                out.end_logits.float(), f["gold_ends"], f["context"]
            )
            loss = (shared / 2 + out.loss) / len(batch)
            loss.backward()
            total_loss += loss.item()
        return total_loss

    losses = run_steps(model, recipe, total, step_loss, log_every, resume=resume)
    step = total
    model.config.shared_normalisation = True  # the reader compares spans across windows by raw score
    info = {"stage": "shared normalisation on retrieved windows", "init": init, "top_k": top_k,
            "neighbours": neighbours, "hold_out": hold_out, "questions": len(groups), "step": step, "total_steps": total,
            "minutes": round(losses.seconds() / 60, 1), "history": losses.history}
    # Stage 2 makes no unanswerable pairs: it reads what retrieval returns.
    save_reader(model, tokenizer, out_dir, recipe, info, unused=("negative_ratio", "other_window_keep"))
    return out_dir
