"""Sentence embeddings for passages and questions (any sentence-transformers path or hub id)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from qa.runtime.base import SENTENCE_EMBEDDING, model_identity, pad_batch
from qa.runtime.loading import load_network
from qa.settings import Settings


class Embedder:
    def __init__(self, name: str, batch_size: int | None = None, runtime: str = Settings.runtime,
                 onnx_cache: Path = Settings.onnx_cache) -> None:
        self.name = name
        self.runtime = runtime
        self.batch_size = batch_size or Settings.embedder_batch_size
        self.network = load_network(SENTENCE_EMBEDDING, name, runtime, onnx_cache)
        self.dimension = int(self._encode_batch(["dimension"]).shape[1])

    @classmethod
    def from_settings(cls, settings: Settings) -> "Embedder":
        return cls(settings.embedder_name(), settings.embedder_batch_size, settings.runtime, settings.onnx_cache)

    @property
    def identity(self) -> str:
        """What an index records to know it was built by this model, wherever the model is installed:
        the model's identity (qa.runtime.base.model_identity), and for int8 ONNX its recipe, whose
        vectors differ slightly from fp32's."""
        identity = model_identity(self.name)
        if self.runtime == "onnx":
            from qa.runtime.onnx_runtime import RECIPE

            identity += f"+{RECIPE}"
        return identity

    @property
    def tokenizer(self):
        return self.network.tokenizer

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Unit-length float32 rows, so inner product is cosine similarity. Texts are read longest first in
        batches of similar length, so batches carry little padding (which costs what real tokens do)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        encoded = self.tokenizer(texts, truncation=True, max_length=self.network.max_length)
        order = np.argsort([-len(ids) for ids in encoded["input_ids"]], kind="stable")
        vectors = np.empty((len(texts), self.dimension), np.float32)
        starts = range(0, len(texts), self.batch_size)
        for start in tqdm(starts, desc="embedding", unit="batch", disable=not show_progress):
            rows = order[start : start + self.batch_size]
            vectors[rows] = self.network(pad_batch(self.tokenizer, encoded, rows, self.network.input_names))[0]
        return _unit(vectors)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer(texts, truncation=True, max_length=self.network.max_length)
        return self.network(pad_batch(self.tokenizer, encoded, range(len(texts)), self.network.input_names))[0]


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)
