"""Fine-tunes an encoder into the extractive reader on SQuAD-format files (`python -m qa train-reader`).

The training files hold no unanswerable questions, so negatives are made: a question paired with another
paragraph of its article (or of its file when the article has one paragraph) and labelled [CLS]. That is the
skill the chat needs when retrieval hands the reader a passage without the answer.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from qa.squad import SquadExample, load_squad

log = logging.getLogger(__name__)

# Read ../shared/README.md: no training file overlaps SQuAD v1.1 dev; neither SQuAD dev file is ever used.
FORBIDDEN = ("dev-v1.1", "dev-v2.0")


@dataclass
class Recipe:
    base: str
    data: list[str]
    mix: dict[str, float] = field(default_factory=dict)  # file stem -> share of its questions used; default all
    max_length: int = 256
    stride: int = 96
    max_question_tokens: int = 64
    negative_ratio: float = 0.2  # made-up unanswerable pairs per answerable question
    other_window_keep: float = 0.1  # windows of a long context that miss the answer, kept as no-answer
    learning_rate: float = 1e-4
    warmup: float = 0.1
    weight_decay: float = 0.01
    batch_size: int = 32
    epochs: float = 1.0
    max_steps: int = 0  # 0: derived from epochs
    seed: int = 13
    threads: int = 0  # 0: torch's default


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


def load_training_examples(recipe: Recipe, rng: random.Random) -> list[SquadExample]:
    examples: list[SquadExample] = []
    for path in recipe.data:
        name = Path(path).name
        if any(bad in name for bad in FORBIDDEN):
            raise ValueError(f"{name} is a SQuAD dev file: it is for evaluation and calibration only")
        loaded = load_squad(path)
        share = recipe.mix.get(Path(path).stem, 1.0)
        if share < 1.0:
            keep = set(rng.sample(range(len(loaded)), int(len(loaded) * share)))
            loaded = [ex for i, ex in enumerate(loaded) if i in keep]
        # Paragraph keys restart in every file; offset them so they stay unique.
        shift = max((ex.paragraph_key for ex in examples), default=-1) + 1
        examples += [replace(ex, paragraph_key=ex.paragraph_key + shift) for ex in loaded]
        answered = sum(1 for ex in loaded if ex.answers)
        log.info("%s: %d questions, %d with an answer text", name, len(loaded), answered)
        if not answered:  # TyDi's dev copy carries empty answer texts only: nothing here can be a label
            log.warning("%s: no question has an answer text; none is trained on", name)
    return examples


def make_features(tokenizer, pairs: list[TrainPair], recipe: Recipe, rng: random.Random) -> list[dict]:
    """Tokenised windows with start/end token labels; a window without the answer points at [CLS]."""
    features: list[dict] = []
    for b in range(0, len(pairs), 1000):
        chunk = pairs[b : b + 1000]
        questions = [_clip(tokenizer, p.question, recipe.max_question_tokens) for p in chunk]
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
                a, z = pair.answer_start, pair.answer_start + len(pair.answer_text)
                ctx = [i for i, s in enumerate(seq) if s == 1]
                if offsets[ctx[0]][0] <= a and offsets[ctx[-1]][1] >= z:
                    start_tok = next(i for i in ctx if offsets[i][1] > a)
                    end_tok = next(i for i in reversed(ctx) if offsets[i][0] < z)
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


def _clip(tokenizer, question: str, max_tokens: int) -> str:
    enc = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    if len(enc["input_ids"]) > max_tokens:
        return question[: enc["offset_mapping"][max_tokens - 1][1]]
    return question


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


def train_reader(recipe: Recipe, out_dir: Path, init: str | None = None, save_every: int = 500, log_every: int = 20) -> Path:
    """Train and write the reader to `out_dir` (fp16 safetensors, tokenizer, config, recipe.json)."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    rng = random.Random(recipe.seed)
    torch.manual_seed(recipe.seed)
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    start_from = init or recipe.base
    tokenizer = AutoTokenizer.from_pretrained(start_from)
    device = training_device()
    model = AutoModelForQuestionAnswering.from_pretrained(start_from, dtype=torch.float32).to(device)
    examples = load_training_examples(recipe, rng)
    pairs = training_pairs(examples, recipe.negative_ratio, rng)
    features = make_features(tokenizer, pairs, recipe, rng)
    n_neg = sum(1 for f in features if f["start_positions"] == 0)
    log.info("%d questions -> %d pairs -> %d windows (%d no-answer)", len(examples), len(pairs), len(features), n_neg)

    steps_per_epoch = math.ceil(len(features) / recipe.batch_size)
    total = recipe.max_steps or max(1, int(steps_per_epoch * recipe.epochs))
    optimizer, scheduler = optimizer_and_schedule(model, recipe, total)
    model.train()
    step, seen_tokens, losses = 0, 0, LossLog(total, log_every)
    while step < total:
        for batch_idx in length_grouped_batches(features, recipe.batch_size, rng):
            batch = tokenizer.pad([features[i] for i in batch_idx], return_tensors="pt").to(device)
            loss = model(**batch).loss
            loss.backward()
            optimizer_step(model, optimizer, scheduler)
            step += 1
            seen_tokens += int(batch["attention_mask"].sum())
            losses.add(step, loss.item(), f"{seen_tokens / max(losses.seconds(), 1e-9):.0f} tok/s")
            if step % save_every == 0 and step < total:
                save_reader(model, tokenizer, out_dir, recipe, {"step": step, "total_steps": total, "history": losses.history})
            if step >= total:
                break
    info = {
        "step": step,
        "total_steps": total,
        "examples_per_epoch": len(features),
        "questions": len(examples),
        "windows_no_answer": n_neg,
        "minutes": round(losses.seconds() / 60, 1),
        "history": losses.history,
        "init": start_from,
    }
    save_reader(model, tokenizer, out_dir, recipe, info)
    return out_dir


