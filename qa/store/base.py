"""What the rest of the system needs from a passage store, whatever persists it.

A store holds articles, their passages (with character offsets) and one vector per passage, and answers
dense and keyword top-k queries. Keeping it up to date with a corpus (what changed, chunking, embedding)
is `qa.store.indexing`'s job, the same for every store; a new backend implements this protocol only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping, Protocol, Sequence

import numpy as np

from qa.schema import Article, Passage

FORMAT_VERSION = 1

Hit = tuple[Passage, float]  # a passage and its retriever's score, best first in a list


def embedding_text(article: Article, passage: Passage) -> str:
    """What is embedded and keyword-indexed for a passage: the title tells what it is about when the
    passage itself does not say."""
    return f"{article.title}\n{passage.text}"


class StoreUnusable(Exception):
    """The stored index cannot be used as it is (missing, corrupt, stale or from another model)."""


@dataclass(frozen=True)
class Manifest:
    """What built a store's contents. The first five fields say which vectors and passages it holds: a
    store whose identity differs from what the settings would build is rebuilt, never mixed."""

    embedder: str
    dimension: int
    passage_tokens: int
    passage_overlap_tokens: int
    format_version: int = FORMAT_VERSION
    corpus_fingerprint: str = ""
    articles: int = 0
    passages: int = 0
    built_at: str = ""
    updated_at: str = ""
    last_update: dict = field(default_factory=dict)

    def differs_from(self, other: "Manifest") -> list[str]:
        """Names of the identity fields (and the corpus fingerprint) in which the two differ."""
        names = ("embedder", "dimension", "passage_tokens", "passage_overlap_tokens", "format_version", "corpus_fingerprint")
        return [n for n in names if getattr(self, n) != getattr(other, n)]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record: dict) -> "Manifest":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in known})


class PassageStore(Protocol):
    manifest: Manifest

    @property
    def articles(self) -> Mapping[str, Article]: ...

    def article(self, article_id: str) -> Article: ...

    def article_passages(self, article_id: str) -> list[Passage]:
        """The article's passages in order (passage.index is the position)."""
        ...

    def passage_count(self) -> int: ...

    def dense_top_k(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        """Per query vector (unit length), the k passages of highest inner product."""
        ...

    def keyword_top_k(self, questions: Sequence[str], k: int) -> list[list[Hit]]:
        """Per question, the k passages of highest keyword (BM25) score; none when no word matches."""
        ...

    def update(self, articles: Sequence[Article], fresh: Mapping[str, tuple[list[Passage], np.ndarray]], manifest: Manifest) -> None:
        """Make the store hold exactly `articles`, in that order: those in `fresh` (by id) with the given
        passages and vectors, the others with the passages and vectors the store already has."""
        ...

    def commit(self) -> None:
        """Persist what `update` changed; until then readers of the persisted store see the old state."""
        ...
