"""Keeping a store in step with a corpus: what changed, chunking and embedding only that, the update.

The same for every store: a store only persists what it is given (`qa.store.base.PassageStore`).
`open_store` is what the chat, the CLI and evaluation call: the stored index if it is current, brought up
to date when only the articles changed, rebuilt when it is from another model or corrupt.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from qa.embedding.embedder import Embedder
from qa.ingest.chunking import chunk_article, token_counter
from qa.ingest.corpus import Skipped, fingerprint, load_corpus, prepare_corpus
from qa.schema import Article
from qa.settings import Settings
from qa.store.base import Manifest, PassageStore, StoreUnusable, embedding_text
from qa.store.local import LocalStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexUpdate:
    """What `sync` did, by article id."""

    added: tuple[str, ...]
    changed: tuple[str, ...]  # same id, new title or text: embedded again
    removed: tuple[str, ...]
    kept: tuple[str, ...]
    embedded_passages: int

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
                f"{len(self.kept)} kept ({self.embedded_passages} passages embedded)")


def wanted_manifest(settings: Settings, embedder: Embedder, articles: Sequence[Article]) -> Manifest:
    return Manifest(
        embedder=embedder.identity,
        dimension=embedder.dimension,
        passage_tokens=settings.passage_tokens,
        passage_overlap_tokens=settings.passage_overlap_tokens,
        corpus_fingerprint=fingerprint(list(articles)),
    )


def sync(store: PassageStore, articles: Sequence[Article], embedder: Embedder, settings: Settings,
         show_progress: bool = False) -> IndexUpdate:
    """Bring `store` to hold exactly `articles`: the passages and vectors a full build would give, in the
    same order, with only new or changed articles chunked and embedded. The store must be of the same
    identity (embedder, chunking, format) as `settings` and `embedder` build; the caller checks."""
    from tqdm.auto import tqdm

    stored = store.articles
    reuse = {a.id for a in articles if a.id in stored and (stored[a.id].title, stored[a.id].text) == (a.title, a.text)}
    new = [a for a in articles if a.id not in reuse]
    count = token_counter(embedder.tokenizer)
    chunks = {
        a.id: chunk_article(a, count, settings.passage_tokens, settings.passage_overlap_tokens)
        for a in tqdm(new, desc="Chunking new articles", unit="article", disable=not show_progress or not new)
    }
    texts = [embedding_text(a, p) for a in new for p in chunks[a.id]]
    vectors = embedder.encode(texts, show_progress) if texts else np.zeros((0, embedder.dimension), np.float32)
    fresh, cursor = {}, 0
    for a in new:
        fresh[a.id] = (chunks[a.id], vectors[cursor : cursor + len(chunks[a.id])])
        cursor += len(chunks[a.id])
    ids = {a.id for a in articles}
    update = IndexUpdate(
        added=tuple(a.id for a in new if a.id not in stored),
        changed=tuple(a.id for a in new if a.id in stored),
        removed=tuple(sorted(i for i in stored if i not in ids)),
        kept=tuple(a.id for a in articles if a.id in reuse),
        embedded_passages=len(texts),
    )
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    manifest = replace(
        wanted_manifest(settings, embedder, articles),
        articles=len(articles),
        passages=sum(len(store.article_passages(i)) for i in reuse) + len(texts),
        built_at=store.manifest.built_at or now,
        updated_at=now if store.manifest.built_at else "",
        last_update={"added": len(update.added), "changed": len(update.changed),
                     "removed": len(update.removed), "kept": len(update.kept)},
    )
    store.update(articles, fresh, manifest)
    return update


def build_store(articles: Sequence[Article], embedder: Embedder, settings: Settings, show_progress: bool = False,
                folder=None) -> LocalStore:
    """A local store holding `articles` (in memory unless `folder` is given; nothing written until commit)."""
    store = empty_store(settings, embedder, folder)
    sync(store, articles, embedder, settings, show_progress)
    return store


def empty_store(settings: Settings, embedder: Embedder, folder=None) -> LocalStore:
    manifest = replace(wanted_manifest(settings, embedder, []), corpus_fingerprint="")
    return LocalStore.empty(manifest, folder, bm25_k1=settings.bm25_k1, bm25_b=settings.bm25_b)


def open_store(settings: Settings, embedder: Embedder, show_progress: bool = False) -> tuple[LocalStore, list[Skipped]]:
    """The store for `settings.corpus_dir`: the stored one if it is current, else updated or rebuilt."""
    articles, skipped = load_corpus(prepare_corpus(settings))
    wanted = wanted_manifest(settings, embedder, articles)
    try:
        store = LocalStore.load(settings.index_dir, bm25_k1=settings.bm25_k1, bm25_b=settings.bm25_b)
        differs = store.manifest.differs_from(wanted)
        if differs and differs != ["corpus_fingerprint"]:
            raise StoreUnusable(f"index at {settings.index_dir} is stale ({', '.join(differs)} changed)")
        if not differs:
            return store, skipped
        log.warning("index at %s is stale (the articles changed): updating it", settings.index_dir)
    except StoreUnusable as why:
        log.warning("%s: rebuilding", why)
        store = empty_store(settings, embedder, settings.index_dir)
    update = sync(store, articles, embedder, settings, show_progress)
    store.commit()
    log.info("index at %s: %s", settings.index_dir, update.summary())
    return store, skipped
