"""How the collection behaves as it grows: ingest, size, start, updates, retrieval and answers at 1k /
10k / 100k articles (docs/benchmarks.md).

    python scripts/bench_scale.py [--sizes 1000 10000 100000] [--work runs/scale] [--questions 500]

The corpus is `scripts/scale_corpus.py`'s: SQuAD v1.1 dev's 2,067 paragraphs (so its questions have
their answers in it) followed by real-text distractors (SQuAD-style training paragraphs, then software
documentation and dictionary entries from Debian packages), built once into --work. One collection is
grown size by size with `add_articles`, as `qa add` does (resumable: rerun the same command after a
stop and it continues), and at each size the script measures:

- ingest throughput of the articles added for this size (articles/s, passages/s)
- the folder's size on disk; a cold start (a new process opening the collection, models included)
  and its peak RSS
- adding one article and removing it again, end to end through `add_articles` / `remove_articles`, and
  adding one with `python -m qa add` in a new process (models loaded first)
- retrieval latency (hybrid) and whole-question latency, p50 / p95, over --questions dev questions
- recall@5 of those questions (is a gold answer in the first 5 passages) and the F1 of the best answer
- which dense index the collection has at that size (exact, or an HNSW graph: qa.store.vectors)

Before the sizes, the seed chat's question latency (scripts/bench_pipeline.py's questions on the seed
articles, same process and settings) is measured as the reference each size's latency is compared to.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import scale_corpus  # noqa: E402
from bench_pipeline import QUESTIONS  # noqa: E402
from qa.evaluation.runs import never_abstaining  # noqa: E402
from qa.settings import load_settings, quiet_model_loading  # noqa: E402

SHARED = REPO.parent / "shared" / "data"


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{1000 * statistics.median(ordered):.0f} / {1000 * ordered[int(0.95 * (len(ordered) - 1))]:.0f} ms"


COLD = """
import resource, sys, time
t = time.perf_counter()
from qa.answering.pipeline import Pipeline
from qa.settings import load_settings
p = Pipeline.load(load_settings(index_dir=sys.argv[1], seeds_dir=""))
p.ask("How many missiles did Iraq say were fired?")
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def seed_chat_latency(passes: int = 3) -> list[float]:
    """Question latencies on the seed articles in a fresh collection, after one warm-up question."""
    import tempfile

    from qa.answering.pipeline import Pipeline

    with tempfile.TemporaryDirectory(prefix="bench-seeds-") as scratch:
        pipeline = Pipeline.load(load_settings(index_dir=Path(scratch)))
        pipeline.ask(QUESTIONS[0])
        out = []
        for _ in range(passes):
            for question in QUESTIONS:
                t = time.perf_counter()
                pipeline.ask(question)
                out.append(time.perf_counter() - t)
        pipeline.store.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "scale")
    parser.add_argument("--questions", type=int, default=500)
    args = parser.parse_args()
    quiet_model_loading()
    from qa.answering.pipeline import Pipeline
    from qa.datasets.squad import gold_rank, load_squad, tuning_sample
    from qa.evaluation.scoring import score_prediction
    from qa.ingest.sources import Source
    from qa.store.collection import add_articles, remove_articles

    args.work.mkdir(parents=True, exist_ok=True)
    seed_latency = seed_chat_latency()
    print(f"seed chat question p50 / p95: {percentiles(seed_latency)}", flush=True)
    folder = args.work / "collection"
    # F1 is scored on the best answer, as for SQuAD v1.1 everywhere: no abstention
    settings = never_abstaining(load_settings(index_dir=folder, seeds_dir=""))
    pipeline = Pipeline.load(settings)
    store = pipeline.store
    records = list(scale_corpus.articles(args.work / "text", max(args.sizes)))
    if len(records) < max(args.sizes):
        print(f"only {len(records):,} distinct articles are available; sizes above that are skipped")
    dev = [ex for ex in load_squad(SHARED / "squad" / "dev-v1.1.json") if ex.answers]
    rows, previous = [], 0
    for size in [s for s in args.sizes if s <= len(records)]:
        feed = args.work / f"articles-{previous + 1}-{size}.jsonl"  # the articles this size adds
        if not feed.exists():
            feed.write_text("".join(json.dumps(r) + "\n" for r in records[previous:size]))
        previous = size
        before_articles, before_passages, started = store.article_count(), store.passage_count(), time.perf_counter()
        report = add_articles(settings, [Source.file(feed)], store, pipeline.embedder, show_progress=True)
        ingest_s = time.perf_counter() - started
        added, passages = store.article_count() - before_articles, store.passage_count() - before_passages
        disk = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        cold = subprocess.run([sys.executable, "-c", COLD, str(folder)], capture_output=True, text=True, check=True)
        cold_s, rss_mb = map(float, cold.stdout.split()[-2:])

        one = Source.upload("bench-one.txt", f"Bench note {size}\nThe harbour of bench town {size} took in 42 ships.\n".encode())
        t = time.perf_counter()
        (added_one, _), = add_articles(settings, [one], store, pipeline.embedder).added
        add_s = time.perf_counter() - t
        t = time.perf_counter()
        remove_articles(settings, [added_one.id], store)
        remove_s = time.perf_counter() - t
        # The same from the command line: a new process, models loaded, then the one article.
        note = args.work / f"bench-cli-{size}.txt"
        note.write_text(f"Bench command {size}\nThe harbour of command town {size} took in 43 ships.\n")
        env = {**os.environ, "QA_INDEX_DIR": str(folder), "QA_SEEDS_DIR": ""}
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa", "add", str(note)], env=env, cwd=REPO, check=True, capture_output=True)
        cli_add_s = time.perf_counter() - t
        store.refresh()
        remove_articles(settings, [e.id for e in store.entries() if e.title == f"Bench command {size}"], store)  # untimed

        mix: dict[str, int] = {}
        for r in records[:size]:
            mix[r["source"]] = mix.get(r["source"], 0) + 1
        print(f"{size:,} articles:", ", ".join(f"{k} {v:,}" for k, v in mix.items()), flush=True)
        present = {r["text"] for r in records[:size]}  # questions whose paragraph is in the collection
        examples = tuning_sample([ex for ex in dev if ex.context in present], args.questions)
        retrieval, answer, ranks, f1 = [], [], [], []
        for ex in examples:
            t = time.perf_counter()
            hits = pipeline.retrieve(ex.question)
            retrieval.append(time.perf_counter() - t)
            t = time.perf_counter()
            response = pipeline.ask(ex.question)
            answer.append(time.perf_counter() - t)
            # SQuAD v1.1 has no unanswerable questions: the best answer is scored even where the chat declines.
            f1.append(score_prediction(response.answers[0].text if response.answers else "", [a.text for a in ex.answers])[1])
            ranks.append(gold_rank(hits, [a.text for a in ex.answers]))
        recall5 = sum(r is not None and r <= 5 for r in ranks) / len(ranks)
        row = {
            "articles": store.article_count(), "passages": store.passage_count(),
            "ingest": f"{added / ingest_s:.1f} articles/s, {passages / ingest_s:.1f} passages/s" if added else "resumed: nothing new",
            "disk": f"{disk / 2**20:.0f} MB", "cold start": f"{cold_s:.1f} s", "RSS": f"{rss_mb:.0f} MB",
            "add one / remove one": f"{add_s:.2f} s / {remove_s:.2f} s", "qa add one (new process)": f"{cli_add_s:.1f} s",
            "dense index": store.dense_index(),
            "retrieval p50 / p95": percentiles(retrieval), "question p50 / p95": percentiles(answer),
            "vs seed chat (p50)": f"{statistics.median(answer) / statistics.median(seed_latency):.2f}x",
            "recall@5": f"{recall5:.3f}", "F1": f"{100 * statistics.mean(f1):.1f}", "refused": len(report.refused),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| " + " | ".join(rows[0]) + " |\n|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(str(v) for v in row.values()) + " |")
    print(f"\n{args.questions} questions per size; peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
