"""Sentence embeddings for passages and questions (any sentence-transformers path or hub id)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from qa.settings import Settings


class Embedder:
    def __init__(self, name: str, batch_size: int | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.batch_size = batch_size or Settings.embedder_batch_size
        # fp32 on CPU whatever the stored weights: the shipped embedder is stored in fp16 to keep git small.
        self.model = SentenceTransformer(name, device="cpu", model_kwargs={"dtype": torch.float32})
        self.dimension = int(self.model.get_embedding_dimension())

    @classmethod
    def from_settings(cls, settings) -> "Embedder":
        return cls(settings.embedder_name(), settings.embedder_batch_size)

    @property
    def identity(self) -> str:
        """What an index records to know it was built by this model, wherever the model is installed:
        a digest of its config and of its weights' bytes, so weights retrained in the same folder (even
        of the same size) make the index rebuild."""
        path = Path(self.name)
        if path.is_dir() and (path / "config.json").exists():
            digest = hashlib.sha256((path / "config.json").read_bytes())
            for weights in sorted(path.glob("*.safetensors")):
                digest.update(file_digest(weights).encode())
            return f"{path.name}:{digest.hexdigest()[:16]}"
        return self.name

    @property
    def tokenizer(self):
        return self.model.tokenizer

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Unit-length float32 rows, so inner product is cosine similarity."""
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, read once per process for each (path, size, modification time)."""
    stat = path.stat()
    return _digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
