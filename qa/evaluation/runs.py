"""Offline evaluation: SQuAD-format files (reader or open mode) and the user's own JSONL questions.

Scores follow the official SQuAD scripts (qa.datasets.squad); every run writes its files through qa.reports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from qa.answering.conversation import Turn
from qa.answering.pipeline import Pipeline
from qa.datasets.squad import DataFormatError, SquadExample, gold_rank, load_squad, squad_articles, tuning_sample
from qa.embedding.embedder import Embedder
from qa.evaluation.scoring import score_prediction
from qa.ingest.jsonl import json_object
from qa.reading.reader import ExtractiveReader
from qa.retrieval.retrievers import make_retriever
from qa.schema import Response
from qa.settings import RETRIEVERS, Settings
from qa.store.indexing import build_store

RECALL_KS = (1, 5, 10, 20)


@dataclass(frozen=True)
class Outcome:
    """One question's result."""

    id: str
    question: str
    golds: tuple[str, ...]  # empty: the right reply is to abstain
    prediction: str  # empty: abstained
    score: float  # confidence of the best answer (0 if none)
    exact_match: float
    f1: float
    gold_rank: int | None = None  # rank of the first retrieved passage holding a gold answer
    latency_ms: float | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.golds)


def outcome(id: str, question: str, golds: Sequence[str], prediction: str, score: float, **extra) -> Outcome:
    em, f1 = score_prediction(prediction, list(golds))
    return Outcome(id, question, tuple(golds), prediction, score, em, f1, **extra)


def summarize(outcomes: list[Outcome]) -> dict:
    def block(rows: list[Outcome]) -> dict:
        n = len(rows)
        return {
            "count": n,
            "exact_match": round(100 * sum(r.exact_match for r in rows) / n, 2) if n else None,
            "f1": round(100 * sum(r.f1 for r in rows) / n, 2) if n else None,
        }

    report = block(outcomes)
    if any(not r.answerable for r in outcomes):
        report["has_answer"] = block([r for r in outcomes if r.answerable])
        report["no_answer"] = block([r for r in outcomes if not r.answerable])
        report["abstained"] = sum(1 for r in outcomes if not r.prediction)
        # Right to abstain on an unanswerable question, right to answer an answerable one.
        right = sum(1 for r in outcomes if bool(r.prediction) == r.answerable)
        report["abstention_accuracy"] = round(100 * right / len(outcomes), 2)
    latencies = [r.latency_ms for r in outcomes if r.latency_ms is not None]
    if latencies:
        report["latency_ms"] = {
            "p50": round(float(np.percentile(latencies, 50)), 1),
            "p95": round(float(np.percentile(latencies, 95)), 1),
        }
    return report


def recall_table(ranks: Sequence[int | None], ks: Sequence[int] = RECALL_KS) -> dict:
    """recall@k (share of questions with a gold-holding passage in the top k) and MRR over the same depth."""
    n = len(ranks)
    table = {f"recall@{k}": round(sum(1 for r in ranks if r is not None and r <= k) / n, 4) for k in ks}
    table["mrr"] = round(sum(1.0 / r for r in ranks if r is not None and r <= max(ks)) / n, 4)
    return table


# --- SQuAD, reader mode: the gold paragraph is given -------------------------------------------------


def predict_reader_mode(
    reader: ExtractiveReader, examples: list[SquadExample], min_answer_score: float | None, batch: int = 64
) -> list[Outcome]:
    """Answer each question from its gold paragraph. With `min_answer_score` None the reader always answers
    (SQuAD v1.1 has no unanswerable questions); otherwise it abstains below that probability."""
    outcomes = []
    for b in tqdm(range(0, len(examples), batch), desc="reading", unit="batch", leave=False):
        chunk = examples[b : b + batch]
        readings = reader.read_many([(ex.question, [ex.context]) for ex in chunk], top_k=1)
        for ex, reading in zip(chunk, readings):
            best = reading.best
            answer = best.text if best else ""
            confidence = best.score if best else 0.0
            if min_answer_score is not None and confidence < min_answer_score:
                answer = ""
            outcomes.append(outcome(ex.id, ex.question, [a.text for a in ex.answers], answer, confidence))
    return outcomes


