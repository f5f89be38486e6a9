"""The dense index: FAISS over unit vectors keyed by passage key, and its snapshots on disk.

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
from pathlib import Path
from typing import Sequence

import faiss
import numpy as np


class VectorIndex:
    def __init__(self, dimension: int, index: faiss.Index | None = None) -> None:
        self.dimension = dimension
        self.index = index if index is not None else faiss.IndexIDMap(faiss.IndexFlatIP(dimension))

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
            with open(tmp, "wb") as f:
                f.write(faiss.serialize_index(self.index).tobytes())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, folder / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return name, (folder / name).stat().st_size

    @classmethod
    def load(cls, path: Path, dimension: int, count: int, size: int) -> "VectorIndex | None":
        """The snapshot at `path` if it is whole (its size and vector count as recorded), else None."""
        try:
            if path.stat().st_size != size:
                return None
            index = faiss.read_index(str(path))
        except (OSError, RuntimeError):
            return None
        if index.ntotal != count or index.d != dimension:
            return None
        return cls(dimension, index)


def to_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def from_blobs(blobs: Sequence[bytes], dimension: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dimension), np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dimension)
