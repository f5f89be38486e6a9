"""How fast article-qa indexes and answers on this machine, each runtime side by side in one run.

    python scripts/bench_pipeline.py [--paths torch onnx-windows default] [--runs 3] [--articles 1000] [--questions 60]

A path is a runtime and a way of reading (PATHS): the fp32 PyTorch path that read windows and each
passage alone, the same reading on int8 ONNX Runtime, and the shipped default settings. Each path runs
in a process of its own, so its cold start and its peak memory are its own:
- cold start: imports, loading the models and indexing the seed articles into a new collection (the
  ONNX files are built beforehand, as `python -m qa export-onnx` or a first start leaves them);
- the seed chat: question latency p50 / p95 over a fixed list, median over --runs passes;
- a corpus of long articles like news stories, built from ../shared/data/train (the paragraphs of one
  title joined, about 4,000 characters an article): sentence splitting alone, embedding alone, and
  indexing end to end (split + embed + write) in passages/s; question latency p50 / p95 / max over
  --questions of the corpus's own questions;
- the same questions' retrieved passages read by a plain, unbatched PyTorch reader (one passage at a
  time, fp32: the ecosystem's default way), and our reading of them as a ratio to it;
- peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")
STARTED = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable from a checkout without installing

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
ARTICLE_CHARS = 4000
# Settings each path changes from the shipped defaults (the environment's QA_* variables apply to all).
PATHS = {
    "torch": {"runtime": "torch", "read_neighbours": 1, "read_alone_weight": 0.5},
    "onnx-windows": {"runtime": "onnx", "read_neighbours": 1, "read_alone_weight": 0.5},
    "default": {},
}
# Files of ../shared/data/train whose paragraphs come in titled groups (tydiqa's are one paragraph each).
LONG_SOURCES = ("squad-v1.1-train-fragment", "squadshifts-new-wiki", "squadshifts-amazon", "mlqa-en-dev",
                "covid-qa-200423", "squadshifts-reddit", "qamr-dev")


def timed(action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    isa = ", ".join(f for f in ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_int8") if f in flags)
    load = "/".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return f"{platform.platform()}, {model} ({isa or 'no VNNI'}), {cores} usable cores, Python {platform.python_version()}, load average {load}"


def long_articles(limit: int, data: Path) -> tuple[list, list[tuple[str, str]]]:
    """Up to `limit` articles of about ARTICLE_CHARS characters (consecutive paragraphs of one title,
    the sources taken in turn), and (question, article id) for every question of their paragraphs."""
    from qa.schema import Article

    streams = []
    for stem in LONG_SOURCES:
        path = data / f"{stem}.json"
        if path.exists():
            streams.append(_groups(stem, json.loads(path.read_text())["data"]))
    articles, questions = [], []
    while streams and len(articles) < limit:
        for stream in list(streams):
            group = next(stream, None)
            if group is None:
                streams.remove(stream)
                continue
            title, paragraphs = group
            article_id = f"long-{len(articles):05d}"
            articles.append(Article(article_id, title, title + "\n\n" + "\n\n".join(p["context"] for p in paragraphs)))
            questions += [(qa["question"], article_id) for p in paragraphs for qa in p["qas"][:1]]
            if len(articles) >= limit:
                break
    return articles, questions


def _groups(stem: str, data: list):
    for n, entry in enumerate(data):
        title, group, size = entry.get("title") or f"{stem} {n}", [], 0
        for paragraph in entry["paragraphs"]:
            group.append(paragraph)
            size += len(paragraph["context"])
            if size >= ARTICLE_CHARS:
                yield f"{title} ({stem}, part {n}.{len(group)})", group
                group, size = [], 0
        if group:
            yield f"{title} ({stem}, part {n})", group


def percentiles(values: list[float]) -> dict[str, float]:
    import numpy as np

    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)), "max": max(values)}


def child(path: str, args) -> dict:
    """Everything measured for one path, in this process."""
    import resource

    from qa.answering.pipeline import Pipeline
    from qa.ingest.chunking import chunk_article, token_counter
    from qa.settings import load_settings, quiet_model_loading
    from qa.store.indexing import build_store

    quiet_model_loading()
    scratch = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    settings = load_settings(index_dir=scratch / "seeds", **PATHS[path])
    pipeline = Pipeline.load(settings)
    out: dict = {"path": path, "runtime": settings.runtime, "cold_start_s": time.perf_counter() - STARTED,
                 "reading": f"top {settings.top_k}, {settings.read_neighbours} neighbours, alone weight {settings.read_alone_weight}"}

    pipeline.ask(QUESTIONS[0])  # the first call pays one-off costs (lazy init, allocator warm-up)
    p50s, p95s = [], []
    for _ in range(args.runs):
        latencies = [timed(lambda: pipeline.ask(q))[1] for q in QUESTIONS]
        p50s.append(percentiles(latencies)["p50"])
        p95s.append(percentiles(latencies)["p95"])
    out["seed"] = {"p50": statistics.median(p50s), "p95": statistics.median(p95s)}

    articles, questions = long_articles(args.articles, Path(args.data))
    count = token_counter(pipeline.embedder.tokenizer)
    chunks, split_s = timed(lambda: [chunk_article(a, count, settings.passage_tokens, settings.passage_overlap_tokens)
                                     for a in articles])
    texts = [p.text for passages in chunks for p in passages]
    sample = texts[: args.embed_sample]
    _, embed_s = timed(lambda: pipeline.embedder.encode(sample))
    store, index_s = timed(lambda: build_store(articles, pipeline.embedder, settings, folder=scratch / "long"))
    passages = store.passage_count()
    out["long"] = {
        "articles": len(articles), "passages": passages,
        "chars_per_article": sum(len(a.text) for a in articles) / len(articles),
        "split_per_s": len(texts) / split_s, "embed_per_s": len(sample) / embed_s, "index_per_s": passages / index_s,
    }
    long_settings = settings.replace(index_dir=scratch / "long")
    from qa.retrieval.retrievers import make_retriever

    long_pipeline = Pipeline(long_settings, pipeline.embedder, store, pipeline.reader,
                             make_retriever(store, pipeline.embedder, long_settings))
    step = max(1, len(questions) // args.questions)
    asked = [q for q, _ in questions[::step]][: args.questions]
    long_pipeline.ask(asked[0])
    latencies, reading, hits_of = [], [], []
    for question in asked:
        _, seconds = timed(lambda: long_pipeline.ask(question))
        latencies.append(seconds)
        hits = long_pipeline.retrieve(question)
        reading.append(timed(lambda: long_pipeline.answer(question, hits))[1])
        hits_of.append((question, [h.passage.text for h in hits]))
    out["long"]["questions"] = len(asked)
    out["long"]["latency"] = percentiles(latencies)
    out["long"]["reading_s"] = sum(reading)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["long"]["plain_reading_s"] = plain_reading(settings.reader, hits_of, settings)
    return out


def plain_reading(reader: str, items: list[tuple[str, list[str]]], settings) -> float:
    """Seconds a plain PyTorch reader takes for the same passages: fp32, one passage (its windows) per
    forward pass, nothing reused - how a transformers user reads top-k passages without a pipeline."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(reader)
    model = AutoModelForQuestionAnswering.from_pretrained(reader, dtype=torch.float32).eval()
    started = time.perf_counter()
    with torch.inference_mode():
        for question, passages in items:
            for passage in passages:
                enc = tokenizer(question, passage, truncation="only_second", max_length=settings.reader_max_length,
                                stride=settings.reader_stride, return_overflowing_tokens=True, padding=True,
                                return_tensors="pt")
                model(**{k: enc[k] for k in tokenizer.model_input_names})
    return time.perf_counter() - started