def _squad_examples(file: Path, limit: int | None, held_out: int = 0) -> tuple[list[SquadExample], list[SquadExample]]:
    """Every question of `file`, and those to evaluate: the first `limit`, or the `held_out` questions
    that training with `--hold-out` left out of this file (its tuning sample), or all."""
    examples = load_squad(file)
    if not examples:
        raise DataFormatError(f"{file}: no questions to evaluate")
    if held_out:
        return examples, tuning_sample(examples, held_out)
    return examples, examples[:limit] if limit else examples


def evaluate_squad_reader(
    file: Path, reader: ExtractiveReader, settings: Settings, limit: int | None, held_out: int = 0,
) -> tuple[dict, list[Outcome]]:
    _, examples = _squad_examples(file, limit, held_out)
    has_unanswerable = any(not ex.answerable for ex in examples)
    started = time.perf_counter()
    outcomes = predict_reader_mode(reader, examples, settings.min_answer_score if has_unanswerable else None)
    seconds = time.perf_counter() - started
    report = {
        "file": str(file),
        "mode": "reader",
        "reader": reader.name,
        "limit": limit,
        "held_out": held_out,
        **summarize(outcomes),
        "abstention": f"below {settings.min_answer_score}" if has_unanswerable else "never (no unanswerable questions)",
        "seconds": round(seconds, 1),
        "questions_per_second": round(len(outcomes) / seconds, 2),
    }
    return report, outcomes


# --- SQuAD, open mode: every paragraph is an article; the whole pipeline answers ---------------------


@dataclass
class OpenRun:
    report: dict
    outcomes: list[Outcome]
    recall: dict[str, dict] = field(default_factory=dict)  # retriever -> recall table


def evaluate_squad_open(file: Path, settings: Settings, limit: int | None, held_out: int = 0) -> OpenRun:
    every, examples = _squad_examples(file, limit, held_out)
    # The corpus is every paragraph of the file even with --limit, so retrieval is as hard as in the full run.
    articles = squad_articles(every)
    embedder = Embedder.from_settings(settings)
    started = time.perf_counter()
    store = build_store(articles, embedder, settings, show_progress=True)
    build_seconds = time.perf_counter() - started

    golds = [[a.text for a in ex.answers] for ex in examples]
    questions = [ex.question for ex in examples]
    depth = max(RECALL_KS)
    recall = {}
    retrievers = {}
    for kind in RETRIEVERS:
        retrievers[kind] = make_retriever(store, embedder, settings, kind)
        hits = retrievers[kind].run_many(questions, depth)
        recall[kind] = recall_table([gold_rank(h, g) for h, g in zip(hits, golds)])

    # As in reader mode: a file with no unanswerable question is scored on the best answer, always.
    may_abstain = any(not ex.answerable for ex in examples)
    answering = settings if may_abstain else never_abstaining(settings)
    pipeline = Pipeline(answering, embedder, store, ExtractiveReader(settings.reader, settings), retrievers[settings.retriever])
    outcomes = []
    for ex, gold in zip(tqdm(examples, desc=f"answering ({settings.retriever})", unit="q"), golds):
        started = time.perf_counter()
        hits = pipeline.retrieve(ex.question, max(depth, settings.top_k))
        response = pipeline.answer(ex.question, hits[: settings.top_k])
        latency = 1000 * (time.perf_counter() - started)
        outcomes.append(_response_outcome(ex.id, response, gold, gold_rank(hits, gold), latency))

    report = {
        "file": str(file),
        "mode": "open",
        "retriever": settings.retriever,
        "reader": pipeline.reader.name,
        "embedder": embedder.identity,
        "limit": limit,
        "held_out": held_out,
        "top_k": settings.top_k,
        "read_neighbours": settings.read_neighbours,
        "read_alone_weight": settings.read_alone_weight,
        "corpus": {"articles": len(articles), "passages": store.passage_count()},
        "index_build_seconds": round(build_seconds, 1),
        **summarize(outcomes),
        "abstention": f"below {settings.min_answer_score}" if may_abstain else "never (no unanswerable questions)",
        "retrieval": recall,
    }
    return OpenRun(report, outcomes, recall)


