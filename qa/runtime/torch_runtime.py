"""PyTorch: the reference runtime, the one training uses, and what the ONNX export is traced from."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from qa.runtime.base import QUESTION_ANSWERING, SENTENCE_EMBEDDING, Task, cpu_threads


class _Forward(torch.nn.Module):
    """The model as a function of positional token tensors (in `names` order) to a tuple of outputs:
    the shape `torch.onnx.export` traces, and the one `TorchNetwork` calls."""

    def __init__(self, task: Task, model: torch.nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.task, self.model, self.names = task, model, names

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features = dict(zip(self.names, inputs))
        if self.task is SENTENCE_EMBEDDING:
            return (self.model(features)["sentence_embedding"],)
        out = self.model(**features)
        return tuple(getattr(out, name) for name in self.task.outputs)


class TorchNetwork:
    runtime = "torch"

    def __init__(self, task: Task, name: str, for_export: bool = False) -> None:
        """`name`: any local path or hub id of an AutoModelForQuestionAnswering (question answering) or a
        sentence-transformers model (sentence embedding). `for_export`: attention written out as plain
        operations, which the ONNX tracer follows (the default, fused attention it does not)."""
        if torch.get_num_threads() > cpu_threads():
            torch.set_num_threads(cpu_threads())
        attention = {"attn_implementation": "eager"} if for_export else {}
        self.task = task
        # Shipped weights are stored in fp16 to keep git small; CPUs compute in fp32.
        if task is SENTENCE_EMBEDDING:
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(name, device="cpu", model_kwargs={"dtype": torch.float32, **attention})
            self.tokenizer = self.model.tokenizer
            self.config = self.model[0].auto_model.config
            self.max_length = int(self.model.max_seq_length)
        elif task is QUESTION_ANSWERING:
            from transformers import AutoModelForQuestionAnswering, AutoTokenizer

            self.model = AutoModelForQuestionAnswering.from_pretrained(name, dtype=torch.float32, **attention)
            self.tokenizer = AutoTokenizer.from_pretrained(name)
            self.config = self.model.config
            self.max_length = int(self.tokenizer.model_max_length)
        else:
            raise ValueError(f"unknown task {task.name!r}")
        self.model.eval()
        self.input_names = tuple(self.tokenizer.model_input_names)
        self.forward = _Forward(task, self.model, self.input_names)

    @torch.inference_mode()
    def __call__(self, batch: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        outputs = self.forward(*(torch.from_numpy(batch[name]) for name in self.input_names))
        return [o.float().numpy() for o in outputs]
