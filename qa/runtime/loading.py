"""The runtime a setting names, for a model and a task."""

from __future__ import annotations

from pathlib import Path

from qa.runtime.base import Network, Task
from qa.settings import RUNTIMES


def load_network(task: Task, name: str, runtime: str, cache_dir: Path) -> Network:
    """`name`: any local path or hub id; `runtime`: torch | onnx (`cache_dir` holds the ONNX files)."""
    if runtime == "torch":
        from qa.runtime.torch_runtime import TorchNetwork

        return TorchNetwork(task, name)
    if runtime == "onnx":
        from qa.runtime import onnx_runtime

        return onnx_runtime.load(task, name, cache_dir)
    raise ValueError(f"unknown runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
