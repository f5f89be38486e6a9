"""Retrieve -> read -> answers with citations. The one entry point the chat, the CLI and evaluation share."""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from qa.answering.answers import View, answers_from_reading, source_of
from qa.answering.attribution import disagreeing
from qa.answering.conversation import Turn, contextualize
from qa.answering.questions import EmptyQuestion, clean_question
from qa.embedding.embedder import Embedder
from qa.ingest.chunking import sentence_at
from qa.reading.reader import ExtractiveReader, Span
from qa.reading.windows import reading_windows
from qa.retrieval.retrievers import Retriever, make_retriever
from qa.schema import Answer, Citation, Response, RetrievedPassage
from qa.settings import Settings, load_settings
from qa.store.base import PassageStore
from qa.store.collection import open_collection
from qa.text import normalize_answer

__all__ = ["EmptyQuestion", "Pipeline"]

log = logging.getLogger(__name__)


@dataclass
class Pipeline:
    settings: Settings
    embedder: Embedder
    store: PassageStore
    reader: ExtractiveReader
    retriever: Retriever
    # One pipeline serves every chat session; Hugging Face fast tokenizers fail ("Already borrowed")
    # when two threads use one at once.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(
        cls, settings: Settings | None = None, show_progress: bool = False, step: Callable[[str], None] | None = None
    ) -> "Pipeline":
        """Models and collection. `step` hears what is being done next, for a page still loading to say."""
        settings = settings or load_settings()
        step = step or (lambda _: None)
        step("Loading the embedder")
        embedder = Embedder.from_settings(settings)
        step("Opening the collection (a new one indexes the seed articles first)")
        store = open_collection(settings, embedder, show_progress)
        retriever = make_retriever(store, embedder, settings)
        step("Loading the reader")
        return cls(settings, embedder, store, ExtractiveReader(settings.reader, settings), retriever)

    def _clean(self, question: str) -> str:
        return clean_question(question, self.settings.max_question_chars)

    def retrieve(self, question: str, top_k: int | None = None) -> list[RetrievedPassage]:
        return self.retriever.run(self._clean(question), top_k or self.settings.top_k)

    def answer(self, question: str, hits: list[RetrievedPassage], max_answers: int | None = None) -> Response:
        """Read `hits` for the question and turn the spans into cited answers."""
        question = self._clean(question)
        if not hits:
            return Response(question, [], abstained=True, passages=[])
        max_answers = max_answers or self.settings.max_answers
        views = self.read(question, hits, max_answers)
        scores, temperature = [h.score for h in hits], self.settings.retrieval_temperature()
        settings = self.settings
        answers = answers_from_reading(
            views, self.store, max_answers, scores, temperature, question, settings.sentence_overlap_weight,
            settings.type_mismatch_weight,
        )
        answers = self._read_alone(question, answers, views)
        # Abstain on the reader's own probability (calibrated on SQuAD v2 with the gold paragraph): how
        # peaked the passage weights are says which passage to trust, not whether any answers.
        if not answers or answers[0].reader_score < settings.min_answer_score:
            return Response(question, [], True, hits)  # the closest passages, no answer scored
        disagreement = disagreeing(answers, question, settings.rival_share)
        # An alternative worth a line carries real evidence; a rival source's claim is shown however small.
        shown = [answers[0], *(a for a in answers[1:] if a.share >= settings.min_alternative_share or a in disagreement)]
        return Response(question, shown, False, hits, disagreement=disagreement)

    def read(self, question: str, hits: list[RetrievedPassage], max_answers: int | None = None) -> list[View]:
        """What `answer` scores: the retrieved passages read with their neighbours and, when
        `read_alone_weight` is set, each one read alone as well (one batch for both). Tuning
        (scripts/tune_fusion.py) reads through here too, so it measures the spans that ship."""
        neighbours = self.settings.read_neighbours
        passages_of = functools.cache(self.store.article_passages)  # both layouts read the same articles
        layouts = [(reading_windows(hits, passages_of, neighbours), 1.0)]
        if neighbours > 0 and self.settings.read_alone_weight > 0:
            layouts.append((reading_windows(hits, passages_of, 0), self.settings.read_alone_weight))
        with self._lock:
            readings = self.reader.read_many(
                [(question, [w.passage.text for w in windows]) for windows, _ in layouts],
                top_k=self.settings.spans_per_answer * (max_answers or self.settings.max_answers),
            )
        return [View(windows, reading, weight) for (windows, weight), reading in zip(layouts, readings)]

    def _read_alone(self, question: str, answers: list[Answer], views: Sequence[View]) -> list[Answer]:
        """Each answer's reader probability as a passage it was read in, read alone, gives it; the
        answer is cited where that is highest.

        The abstention threshold was calibrated with the reader reading one paragraph; in a window of
        three passages its probability spreads over more candidate spans (a seed answer fell from 0.32
        to 0.04 while holding 96% of the evidence), so the window's figure would turn answers away.
        A passage already read by itself (the alone view, or a window of one passage) gives that
        probability as its spans' window scores; only an answer with none of its passages read alone
        has its cited passage read again. An answer read in two articles counts its surer reading:
        "All is well!" quoted plainly in one, run into the next sentence in the other."""
        if not answers:
            return answers
        alone: dict[tuple[str, int], list[Span]] = {}
        for view in views:
            for span in view.reading.spans:
                window = view.windows[span.passage_index]
                if len(window.parts) == 1:
                    alone.setdefault((window.parts[0].article_id, window.parts[0].index), []).append(span)

        def overlapping(spans: Sequence[Span], c: Citation) -> float | None:
            found = [s.window_score for s in spans if s.start < c.passage_end and c.passage_start < s.end]
            return max(found, default=None)

        def best_place(a: Answer) -> tuple[float | None, Citation]:
            places = [(overlapping(alone.get((c.article_id, c.passage_index), ()), c), c) for c in (a.citation, *a.also_in)]
            return max(places, key=lambda place: -1.0 if place[0] is None else place[0])

        best = [best_place(a) for a in answers]
        again = [i for i, (score, _) in enumerate(best) if score is None]
        if again:
            with self._lock:
                readings = self.reader.read_many(
                    [(question, [answers[i].citation.passage]) for i in again],
                    top_k=self.settings.spans_per_answer * len(answers),
                )
            for i, reading in zip(again, readings):
                best[i] = (overlapping(reading.spans, answers[i].citation), answers[i].citation)
        return [self._cited_at(a, citation, score or 0.0) for a, (score, citation) in zip(answers, best)]

    def _cited_at(self, answer: Answer, citation: Citation, reader_score: float) -> Answer:
        """`answer` cited at `citation` (one of its places), its other places kept in `also_in`."""
        if citation == answer.citation:
            return replace(answer, reader_score=reader_score)
        article = self.store.article(citation.article_id).text
        text = article[citation.start : citation.end]
        source = source_of(sentence_at(article, citation.start, citation.end), normalize_answer(text) or text)
        also_in = tuple(c for c in (answer.citation, *answer.also_in) if c != citation)
        return replace(answer, text=text, citation=citation, also_in=also_in, reader_score=reader_score, attribution=source)

    def ask(
        self, question: str, top_k: int | None = None, max_answers: int | None = None, history: Sequence[Turn] = ()
    ) -> Response:
        """Answer `question`; with `history` (earlier turns, oldest first) a follow-up is read in context."""
        question = self._clean(question)
        asked = contextualize(question, history)
        # Changes committed since the last question (another process's `qa add` or `qa remove`) count
        # from this one on: a removed article is not cited again.
        self.store.refresh()
        with self._lock:
            hits = self.retrieve(asked.query, top_k)
        response = self.answer(asked.question, hits, max_answers)
        return replace(response, question=question, interpreted=asked.question if asked.rewritten(question) else "")
