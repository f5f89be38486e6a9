"""Stage 1: fine-tunes an encoder into the extractive reader on SQuAD-format files (`python -m qa train-reader`).

The training files hold no unanswerable questions, so negatives are made: a question paired with another
paragraph of its article (or of its file when the article has one paragraph) and labelled [CLS]. That is the
skill the chat needs when retrieval hands the reader a passage without the answer.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from qa.datasets.squad import SquadExample
from qa.reading.reader import clip_question
from qa.training.data import load_training_examples
from qa.training.labels import answer_tokens
from qa.training.loop import Recipe, Resume, autocast, run_steps, start, training_device, write_training_record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainPair:
    question: str
    context: str
    answer_start: int | None  # None: the context does not answer the question
    answer_text: str = ""


def training_pairs(examples: list[SquadExample], negative_ratio: float, rng: random.Random) -> list[TrainPair]:
    """Answerable pairs (first gold answer as the label) plus made-up unanswerable ones."""
    pairs: list[TrainPair] = []
    by_title: dict[str, list[str]] = {}
    contexts: dict[int, str] = {}
    for ex in examples:
        if ex.paragraph_key not in contexts:
            contexts[ex.paragraph_key] = ex.context
            by_title.setdefault(ex.title, []).append(ex.context)
    all_contexts = list(contexts.values())
    for ex in examples:
        if not ex.answers:
            continue
        gold = ex.answers[0]
        start = gold.start
        if ex.context[start : start + len(gold.text)] != gold.text:
            start = ex.context.find(gold.text)
            if start < 0:
                continue
        pairs.append(TrainPair(ex.question, ex.context, start, gold.text))
        if rng.random() < negative_ratio:
            pool = by_title.get(ex.title, [])
            if len(pool) < 2:
                pool = all_contexts
            other = rng.choice(pool)
            if other != ex.context and not any(a.text in other for a in ex.answers):
                pairs.append(TrainPair(ex.question, other, None))
    return pairs


def make_features(tokenizer, pairs: list[TrainPair], recipe: Recipe, rng: random.Random) -> list[dict]:
    """Tokenised windows with start/end token labels; a window without the answer points at [CLS]."""
    features: list[dict] = []
    for b in range(0, len(pairs), 1000):
        chunk = pairs[b : b + 1000]
        questions = [clip_question(tokenizer, p.question, recipe.max_question_tokens) for p in chunk]
        enc = tokenizer(
            questions,
            [p.context for p in chunk],
            truncation="only_second",
            max_length=recipe.max_length,
            stride=recipe.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        negative_kept: set[int] = set()
        for w, pi in enumerate(enc["overflow_to_sample_mapping"]):
            pair = chunk[pi]
            seq = enc.sequence_ids(w)
            offsets = enc["offset_mapping"][w]
            start_tok = end_tok = 0
            if pair.answer_start is not None:
                ctx = [i for i, s in enumerate(seq) if s == 1]
                found = answer_tokens(offsets, ctx, pair.answer_start, pair.answer_start + len(pair.answer_text))
                if found:
                    start_tok, end_tok = found
            if start_tok == 0:
                if pair.answer_start is None:
                    # One window per made-up negative is enough, and keeps long contexts cheap.
                    if pi in negative_kept:
                        continue
                    negative_kept.add(pi)
                elif rng.random() >= recipe.other_window_keep:
                    continue
            feat = {k: enc[k][w] for k in ("input_ids", "token_type_ids", "attention_mask") if k in enc}
            feat["start_positions"] = start_tok
            feat["end_positions"] = end_tok
            features.append(feat)
    return features


def length_grouped_batches(features: list[dict], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: padding is wasted compute on a CPU."""
    order = list(range(len(features)))
    rng.shuffle(order)
    batches = []
    pool = batch_size * 50
    for b in range(0, len(order), pool):
        group = sorted(order[b : b + pool], key=lambda i: len(features[i]["input_ids"]))
        batches += [group[i : i + batch_size] for i in range(0, len(group), batch_size)]
    rng.shuffle(batches)
    return batches


def train_reader(recipe: Recipe, out_dir: Path, init: str | None = None, save_every: int = 500, log_every: int = 20,
                 hold_out: int = 0, resume: Resume | None = None) -> Path:
    """Train and write the reader to `out_dir` (fp16 safetensors, tokenizer, config, training.json).
    Every `save_every` steps the weights so far are written there too, to evaluate a long run midway."""
    rng = start(recipe)
    start_from = init or recipe.base
    tokenizer, model, device = qa_model(start_from)
    examples = load_training_examples(recipe, rng, hold_out)
    pairs = training_pairs(examples, recipe.negative_ratio, rng)
    features = make_features(tokenizer, pairs, recipe, rng)
    n_neg = sum(1 for f in features if f["start_positions"] == 0)
    log.info("%d questions -> %d pairs -> %d windows (%d no-answer)", len(examples), len(pairs), len(features), n_neg)

    total = recipe.max_steps or max(1, int(math.ceil(len(features) / recipe.batch_size) * recipe.epochs))
    batch_at = epoch_batches(features, recipe.batch_size, recipe.seed)

    def step_loss(step: int) -> float:
        batch = tokenizer.pad([features[i] for i in batch_at(step)], return_tensors="pt").to(device)
        with autocast(recipe, device):
            loss = model(**batch).loss
        loss.backward()
        return loss.item()

    def checkpoint(step: int, losses) -> None:
        if step % save_every == 0 and step < total:
            save_reader(model, tokenizer, out_dir, recipe, {"step": step, "total_steps": total, "history": losses.history})

    losses = run_steps(model, recipe, total, step_loss, log_every, checkpoint, resume)
    info = {
        "step": total,
        "total_steps": total,
        "examples_per_epoch": len(features),
        "questions": len(examples),
        "windows_no_answer": n_neg,
        "hold_out": hold_out,
        "minutes": round(losses.seconds() / 60, 1),
        "windows_per_second": round(total * recipe.batch_size / losses.seconds(), 2),
        "history": losses.history,
        "init": start_from,
    }
    save_reader(model, tokenizer, out_dir, recipe, info)
    return out_dir


def epoch_batches(features: list[dict], batch_size: int, seed: int):
    """step -> the indices of its batch, reshuffled every epoch. A function of the step alone, so a
    resumed run reads exactly the batches the uncut run would have read."""
    per_epoch = max(1, math.ceil(len(features) / batch_size))
    shuffled: dict[int, list[list[int]]] = {}

    def batch_at(step: int) -> list[int]:
        epoch, i = divmod(step - 1, per_epoch)
        if epoch not in shuffled:
            shuffled.clear()
            shuffled[epoch] = length_grouped_batches(features, batch_size, random.Random(seed * 1000 + epoch))
        return shuffled[epoch][i]

    return batch_at


def qa_model(name: str):
    """(tokenizer, question-answering model in fp32 on the training device, that device) for `name`, a
    reader checkpoint or an encoder that gets a fresh span head."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    device = training_device()
    model = AutoModelForQuestionAnswering.from_pretrained(name, dtype=torch.float32).to(device)
    return AutoTokenizer.from_pretrained(name), model, device


def save_reader(model, tokenizer, out_dir: Path, recipe: Recipe, info: dict, unused: tuple[str, ...] = ()) -> None:
    """fp16 weights, no optimizer state: this is what ships in git."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items()}
    model.save_pretrained(out_dir, state_dict=state, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    write_training_record(out_dir, recipe, info, unused)


