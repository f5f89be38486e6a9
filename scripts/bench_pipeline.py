"""How long indexing and answering take on this machine, as a Markdown table for the README.

    python scripts/bench_pipeline.py [--runs 5] [--corpus seeds/]

Cold start is measured once (imports, model loads, first index). Index builds reuse the loaded
embedder and write to a fresh temporary folder each run, so nothing is served from a stored index.
Question latency is p50/p95 over a fixed question list, one value per run, median across runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable from a checkout without installing

T = TypeVar("T")

# About the seed articles; some have no answer in them, as real users' questions often do not.
QUESTIONS = (
    "How many missiles did Iraq say were fired?",
    "How many missiles did Iranian state television say were fired?",
    "Who ordered the drone strike that killed Soleimani?",
    "What did Trump tweet after the attack?",
    "Where was the crater caused by the missile?",
    "What did Khamenei call the missile attack?",
    "When would the president make a statement?",
    "Which countries called for diplomacy and de-escalation?",
    "Did Iran deliberately miss U.S. forces?",
    "How many people were on board the Ukrainian plane?",
)


def timed(action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import torch

    load = "/".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    # Load average matters: a busy machine (e.g. a training job) makes every number here slower.
    return (
        f"{platform.platform()}, {platform.processor() or platform.machine()}, {cores} usable cores, "
        f"Python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"load average {load}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="index builds and question passes (default 5)")
    parser.add_argument("--corpus", type=Path, help="article folder (default: seeds/)")
    # The collection is created with the seeds (or --corpus) on first use: that is the cold start.
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    (Pipeline, build_store, read_folder, load_settings), import_s = timed(_imports)
    scratch = tempfile.TemporaryDirectory(prefix="bench-index-")
    settings = load_settings(seeds_dir=args.corpus or load_settings().seeds_dir, index_dir=Path(scratch.name) / "cold")
    pipeline, load_s = timed(lambda: Pipeline.load(settings))
    cold_s = import_s + load_s

    print(f"machine: {machine()}")
    print(f"settings: {dataclasses.asdict(settings) | {'embedder': settings.embedder_name()}}")
    print(f"cold start: {cold_s:.2f} s (imports {import_s:.2f} s, models + first index {load_s:.2f} s)")

    reads, builds = [], []
    for run in range(args.runs):
        (articles, _), read_s = timed(lambda: read_folder(settings.seeds_dir))
        # chunk, embed and commit (one transaction) into a new collection
        index, build_s = timed(lambda: build_store(articles, pipeline.embedder, settings, folder=Path(scratch.name) / f"run-{run}"))
        reads.append(read_s)
        builds.append(build_s)
    index_s = statistics.median(r + b for r, b in zip(reads, builds))
    n_articles, n_passages = index.article_count(), index.passage_count()
    print(
        f"index {n_articles} articles / {n_passages} passages, median of {args.runs}: {index_s:.2f} s "
        f"(read {statistics.median(reads):.3f} s, chunk + embed + commit {statistics.median(builds):.2f} s)"
    )

    pipeline.ask(QUESTIONS[0])  # the first call pays one-off costs (lazy init, allocator warm-up)
    p50s, p95s = [], []
    for run in range(args.runs):
        latencies = [timed(lambda: pipeline.ask(q))[1] for q in QUESTIONS]
        p50s.append(float(np.percentile(latencies, 50)))
        p95s.append(float(np.percentile(latencies, 95)))
        print(f"questions run {run + 1}: p50 {p50s[-1] * 1000:.0f} ms, p95 {p95s[-1] * 1000:.0f} ms")
    p50, p95 = statistics.median(p50s), statistics.median(p95s)
    scratch.cleanup()

    asked = f"top-k {settings.top_k}, {len(QUESTIONS)} questions, median of {args.runs} runs"
    rows = [
        ("Cold start (imports, load models, index the corpus)", f"{cold_s:.1f} s"),
        (f"Index {n_articles} articles / {n_passages} passages (median of {args.runs})", f"{index_s:.2f} s"),
        (f"Question latency p50 ({asked})", f"{p50 * 1000:.0f} ms"),
        (f"Question latency p95 ({asked})", f"{p95 * 1000:.0f} ms"),
    ]
    print()
    print(f"Measured on: {machine()}")
    print()
    print("| Measure | Time |")
    print("|---|---|")
    for measure, value in rows:
        print(f"| {measure} | {value} |")
    return 0


def _imports():
    """The library's imports (torch, transformers, faiss) are part of a cold start, so they are timed."""
    from qa.answering.pipeline import Pipeline
    from qa.ingest.sources import read_folder
    from qa.settings import load_settings
    from qa.store.indexing import build_store

    return Pipeline, build_store, read_folder, load_settings


if __name__ == "__main__":
    raise SystemExit(main())
