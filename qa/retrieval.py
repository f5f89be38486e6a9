"""Question -> the top-k passages of the index."""

from __future__ import annotations

from qa.embedding import Embedder
from qa.index import PassageIndex
from qa.schema import RetrievedPassage


class DenseRetriever:
    def __init__(self, index: PassageIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder

    def run(self, question: str, top_k: int) -> list[RetrievedPassage]:
        query = self.embedder.encode([question])[0]
        return [
            RetrievedPassage(
                passage=self.index.passages[i],
                title=self.index.article(self.index.passages[i]).title,
                score=score,
                rank=rank,
            )
            for rank, (i, score) in enumerate(self.index.search(query, top_k), start=1)
        ]
