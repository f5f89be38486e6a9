"""Question -> the top-k passages of the store: dense (embedding), keyword (BM25), or both fused.

Every retriever has one `run(question, top_k)` and a batched `run_many` for evaluation; hits carry the
retriever's own score (cosine, BM25, or the fused scaled scores), which `answering` turns into passage
weights with a temperature tuned per retriever. The searching itself is the store's
(`PassageStore.dense_top_k` / `keyword_top_k`, which give passage keys); fusion is here, on keys, and
only the passages kept are read from the store.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from qa.embedding.embedder import Embedder
from qa.schema import RetrievedPassage
from qa.settings import RETRIEVERS, Settings
from qa.store.base import PassageStore, Scored


class Retriever(Protocol):
    def run(self, question: str, top_k: int) -> list[RetrievedPassage]: ...

    def run_many(self, questions: Sequence[str], top_k: int) -> list[list[RetrievedPassage]]: ...


class _Base:
    def __init__(self, store: PassageStore) -> None:
        self.store = store

    def run(self, question: str, top_k: int) -> list[RetrievedPassage]:
        return self.run_many([question], top_k)[0]

    def run_many(self, questions: Sequence[str], top_k: int) -> list[list[RetrievedPassage]]:
        if not questions:
            return []
        return [self.hits(ranked, top_k) for ranked in self.rank(list(questions), top_k)]

    def rank(self, questions: list[str], k: int) -> list[list[Scored]]:
        """Per question, (passage key, score) best first: at least the k best (more where fusion gives more)."""
        raise NotImplementedError

    def hits(self, ranked: list[Scored], k: int) -> list[RetrievedPassage]:
        """The first k passages of `ranked` that are still stored (one removed since the search index
        was refreshed is passed over), with their titles."""
        kept: list[tuple] = []
        start = 0
        while len(kept) < k and start < len(ranked):
            chunk = ranked[start : start + k - len(kept)]
            start += len(chunk)
            found = self.store.passages(key for key, _ in chunk)
            kept += [(found[key], score) for key, score in chunk if key in found]
        return [
            RetrievedPassage(passage, self.store.article(passage.article_id).title, score, rank)
            for rank, (passage, score) in enumerate(kept, start=1)
        ]


class DenseRetriever(_Base):
    """Cosine similarity of the configured embedder's vectors."""

    def __init__(self, store: PassageStore, embedder: Embedder) -> None:
        super().__init__(store)
        self.embedder = embedder

    def rank(self, questions: list[str], k: int) -> list[list[Scored]]:
        return self.store.dense_top_k(self.embedder.encode(questions), k)


class BM25Retriever(_Base):
    """Okapi BM25 over title + passage, English stop words removed and words stemmed (the store's)."""

    def rank(self, questions: list[str], k: int) -> list[list[Scored]]:
        return self.store.keyword_top_k(questions, k)


class HybridRetriever(_Base):
    """Dense and BM25 fused: each list's scores min-max scaled to [0, 1], then a weighted sum.

    A convex combination of scaled scores keeps how far apart the passages score, which reciprocal rank
    fusion throws away; on the SQuAD train fragment it ranks the answering passage first more often
    (docs/tuning.md) - as Bruch et al. (2023) found on other benchmarks."""

    def __init__(self, dense: DenseRetriever, bm25: BM25Retriever, dense_weight: float, depth: int) -> None:
        super().__init__(dense.store)
        self.dense, self.bm25, self.dense_weight, self.depth = dense, bm25, dense_weight, depth

    def rank(self, questions: list[str], k: int) -> list[list[Scored]]:
        # Each list goes deeper than k: a passage ranked 30th by one and 2nd by the other must be seen.
        depth = max(k, self.depth)
        pairs = zip(self.dense.rank(questions, depth), self.bm25.rank(questions, depth))
        return [fuse(dense, bm25, self.dense_weight) for dense, bm25 in pairs]


def fuse(dense: list[Scored], bm25: list[Scored], dense_weight: float) -> list[Scored]:
    """(passage key, fused score) best first: dense_weight x scaled dense + (1 - dense_weight) x scaled BM25."""
    scores: dict[int, float] = {}
    for weight, ranked in ((dense_weight, dense), (1.0 - dense_weight, bm25)):
        for key, scaled in _min_max(ranked):
            scores[key] = scores.get(key, 0.0) + weight * scaled
    return sorted(scores.items(), key=lambda t: -t[1])


def _min_max(ranked: list[Scored]) -> list[Scored]:
    """Scores scaled to [0, 1] within one list; a passage missing from the list counts as its lowest."""
    if not ranked:
        return []
    top, low = ranked[0][1], ranked[-1][1]
    span = top - low
    return [(key, (s - low) / span if span > 0 else 1.0) for key, s in ranked]


def make_retriever(store: PassageStore, embedder: Embedder, settings: Settings, kind: str | None = None) -> Retriever:
    """The retriever `kind` (default: the configured one) over `store`."""
    kind = kind or settings.retriever
    if kind not in RETRIEVERS:
        raise ValueError(f"unknown retriever {kind!r}: use one of {', '.join(RETRIEVERS)}")
    if kind == "dense":
        return DenseRetriever(store, embedder)
    if kind == "bm25":
        return BM25Retriever(store)
    return HybridRetriever(DenseRetriever(store, embedder), BM25Retriever(store), settings.hybrid_dense_weight, settings.fusion_depth)
