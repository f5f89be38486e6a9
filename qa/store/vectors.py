"""The dense index: FAISS over unit vectors keyed by passage key, and its snapshots on disk.

Exact (flat inner product) by default. From `DenseLayout.approximate_from` vectors on (when set) an
inverted file over 8-bit scalar-quantised vectors (IVF-SQ8): a flat search reads every vector for every
question, so its time grows with the collection, while IVF reads the few lists nearest the question
and SQ8 holds a vector in a quarter of the memory. On real questions IVF also finds fewer answers,
more than exactness may cost, so it is off unless asked for (docs/benchmarks.md, "Scale";
scripts/bench_vectors.py).

The vectors themselves are kept with their passages in the collection database; this index is derived
from them. A snapshot file lets a large collection start without reading every vector from the
database: it holds the index as of one generation, and only the passages added or removed since are
read at start. Snapshot files are written under a temporary name, synced and renamed, and only then
named by the database, so a crash leaves either the old snapshot in use or an unreferenced file that
the next open deletes.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import faiss
import numpy as np


# Vectors k-means sees per IVF list when training (FAISS asks for at least 39): training time grows with it.
TRAINING_PER_LIST = 40


@dataclass(frozen=True)
class DenseLayout:
    """When the dense index becomes approximate, and how it is searched then."""

    approximate_from: int = 0  # vectors; 0: always exact
    probes: int = 64  # IVF lists searched per question

    def lists_for(self, count: int, current: int = 0) -> int:
        """IVF lists for an index of `count` vectors now trained with `current` lists (0: flat): the
        number it has while it fits, a new one when the collection grew or shrank a lot."""
        if not self.approximate_from or count < (self.approximate_from // 2 if current else self.approximate_from):
            return 0
        wanted = max(64, int(4 * count**0.5) // 64 * 64)  # lists grow with the square root of the size
        return current if current and current / 2 < wanted < current * 2 else wanted


class VectorIndex:
    def __init__(self, dimension: int, index: faiss.Index | None = None, probes: int = DenseLayout.probes) -> None:
        self.dimension = dimension
        self.index = index if index is not None else faiss.IndexIDMap(faiss.IndexFlatIP(dimension))
        if isinstance(self.index, faiss.IndexIVF):
            self.index.nprobe = probes
            # Removing by key is a lookup, not a scan of every list.
            self.index.set_direct_map_type(faiss.DirectMap.Hashtable)

    @classmethod
    def trained(cls, dimension: int, keys: Sequence[int], vectors: np.ndarray, lists: int, probes: int) -> "VectorIndex":
        """An IVF-SQ8 index with `lists` lists, trained on (a sample of) `vectors`, holding all of them."""
        index = faiss.index_factory(dimension, f"IVF{lists},SQ8", faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).permutation(len(vectors))[: TRAINING_PER_LIST * lists]
        index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
        out = cls(dimension, index, probes)
        out.add(keys, vectors)
        return out

    @property
    def lists(self) -> int:
        """IVF lists; 0 for the exact index."""
        return self.index.nlist if isinstance(self.index, faiss.IndexIVF) else 0

    def __len__(self) -> int:
        return self.index.ntotal

    def add(self, keys: Sequence[int], vectors: np.ndarray) -> None:
        if len(keys):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(keys, dtype=np.int64))

    def remove(self, keys: Sequence[int]) -> None:
        if len(keys):
            self.index.remove_ids(np.asarray(keys, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        k = min(k, len(self))
        if k <= 0 or len(queries) == 0:  # an empty batch breaks FAISS
            return [[] for _ in range(len(queries))]
        scores, keys = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
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
    def load(cls, path: Path, dimension: int, count: int, size: int, probes: int = DenseLayout.probes) -> "VectorIndex | None":
        """The snapshot at `path` if it is whole (its size and vector count as recorded), else None."""
        try:
            if path.stat().st_size != size:
                return None
            index = faiss.read_index(str(path))
        except (OSError, RuntimeError):
            return None
        if index.ntotal != count or index.d != dimension:
            return None
        return cls(dimension, index, probes)


def to_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def from_blobs(blobs: Sequence[bytes], dimension: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dimension), np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dimension)
