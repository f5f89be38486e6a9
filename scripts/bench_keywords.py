"""Keyword search at a large collection's size: the store's Tantivy index beside SQLite FTS5, the
engine it replaced, on the same passages and questions in one run (docs/benchmarks.md).

    python scripts/bench_keywords.py [--rows 800000] [--questions 300] [--work runs/keywords]

Both indexes hold `scripts/scale_corpus.py`'s 100k real articles cut into passage-sized pieces, repeated
until there are --rows (the repeats keep word statistics but make each piece appear several times:
timing only). For SQuAD v1.1 dev questions it times the query the store makes (the question's words
less stop words, OR, top 100):

- FTS5 with every word: BM25 over every passage holding any word, sorted (the exact ranking);
- FTS5 under the keyword budget the store used before Tantivy (the rarest words kept while the passages
  holding them add up to 20,000): bounded work, a different ranking;
- Tantivy (qa.store.keywords.KeywordIndex): every word, top k by block-max WAND.

and reports how much of each one's top 100 / top 5 the exact FTS5 ranking shares. Tantivy stems with
Snowball's English stemmer where FTS5 uses Porter's, so a small difference is the stemmers'.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import scale_corpus  # noqa: E402
from qa.store.keywords import Changes, KeywordIndex, query_expression, query_words  # noqa: E402

PIECE = 600  # characters: about a 128-token passage
FTS5 = "porter unicode61 remove_diacritics 2"  # the tokenizer the store's FTS5 table had
OLD_BUDGET = 20_000


def pieces(text: str) -> list[str]:
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + PIECE)
        if end < len(text):
            end = text.rfind(" ", start, end) + 1 or end
        out.append(text[start:end])
        start = end
    return out


def texts(rows: int, cache: Path) -> list[str]:
    one = [f"{a['title']}\n{p}" for a in scale_corpus.articles(cache) for p in pieces(a["text"])]
    return (one * (rows // len(one) + 1))[:rows]


def build_fts5(path: Path, rows: list[str]) -> sqlite3.Connection:
    if path.exists():
        db = sqlite3.connect(path)
        if db.execute("SELECT count(*) FROM keywords").fetchone()[0] == len(rows):
            return db
        db.close()
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute(f"CREATE VIRTUAL TABLE keywords USING fts5(body, tokenize='{FTS5}')")
    with db:
        db.executemany("INSERT INTO keywords (body) VALUES (?)", ((t,) for t in rows))
    db.execute("INSERT INTO keywords (keywords) VALUES ('optimize')")  # as a long-lived index ends up
    db.commit()
    return db


def build_tantivy(folder: Path, rows: list[str]) -> KeywordIndex:
    try:
        index = KeywordIndex.open(folder, create=False)
        if index.generation() == len(rows):
            return index
    except Exception:
        pass
    KeywordIndex.remove(folder)
    index = KeywordIndex.open(folder, create=True)

    @contextmanager
    def everything(held: int):
        yield Changes(len(rows), [], enumerate(rows, start=1), everything=True)

    index.sync(everything)
    return index


def within_old_budget(db: sqlite3.Connection, words: list[str]) -> list[str]:
    """The store's query before Tantivy: the rarest words while the passages holding them add up to the
    budget (counted in FTS5's vocabulary, Porter stems; none when even the rarest is over)."""
    import Stemmer

    porter = Stemmer.Stemmer("porter")
    terms = {w: w if len(w) <= 2 else porter.stemWord(w) for w in words}
    held = dict(db.execute(f"SELECT term, doc FROM temp.vocabulary WHERE term IN ({','.join('?' * len(terms))})",
                           list(terms.values()))) if terms else {}
    kept, total = set(), 0
    for w in sorted(words, key=lambda w: held.get(terms[w], 0)):
        if total + held.get(terms[w], 0) > OLD_BUDGET:
            break
        kept.add(w)
        total += held.get(terms[w], 0)
    return [w for w in words if w in kept]


def fts5_search(db: sqlite3.Connection, words: list[str], k: int) -> list[int]:
    if not words:
        return []
    return [r for (r,) in db.execute("SELECT rowid FROM keywords WHERE keywords MATCH ? ORDER BY rank LIMIT ?",
                                     (query_expression(words), k))]


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{1000 * statistics.median(ordered):.1f} / {1000 * ordered[int(0.95 * (len(ordered) - 1))]:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=800_000)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "keywords")
    parser.add_argument("--text", type=Path, default=REPO / "runs" / "scale" / "text")
    args = parser.parse_args()
    from qa.datasets.squad import load_squad, tuning_sample

    rows = texts(args.rows, args.text)
    t = time.perf_counter()
    db = build_fts5(args.work / f"fts5-{args.rows}.sqlite", rows)
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocabulary USING fts5vocab(main, keywords, 'row')")
    print(f"FTS5: {len(rows):,} rows ready in {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    index = build_tantivy(args.work / f"tantivy-{args.rows}", rows)
    print(f"Tantivy: {len(rows):,} rows ready in {time.perf_counter() - t:.0f} s", flush=True)
    dev = tuning_sample(load_squad(REPO.parent / "shared" / "data" / "squad" / "dev-v1.1.json"), args.questions)
    ways = {
        "FTS5, every word (exact BM25)": lambda q: fts5_search(db, query_words(q), 100),
        f"FTS5, budget {OLD_BUDGET:,} (the store before)": lambda q: fts5_search(db, within_old_budget(db, query_words(q)), 100),
        "Tantivy, every word (the store now)": lambda q: [k for k, _ in index.search(q, 100)],
    }
    print("| keyword search | p50 / p95 | top-100 shared with exact | top-5 shared with exact |\n|---|---|---|---|")
    exact = None
    for name, search in ways.items():
        times, found = [], []
        for ex in dev:
            t = time.perf_counter()
            found.append(search(ex.question))
            times.append(time.perf_counter() - t)
        exact = exact or found
        pairs = [(got, want) for got, want in zip(found, exact) if want]
        shared100 = statistics.mean(len(set(g) & set(w)) / len(w) for g, w in pairs)
        shared5 = statistics.mean(len(set(g[:5]) & set(w[:5])) / len(w[:5]) for g, w in pairs)
        print(f"| {name} | {ms(times)} | {shared100:.3f} | {shared5:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
