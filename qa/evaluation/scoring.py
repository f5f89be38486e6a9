"""The official SQuAD scoring (v1.1 `evaluate-v1.1.py`; v2.0 for questions with no answer)."""

from __future__ import annotations

from collections import Counter

from qa.text import normalize_answer


def f1_score(prediction: str, ground_truth: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(ground_truth).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match_score(prediction: str, ground_truth: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(ground_truth))


def score_prediction(prediction: str, gold_answers: list[str]) -> tuple[float, float]:
    """(exact match, F1) in [0, 1], max over gold answers.

    Unanswerable questions (no gold answers) follow SQuAD v2.0: the empty prediction scores 1, anything else 0.
    """
    if not gold_answers:
        right = float(normalize_answer(prediction) == "")
        return right, right
    em = max(exact_match_score(prediction, g) for g in gold_answers)
    f1 = max(f1_score(prediction, g) for g in gold_answers)
    return em, f1
