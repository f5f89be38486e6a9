"""SQuAD-format data: loading, and the official scoring (SQuAD v1.1 `evaluate-v1.1.py`, v2.0 for no-answer)."""

from __future__ import annotations

import json
import random
import re
import string
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


class DataFormatError(ValueError):
    """A SQuAD-format file that does not have the expected shape; the message names where."""


@dataclass(frozen=True)
class GoldAnswer:
    text: str
    start: int


@dataclass(frozen=True)
class SquadExample:
    id: str
    title: str
    context: str
    question: str
    answers: tuple[GoldAnswer, ...]  # empty: unanswerable (SQuAD v2 style)
    paragraph_key: int  # index of the paragraph in the file, unique per context

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load_squad(path: str | Path) -> list[SquadExample]:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataFormatError(f"{path}: not a SQuAD JSON file ({err})") from err
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
        raise DataFormatError(f"{path}: missing top-level 'data' list")
    examples: list[SquadExample] = []
    para_key = 0
    for a_i, article in enumerate(raw["data"]):
        where = f"{path}: data[{a_i}]"
        paragraphs = _field(article, "paragraphs", list, where)
        title = str(article.get("title", "")) if isinstance(article, dict) else ""
        for p_i, para in enumerate(paragraphs):
            pwhere = f"{where}.paragraphs[{p_i}]"
            context = _field(para, "context", str, pwhere)
            for q_i, qa in enumerate(_field(para, "qas", list, pwhere)):
                qwhere = f"{pwhere}.qas[{q_i}]"
                answers = []
                if not qa.get("is_impossible", False):
                    for ans in _field(qa, "answers", list, qwhere):
                        text = _field(ans, "text", str, qwhere + ".answers")
                        if text:  # some files (TyDi) carry empty answer texts
                            answers.append(GoldAnswer(text, int(ans.get("answer_start", -1))))
                examples.append(
                    SquadExample(
                        id=str(_field(qa, "id", (str, int), qwhere)),
                        title=title,
                        context=context,
                        question=_field(qa, "question", str, qwhere),
                        answers=tuple(answers),
                        paragraph_key=para_key,
                    )
                )
            para_key += 1
    return examples


def tuning_sample(examples: list[SquadExample], n: int) -> list[SquadExample]:
    """The seeded sample scripts/tune_fusion.py tunes on; training held out from it keeps tuning fair."""
    return random.Random(13).sample(examples, min(n, len(examples)))


def held_out(examples: list[SquadExample], n: int) -> set[int]:
    """id() of each question in the tuning sample of `n`: what training leaves out (none when n is 0)."""
    return {id(ex) for ex in tuning_sample(examples, n)} if n else set()


def _field(obj, name, kind, where):
    if not isinstance(obj, dict) or name not in obj:
        raise DataFormatError(f"{where}: missing field '{name}'")
    value = obj[name]
    if not isinstance(value, kind):
        raise DataFormatError(f"{where}: field '{name}' has the wrong type ({type(value).__name__})")
    return value


# --- official scoring -------------------------------------------------------------------------


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (as the official script)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


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
