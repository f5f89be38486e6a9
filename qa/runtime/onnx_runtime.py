"""ONNX Runtime over int8 weights: what answering and indexing run on by default.

Matrix products dominate both models; int8 weights with dynamically quantised activations run them with
the CPU's 8-bit dot-product instructions (AVX-512 VNNI, AVX-VNNI) at several times fp32's rate. Per-channel
weight scales keep the embeddings close to fp32's (per-tensor scales bent them visibly).

Activations are quantised with one scale per matrix product, taken from the whole batch: a window's
logits would depend on the other windows read with it (and on their padding). So the reader's windows
run one at a time, unpadded - which is also fastest here - and its answers and scores are the same
however questions are batched. Embeddings are still computed in batches of similar length, so a
passage's vector moves slightly (well under a percent of cosine) with its batch-mates. The files are
built once per model, from the PyTorch weights, into a cache folder (`build` / `python -m qa export-onnx`);
a change of the weights makes a new folder, because its name carries the model's identity.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Mapping

import numpy as np

from qa.runtime.base import QUESTION_ANSWERING, SENTENCE_EMBEDDING, Task, cpu_threads, model_identity

log = logging.getLogger(__name__)

# Part of every cache folder's name: a change to how files are built builds them again.
RECIPE = "onnx-opset17-int8-per-channel-1"
MODEL_FILE = "model.onnx"
EXPORT_FILE = "export.json"


class OnnxNetwork:
    runtime = "onnx"

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        """`folder`: what `build` wrote."""
        import onnxruntime as ort
        from transformers import AutoConfig, AutoTokenizer

        meta = json.loads((folder / EXPORT_FILE).read_text())
        self.task = {t.name: t for t in (QUESTION_ANSWERING, SENTENCE_EMBEDDING)}[meta["task"]]
        self.folder = folder
        self.source = meta["source"]
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.config = AutoConfig.from_pretrained(str(folder))
        self.input_names = tuple(meta["inputs"])
        self.max_length = int(meta["max_length"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or cpu_threads()
        options.inter_op_num_threads = 1
        # Idle pool threads busy-wait for more work by default. That pays for the reader, which runs many
        # small windows back to back; the embedder's pool, idle while the reader works on the question it
        # has just embedded, would take a core from it (the seed chat's p50 fell by a third without it).
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.task is QUESTION_ANSWERING else "0")
        self.session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])

    def __call__(self, batch: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        if self.task is not QUESTION_ANSWERING:
            return self._run(batch)
        rows, width = batch["attention_mask"].shape
        outputs = [np.zeros((rows, width), np.float32) for _ in self.task.outputs]
        for row, length in enumerate(batch["attention_mask"].sum(axis=1)):
            alone = self._run({name: batch[name][row : row + 1, :length] for name in self.input_names})
            for output, value in zip(outputs, alone):
                output[row, :length] = value[0]
        return outputs

    def _run(self, batch: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        outputs = self.session.run(None, {name: batch[name] for name in self.input_names})
        return [np.asarray(o, dtype=np.float32) for o in outputs]


def cache_folder(task: Task, name: str, cache_dir: Path) -> Path:
    """Where the ONNX files of model `name` for `task` live: one folder per model identity and recipe."""
    identity = model_identity(name)
    slug = re.sub(r"[^\w.-]+", "-", identity).strip("-")[:80]
    return Path(cache_dir) / f"{task.name}-{slug}-{RECIPE}"


def load(task: Task, name: str, cache_dir: Path, rebuild: bool = False) -> OnnxNetwork:
    """The ONNX network of model `name`, built into `cache_dir` first if it is not there yet (or
    `rebuild`). The folder only holds what the weights give again, so an unreadable one is built again."""
    folder = cache_folder(task, name, cache_dir)
    if rebuild and folder.exists():
        shutil.rmtree(folder)
    if not (folder / EXPORT_FILE).exists():
        build(task, name, folder)
    try:
        return OnnxNetwork(folder)
    except Exception as err:  # onnxruntime raises its own types for a damaged file; any is a damaged folder
        log.warning("the ONNX files in %s cannot be read (%s): building them again", folder, err)
        shutil.rmtree(folder)
        build(task, name, folder)
        return OnnxNetwork(folder)


def build(task: Task, name: str, folder: Path) -> Path:
    """Export model `name` (PyTorch weights) to ONNX, quantise it to int8 and write it, its tokenizer
    and its config into `folder`. Written beside `folder` and renamed into place, so a crash leaves
    nothing half-built and two processes building at once both end with one complete folder."""
    from qa.runtime.torch_runtime import TorchNetwork

    log.warning("building the int8 ONNX %s model from %s into %s (once per model; under a minute)",
                task.name, name, folder)
    started = time.perf_counter()
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        network = TorchNetwork(task, name, for_export=True)
        _export(network, work / "fp32.onnx")
        _quantize(work / "fp32.onnx", work / MODEL_FILE)
        (work / "fp32.onnx").unlink()
        network.tokenizer.save_pretrained(str(work))
        network.config.save_pretrained(str(work))
        (work / EXPORT_FILE).write_text(json.dumps({
            "task": task.name, "source": name, "identity": model_identity(name), "recipe": RECIPE,
            "inputs": list(network.input_names), "outputs": list(task.outputs), "max_length": network.max_length,
        }, indent=2))
        try:
            work.rename(folder)
        except OSError:
            if not (folder / EXPORT_FILE).exists():
                raise
            log.info("another process built %s first", folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.warning("built %s in %.0f s", folder, time.perf_counter() - started)
    return folder


def _export(network, path: Path) -> None:
    import torch

    tokenizer = network.tokenizer
    if network.task is QUESTION_ANSWERING:
        sample = tokenizer(["Who wrote it?", "When?"], ["The report was written by a clerk.", "In May."],
                           padding=True, return_tensors="pt")
    else:
        sample = tokenizer(["A sentence to embed.", "Another, longer sentence to embed here."],
                           padding=True, return_tensors="pt")
    names = network.input_names
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    for output in network.task.outputs:
        axes[output] = {0: "batch"} if network.task is SENTENCE_EMBEDDING else {0: "batch", 1: "tokens"}
    with warnings.catch_warnings():
        # The tracer warns about Python conditions on shapes that hold for every input it will meet.
        warnings.simplefilter("ignore")
        torch.onnx.export(network.forward, tuple(sample[n] for n in names), str(path), input_names=list(names),
                          output_names=list(network.task.outputs), dynamic_axes=axes, opset_version=17, dynamo=False)


def _quantize(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    # It suggests a shape-inference pass first, which fails on these graphs ("incomplete symbolic shape
    # inference") and is not needed: the tensors it cannot type are float32.
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)