def training_device() -> torch.device:
    """A CUDA GPU when the machine has one (a lent GPU machine trains in minutes what takes these CPUs
    hours), else the CPU. Weights are saved from the CPU either way."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def optimizer_step(model, optimizer, scheduler) -> None:
    """Clip the gradient norm to 1, step, advance the schedule, clear the gradients."""
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


@dataclass
class LossLog:
    """The mean loss of every `every` steps with the minutes since the start: the log line, and the
    history training.json keeps."""

    total: int
    every: int
    started: float = field(default_factory=time.time)
    history: list[dict] = field(default_factory=list)
    running: list[float] = field(default_factory=list)

    def seconds(self) -> float:
        return time.time() - self.started

    def add(self, step: int, loss: float, note: str = "") -> None:
        self.running.append(loss)
        if step % self.every == 0 or step == self.total:
            mean, minutes = sum(self.running) / len(self.running), self.seconds() / 60
            self.history.append({"step": step, "loss": round(mean, 4), "minutes": round(minutes, 1)})
            log.info("step %d/%d loss %.3f  %.1f min  %s", step, self.total, mean, minutes, note)
            self.running = []


def optimizer_and_schedule(model, recipe: Recipe, total_steps: int):
    """AdamW without weight decay on biases and LayerNorm; linear warm-up, then linear decay to 0."""
    from transformers import get_linear_schedule_with_warmup

    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)], "weight_decay": recipe.weight_decay},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=recipe.learning_rate)
    return optimizer, get_linear_schedule_with_warmup(optimizer, int(total_steps * recipe.warmup), total_steps)


def save_reader(model, tokenizer, out_dir: Path, recipe: Recipe, info: dict, unused: tuple[str, ...] = ()) -> None:
    """fp16 weights, no optimizer state: this is what ships in git."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items()}
    model.save_pretrained(out_dir, state_dict=state, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    write_training_record(out_dir, recipe, info, unused)


def write_training_record(out_dir: Path, recipe: Recipe, info: dict, unused: tuple[str, ...] = ()) -> None:
    """training.json beside the weights: the recipe and how the run went. `unused`: recipe fields the
    stage ignores, left out so the file reads as what was done."""
    recorded = {k: v for k, v in asdict(recipe).items() if k not in unused}
    (out_dir / "training.json").write_text(json.dumps({"recipe": recorded, **info}, indent=2))
