"""The things that flow through the pipeline: articles, passages, citations, answers."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One article as received. `text` is the original text: every offset in the system points into it."""

    id: str
    title: str
    text: str
    source: str = ""
    date: str = ""  # as given (JSONL) or found in the page's metadata (HTML); optional
    url: str = ""


@dataclass(frozen=True)
class Passage:
    """A retrievable, readable piece of one article.

    `text` is cleaned (whitespace collapsed, repeated lines dropped), so it is not always a plain slice of
    the article; `runs` maps it back: each (passage_offset, article_offset) starts a stretch where both
    advance together.
    """

    article_id: str
    index: int
    text: str
    start: int  # into Article.text
    end: int
    runs: tuple[tuple[int, int], ...]

    def to_article(self, start: int, end: int) -> tuple[int, int]:
        """Article offsets of the passage characters [start, end)."""
        return self._map(start), self._map(end - 1) + 1

    def from_article(self, start: int, end: int) -> tuple[int, int]:
        """Passage offsets of the article characters [start, end), clipped to the passage."""
        start, end = max(start, self.start), min(end, self.end)
        return self._unmap(start), self._unmap(end - 1) + 1

    def _map(self, i: int) -> int:
        k = bisect_right(self.runs, (i, float("inf"))) - 1
        clean, orig = self.runs[k]
        return orig + (i - clean)

    def _unmap(self, i: int) -> int:
        # Runs start in article order too; a character between two runs (collapsed whitespace) maps to
        # the end of the run before it.
        k = max(bisect_right(self.runs, i, key=lambda run: run[1]) - 1, 0)
        clean, orig = self.runs[k]
        limit = self.runs[k + 1][0] - 1 if k + 1 < len(self.runs) else len(self.text)
        return min(clean + (i - orig), limit)


@dataclass(frozen=True)
class Citation:
    article_id: str
    title: str
    passage_index: int
    passage: str
    start: int  # answer offsets into Article.text
    end: int
    passage_start: int  # the same answer's offsets into `passage`, for highlighting
    passage_end: int


@dataclass(frozen=True)
class Answer:
    text: str  # == article.text[citation.start:citation.end]
    score: float  # reader and retrieval evidence summed over every passage read (qa.answering.answers)
    citation: Citation
    also_in: tuple[Citation, ...] = ()  # other passages that gave the same answer
    # The reader's probability for it in the passage it is cited in, read alone (what abstention compares
    # with its threshold); answers_from_reading gives the best over the windows read.
    reader_score: float = 0.0
    attribution: str = ""  # who the cited sentence says it ("Iraq", "Iranian state television"), if anyone
    # `score` over the scores of every answer read for the question: what ranks the answers, as a share
    # a person can read ("62% of the evidence"). The reader's own probability (reader_score) does not
    # follow the ranking, since retrieval and sentence support reorder answers.
    share: float = 0.0


@dataclass(frozen=True)
class RetrievedPassage:
    passage: Passage
    title: str
    score: float
    rank: int


@dataclass(frozen=True)
class Response:
    question: str
    answers: list[Answer]
    abstained: bool
    passages: list[RetrievedPassage] = field(default_factory=list)
    interpreted: str = ""  # the question as read, when earlier turns changed it (a follow-up)
    disagreement: list[Answer] = field(default_factory=list)  # sources giving different answers, best first
