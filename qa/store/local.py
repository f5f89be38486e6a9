"""The local store: a FAISS inner-product index over unit vectors, the passages and the articles as files
in one folder, and BM25 (bm25s) built from the passages when first asked.

Every file's checksum is recorded in the manifest, which is written last; a folder whose files do not
match it is unusable (and rebuilt by `qa.store.indexing`), never half-read.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Mapping, Sequence

import faiss
import numpy as np

from qa.schema import Article, Passage
from qa.store.base import Hit, Manifest, StoreUnusable, embedding_text
from qa.text import english_stemmer

FILES = ("vectors.faiss", "passages.jsonl", "articles.jsonl")


@dataclass
class LocalStore:
    manifest: Manifest
    articles: dict[str, Article]
    passages: list[Passage]
    vectors: faiss.Index
    folder: Path | None = None  # None: in memory only (evaluation corpora)
    bm25_k1: float = 0.9
    bm25_b: float = 0.4

    @classmethod
    def empty(cls, manifest: Manifest, folder: Path | None = None, **options) -> "LocalStore":
        return cls(manifest, {}, [], faiss.IndexFlatIP(manifest.dimension), folder, **options)

    # --- reading ---------------------------------------------------------------------------------

    def article(self, article_id: str) -> Article:
        return self.articles[article_id]

    def article_passages(self, article_id: str) -> list[Passage]:
        return self._by_article.get(article_id, [])

    def passage_count(self) -> int:
        return len(self.passages)

    @cached_property
    def _by_article(self) -> dict[str, list[Passage]]:
        by_article: dict[str, list[Passage]] = {}
        for p in self.passages:
            by_article.setdefault(p.article_id, []).append(p)
        return {a: sorted(ps, key=lambda p: p.index) for a, ps in by_article.items()}

    def dense_top_k(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        k = min(k, len(self.passages))
        if k <= 0 or len(queries) == 0:  # an empty batch breaks FAISS
            return [[] for _ in range(len(queries))]
        scores, ids = self.vectors.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return [[(self.passages[i], float(s)) for i, s in zip(row_ids, row) if i >= 0] for row_ids, row in zip(ids, scores)]

    def keyword_top_k(self, questions: Sequence[str], k: int) -> list[list[Hit]]:
        k = min(k, len(self.passages))
        if k <= 0 or not questions:  # an empty batch breaks bm25s
            return [[] for _ in questions]
        ids, scores = self._bm25.retrieve(self._tokenize(list(questions)), k=k, show_progress=False, n_threads=1)
        # A question made only of stop words or unseen words scores 0 everywhere: no evidence, no hits.
        return [[(self.passages[int(i)], float(s)) for i, s in zip(row_ids, row) if s > 0] for row_ids, row in zip(ids, scores)]

    def with_bm25(self, k1: float, b: float) -> "LocalStore":
        """The same contents with other BM25 parameters (tuning); vectors and passages are shared."""
        return LocalStore(self.manifest, self.articles, self.passages, self.vectors, None, k1, b)

    @cached_property
    def _bm25(self):
        import bm25s

        model = bm25s.BM25(k1=self.bm25_k1, b=self.bm25_b)
        model.index(self._tokenize([embedding_text(self.articles[p.article_id], p) for p in self.passages]), show_progress=False)
        return model

    def _tokenize(self, texts: list[str]):
        import bm25s

        return bm25s.tokenize(texts, stopwords="en", stemmer=english_stemmer(), show_progress=False)

    # --- writing ---------------------------------------------------------------------------------

    def update(self, articles: Sequence[Article], fresh: Mapping[str, tuple[list[Passage], np.ndarray]], manifest: Manifest) -> None:
        old_positions: dict[str, list[int]] = {}
        for position, passage in enumerate(self.passages):
            old_positions.setdefault(passage.article_id, []).append(position)
        kept = [a.id for a in articles if a.id not in fresh]
        old_vectors = self.vectors.reconstruct_n(0, self.vectors.ntotal) if kept and self.vectors.ntotal else None
        passages: list[Passage] = []
        blocks: list[np.ndarray] = []
        for a in articles:
            if a.id in fresh:
                new_passages, new_vectors = fresh[a.id]
                passages.extend(new_passages)
                blocks.append(new_vectors)
            else:
                positions = old_positions.get(a.id, [])
                passages.extend(self.passages[i] for i in positions)
                if positions:
                    blocks.append(old_vectors[positions])
        vectors = faiss.IndexFlatIP(manifest.dimension)
        if passages:
            vectors.add(np.ascontiguousarray(np.concatenate(blocks), dtype=np.float32))
        self.manifest, self.articles, self.passages, self.vectors = manifest, {a.id: a for a in articles}, passages, vectors
        for derived in ("_by_article", "_bm25"):
            self.__dict__.pop(derived, None)

    def commit(self) -> None:
        """Write every file under a temporary name, then swap them in; the manifest goes last."""
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        payloads = {
            "vectors.faiss": faiss.serialize_index(self.vectors).tobytes(),
            "passages.jsonl": _jsonl(_passage_record(p) for p in self.passages),
            "articles.jsonl": _jsonl(asdict(a) for a in self.articles.values()),
        }
        record = dict(self.manifest.to_dict(), checksums={n: hashlib.sha256(b).hexdigest() for n, b in payloads.items()})
        payloads["manifest.json"] = json.dumps(record, indent=2).encode()
        for name, data in payloads.items():
            tmp = self.folder / f".{name}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, self.folder / name)

    @classmethod
    def load(cls, folder: Path, **options) -> "LocalStore":
        try:
            record = json.loads((folder / "manifest.json").read_text())
            blobs = {name: (folder / name).read_bytes() for name in FILES}
        except FileNotFoundError as err:
            raise StoreUnusable(f"no index at {folder}") from err
        except (OSError, ValueError) as err:
            raise StoreUnusable(f"index manifest at {folder} is unreadable: {err}") from err
        sums = record.get("checksums", {}) if isinstance(record, dict) else {}
        for name, data in blobs.items():
            if sums.get(name) != hashlib.sha256(data).hexdigest():
                raise StoreUnusable(f"index file {folder / name} is corrupt (checksum mismatch)")
        try:
            manifest = Manifest.from_dict(record)
            vectors = faiss.deserialize_index(np.frombuffer(blobs["vectors.faiss"], dtype=np.uint8))
            passages = [_passage_from(json.loads(line)) for line in blobs["passages.jsonl"].splitlines()]
            articles = [Article(**json.loads(line)) for line in blobs["articles.jsonl"].splitlines()]
        except Exception as err:  # any decoding failure means the same thing: rebuild
            raise StoreUnusable(f"index at {folder} is corrupt: {err}") from err
        if vectors.ntotal != len(passages):
            raise StoreUnusable(f"index at {folder} is corrupt: {vectors.ntotal} vectors for {len(passages)} passages")
        return cls(manifest, {a.id: a for a in articles}, passages, vectors, folder, **options)


def _jsonl(records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def _passage_record(p: Passage) -> dict:
    record = asdict(p)
    record["runs"] = [list(r) for r in p.runs]
    return record


def _passage_from(record: dict) -> Passage:
    record["runs"] = tuple(tuple(r) for r in record["runs"])
    return Passage(**record)
