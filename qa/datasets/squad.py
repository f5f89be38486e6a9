"""SQuAD-format data: loading files, the seeded tuning sample, and paragraphs as open-mode articles."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from qa.schema import Article, RetrievedPassage
from qa.text import normalize_answer


class DataFormatError(ValueError):
    """A SQuAD-format file that does not have the expected shape; the message names where."""


@dataclass(frozen=True)
class GoldAnswer:
    """One annotator's answer: its text and where it starts in the paragraph (-1 when not given)."""

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


# --- as a retrieval corpus (open mode) ----------------------------------------------------------


def squad_article_id(paragraph_key: int) -> str:
    return f"p{paragraph_key:05d}"


def squad_articles(examples: Sequence[SquadExample]) -> list[Article]:
    """One article per paragraph of the file, titled with its Wikipedia page."""
    articles: dict[int, Article] = {}
    for ex in examples:
        if ex.paragraph_key not in articles:
            title = ex.title.replace("_", " ") or "untitled"
            articles[ex.paragraph_key] = Article(squad_article_id(ex.paragraph_key), title, ex.context, source=ex.title)
    return list(articles.values())


def holds_answer(passage_text: str, golds: Sequence[str]) -> bool:
    """A passage holds an answer when a gold answer's normalised words appear in its normalised words."""
    text = f" {normalize_answer(passage_text)} "
    return any(f" {g} " in text for g in (normalize_answer(g) for g in golds) if g)


def gold_rank(hits: Sequence[RetrievedPassage], golds: Sequence[str]) -> int | None:
    return next((h.rank for h in hits if holds_answer(h.passage.text, golds)), None)