def table(results: list[dict]) -> list[str]:
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    rows = [
        ("runtime, reading", lambda r: f"{r['runtime']}, {r['reading']}"),
        ("cold start (imports, models, index the seeds)", lambda r: f"{r['cold_start_s']:.1f} s"),
        ("seed chat p50 / p95", lambda r: f"{ms(r['seed']['p50'])} / {ms(r['seed']['p95'])}"),
        ("long articles: question p50 / p95 / max",
         lambda r: " / ".join(ms(r["long"]["latency"][k]) for k in ("p50", "p95", "max"))),
        ("long articles: chunking (split sentences, count tokens, pack)", lambda r: f"{r['long']['split_per_s']:,.0f} passages/s"),
        ("long articles: embedding", lambda r: f"{r['long']['embed_per_s']:,.0f} passages/s"),
        ("long articles: indexing (split + embed + write)", lambda r: f"{r['long']['index_per_s']:,.0f} passages/s"),
        ("reading the retrieved passages, against a plain unbatched PyTorch reader",
         lambda r: f"{r['long']['reading_s'] / r['long']['plain_reading_s']:.2f}x its time"),
        ("peak RSS", lambda r: f"{r['peak_rss_mb']:,.0f} MB"),
    ]
    first = results[0]["long"]
    lines = [f"long articles: {first['articles']:,} articles ({first['chars_per_article']:,.0f} characters on average), "
             f"{first['passages']:,} passages, {first['questions']} questions", "",
             "| measure | " + " | ".join(r["path"] for r in results) + " |", "|---" * (len(results) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(cell(r) for r in results) + " |" for name, cell in rows]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS))
    parser.add_argument("--runs", type=int, default=3, help="passes over the seed questions (median taken)")
    parser.add_argument("--articles", type=int, default=1000, help="long articles in the corpus")
    parser.add_argument("--questions", type=int, default=60, help="questions asked of the long articles")
    parser.add_argument("--embed-sample", type=int, default=1000, help="passages embedded alone for the embedding rate")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "train"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args)))
        return 0
    # The ONNX files are built once, outside the timed cold start (a no-op when they exist).
    subprocess.run([sys.executable, "-m", "qa", "export-onnx"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    results = []
    for path in args.paths:
        command = [sys.executable, __file__, "--child", path, "--runs", str(args.runs), "--articles", str(args.articles),
                   "--questions", str(args.questions), "--embed-sample", str(args.embed_sample), "--data", args.data]
        done = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ | {"HF_HUB_OFFLINE": "1"})
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{path}: {json.dumps(results[-1])}", file=sys.stderr, flush=True)
    print(f"Measured on: {machine()}, {time.strftime('%Y-%m-%d')}")
    print()
    print("\n".join(table(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
