"""The dense index: FAISS over unit vectors keyed by passage key, and its snapshots on disk.

Exact (flat inner product) while the collection is small. From `DenseLayout.approximate_from` vectors
on, an HNSW graph over 8-bit scalar-quantised vectors: a flat search reads every vector for every
question, so its time grows with the collection, while HNSW walks a few hundred graph nodes and SQ8
holds a vector in a quarter of the memory. Chosen by measurement on real questions against an IVF
index, which finds fewer answers (docs/benchmarks.md, "Scale"; scripts/bench_vectors.py).

FAISS cannot remove a vector from an HNSW graph: a removed passage's vector stays in it, marked dead,
and searches skip dead keys; when enough of the graph is dead the store builds it again
(`DenseLayout.rebuild`). Dead keys are not written down: they are the keys the index holds that the
collection no longer has (`VectorIndex.retain`).

The vectors themselves are kept with their passages in the collection database; this index is derived
from them. A snapshot file lets a large collection start without reading every vector from the
database: it holds the index as of one generation, and only the passages added or removed since are
read at start. Snapshot files are written under a temporary name, synced and renamed, and only then
named by the database, so a crash leaves either the old snapshot in use or an unreferenced file that
the next open deletes.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import faiss
import numpy as np

# Vectors the 8-bit quantiser learns each dimension's range from.
TRAINING_SAMPLE = 100_000


@dataclass(frozen=True)
class DenseLayout:
    """When the dense index becomes approximate, and how it is built and searched then."""

    approximate_from: int = 0  # live vectors; 0: always exact
    neighbours: int = 32  # HNSW links per vector (M)
    search_depth: int = 128  # HNSW candidates kept while searching (efSearch)
    rebuild_dead: float = 0.2  # share of the graph's vectors dead before it is built again

    def approximate(self, count: int, now: bool) -> bool:
        """Whether an index of `count` live vectors should be approximate, given whether it is `now`:
        it goes back to exact only below half the threshold, so a collection near it does not flip."""
        return bool(self.approximate_from) and count >= (self.approximate_from // 2 if now else self.approximate_from)

    def rebuild(self, index: "VectorIndex") -> bool:
        """Whether `index` should be built again: its layout is not the one its size calls for, or too
        much of its graph is dead."""
        wanted = self.approximate(len(index), index.approximate)
        return wanted != index.approximate or (index.approximate and index.dead_share >= self.rebuild_dead)


class VectorIndex:
    def __init__(self, dimension: int, index: faiss.Index | None = None,
                 search_depth: int = DenseLayout.search_depth) -> None:
        self.dimension = dimension
        self.index = index if index is not None else faiss.IndexIDMap(faiss.IndexFlatIP(dimension))
        self._params: faiss.SearchParametersHNSW | None = None
        self._dead = np.zeros(0, np.int64)
        self._selector: tuple | None = None  # FAISS keeps no reference to a selector's parts: we do
        graph = faiss.downcast_index(self.index.index) if isinstance(self.index, faiss.IndexIDMap2) else None
        self.approximate = isinstance(graph, faiss.IndexHNSW)
        if self.approximate:
            graph.hnsw.efSearch = search_depth
            self._params = faiss.SearchParametersHNSW(efSearch=search_depth)

    @classmethod
    def built(cls, dimension: int, keys: Sequence[int], vectors: np.ndarray, layout: DenseLayout) -> "VectorIndex":
        """An HNSW-SQ8 index holding `vectors` under `keys`, its quantiser trained on (a sample of) them."""
        index = faiss.index_factory(dimension, f"IDMap2,HNSW{layout.neighbours}_SQ8", faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).permutation(len(vectors))[:TRAINING_SAMPLE]
        index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
        out = cls(dimension, index, layout.search_depth)
        out.add(keys, vectors)
        return out

    def __len__(self) -> int:
        """Live vectors."""
        return self.index.ntotal - len(self._dead)

    @property
    def stored(self) -> int:
        """Vectors in the index, dead ones included (what a snapshot file holds)."""
        return self.index.ntotal

    @property
    def dead_share(self) -> float:
        return len(self._dead) / self.index.ntotal if self.index.ntotal else 0.0

    def add(self, keys: Sequence[int], vectors: np.ndarray) -> None:
        if len(keys):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(keys, dtype=np.int64))

    def remove(self, keys: Sequence[int]) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        if not len(keys):
            return
        if not self.approximate:
            self.index.remove_ids(keys)
            return
        self._mark_dead(np.union1d(self._dead, keys[np.isin(keys, self._keys())]))

    def retain(self, live: np.ndarray) -> None:
        """Mark dead every key the index holds that is not in `live` (a graph loaded from a snapshot
        holds the vectors of passages removed before it was written)."""
        if self.approximate:
            self._mark_dead(np.setdiff1d(self._keys(), np.asarray(live, dtype=np.int64)))

    def _keys(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map)

    def _mark_dead(self, dead: np.ndarray) -> None:
        self._dead = dead
        batch = faiss.IDSelectorBatch(dead) if len(dead) else None
        self._selector = (batch, faiss.IDSelectorNot(batch)) if batch is not None else None
        self._params.sel = self._selector[1] if self._selector else None

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        k = min(k, len(self))
        if k <= 0 or len(queries) == 0:  # an empty batch breaks FAISS
            return [[] for _ in range(len(queries))]
        with _threads(1 if len(queries) < _PARALLEL_FROM else faiss.omp_get_max_threads()):
            scores, keys = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=self._params)
        return [[(int(i), float(s)) for i, s in zip(row_keys, row) if i >= 0] for row_keys, row in zip(keys, scores)]

    def save(self, folder: Path, generation: int) -> tuple[str, int]:
        """Write a snapshot file; returns its name and size. Nothing refers to it until the caller
        records it in the database."""
        name = f"vectors-{generation}-{uuid.uuid4().hex[:8]}.faiss"
        tmp = folder / f".{name}.tmp"
        try:
            faiss.write_index(self.index, str(tmp))  # straight to the file: no second copy in memory
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, folder / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return name, (folder / name).stat().st_size

    @classmethod
    def load(cls, path: Path, dimension: int, count: int, size: int,
             search_depth: int = DenseLayout.search_depth) -> "VectorIndex | None":
        """The snapshot at `path` if it is whole (its size and stored vector count as recorded), else None."""
        try:
            if path.stat().st_size != size:
                return None
            index = faiss.read_index(str(path))
        except (OSError, RuntimeError):
            return None
        if index.ntotal != count or index.d != dimension:
            return None
        return cls(dimension, index, search_depth)


def to_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def from_blobs(blobs: Sequence[bytes], dimension: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dimension), np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dimension)


# A question or two is searched on one thread: FAISS splits even one query's flat scan across its
# OpenMP threads, whose start-up and barrier cost more than the scan (and far more on a busy CPU).
_PARALLEL_FROM = 8


@contextlib.contextmanager
def _threads(n: int):
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)