def never_abstaining(settings: Settings) -> Settings:
    """Settings whose pipeline always gives its best answer: for files scored without abstention."""
    return settings.replace(min_answer_score=0.0)


def _response_outcome(id: str, response: Response, golds: Sequence[str], rank: int | None, latency: float) -> Outcome:
    best = None if response.abstained or not response.answers else response.answers[0]
    prediction = "" if best is None else best.text
    return outcome(id, response.question, golds, prediction, best.score if best else 0.0, gold_rank=rank, latency_ms=latency)


# --- The user's own questions over the user's own articles (JSONL) ------------------------------------


@dataclass(frozen=True)
class QaItem:
    id: str
    question: str
    answers: tuple[str, ...]  # empty: the right reply is "not in the articles"
    history: tuple[str, ...] = ()  # earlier questions of the same conversation, oldest first


def load_qa_jsonl(path: Path) -> list[QaItem]:
    """Lines of {"id", "question", "answers": [...], "history": [...] (optional)}; errors name the line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path}: not UTF-8 text ({err})") from err
    items, seen = [], set()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {n}"
        record = json_object(line, where, DataFormatError)
        if n == 1 and isinstance(record.get("data"), list):
            raise DataFormatError(f"{path} is a SQuAD-format file, not questions in JSONL: "
                                  f"evaluate it with `python -m qa eval squad {path}`")
        for name in ("id", "question", "answers"):
            if name not in record:
                raise DataFormatError(f"{where}: missing field '{name}'")
        if not isinstance(record["question"], str) or not record["question"].strip():
            raise DataFormatError(f"{where}: field 'question' must be a non-empty string")
        for name in ("answers", "history"):
            value = record.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DataFormatError(f"{where}: field '{name}' must be a list of strings")
        if str(record["id"]) in seen:
            raise DataFormatError(f"{where}: id {str(record['id'])!r} appears twice")
        seen.add(str(record["id"]))
        items.append(QaItem(str(record["id"]), record["question"], tuple(record["answers"]), tuple(record.get("history", []))))
    if not items:
        raise DataFormatError(f"{path}: no questions")
    return items


def conversation_turns(pipeline: Pipeline, questions: Sequence[str]) -> list[Turn]:
    """Ask earlier questions in order, as the chat would have, and keep what it understood and answered."""
    turns: list[Turn] = []
    for q in questions:
        turns.append(Turn.of(pipeline.ask(q, history=turns)))
    return turns


def evaluate_qa(file: Path, settings: Settings) -> tuple[dict, list[Outcome]]:
    items = load_qa_jsonl(file)
    pipeline = Pipeline.load(settings, show_progress=True)
    outcomes = []
    for item in tqdm(items, desc="answering", unit="q"):
        # The chat would have answered the earlier questions first; their answers are part of the context.
        turns = conversation_turns(pipeline, item.history)
        started = time.perf_counter()
        response = pipeline.ask(item.question, history=turns)
        latency = 1000 * (time.perf_counter() - started)
        rank = gold_rank(response.passages, item.answers) if item.answers else None
        outcomes.append(_response_outcome(item.id, response, item.answers, rank, latency))
    report = {
        "file": str(file),
        "mode": "qa",
        "retriever": settings.retriever,
        "collection": str(settings.index_dir),
        **summarize(outcomes),
        "retrieval": {settings.retriever: recall_table([o.gold_rank for o in outcomes if o.answerable], (1, settings.top_k))}
        if any(o.answerable for o in outcomes)
        else {},
    }
    return report, outcomes
