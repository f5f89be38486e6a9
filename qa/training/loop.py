"""What every training run shares: the recipe, seeding, the device, the optimizer and its schedule, the
step loop with its loss log, and the training.json record written beside the weights."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch


log = logging.getLogger(__name__)

@dataclass
class Recipe:
    base: str
    data: list[str]
    mix: dict[str, float] = field(default_factory=dict)  # file stem -> share of its questions used; default all
    max_length: int = 256
    stride: int = 96
    max_question_tokens: int = 64
    negative_ratio: float = 0.2  # made-up unanswerable pairs per answerable question
    other_window_keep: float = 0.1  # windows of a long context that miss the answer, kept as no-answer
    learning_rate: float = 1e-4
    warmup: float = 0.1
    weight_decay: float = 0.01
    batch_size: int = 32
    epochs: float = 1.0
    max_steps: int = 0  # 0: derived from epochs
    seed: int = 13
    threads: int = 0  # 0: torch's default
    precision: str = "fp32"  # "bf16": forward passes under bf16 autocast, weights and optimizer in fp32


def training_device() -> torch.device:
    """A CUDA GPU when the machine has one (a lent GPU machine trains in minutes what takes these CPUs
    hours), else the CPU. Weights are saved from the CPU either way."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast(recipe: Recipe, device: torch.device):
    """The context a forward pass runs in: bf16 autocast when the recipe asks for it (the gradient flows
    back into fp32 weights), else nothing."""
    if recipe.precision == "fp32":
        return contextlib.nullcontext()
    if recipe.precision != "bf16":
        raise ValueError(f"precision must be fp32 or bf16, not {recipe.precision!r}")
    return torch.autocast(device.type, dtype=torch.bfloat16)


def optimizer_step(model, optimizer, scheduler) -> None:
    """Clip the gradient norm to 1, step, advance the schedule, clear the gradients."""
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


@dataclass
class LossLog:
    """The mean loss of every `every` steps with the minutes since the start: the log line, and the
    history training.json keeps."""

    total: int
    every: int
    started: float = field(default_factory=time.time)
    history: list[dict] = field(default_factory=list)
    running: list[float] = field(default_factory=list)
    before: float = 0.0  # seconds spent before a resume

    def seconds(self) -> float:
        return self.before + time.time() - self.started

    def add(self, step: int, loss: float, note: str = "") -> None:
        self.running.append(loss)
        if step % self.every == 0 or step == self.total:
            mean, minutes = sum(self.running) / len(self.running), self.seconds() / 60
            self.history.append({"step": step, "loss": round(mean, 4), "minutes": round(minutes, 1)})
            log.info("step %d/%d loss %.3f  %.1f min  %s", step, self.total, mean, minutes, note)
            self.running = []


def optimizer_and_schedule(model, recipe: Recipe, total_steps: int):
    """AdamW without weight decay on biases and LayerNorm; linear warm-up, then linear decay to 0."""
    from transformers import get_linear_schedule_with_warmup

    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)], "weight_decay": recipe.weight_decay},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=recipe.learning_rate)
    return optimizer, get_linear_schedule_with_warmup(optimizer, int(total_steps * recipe.warmup), total_steps)


def write_training_record(out_dir: Path, recipe: Recipe, info: dict, unused: tuple[str, ...] = ()) -> None:
    """training.json beside the weights: the recipe and how the run went. `unused`: recipe fields the
    stage ignores, left out so the file reads as what was done."""
    recorded = {k: v for k, v in asdict(recipe).items() if k not in unused}
    (out_dir / "training.json").write_text(json.dumps({"recipe": recorded, **info}, indent=2))


def start(recipe: Recipe) -> random.Random:
    """Seed everything the run draws from; the run's own random source."""
    torch.manual_seed(recipe.seed)
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    return random.Random(recipe.seed)


@dataclass(frozen=True)
class Resume:
    """Where a run keeps its whole state (fp32 weights, optimizer, schedule, random state, loss log) every
    `minutes`, so that a run cut off loses at most that much and its next start goes on from there.
    Runs on a CPU take hours; the state is several times the shipped weights, so it lives in an
    ignored folder, never in git."""

    folder: Path
    minutes: float = 30.0

    @property
    def path(self) -> Path:
        return self.folder / "state.pt"

    def save(self, step: int, model, optimizer, scheduler, losses: LossLog, recipe: Recipe, total: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        state = {
            "step": step, "total": total, "recipe": asdict(recipe), "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(), "history": losses.history, "seconds": losses.seconds(),
        }
        partial = self.path.with_suffix(".partial")
        torch.save(state, partial)
        os.replace(partial, self.path)  # a kill mid-save leaves the previous state whole
        log.info("state at step %d saved to %s", step, self.path)

    def load(self, model, optimizer, scheduler, losses: LossLog, recipe: Recipe, total: int) -> int:
        """The last finished step (0 when there is no state yet); restores everything else in place."""
        if not self.path.exists():
            return 0
        state = torch.load(self.path, weights_only=False)
        if state["recipe"] != asdict(recipe) or state["total"] != total:
            raise ValueError(f"{self.path} belongs to another recipe or data: remove it to start over")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        losses.history, losses.before = state["history"], state["seconds"]
        log.info("resuming at step %d of %d from %s", state["step"] + 1, total, self.path)
        return state["step"]


def run_steps(model, recipe: Recipe, total: int, step_loss: Callable[[int], float], log_every: int = 20,
              after_step: Callable[[int, "LossLog"], None] | None = None, resume: Resume | None = None) -> LossLog:
    """`total` optimizer steps: `step_loss(step)` runs the forward and backward passes of step 1..total
    and returns its loss; then the gradient is clipped and the optimizer and schedule step. With
    `resume`, a run starts after the last saved step; `step_loss` must then depend on the step alone
    (not on what earlier calls drew), so the resumed run reads what the whole run would have read."""
    optimizer, scheduler = optimizer_and_schedule(model, recipe, total)
    model.train()
    losses = LossLog(total, log_every)
    done = resume.load(model, optimizer, scheduler, losses, recipe, total) if resume else 0
    saved = time.time()
    with _stop_requests() as stop:
        for step in range(done + 1, total + 1):
            loss = step_loss(step)
            optimizer_step(model, optimizer, scheduler)
            losses.add(step, loss)
            if after_step is not None:
                after_step(step, losses)
            if resume and step < total and (stop or time.time() - saved >= resume.minutes * 60):
                resume.save(step, model, optimizer, scheduler, losses, recipe, total)
                saved = time.time()
            if stop and step < total:
                raise SystemExit(f"stopped after step {step} of {total}" + (f"; run again to resume from {resume.path}" if resume else ""))
    return losses


@contextlib.contextmanager
def _stop_requests():
    """A list that becomes non-empty when the process is asked to stop (SIGTERM, Ctrl-C): the step
    under way finishes, the state is saved and the run ends, so a polite stop loses nothing. Only the
    main thread can take signals; elsewhere the list stays empty."""
    import signal
    import threading

    requests: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield requests
        return
    previous = {sig: signal.signal(sig, lambda number, frame: requests.append(number)) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield requests
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
