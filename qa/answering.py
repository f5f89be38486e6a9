"""Retrieve -> read -> answers with citations. The one entry point the chat, the CLI and evaluation share."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from qa.attribution import attribution, disagreeing
from qa.chunking import sentence_at
from qa.config import Settings, load_settings
from qa.conversation import Turn, contextualize
from qa.corpus import Skipped
from qa.embedding import Embedder
from qa.evidence import support
from qa.index import PassageIndex, open_index
from qa.reader import ExtractiveReader, Reading
from qa.retrieval import Retriever, make_retriever
from qa.schema import Answer, Article, Citation, Passage, Response, RetrievedPassage
from qa.squad import normalize_answer
from qa.windows import Window, reading_windows, window_weights

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
# Spans read per answer shown: enough that an answer's support in lower-ranked passages is counted.
SPANS_PER_ANSWER = 5
# Answers shown per question (the chat's and evaluation's default).
MAX_ANSWERS = 3


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


@dataclass(frozen=True)
class View:
    """One reading of the retrieved passages: the windows read, what the reader found in them, and how
    much that evidence counts beside the other views (Pipeline.read)."""

    windows: list[Window]
    reading: Reading
    weight: float = 1.0


def answers_from_reading(
    views: Sequence[View],
    index: PassageIndex,
    limit: int,
    hit_scores: Sequence[float],
    temperature: float,
    question: str = "",
    overlap_weight: float = 0.0,
) -> list[Answer]:
    """Reader spans (read in each view's windows) -> cited answers in article offsets, best first.

    A span's evidence is view weight x P(window | question) x P(span | window) x support(sentence), and
    an answer's score sums the evidence of every span that gives it: the same answer read in several
    windows, or in several views, adds up. With one window and no overlap weight it is the reader's own
    probability."""
    answers: list[Answer] = []
    keys: list[str] = []  # each answer's normalised text
    places: list[list[tuple[str, int, int]]] = []  # article spans each answer was read at
    weighted = [(view, view.weight * window_weights(view.windows, hit_scores, temperature)) for view in views]
    # View by view, each best first, so an answer keeps the wording of its likeliest span in the first view.
    for view, weights, span in ((v, w, s) for v, w in weighted for s in v.reading.spans):
        window = view.windows[span.passage_index]
        article = index.article(window.passage)
        start, end = window.passage.to_article(span.start, span.end)
        sentence = sentence_at(article.text, start, end)
        score = float(weights[span.passage_index]) * span.score * support(question, sentence, overlap_weight)
        key = normalize_answer(span.text) or span.text
        # Same answer: the same words anywhere (or all of one's words within the other's: "Trump" in one
        # article, "U.S. President Donald Trump" in another), or a span overlapping one already read
        # ("22" inside "22 missiles") - a variant, not a rival.
        k = next(
            (
                i
                for i, a in enumerate(answers)
                if _same_words(key, keys[i]) or any(aid == article.id and s < end and start < e for aid, s, e in places[i])
            ),
            None,
        )
        if k is None:
            citation = _citation(article, window.cite(start, end), start, end)
            source = attribution(sentence)
            answers.append(Answer(article.text[start:end], score, citation, reader_score=span.score, attribution=source))
            keys.append(key)
            places.append([(article.id, start, end)])
            continue
        if any(aid == article.id and s < end and start < e for aid, s, e in places[k]):
            # more evidence, one source
            answers[k] = replace(answers[k], score=answers[k].score + score, reader_score=max(answers[k].reader_score, span.score))
        else:
            citation = _citation(article, window.cite(start, end), start, end)
            answers[k] = replace(
                answers[k],
                score=answers[k].score + score,
                also_in=answers[k].also_in + (citation,),
                reader_score=max(answers[k].reader_score, span.score),
            )
        places[k].append((article.id, start, end))
    total = sum(a.score for a in answers)
    answers = [replace(a, share=a.score / total if total > 0 else 0.0) for a in answers]
    return sorted(answers, key=lambda a: -a.score)[:limit]


def _citation(article: Article, passage: Passage, start: int, end: int) -> Citation:
    passage_start, passage_end = passage.from_article(start, end)
    return Citation(article.id, article.title, passage.index, passage.text, start, end, passage_start, passage_end)


def _same_words(a: str, b: str) -> bool:
    wa, wb = set(a.split()), set(b.split())
    return a == b or (bool(wa) and bool(wb) and (wa <= wb or wb <= wa))


@dataclass
class Pipeline:
    settings: Settings
    embedder: Embedder
    index: PassageIndex
    reader: ExtractiveReader
    retriever: Retriever
    skipped: list[Skipped]
    # One pipeline serves every chat session; Hugging Face fast tokenizers fail ("Already borrowed")
    # when two threads use one at once.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, settings: Settings | None = None, show_progress: bool = False) -> "Pipeline":
        settings = settings or load_settings()
        embedder = Embedder(settings.embedder_name())
        index, skipped = open_index(settings, embedder, show_progress)
        retriever = make_retriever(index, embedder, settings)
        return cls(settings, embedder, index, build_reader(settings), retriever, skipped)

    def retrieve(self, question: str, top_k: int | None = None) -> list[RetrievedPassage]:
        return self.retriever.run(clean_question(question), top_k or self.settings.top_k)

    def answer(self, question: str, hits: list[RetrievedPassage], max_answers: int = MAX_ANSWERS) -> Response:
        """Read `hits` for the question and turn the spans into cited answers."""
        question = clean_question(question)
        if not hits:
            return Response(question, [], abstained=True, passages=[], no_answer_score=1.0)
        views = self.read(question, hits, max_answers)
        scores, temperature = [h.score for h in hits], self.settings.retrieval_temperature()
        answers = answers_from_reading(
            views, self.index, max_answers, scores, temperature, question, self.settings.sentence_overlap_weight
        )
        if self.settings.read_neighbours > 0:
            answers = self._read_alone(question, answers)
        # Abstain on the reader's own probability (calibrated on SQuAD v2 with the gold paragraph): how
        # peaked the passage weights are says which passage to trust, not whether any answers.
        abstained = not answers or answers[0].reader_score < self.settings.min_answer_score
        main = views[0]
        no_answer = float(np.dot(window_weights(main.windows, scores, temperature), main.reading.passage_no_answer))
        disagreement = [] if abstained else disagreeing(answers, question)
        return Response(question, answers, abstained, hits, no_answer, disagreement=disagreement)

    def read(self, question: str, hits: list[RetrievedPassage], max_answers: int = MAX_ANSWERS) -> list[View]:
        """What `answer` scores: the retrieved passages read with their neighbours and, when
        `read_alone_weight` is set, each one read alone as well (one batch for both). Tuning
        (scripts/tune_fusion.py) reads through here too, so it measures the spans that ship."""
        neighbours = self.settings.read_neighbours
        layouts = [(reading_windows(hits, self.index.article_passages, neighbours), 1.0)]
        if neighbours > 0 and self.settings.read_alone_weight > 0:
            layouts.append((reading_windows(hits, self.index.article_passages, 0), self.settings.read_alone_weight))
        with self._lock:
            readings = self.reader.read_many(
                [(question, [w.passage.text for w in windows]) for windows, _ in layouts],
                top_k=SPANS_PER_ANSWER * max_answers,
            )
        return [View(windows, reading, weight) for (windows, weight), reading in zip(layouts, readings)]

    def _read_alone(self, question: str, answers: list[Answer]) -> list[Answer]:
        """Each answer's reader probability re-read in its cited passage alone.

        The abstention threshold was calibrated with the reader reading one paragraph; in a window of
        three passages its probability spreads over more candidate spans (a seed answer fell from 0.32
        to 0.04 while holding 96% of the evidence), so the window's figure would turn answers away."""
        if not answers:
            return answers
        with self._lock:
            readings = self.reader.read_many(
                [(question, [a.citation.passage]) for a in answers], top_k=SPANS_PER_ANSWER * len(answers)
            )
        return [
            replace(a, reader_score=max(
                (s.score for s in r.spans if s.start < a.citation.passage_end and a.citation.passage_start < s.end),
                default=0.0,
            ))
            for a, r in zip(answers, readings)
        ]

    def ask(
        self, question: str, top_k: int | None = None, max_answers: int = MAX_ANSWERS, history: Sequence[Turn] = ()
    ) -> Response:
        """Answer `question`; with `history` (earlier turns, oldest first) a follow-up is read in context."""
        question = clean_question(question)
        asked = contextualize(question, history)
        with self._lock:
            hits = self.retrieve(asked.query, top_k)
        response = self.answer(asked.question, hits, max_answers)
        return replace(response, question=question, interpreted=asked.question if asked.follow_up else "")
