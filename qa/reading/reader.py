"""Extractive reader: finds answer spans in passages with any `AutoModelForQuestionAnswering` checkpoint.

transformers 5 has no question-answering pipeline, so window splitting lives here and span decoding in
qa.reading.decoding. Scores are probabilities: start and end logits are softmax-normalised over the context tokens plus [CLS]
(the "no answer" position) of each window - or, for a reader trained with shared normalisation (its
config says `shared_normalisation`), of all the windows read for the question together, which is what
such a reader's raw scores were trained to be compared by. For one window the two are the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from qa.reading.decoding import allowed_positions, balanced, best_spans, length_batches, log_norm, shared_factors, whole_words
from qa.runtime.base import QUESTION_ANSWERING, pad_batch
from qa.runtime.loading import load_network
from qa.settings import Settings, load_settings

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Span:
    """An answer span inside one passage; `start`/`end` are character offsets into that passage."""

    text: str
    score: float
    passage_index: int
    start: int
    end: int
    # Its probability in the reader window it was read in, before normalising across the question's
    # windows: for a passage that fits one window, what reading that passage alone gives.
    window_score: float


@dataclass(frozen=True)
class Reading:
    """What the reader found for one question: spans best first, and how likely no passage answers it."""

    spans: list[Span]
    no_answer_score: float  # the least confident "no" over all windows: some window may answer it

    @property
    def best(self) -> Span | None:
        return self.spans[0] if self.spans else None


class ExtractiveReader:
    """Reads passages for a question and returns ranked answer spans plus a no-answer score."""

    def __init__(self, model: str | Path, settings: Settings | None = None) -> None:
        """`model`: any AutoModelForQuestionAnswering path or hub id. Window, span and batch sizes and
        the runtime come from `settings` (default: load_settings())."""
        settings = settings or load_settings()
        self.name = str(model)
        self.network = load_network(QUESTION_ANSWERING, self.name, settings.runtime, settings.onnx_cache)
        self.tokenizer = self.network.tokenizer
        if not self.tokenizer.is_fast:
            raise ValueError(f"reader {self.name}: a fast tokenizer is needed for character offsets")
        # Set by qa.training.passages; any other checkpoint was trained one window at a time.
        self.shared_normalisation = bool(getattr(self.network.config, "shared_normalisation", False))
        self.max_length = min(settings.reader_max_length, self.network.max_length)
        self.stride = settings.reader_stride
        self.max_answer_tokens = settings.max_answer_tokens
        self.max_question_tokens = settings.max_question_tokens
        self.batch_size = settings.reader_batch_size
        self.padding_slack = settings.padding_slack

    def read(self, question: str, passages: Sequence[str], top_k: int = 5) -> Reading:
        return self.read_many([(question, passages)], top_k=top_k)[0]

    def read_many(self, items: Sequence[tuple[str, Sequence[str]]], top_k: int = 5) -> list[Reading]:
        """Read several questions at once (evaluation); windows are batched across them."""
        pairs: list[tuple[int, int]] = []  # (item, passage) per tokenised pair
        questions, contexts = [], []
        for i, (question, passages) in enumerate(items):
            question = self._clip_question(question)
            if not passages:
                raise ValueError("no passages to read")
            for j, passage in enumerate(passages):
                if passage.strip():
                    pairs.append((i, j))
                    questions.append(question)
                    contexts.append(passage)
        enc = self.tokenizer(
            questions,
            contexts,
            truncation="only_second",
            max_length=self.max_length,
            stride=self.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=False,
        )
        start_logits, end_logits = self._forward(enc)
        found: list[list[tuple[Span, int]]] = [[] for _ in items]  # (span, its window among the item's)
        log_norms: list[list[tuple[float, float]]] = [[] for _ in items]
        null = [1.0] * len(items)
        for w, pair_index in enumerate(enc["overflow_to_sample_mapping"]):
            item, passage_index = pairs[pair_index]
            context = contexts[pair_index]
            offsets = enc["offset_mapping"][w]
            mask = np.array([sid == 1 for sid in enc.sequence_ids(w)])
            spans, window_null = best_spans(start_logits[w], end_logits[w], mask, self.max_answer_tokens)
            # Some window may answer the question: keep the least confident "no".
            null[item] = min(null[item], window_null)
            allowed = allowed_positions(mask)
            log_norms[item].append((log_norm(start_logits[w], allowed), log_norm(end_logits[w], allowed)))
            for s, e, p in spans[: top_k * 2]:
                a, b = balanced(context, *whole_words(context, offsets[s][0], offsets[e][1]))
                if a >= b:
                    continue
                found[item].append((Span(context[a:b], p, passage_index, a, b, p), len(log_norms[item]) - 1))
        readings = []
        for i, item_spans in enumerate(found):
            factors = shared_factors(log_norms[i]) if self.shared_normalisation and log_norms[i] else None
            spans = [s if factors is None else replace(s, score=s.score * float(factors[w])) for s, w in item_spans]
            readings.append(Reading(_dedupe(spans)[:top_k], null[i]))
        return readings

    def _clip_question(self, question: str) -> str:
        question = question.strip()
        if not question:
            raise ValueError("the question is empty")
        return clip_question(self.tokenizer, question, self.max_question_tokens)

    def _forward(self, enc) -> tuple[list[np.ndarray], list[np.ndarray]]:
        n = len(enc["input_ids"])
        starts: list[np.ndarray] = [None] * n  # type: ignore[list-item]
        ends: list[np.ndarray] = [None] * n  # type: ignore[list-item]
        for idx in length_batches([len(ids) for ids in enc["input_ids"]], self.batch_size, self.padding_slack):
            start_logits, end_logits = self.network(pad_batch(self.tokenizer, enc, idx, self.network.input_names))
            for row, i in enumerate(idx):
                length = len(enc["input_ids"][i])
                starts[i] = start_logits[row, :length]
                ends[i] = end_logits[row, :length]
        return starts, ends


def clip_question(tokenizer, question: str, max_tokens: int) -> str:
    """The question cut after its first `max_tokens` tokens, so the passage keeps the rest of the window
    (training clips the same way, so the reader learns on what it will read)."""
    enc = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    if len(enc["input_ids"]) > max_tokens:
        return question[: enc["offset_mapping"][max_tokens - 1][1]]
    return question


def _dedupe(spans: list[Span]) -> list[Span]:
    """Best first; overlapping windows find the same span twice, keep its best score."""
    seen: dict[tuple[int, int, int], Span] = {}
    for span in sorted(spans, key=lambda s: -s.score):
        seen.setdefault((span.passage_index, span.start, span.end), span)
    return list(seen.values())
