"""The persisted passage index: FAISS inner product over unit vectors, plus the passages and articles.

A manifest records what built it (embedder, dimension, chunking, corpus fingerprint, format version)
and a checksum of every file. `open_index` rebuilds an index that is from another model or corrupt
instead of failing; when only the articles changed it updates the index in place (`update_index`:
unchanged articles keep their passages and vectors, only new or changed ones are embedded). Files
are replaced only after the new index is complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import faiss
import numpy as np

from qa.chunking import chunk_article, token_counter
from qa.config import Settings
from qa.corpus import Skipped, fingerprint, load_corpus
from qa.embedding import Embedder
from qa.schema import Article, Passage

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
FILES = ("vectors.faiss", "passages.jsonl", "articles.jsonl")


class IndexUnusable(Exception):
    """The stored index cannot be used as it is (missing, corrupt, stale or from another model)."""


@dataclass
class PassageIndex:
    manifest: dict
    articles: dict[str, Article]
    passages: list[Passage]
    vectors: faiss.Index

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(passage position, cosine score) best first."""
        k = min(k, len(self.passages))
        if k <= 0:
            return []
        scores, ids = self.vectors.search(query.reshape(1, -1).astype(np.float32), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def article(self, passage: Passage) -> Article:
        return self.articles[passage.article_id]

    @cached_property
    def _by_article(self) -> dict[str, list[Passage]]:
        by_article: dict[str, list[Passage]] = {}
        for p in self.passages:
            by_article.setdefault(p.article_id, []).append(p)
        return {a: sorted(ps, key=lambda p: p.index) for a, ps in by_article.items()}

    def article_passages(self, article_id: str) -> list[Passage]:
        """The article's passages in order (passage.index is the position)."""
        return self._by_article.get(article_id, [])


def expected_manifest(settings: Settings, embedder: Embedder, articles: list[Article]) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "embedder": embedder.identity,
        "dimension": embedder.dimension,
        "passage_tokens": settings.passage_tokens,
        "passage_overlap_tokens": settings.passage_overlap_tokens,
        "corpus_fingerprint": fingerprint(articles),
    }


def embedding_text(article: Article, passage: Passage) -> str:
    # The title tells the embedder what the passage is about when the passage itself does not say.
    return f"{article.title}\n{passage.text}"


def build_index(articles: list[Article], embedder: Embedder, settings: Settings, show_progress: bool = False) -> PassageIndex:
    count = token_counter(embedder.tokenizer)
    passages = [
        p
        for a in articles
        for p in chunk_article(a, count, settings.passage_tokens, settings.passage_overlap_tokens)
    ]
    by_id = {a.id: a for a in articles}
    vectors = faiss.IndexFlatIP(embedder.dimension)
    if passages:
        vectors.add(embedder.encode([embedding_text(by_id[p.article_id], p) for p in passages], show_progress))
    manifest = expected_manifest(settings, embedder, articles)
    manifest.update(articles=len(articles), passages=len(passages), built_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
    return PassageIndex(manifest, by_id, passages, vectors)


@dataclass(frozen=True)
class IndexUpdate:
    """What `update_index` did, by article id."""

    added: tuple[str, ...]
    changed: tuple[str, ...]  # same id, new title or text: embedded again
    removed: tuple[str, ...]
    kept: tuple[str, ...]
    embedded_passages: int

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
                f"{len(self.kept)} kept ({self.embedded_passages} passages embedded)")


def update_index(
    stored: PassageIndex, articles: list[Article], embedder: Embedder, settings: Settings, show_progress: bool = False
) -> tuple[PassageIndex, IndexUpdate]:
    """`stored` brought up to date with `articles`: the same passages and vectors a full build would give,
    in the same order, but only new or changed articles are chunked and embedded. `stored` must come
    from the same embedder, dimension, chunking settings and format version (the caller checks)."""
    from tqdm.auto import tqdm

    old_positions: dict[str, list[int]] = {}
    for position, passage in enumerate(stored.passages):
        old_positions.setdefault(passage.article_id, []).append(position)
    reuse = {
        a.id
        for a in articles
        if a.id in stored.articles
        and (stored.articles[a.id].title, stored.articles[a.id].text) == (a.title, a.text)
    }
    fresh = [a for a in articles if a.id not in reuse]
    count = token_counter(embedder.tokenizer)
    new_passages = {
        a.id: chunk_article(a, count, settings.passage_tokens, settings.passage_overlap_tokens)
        for a in tqdm(fresh, desc="Chunking new articles", unit="article", disable=not show_progress or not fresh)
    }
    texts = [embedding_text(a, p) for a in fresh for p in new_passages[a.id]]
    new_vectors = embedder.encode(texts, show_progress) if texts else np.zeros((0, embedder.dimension), np.float32)
    old_vectors = stored.vectors.reconstruct_n(0, stored.vectors.ntotal) if reuse and stored.vectors.ntotal else None

    passages: list[Passage] = []
    blocks: list[np.ndarray] = []
    cursor = 0
    for a in articles:
        if a.id in reuse:
            positions = old_positions.get(a.id, [])
            passages.extend(stored.passages[i] for i in positions)
            if positions:
                blocks.append(old_vectors[positions])
        else:
            chunk = new_passages[a.id]
            passages.extend(chunk)
            blocks.append(new_vectors[cursor : cursor + len(chunk)])
            cursor += len(chunk)
    vectors = faiss.IndexFlatIP(embedder.dimension)
    if passages:
        vectors.add(np.ascontiguousarray(np.concatenate(blocks), dtype=np.float32))

    ids = {a.id for a in articles}
    update = IndexUpdate(
        added=tuple(a.id for a in fresh if a.id not in stored.articles),
        changed=tuple(a.id for a in fresh if a.id in stored.articles),
        removed=tuple(sorted(i for i in stored.articles if i not in ids)),
        kept=tuple(a.id for a in articles if a.id in reuse),
        embedded_passages=len(texts),
    )
    manifest = expected_manifest(settings, embedder, articles)
    manifest.update(
        articles=len(articles),
        passages=len(passages),
        built_at=stored.manifest.get("built_at", ""),
        updated_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
        last_update={"added": len(update.added), "changed": len(update.changed),
                     "removed": len(update.removed), "kept": len(update.kept)},
    )
    return PassageIndex(manifest, {a.id: a for a in articles}, passages, vectors), update


