"""Kill -9 a bulk `qa add` at random moments, and race writers against each other, then check the
collection after every kill and at the end (docs/reliability.md).

    python scripts/bench_crashes.py [--articles 300] [--kills 8] [--races 3] [--seed 0]

The archive is real text: paragraphs of the SQuAD v1.1 train fragment (../shared/data/train), one
article per paragraph. After each kill the collection must open with counts that agree (articles,
passages, vectors), nothing stored twice and no temporary file left; after the last run every
paragraph must be there exactly once. Races start two `qa add` processes at the same moment on
overlapping halves of the archive: the union must be there once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa.settings import load_settings, quiet_model_loading  # noqa: E402
from qa.store.local import DATABASE  # noqa: E402


def paragraphs(n: int) -> list[dict]:
    data = json.loads((REPO.parent / "shared/data/train/squad-v1.1-train-fragment.json").read_text())
    out, seen = [], set()
    for article in data["data"]:
        for p in article["paragraphs"]:
            if p["context"] not in seen:
                seen.add(p["context"])
                out.append({"title": article["title"].replace("_", " "), "text": p["context"]})
    return out[:n]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def generation(folder: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{folder / DATABASE}?mode=ro", uri=True)
        value = int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
        db.close()
        return value
    except (sqlite3.Error, TypeError):
        return 0


def check(folder: Path, embedder) -> tuple[int, int]:
    """Open as the chat would; raise if the collection is not whole. Returns (articles, passages)."""
    from qa.store.collection import open_collection

    settings = load_settings(index_dir=folder, seeds_dir="")
    store = open_collection(settings, embedder)
    entries = store.entries()
    passages = sum(len(store.article_passages(e.id)) for e in entries)
    assert store.article_count() == len(entries), "article count disagrees"
    assert store.passage_count() == passages == len(store._vectors), "passage or vector count disagrees"
    db = sqlite3.connect(f"file:{folder / DATABASE}?mode=ro", uri=True)
    dup = db.execute("SELECT count(*) - count(DISTINCT content_key) FROM articles").fetchone()[0]
    db.close()
    assert dup == 0, "an article is stored twice"
    assert not [p for p in folder.iterdir() if p.name.endswith((".tmp", ".new"))], "a temporary file was left"
    store.close()
    return len(entries), passages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--races", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    quiet_model_loading()
    from qa.embedding.embedder import Embedder

    rng = random.Random(args.seed)
    embedder = Embedder.from_settings(load_settings())
    records = paragraphs(args.articles)
    work = Path(tempfile.mkdtemp(prefix="bench-crashes-"))
    feed = write_jsonl(work / "archive.jsonl", records)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_SEEDS_DIR": "", "QA_INGEST_BATCH": "8", "QA_SNAPSHOT_EVERY": "64"}
    folder = work / "collection"
    command = [sys.executable, "-m", "qa", "add", str(feed), "--index", str(folder)]

    print(f"{len(records)} articles; killing `qa add` {args.kills} times at random commits")
    print("| kill | after generation | articles committed | passages | collection whole |\n|---|---|---|---|---|")
    started = time.monotonic()
    for kill in range(1, args.kills + 1):
        target = generation(folder) + rng.randint(1, 6)
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and generation(folder) < target:
            time.sleep(rng.uniform(0.005, 0.05))
        if proc.poll() is not None:
            print(f"| {kill} | the add finished first | | | |")
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        articles, passages = check(folder, embedder)
        print(f"| {kill} | {generation(folder)} | {articles} | {passages} | yes |", flush=True)
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    articles, passages = check(folder, embedder)
    assert articles == len(records), f"{articles} articles after the last run, {len(records)} in the archive"
    print(f"after the last run: {articles} articles (all, once), {passages} passages; "
          f"{time.monotonic() - started:.0f} s in all")

    print(f"\n{args.races} races: two `qa add` at once on overlapping halves\n| race | union | stored | whole |\n|---|---|---|---|")
    for race in range(1, args.races + 1):
        folder = work / f"race-{race}"
        cut = len(records) // 3
        left = write_jsonl(work / f"left-{race}.jsonl", records[: 2 * cut][: 60])
        right = write_jsonl(work / f"right-{race}.jsonl", records[cut : 2 * cut][:30] + records[2 * cut :][:30])
        union = {r["text"] for r in records[: 2 * cut][:60]} | {r["text"] for r in records[cut : 2 * cut][:30] + records[2 * cut :][:30]}
        procs = [subprocess.Popen([sys.executable, "-m", "qa", "add", str(f), "--index", str(folder)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for f in (left, right)]
        for p in procs:
            p.wait()
        articles, _ = check(folder, embedder)
        assert articles == len(union), f"race {race}: {articles} stored, {len(union)} in the union"
        print(f"| {race} | {len(union)} | {articles} | yes |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
