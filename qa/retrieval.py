"""Question -> the top-k passages of the index: dense (FAISS), BM25 (bm25s), or both fused.

Every retriever has one `run(question, top_k)` and a batched `run_many` for evaluation; hits carry the
retriever's own score (cosine, BM25, or the fused scaled scores), which `answering` turns into passage
weights with a temperature tuned per retriever.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from qa.config import RETRIEVERS, Settings
from qa.embedding import Embedder
from qa.index import PassageIndex, embedding_text
from qa.schema import RetrievedPassage

# How deep each retriever's list goes before fusion: a passage ranked 30th by one and 2nd by the other
# must still be seen.
FUSION_DEPTH = 100


class Retriever(Protocol):
    def run(self, question: str, top_k: int) -> list[RetrievedPassage]: ...

    def run_many(self, questions: Sequence[str], top_k: int) -> list[list[RetrievedPassage]]: ...


class _Base:
    def __init__(self, index: PassageIndex) -> None:
        self.index = index

    def run(self, question: str, top_k: int) -> list[RetrievedPassage]:
        return self.run_many([question], top_k)[0]

    def run_many(self, questions: Sequence[str], top_k: int) -> list[list[RetrievedPassage]]:
        k = min(top_k, len(self.index.passages))
        if k <= 0 or not questions:  # an empty batch breaks FAISS and bm25s alike
            return [[] for _ in questions]
        return [self.hits(ranked) for ranked in self.rank(list(questions), k)]

    def rank(self, questions: list[str], k: int) -> list[list[tuple[int, float]]]:
        """Per question, (passage position, score) best first, at most k."""
        raise NotImplementedError

    def hits(self, ranked: list[tuple[int, float]]) -> list[RetrievedPassage]:
        passages = self.index.passages
        return [
            RetrievedPassage(passages[i], self.index.article(passages[i]).title, score, rank)
            for rank, (i, score) in enumerate(ranked, start=1)
        ]


class DenseRetriever(_Base):
    """Cosine similarity of all-MiniLM-L6-v2 (or the configured embedder) vectors, exact FAISS search."""

    def __init__(self, index: PassageIndex, embedder: Embedder) -> None:
        super().__init__(index)
        self.embedder = embedder

    def rank(self, questions: list[str], k: int) -> list[list[tuple[int, float]]]:
        queries = self.embedder.encode(questions).astype(np.float32)
        scores, ids = self.index.vectors.search(queries, k)
        return [[(int(i), float(s)) for i, s in zip(row_ids, row) if i >= 0] for row_ids, row in zip(ids, scores)]


class BM25Retriever(_Base):
    """Okapi BM25 over title + passage, English stop words removed and words stemmed (bm25s, PyStemmer).

    Built in memory from the index's passages when the pipeline loads: a few seconds for tens of
    thousands of passages, so there is no second file to keep in step with the FAISS index."""

    def __init__(self, index: PassageIndex, k1: float, b: float) -> None:
        import bm25s
        import Stemmer

        super().__init__(index)
        self._bm25s = bm25s
        self._stemmer = Stemmer.Stemmer("english")
        self.model = bm25s.BM25(k1=k1, b=b)
        if index.passages:
            texts = [embedding_text(index.article(p), p) for p in index.passages]
            self.model.index(self._tokenize(texts), show_progress=False)

    def _tokenize(self, texts: list[str]):
        return self._bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False)

    def rank(self, questions: list[str], k: int) -> list[list[tuple[int, float]]]:
        ids, scores = self.model.retrieve(self._tokenize(questions), k=k, show_progress=False, n_threads=1)
        # A question made only of stop words or unseen words scores 0 everywhere: no evidence, no hits.
        return [[(int(i), float(s)) for i, s in zip(row_ids, row) if s > 0] for row_ids, row in zip(ids, scores)]


class HybridRetriever(_Base):
    """Dense and BM25 fused: each list's scores min-max scaled to [0, 1], then a weighted sum.

    A convex combination of scaled scores keeps how far apart the passages score, which reciprocal rank
    fusion throws away; on the SQuAD train fragment it ranks the answering passage first more often
    (recall@1 0.779 against RRF's 0.742, README) - as Bruch et al. (2023) found on other benchmarks."""

    def __init__(self, dense: DenseRetriever, bm25: BM25Retriever, dense_weight: float) -> None:
        super().__init__(dense.index)
        self.dense, self.bm25, self.dense_weight = dense, bm25, dense_weight

    def rank(self, questions: list[str], k: int) -> list[list[tuple[int, float]]]:
        depth = min(max(k, FUSION_DEPTH), len(self.index.passages))
        pairs = zip(self.dense.rank(questions, depth), self.bm25.rank(questions, depth))
        return [fuse(dense, bm25, self.dense_weight)[:k] for dense, bm25 in pairs]


def fuse(dense: list[tuple[int, float]], bm25: list[tuple[int, float]], dense_weight: float) -> list[tuple[int, float]]:
    """(passage, fused score) best first: dense_weight x scaled dense + (1 - dense_weight) x scaled BM25."""
    scores: dict[int, float] = {}
    for weight, ranked in ((dense_weight, dense), (1.0 - dense_weight, bm25)):
        for i, scaled in _min_max(ranked):
            scores[i] = scores.get(i, 0.0) + weight * scaled
    return sorted(scores.items(), key=lambda t: -t[1])


def _min_max(ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Scores scaled to [0, 1] within one list; a passage missing from the list counts as its lowest."""
    if not ranked:
        return []
    top, low = ranked[0][1], ranked[-1][1]
    span = top - low
    return [(i, (s - low) / span if span > 0 else 1.0) for i, s in ranked]


def make_retriever(index: PassageIndex, embedder: Embedder, settings: Settings, kind: str | None = None) -> Retriever:
    """The retriever `kind` (default: the configured one) over `index`."""
    kind = kind or settings.retriever
    if kind not in RETRIEVERS:
        raise ValueError(f"unknown retriever {kind!r}: use one of {', '.join(RETRIEVERS)}")
    if kind == "dense":
        return DenseRetriever(index, embedder)
    bm25 = BM25Retriever(index, settings.bm25_k1, settings.bm25_b)
    if kind == "bm25":
        return bm25
    return HybridRetriever(DenseRetriever(index, embedder), bm25, settings.hybrid_dense_weight)
