"""What every training run shares: the recipe, seeding, the device, the optimizer and its schedule, the
step loop with its loss log, and the training.json record written beside the weights."""

from __future__ import annotations

import json
import logging
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


def training_device() -> torch.device:
    """A CUDA GPU when the machine has one (a lent GPU machine trains in minutes what takes these CPUs
    hours), else the CPU. Weights are saved from the CPU either way."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


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

    def seconds(self) -> float:
        return time.time() - self.started

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


def run_steps(model, recipe: Recipe, total: int, step_loss: Callable[[int], float], log_every: int = 20,
              after_step: Callable[[int, "LossLog"], None] | None = None) -> LossLog:
    """`total` optimizer steps: `step_loss(step)` runs the forward and backward passes of step 1..total
    and returns its loss; then the gradient is clipped and the optimizer and schedule step."""
    optimizer, scheduler = optimizer_and_schedule(model, recipe, total)
    model.train()
    losses = LossLog(total, log_every)
    for step in range(1, total + 1):
        loss = step_loss(step)
        optimizer_step(model, optimizer, scheduler)
        losses.add(step, loss)
        if after_step is not None:
            after_step(step, losses)
    return losses
