"""Which FAISS index the dense retriever should use as a collection grows (docs/benchmarks.md).

    python scripts/bench_vectors.py [--collection runs/scale/collection] [--questions 2000] [--grow 800000]

Two parts, both printing one table row per index:

1. Quality, on real vectors: the passages of a collection that holds SQuAD v1.1 dev's paragraphs and
   distractors (the one `scripts/bench_scale.py` grows). For --questions dev questions: recall@5 (a
   top-5 passage holds a gold answer), overlap of the top-5 with the exact (flat) index's, and the
   dense search latency.
2. Size, on --grow vectors: the real vectors repeated with a little noise (renormalised) until there
   are that many, which keeps their spread but not their meaning - for memory, build time and latency
   only, not recall.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa.settings import load_settings, quiet_model_loading  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
TRAINING_PER_LIST = 40  # vectors k-means sees per IVF list (FAISS asks for at least 39)


def stored(collection: Path) -> tuple[np.ndarray, list[str]]:
    """Every passage's vector and text in a collection folder (read-only: a writer may be busy)."""
    db = sqlite3.connect(f"file:{(collection / 'collection.sqlite').resolve()}?mode=ro", uri=True)
    rows = db.execute("SELECT text, vector FROM passages ORDER BY key").fetchall()
    db.close()
    return np.frombuffer(b"".join(v for _, v in rows), np.float32).reshape(len(rows), -1).copy(), [t for t, _ in rows]


def candidates(n: int) -> dict[str, list[int]]:
    """FAISS factory strings worth trying at n vectors, each with the search knob's values to try
    (nprobe for IVF, efSearch for HNSW). IVF gets about 4 sqrt(n) lists, a multiple of 64."""
    lists = max(64, int(4 * n**0.5) // 64 * 64)
    return {"IDMap,Flat": [0], "IDMap,SQfp16": [0], f"IVF{lists},SQ8": [8, 16, 32, 64], f"IVF{lists},Flat": [32],
            "IDMap,HNSW32,Flat": [32, 64, 128], "IDMap,HNSW32_SQ8": [32, 64, 128]}


def build(factory: str, vectors: np.ndarray):
    import faiss

    index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:  # sampled as the store samples (qa.store.vectors)
        lists = int(factory[3:].split(",")[0]) if factory.startswith("IVF") else 1000
        rng = np.random.default_rng(0)
        index.train(vectors[rng.choice(len(vectors), min(len(vectors), TRAINING_PER_LIST * lists), replace=False)])
    index.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
    return index


def tuned(index, knob: int) -> str:
    """Set the search knob; returns how to name it."""
    import faiss

    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efSearch = knob
        return f" efSearch {knob}"
    if isinstance(inner, faiss.IndexIVF):
        inner.nprobe = knob
        return f" nprobe {knob}"
    return ""


def timed_search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    """One query at a time, as a chat asks them."""
    keys, times = [], []
    for q in queries:
        t = time.perf_counter()
        _, row = index.search(q[None, :], k)
        times.append(time.perf_counter() - t)
        keys.append(row[0])
    return np.array(keys), times


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{1000 * statistics.median(ordered):.1f} / {1000 * ordered[int(0.95 * (len(ordered) - 1))]:.1f} ms"


def index_bytes(index) -> int:
    import faiss

    return len(faiss.serialize_index(index))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collection", type=Path, default=REPO / "runs" / "scale" / "collection")
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--grow", type=int, default=800_000)
    parser.add_argument("--depth", type=int, default=None, help="how many passages a search returns (default: fusion depth)")
    args = parser.parse_args()
    quiet_model_loading()
    import faiss

    from qa.datasets.squad import holds_answer, load_squad, tuning_sample
    from qa.embedding.embedder import Embedder

    settings = load_settings()
    depth = args.depth or settings.fusion_depth
    embedder = Embedder.from_settings(settings)
    vectors, texts = stored(args.collection)
    dev = tuning_sample([ex for ex in load_squad(SHARED / "squad" / "dev-v1.1.json") if ex.answers], args.questions)
    queries = embedder.encode([ex.question for ex in dev])
    golds = [[a.text for a in ex.answers] for ex in dev]
    print(f"{len(vectors):,} real passages, {len(dev)} questions, {faiss.omp_get_max_threads()} threads, depth {depth}")

    exact = None
    print("\n| index (real vectors) | recall@5 | top-5 overlap with flat | search p50 / p95 | size |\n|---|---|---|---|---|")
    for factory, knobs in candidates(len(vectors)).items():
        index = build(factory, vectors)
        for knob in knobs:
            name = factory + tuned(index, knob)
            keys, times = timed_search(index, queries, depth)
            top5 = [set(row[:5]) for row in keys]
            exact = exact or top5
            recall = sum(any(k >= 0 and holds_answer(texts[k], g) for k in row[:5]) for row, g in zip(keys, golds)) / len(dev)
            overlap = statistics.mean(len(a & b) / 5 for a, b in zip(top5, exact))
            print(f"| {name} | {recall:.3f} | {overlap:.3f} | {ms(times)} | {index_bytes(index) / 2**20:.0f} MB |", flush=True)
        del index

    rng = np.random.default_rng(0)
    grown = np.empty((args.grow, vectors.shape[1]), np.float32)
    for start in range(0, args.grow, len(vectors)):
        part = vectors[: min(len(vectors), args.grow - start)]
        noisy = part + rng.normal(0, 0.02, part.shape).astype(np.float32)
        grown[start : start + len(part)] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    print(f"\n| index ({args.grow:,} vectors) | build | search p50 / p95 | size |\n|---|---|---|---|")
    for factory, knobs in candidates(args.grow).items():
        if factory in ("IDMap,HNSW32,Flat",) or factory.endswith(",Flat") and factory.startswith("IVF"):
            continue  # SQ8 costs these nothing in recall (above) and saves memory
        t = time.perf_counter()
        index = build(factory, grown)
        built = time.perf_counter() - t
        for knob in knobs:
            name = factory + tuned(index, knob)
            _, times = timed_search(index, queries[:300], depth)
            print(f"| {name} | {built:.0f} s | {ms(times)} | {index_bytes(index) / 2**20:.0f} MB |", flush=True)
        del index
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
