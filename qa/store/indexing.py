"""From articles to what a store holds: chunking and embedding, and opening the store the settings name.

The same for every store: a store only persists what it is given (`qa.store.base.PassageStore`).
`open_store` is what the chat, the CLI and evaluation call: the collection as stored, re-chunked and
re-embedded first when it was made with another embedder or other passage sizes.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from qa.embedding.embedder import Embedder
from qa.ingest.chunking import chunk_article, token_counter
from qa.ingest.formats import content_key
from qa.schema import Article
from qa.settings import Settings
from qa.store.base import Change, Manifest, NewArticle, PassageStore, StoreUnusable, embedding_text
from qa.store.local import LocalStore
from qa.store.vectors import DenseLayout

log = logging.getLogger(__name__)


def wanted_manifest(settings: Settings, embedder: Embedder) -> Manifest:
    return Manifest(
        embedder=embedder.identity,
        dimension=embedder.dimension,
        passage_tokens=settings.passage_tokens,
        passage_overlap_tokens=settings.passage_overlap_tokens,
    )


def dense_layout(settings: Settings) -> DenseLayout:
    return DenseLayout(settings.hnsw_from, search_depth=settings.hnsw_search_depth)


def prepare(
    articles: Sequence[tuple[Article, str]], embedder: Embedder, settings: Settings, show_progress: bool = False,
    key: Callable[[Article], str] | None = None,
) -> list[NewArticle]:
    """(article, origin) pairs chunked into passages and embedded, ready for `PassageStore.write`.
    `key` says when two articles are the same one; by default, the same title and text."""
    key = key or (lambda a: content_key(a.title, a.text))
    count = token_counter(embedder.tokenizer)
    chunks = [chunk_article(a, count, settings.passage_tokens, settings.passage_overlap_tokens) for a, _ in articles]
    texts = [embedding_text(a, p) for (a, _), passages in zip(articles, chunks) for p in passages]
    vectors = embedder.encode(texts, show_progress) if texts else np.zeros((0, embedder.dimension), np.float32)
    out, cursor = [], 0
    for (article, origin), passages in zip(articles, chunks):
        out.append(NewArticle(article, origin, key(article), passages, vectors[cursor : cursor + len(passages)]))
        cursor += len(passages)
    return out


def open_store(settings: Settings, embedder: Embedder, show_progress: bool = False) -> PassageStore:
    """The collection the settings name (`store`: a PostgreSQL URL; else the local one in `index_dir`),
    created empty if there is none, made with `embedder`."""
    wanted = wanted_manifest(settings, embedder)
    if settings.store:
        from qa.store.postgres import PostgresStore

        store = PostgresStore.open(settings.store, wanted, settings.hnsw_search_depth)
    else:
        store = LocalStore.open(settings.index_dir, wanted, settings.snapshot_every, dense_layout(settings))
    differs = store.manifest.differs_from(wanted)
    if differs:
        where = store.location
        if store.read_only:
            raise StoreUnusable(f"the collection in {where} was indexed with another {', '.join(differs)} "
                                "and is read-only, so it cannot be indexed again: use the settings it was made with")
        if store.shared:
            raise StoreUnusable(f"the collection at {where} was indexed with another {', '.join(differs)}: "
                                "use the settings it was made with (an index is never mixed from two models)")
        log.warning("the collection in %s was indexed with another %s: indexing its %d articles again",
                    settings.index_dir, ", ".join(differs), store.article_count())
        reindex(store, embedder, settings, show_progress)
    return store


def reindex(store: PassageStore, embedder: Embedder, settings: Settings, show_progress: bool = False,
            batch: int = 256) -> None:
    """Chunk and embed every stored article again, as `settings` and `embedder` say (one transaction)."""
    from tqdm.auto import tqdm

    def batches() -> Iterator[list[NewArticle]]:
        ids = store.article_ids()  # read inside the rebuild's transaction: no article comes or goes meanwhile
        with tqdm(total=len(ids), desc="Indexing again", unit="article", disable=not show_progress) as bar:
            for i in range(0, len(ids), batch):
                articles = [store.article(article_id) for article_id in ids[i : i + batch]]
                yield prepare([(a, "") for a in articles], embedder, settings)
                bar.update(len(articles))

    store.rebuild(wanted_manifest(settings, embedder), batches())


def build_store(articles: Sequence[Article], embedder: Embedder, settings: Settings, show_progress: bool = False,
                folder: Path | None = None) -> LocalStore:
    """A store holding exactly `articles` under their own ids (evaluation corpora), in `folder` or in a
    temporary folder removed when the process ends."""
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="article-qa-store-"))
        atexit.register(shutil.rmtree, folder, True)
    store = LocalStore.open(folder, wanted_manifest(settings, embedder), settings.snapshot_every, dense_layout(settings))
    # Keyed by id, not content: two paragraphs with the same text are still two articles to evaluate.
    new = prepare([(a, a.source or a.id) for a in articles], embedder, settings, show_progress, key=lambda a: f"id:{a.id}")
    store.write(Change(add=new, note="evaluation corpus"))
    return store
