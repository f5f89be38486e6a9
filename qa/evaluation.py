"""Offline evaluation on SQuAD-format files, scored exactly as the official SQuAD scripts."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from qa.reader import ExtractiveReader
from qa.squad import SquadExample, load_squad, score_prediction


@dataclass(frozen=True)
class Scored:
    example: SquadExample
    prediction: str
    score: float  # the reader's probability for its best span (0 if none)
    no_answer_score: float
    exact_match: float
    f1: float


def predict_reader_mode(
    reader: ExtractiveReader, examples: list[SquadExample], min_answer_score: float | None, batch: int = 64
) -> list[Scored]:
    """Answer each question from its gold paragraph. With `min_answer_score` None the reader always answers
    (SQuAD v1.1 has no unanswerable questions); otherwise it abstains below that probability."""
    scored = []
    for b in tqdm(range(0, len(examples), batch), desc="reading", unit="batch", leave=False):
        chunk = examples[b : b + batch]
        readings = reader.read_many([(ex.question, [ex.context]) for ex in chunk], top_k=1)
        for ex, reading in zip(chunk, readings):
            best = reading.best
            answer = best.text if best else ""
            confidence = best.score if best else 0.0
            if min_answer_score is not None and confidence < min_answer_score:
                answer = ""
            em, f1 = score_prediction(answer, [a.text for a in ex.answers])
            scored.append(Scored(ex, answer, confidence, reading.no_answer_score, em, f1))
    return scored


def summarize(scored: list[Scored]) -> dict:
    def block(rows: list[Scored]) -> dict:
        n = len(rows)
        return {
            "count": n,
            "exact_match": round(100 * sum(r.exact_match for r in rows) / n, 2) if n else None,
            "f1": round(100 * sum(r.f1 for r in rows) / n, 2) if n else None,
        }

    report = block(scored)
    unanswerable = [r for r in scored if not r.example.answerable]
    if unanswerable:
        answerable = [r for r in scored if r.example.answerable]
        report["has_answer"] = block(answerable)
        report["no_answer"] = block(unanswerable)
        report["abstained"] = sum(1 for r in scored if not r.prediction)
    return report


def evaluate_squad_reader(
    file: Path, reader: ExtractiveReader, out_dir: Path, limit: int | None, min_answer_score: float
) -> dict:
    examples = load_squad(file)
    if limit:
        examples = examples[:limit]
    if not examples:
        raise ValueError(f"{file}: no questions to evaluate")
    has_unanswerable = any(not ex.answerable for ex in examples)
    started = time.time()
    scored = predict_reader_mode(reader, examples, min_answer_score if has_unanswerable else None)
    seconds = time.time() - started
    report = {
        "file": str(file),
        "mode": "reader",
        "reader": reader.name,
        "limit": limit,
        **summarize(scored),
        "abstention": f"below {min_answer_score}" if has_unanswerable else "never (no unanswerable questions)",
        "seconds": round(seconds, 1),
        "questions_per_second": round(len(scored) / seconds, 2),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    # The official scorer's format: {question id: predicted text}.
    predictions = {r.example.id: r.prediction for r in scored}
    (out_dir / "predictions.json").write_text(json.dumps(predictions, indent=1, ensure_ascii=False))
    return report
