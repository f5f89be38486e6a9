"""What the rest of the system needs from a passage store, whatever persists it.

A store is the collection: articles, their passages (with character offsets), one vector per passage,
a keyword index, and the generation of the last committed change. Every change is one transaction
(`write`), and a store object answers from one committed generation until `refresh` moves it to the
newest. Chunking and embedding are `qa.store.indexing`'s job, the same for every store; a new backend
implements this protocol only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

import numpy as np

from qa.schema import Article, Passage

FORMAT_VERSION = 2

Scored = tuple[int, float]  # a passage's key in its store and a retriever's score; lists are best first


def embedding_text(article: Article, passage: Passage) -> str:
    """What is embedded and keyword-indexed for a passage: the title tells what it is about when the
    passage itself does not say."""
    return titled(article.title, passage.text)


def titled(title: str, text: str) -> str:
    """A passage's text under its article's title, as it is embedded and keyword-indexed."""
    return f"{title}\n{text}"


class StoreUnusable(Exception):
    """The store cannot be used as it is (corrupt, from another model, unwritable); the message says
    what to do."""


class StoreReadOnly(StoreUnusable):
    """A change was asked of a store that can only be read."""


@dataclass(frozen=True)
class Manifest:
    """What a store's passages and vectors were made with: a store whose manifest differs from what the
    settings would build is re-chunked and re-embedded, never mixed."""

    embedder: str
    dimension: int
    passage_tokens: int
    passage_overlap_tokens: int
    format_version: int = FORMAT_VERSION

    def differs_from(self, other: "Manifest") -> list[str]:
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(other, f.name)]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record: dict) -> "Manifest":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in known})


@dataclass(frozen=True)
class ArticleEntry:
    """One line of the collection's list."""

    id: str
    title: str
    origin: str  # where it was added from, as people recognise it ("feed.jsonl line 3")


@dataclass(frozen=True)
class NewArticle:
    """An article ready to store: chunked and embedded (vectors[i] is passages[i]'s)."""

    article: Article
    origin: str
    key: str  # content key (qa.ingest.formats.content_key): the same article however it is spaced
    passages: Sequence[Passage]
    vectors: np.ndarray


@dataclass(frozen=True)
class Checkpoint:
    """How far a bulk ingest of one source has committed: rerunning it starts from here."""

    source: str
    offset: int  # bytes into the source
    line: int  # lines read so far


@dataclass(frozen=True)
class Change:
    """One transaction: all of it is committed, or none."""

    add: Sequence[NewArticle] = ()
    remove: Sequence[str] = ()  # article ids; any unknown id means nothing is done
    checkpoint: Checkpoint | None = None
    note: str = ""  # for the commit log


@dataclass(frozen=True)
class Written:
    """What a `write` did. An article whose id was taken is stored under a new one (`id-2`)."""

    generation: int
    added: tuple[Article, ...] = ()
    duplicates: tuple[tuple[NewArticle, Article], ...] = ()  # (the new one, the stored one it repeats)
    removed: tuple[Article, ...] = ()
    missing: tuple[str, ...] = ()  # unknown ids asked to be removed: nothing was written


class PassageStore(Protocol):
    manifest: Manifest
    location: str  # where the collection is, for people: a folder, or a URL without its password
    read_only: bool
    # Other processes or machines answer from it: a collection from another model is refused rather
    # than indexed again by whichever process opens it first.
    shared: bool

    # --- reading: from the generation this object was last refreshed to ---------------------------

    def generation(self) -> int: ...

    def dense_index(self) -> str:
        """What kind of vector index answers dense searches now, for people (benchmarks, logs)."""
        ...

    def refresh(self) -> bool:
        """Move to the newest committed generation (only what changed is loaded); True if it moved."""
        ...

    def article(self, article_id: str) -> Article:
        """KeyError when there is no such article."""
        ...

    def entries(self, limit: int | None = None) -> list[ArticleEntry]:
        """The articles in the order they were added."""
        ...

    def article_count(self) -> int: ...

    def article_ids(self) -> list[str]:
        """Every article's id, in the order they were added."""
        ...

    def passage_count(self) -> int: ...

    def article_passages(self, article_id: str) -> list[Passage]:
        """The article's passages in order (passage.index is the position)."""
        ...

    def stored(self, keys: Iterable[str]) -> dict[str, Article]:
        """The stored articles with these content keys."""
        ...

    def checkpoint(self, source: str) -> Checkpoint | None: ...

    def dense_top_k(self, queries: np.ndarray, k: int) -> list[list[Scored]]:
        """Per query vector (unit length), the k passages of highest inner product."""
        ...

    def keyword_top_k(self, questions: Sequence[str], k: int) -> list[list[Scored]]:
        """Per question, the k passages of highest keyword (BM25) score; none when no word matches."""
        ...

    def passages(self, keys: Iterable[int]) -> dict[int, Passage]:
        """The passages with these keys (as searches give them); a key whose passage was removed since
        this object's generation is simply not there. Searches give keys so that retrieval fuses two
        long lists and reads only the passages it keeps."""
        ...

    # --- writing ------------------------------------------------------------------------------------

    def write(self, change: Change) -> Written:
        """Commit `change` as one transaction, serialised with every other writer of the store; the
        duplicate and id checks are made inside it. The store object then reads the new generation."""
        ...

    def rebuild(self, manifest: Manifest, batches: Iterable[Sequence[NewArticle]]) -> None:
        """Replace every passage and vector with those in `batches` (every stored article, chunked and
        embedded as `manifest` says), in one transaction."""
        ...