def save_index(index: PassageIndex, folder: Path) -> None:
    """Write every file under a temporary name, then swap them in; the manifest goes last."""
    folder.mkdir(parents=True, exist_ok=True)
    payloads = {
        "vectors.faiss": faiss.serialize_index(index.vectors).tobytes(),
        "passages.jsonl": _jsonl(_passage_record(p) for p in index.passages),
        "articles.jsonl": _jsonl(asdict(a) for a in index.articles.values()),
    }
    manifest = dict(index.manifest, checksums={n: hashlib.sha256(b).hexdigest() for n, b in payloads.items()})
    payloads["manifest.json"] = json.dumps(manifest, indent=2).encode()
    for name, data in payloads.items():
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, folder / name)


def load_index(folder: Path) -> PassageIndex:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        blobs = {name: (folder / name).read_bytes() for name in FILES}
    except FileNotFoundError as err:
        raise IndexUnusable(f"no index at {folder}") from err
    except (OSError, ValueError) as err:
        raise IndexUnusable(f"index manifest at {folder} is unreadable: {err}") from err
    sums = manifest.get("checksums", {}) if isinstance(manifest, dict) else {}
    for name, data in blobs.items():
        if sums.get(name) != hashlib.sha256(data).hexdigest():
            raise IndexUnusable(f"index file {folder / name} is corrupt (checksum mismatch)")
    try:
        vectors = faiss.deserialize_index(np.frombuffer(blobs["vectors.faiss"], dtype=np.uint8))
        passages = [_passage_from(json.loads(line)) for line in blobs["passages.jsonl"].splitlines()]
        articles = [Article(**json.loads(line)) for line in blobs["articles.jsonl"].splitlines()]
    except Exception as err:  # any decoding failure means the same thing: rebuild
        raise IndexUnusable(f"index at {folder} is corrupt: {err}") from err
    if vectors.ntotal != len(passages):
        raise IndexUnusable(f"index at {folder} is corrupt: {vectors.ntotal} vectors for {len(passages)} passages")
    return PassageIndex(manifest, {a.id: a for a in articles}, passages, vectors)


def open_index(settings: Settings, embedder: Embedder, show_progress: bool = False) -> tuple[PassageIndex, list[Skipped]]:
    """The index for `settings.corpus_dir`: the stored one if it is current, else a fresh build."""
    articles, skipped = load_corpus(settings.corpus_dir)
    wanted = expected_manifest(settings, embedder, articles)
    try:
        index = load_index(settings.index_dir)
        differs = [k for k, v in wanted.items() if index.manifest.get(k) != v]
        if differs == ["corpus_fingerprint"]:
            log.warning("index at %s is stale (the articles changed): updating it", settings.index_dir)
            index, update = update_index(index, articles, embedder, settings, show_progress)
            save_index(index, settings.index_dir)
            log.info("index at %s updated: %s", settings.index_dir, update.summary())
            return index, skipped
        if differs:
            raise IndexUnusable(f"index at {settings.index_dir} is stale ({', '.join(differs)} changed)")
        return index, skipped
    except IndexUnusable as why:
        log.warning("%s: rebuilding", why)
    index = build_index(articles, embedder, settings, show_progress)
    save_index(index, settings.index_dir)
    return index, skipped


def _jsonl(records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def _passage_record(p: Passage) -> dict:
    record = asdict(p)
    record["runs"] = [list(r) for r in p.runs]
    return record


def _passage_from(record: dict) -> Passage:
    record["runs"] = tuple(tuple(r) for r in record["runs"])
    return Passage(**record)
