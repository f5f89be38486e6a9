"""How fast SQLite FTS5 keyword search answers at a large collection's size, and what leaving out the
most common question words costs and buys (docs/benchmarks.md).

    python scripts/bench_keywords.py [--rows 800000] [--questions 300] [--budgets 0 50000 20000 10000 5000] [--work runs/keywords]

The table is the store's (`qa.store.keywords.TOKENIZER`), filled with `scripts/scale_corpus.py`'s
100k real articles cut into passage-sized pieces, repeated until it holds --rows rows (the repeats
keep word statistics but make each piece appear several times: timing only). For dev questions it
times the store's query (the non-stop words, OR) under several keyword budgets (the rarest words kept
while the passages holding them add up to the budget), and reports how much of the top 100 / top 5
each shares with the first budget's (none: every word).

With --collection (a real collection holding SQuAD v1.1 dev's paragraphs, e.g. the one
`scripts/bench_scale.py` grows), it also measures what matters: hybrid recall@5 of dev questions on that
collection, each budget scaled to the same share of its passages as it is of --rows (so a smaller
collection leaves out as many of a question's words as the large one would).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import scale_corpus  # noqa: E402
from qa.store.keywords import TOKENIZER, VOCABULARY, TermCounts, keyword_query  # noqa: E402

PIECE = 600  # characters: about a 128-token passage


def pieces(text: str) -> list[str]:
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + PIECE)
        if end < len(text):
            end = text.rfind(" ", start, end) + 1 or end
        out.append(text[start:end])
        start = end
    return out


def build(path: Path, rows: int, cache: Path) -> sqlite3.Connection:
    if path.exists():
        db = sqlite3.connect(path)
        if db.execute("SELECT count(*) FROM keywords").fetchone()[0] >= rows:
            return db
        db.close()
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute(f"CREATE VIRTUAL TABLE keywords USING fts5(body, tokenize='{TOKENIZER}')")
    texts = [f"{a['title']}\n{p}" for a in scale_corpus.articles(cache) for p in pieces(a["text"])]
    n = 0
    with db:
        while n < rows:
            batch = texts[: rows - n]
            db.executemany("INSERT INTO keywords (body) VALUES (?)", ((t,) for t in batch))
            n += len(batch)
    db.execute("INSERT INTO keywords (keywords) VALUES ('optimize')")  # as a long-lived index ends up
    db.commit()
    return db


def search(db: sqlite3.Connection, expression: str, k: int) -> list[int]:
    if not expression:
        return []
    return [r for (r,) in db.execute("SELECT rowid FROM keywords WHERE keywords MATCH ? ORDER BY rank LIMIT ?", (expression, k))]


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{1000 * statistics.median(ordered):.1f} / {1000 * ordered[int(0.95 * (len(ordered) - 1))]:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=800_000)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--budgets", type=int, nargs="+", default=[0, 50_000, 20_000, 10_000, 5_000],
                        help="the first is what the others are compared with")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "keywords")
    parser.add_argument("--text", type=Path, default=REPO / "runs" / "scale" / "text")
    parser.add_argument("--collection", type=Path, default=None)
    args = parser.parse_args()
    from qa.datasets.squad import load_squad, tuning_sample

    t = time.perf_counter()
    db = build(args.work / f"keywords-{args.rows}.sqlite", args.rows, args.text)
    db.execute(VOCABULARY)
    rows = db.execute("SELECT count(*) FROM keywords").fetchone()[0]
    print(f"{rows:,} rows ready in {time.perf_counter() - t:.0f} s")
    dev = tuning_sample(load_squad(REPO.parent / "shared" / "data" / "squad" / "dev-v1.1.json"), args.questions)
    base = None
    print("| keyword budget (passages scored) | search p50 / p95 (vocabulary lookups included, remembered across questions as the store does) | top-100 shared | top-5 shared |")
    print("|---|---|---|---|")
    for budget in args.budgets:
        times, found, counts = [], [], TermCounts()  # each budget starts with nothing remembered
        for ex in dev:
            t = time.perf_counter()
            found.append(search(db, keyword_query(db, ex.question, budget, counts, rows), 100))
            times.append(time.perf_counter() - t)
        base = base or found
        pairs = [(got, want) for got, want in zip(found, base) if want]
        shared100 = statistics.mean(len(set(g) & set(w)) / len(w) for g, w in pairs)
        shared5 = statistics.mean(len(set(g[:5]) & set(w[:5])) / len(w[:5]) for g, w in pairs)
        print(f"| {budget or 'none'} | {ms(times)} | {shared100:.3f} | {shared5:.3f} |", flush=True)
    if args.collection:
        hybrid_recall(args.collection, args.budgets, rows, dev)
    return 0


def hybrid_recall(collection: Path, budgets: list[int], rows: int, dev) -> None:
    from qa.datasets.squad import gold_rank
    from qa.embedding.embedder import Embedder
    from qa.retrieval.retrievers import make_retriever
    from qa.settings import load_settings
    from qa.store.indexing import open_store

    settings = load_settings(index_dir=collection, seeds_dir="")
    embedder = Embedder.from_settings(settings)
    store = open_store(settings, embedder)
    present = {a.text for a in (store.article(i) for i in store.article_ids()[:5000])}
    examples = [ex for ex in dev if ex.context in present]
    print(f"\n{store.passage_count():,} passages in {collection}; {len(examples)} of the questions have their paragraph there")
    print("| keyword budget (at --rows) | scaled to this collection | hybrid recall@5 |\n|---|---|---|")
    for budget in budgets:
        store.keyword_budget = round(budget * store.passage_count() / rows)
        retriever = make_retriever(store, embedder, settings)
        ranks = [gold_rank(retriever.run(ex.question, 5), [a.text for a in ex.answers]) for ex in examples]
        print(f"| {budget or 'none'} | {store.keyword_budget or 'none'} | "
              f"{sum(r is not None for r in ranks) / len(ranks):.3f} |", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
