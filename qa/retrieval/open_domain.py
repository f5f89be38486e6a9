"""SQuAD-format questions as an open-domain corpus: every paragraph of the file becomes an article in an
in-memory store, and the configured retriever searches all of them (open-mode evaluation, tuning, and
the training stages that learn from what retrieval returns)."""

from __future__ import annotations

from typing import Sequence

from qa.datasets.squad import SquadExample, squad_articles
from qa.embedding.embedder import Embedder
from qa.retrieval.retrievers import Retriever, make_retriever
from qa.settings import Settings
from qa.store.indexing import build_store
from qa.store.base import PassageStore


def open_domain(examples: Sequence[SquadExample], settings: Settings, embedder: Embedder,
                show_progress: bool = False) -> tuple[PassageStore, Retriever]:
    store = build_store(squad_articles(examples), embedder, settings, show_progress)
    return store, make_retriever(store, embedder, settings)
