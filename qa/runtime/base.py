"""What every runtime gives a model's user: its tokenizer, its config, and a forward pass over numpy batches.

The reader and the embedder tokenise, batch and decode themselves, the same way for every runtime, so a
runtime only has to turn token arrays into output arrays.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np


@dataclass(frozen=True)
class Task:
    """What a model computes, named as the model's outputs are."""

    name: str
    outputs: tuple[str, ...]


QUESTION_ANSWERING = Task("question-answering", ("start_logits", "end_logits"))
SENTENCE_EMBEDDING = Task("sentence-embedding", ("sentence_embedding",))


class Network(Protocol):
    task: Task
    runtime: str
    tokenizer: Any  # a Hugging Face fast tokenizer
    config: Any  # the model's transformers config
    input_names: tuple[str, ...]  # the tokenizer's arrays the forward pass takes, in order
    max_length: int  # tokens it reads at most

    def __call__(self, batch: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """One float32 array per `task.outputs`, batch first."""
        ...


def cpu_threads() -> int:
    """The cores this process may use: what both runtimes compute with."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def model_identity(name: str) -> str:
    """Names a model wherever it is installed: a folder by a digest of its config and of its weights'
    bytes (weights retrained in the same folder, even of the same size, get a new identity), a hub id
    by itself."""
    path = Path(name)
    if path.is_dir() and (path / "config.json").exists():
        digest = hashlib.sha256((path / "config.json").read_bytes())
        for weights in sorted(path.glob("*.safetensors")):
            digest.update(file_digest(weights).encode())
        return f"{path.name}:{digest.hexdigest()[:16]}"
    return name


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


def pad_batch(tokenizer, encoded: Mapping[str, Sequence[Sequence[int]]], rows: Sequence[int],
              names: Sequence[str]) -> dict[str, np.ndarray]:
    """Rows `rows` of a tokenizer's unpadded output, padded to the longest of them, as int64 arrays."""
    batch = tokenizer.pad({k: [encoded[k][i] for i in rows] for k in names}, return_tensors="np")
    return {k: np.asarray(batch[k], dtype=np.int64) for k in names}
