"""Retrieve -> read -> answers with citations. The one entry point the chat, the CLI and evaluation share."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

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
# Spans read per answer shown: enough that an answer's support in lower-ranked passages is counted.
SPANS_PER_ANSWER = 5


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


def passage_weights(scores: Sequence[float], temperature: float) -> np.ndarray:
    """P(passage | question): a softmax over the retriever's scores.

    The reader normalises each window on its own, so a passage without the answer still offers a
    confident-looking span; weighting by retrieval evidence lets the passage that matches the question
    win (seed 004: "15 missiles" over "80 killed")."""
    z = np.asarray(scores, dtype=np.float64) / max(temperature, 1e-9)
    z = np.exp(z - z.max())
    return z / z.sum()


def answers_from_reading(
    reading: Reading, hits: list[RetrievedPassage], index: PassageIndex, limit: int, weights: Sequence[float]
) -> list[Answer]:
    """Reader spans -> cited answers in article offsets.

    An answer's score is P(answer | question) = sum over passages of P(passage | question) x
    P(span | passage): the same answer read in several passages adds up, and with one passage it is the
    reader's own probability, so thresholds calibrated in reader mode hold here too."""
    answers: list[Answer] = []
    places: list[list[tuple[str, int, int]]] = []  # article spans each answer was read at
    for span in reading.spans:  # best first, so an answer keeps the wording of its likeliest span
        passage = hits[span.passage_index].passage
        article = index.article(passage)
        start, end = passage.to_article(span.start, span.end)
        score = float(weights[span.passage_index]) * span.score
        key = normalize_answer(span.text) or span.text
        # Same answer: the same words anywhere, or a span overlapping one already read ("22" inside
        # "22 missiles", "Donald Trump" inside "U.S. President Donald Trump") - a variant, not a rival.
        k = next(
            (
                i
                for i, a in enumerate(answers)
                if key == (normalize_answer(a.text) or a.text)
                or any(aid == article.id and s < end and start < e for aid, s, e in places[i])
            ),
            None,
        )
        if k is None:
            citation = Citation(article.id, article.title, passage.index, passage.text, start, end, span.start, span.end)
            answers.append(Answer(article.text[start:end], score, citation))
            places.append([(article.id, start, end)])
            continue
        if any(aid == article.id and s < end and start < e for aid, s, e in places[k]):
            answers[k] = replace(answers[k], score=answers[k].score + score)  # more evidence, one source
        else:
            citation = Citation(article.id, article.title, passage.index, passage.text, start, end, span.start, span.end)
            answers[k] = replace(answers[k], score=answers[k].score + score, also_in=answers[k].also_in + (citation,))
        places[k].append((article.id, start, end))
    return sorted(answers, key=lambda a: -a.score)[:limit]


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
            reading = self.reader.read(question, [h.passage.text for h in hits], top_k=SPANS_PER_ANSWER * max_answers)
        weights = passage_weights([h.score for h in hits], self.settings.retrieval_temperature)
        answers = answers_from_reading(reading, hits, self.index, max_answers, weights)
        abstained = not answers or answers[0].score < self.settings.min_answer_score
        no_answer = float(np.dot(weights, reading.passage_no_answer))
        return Response(question, answers, abstained, hits, no_answer)
