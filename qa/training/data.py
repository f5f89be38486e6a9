"""Training questions: SQuAD-format files, checked never to be an evaluation file, mixed by share."""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from pathlib import Path

from qa.datasets.squad import SquadExample, held_out, load_squad
from qa.training.loop import Recipe

log = logging.getLogger(__name__)

# Read ../shared/README.md: no training file overlaps SQuAD v1.1 dev; neither SQuAD dev file is ever used.
FORBIDDEN = ("dev-v1.1", "dev-v2.0")



def training_file(path: str | Path, mix: dict[str, float], rng: random.Random, hold_out: int = 0) -> tuple[list[SquadExample], set[int]]:
    """One file's questions at its share of the `mix` (all when it has none), and id() of those among them that the whole file's
    tuning sample of `hold_out` holds (scripts/tune_fusion.py and the held-out evaluations draw it from
    the whole file, so a mix must not pick its own: that would train on questions tuned on)."""
    name = Path(path).name
    if any(bad in name for bad in FORBIDDEN):
        raise ValueError(f"{name} is a SQuAD dev file: it is for evaluation and calibration only")
    loaded = load_squad(path)
    held = held_out(loaded, hold_out)
    share = mix.get(Path(path).stem, 1.0)
    if share < 1.0:
        keep = set(rng.sample(range(len(loaded)), int(len(loaded) * share)))
        loaded = [ex for i, ex in enumerate(loaded) if i in keep]
    return loaded, held


def load_training_examples(recipe: Recipe, rng: random.Random, hold_out: int = 0) -> list[SquadExample]:
    """Every file's questions at its share of the mix, less the `hold_out` of each file that
    scripts/tune_fusion.py tunes on (so choices made on them stay fair)."""
    examples: list[SquadExample] = []
    for path in recipe.data:
        name = Path(path).name
        loaded, held = training_file(path, recipe.mix, rng, hold_out)
        loaded = [ex for ex in loaded if id(ex) not in held]
        # Paragraph keys restart in every file; offset them so they stay unique.
        shift = max((ex.paragraph_key for ex in examples), default=-1) + 1
        examples += [replace(ex, paragraph_key=ex.paragraph_key + shift) for ex in loaded]
        answered = sum(1 for ex in loaded if ex.answers)
        log.info("%s: %d questions, %d with an answer text", name, len(loaded), answered)
        if not answered:  # TyDi's dev copy carries empty answer texts only: nothing here can be a label
            log.warning("%s: no question has an answer text; none is trained on", name)
    return examples
