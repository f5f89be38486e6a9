"""Retrieve -> read -> answers with citations. The one entry point the chat, the CLI and evaluation share."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from qa.config import Settings, load_settings
from qa.corpus import Skipped
from qa.embedding import Embedder
from qa.index import PassageIndex, open_index
from qa.reader import ExtractiveReader, Reading
from qa.retrieval import DenseRetriever
from qa.schema import Answer, Citation, Response, RetrievedPassage
from qa.squad import normalize_answer

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


class EmptyQuestion(ValueError):
    pass


def clean_question(question: str) -> str:
    """Strip it, refuse an empty one, and keep a pasted essay from costing more than a question."""
    question = " ".join((question or "").split())
    if not question:
        raise EmptyQuestion("Please type a question.")
    return question[:MAX_QUESTION_CHARS]


def build_reader(settings: Settings) -> ExtractiveReader:
    return ExtractiveReader(
        settings.reader,
        max_length=settings.reader_max_length,
        stride=settings.reader_stride,
        max_answer_tokens=settings.max_answer_tokens,
        max_question_tokens=settings.max_question_tokens,
        batch_size=settings.batch_size,
    )


def answers_from_reading(reading: Reading, hits: list[RetrievedPassage], index: PassageIndex, limit: int) -> list[Answer]:
    """Reader spans -> cited answers in article offsets; the same answer from several passages is merged."""
    merged: dict[str, Answer] = {}
    cited: set[tuple[str, int, int]] = set()
    for span in reading.spans:
        passage = hits[span.passage_index].passage
        article = index.article(passage)
        start, end = passage.to_article(span.start, span.end)
        if (article.id, start, end) in cited:
            continue  # overlapping passages found the same words of the same article: one source, not two
        cited.add((article.id, start, end))
        citation = Citation(article.id, article.title, passage.index, passage.text, start, end, span.start, span.end)
        key = normalize_answer(span.text) or span.text
        if key in merged:
            first = merged[key]
            merged[key] = Answer(first.text, first.score, first.citation, first.also_in + (citation,))
        else:
            merged[key] = Answer(article.text[start:end], span.score, citation)
    return sorted(merged.values(), key=lambda a: -a.score)[:limit]


@dataclass
class Pipeline:
    settings: Settings
    embedder: Embedder
    index: PassageIndex
    reader: ExtractiveReader
    skipped: list[Skipped]
    # One pipeline serves every chat session; Hugging Face fast tokenizers fail ("Already borrowed")
    # when two threads use one at once.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, settings: Settings | None = None, show_progress: bool = False) -> "Pipeline":
        settings = settings or load_settings()
        embedder = Embedder(settings.embedder_name())
        index, skipped = open_index(settings, embedder, show_progress)
        return cls(settings, embedder, index, build_reader(settings), skipped)

    def ask(self, question: str, top_k: int | None = None, max_answers: int = 3) -> Response:
        question = clean_question(question)
        with self._lock:
            hits = DenseRetriever(self.index, self.embedder).run(question, top_k or self.settings.top_k)
            if not hits:
                return Response(question, [], abstained=True, passages=[], no_answer_score=1.0)
            reading = self.reader.read(question, [h.passage.text for h in hits], top_k=max_answers * 3)
        answers = answers_from_reading(reading, hits, self.index, max_answers)
        abstained = not answers or answers[0].score < self.settings.min_answer_score
        return Response(question, answers, abstained, hits, reading.no_answer_score)
