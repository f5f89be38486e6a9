"""Each training stage's recipe defaults: the command line shows and takes them from here."""

from __future__ import annotations

from qa.training.loop import Recipe

# Stage 1: windows of one paragraph, made-up unanswerable pairs (qa.training.reader).
READER = Recipe(base="", data=[], learning_rate=1e-4, warmup=0.1, batch_size=16)
# Stage 2: shared normalisation over retrieved windows, read as the pipeline reads them (qa.training.passages).
PASSAGES = Recipe(base="", data=[], max_length=384, stride=128, learning_rate=3e-5, warmup=0.06, batch_size=8)
# The embedder: in-batch and hard negatives (qa.training.embedder).
EMBEDDER = Recipe(base="", data=[], learning_rate=3e-5, warmup=0.1, batch_size=32)
