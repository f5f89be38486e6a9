"""A writer process for the crash and race tests: adds files to a collection, optionally dying at a
chosen instruction of the write path the way kill -9 would (os._exit: no cleanup, no rollback).

    python tests/store/writer.py INDEX_DIR PATH... [--crash POINT:N] [--wait-for FILE] [--remove ID]

POINT:N dies the N-th time the process reaches POINT:
- passage: inserting a passage, inside a transaction
- committed: just after a transaction committed, before the keyword index or the process sees it
- snapshot-file: a snapshot written to its temporary name, before the rename
- snapshot-record: a snapshot renamed into place, before the database names it
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from qa.ingest.sources import sources_in  # noqa: E402
from qa.settings import load_settings  # noqa: E402
from qa.store import local, vectors  # noqa: E402
from qa.store.collection import add_articles, open_collection, remove_articles  # noqa: E402


def die_at(point: str, n: int) -> None:
    calls = {"count": 0}

    def tick():
        calls["count"] += 1
        if calls["count"] == n:
            os._exit(137)

    if point == "passage":
        inner = local.LocalStore._insert_passages

        def patched(self, *args, **kwargs):
            tick()
            return inner(self, *args, **kwargs)

        local.LocalStore._insert_passages = patched
    elif point == "committed":
        inner_committed = local.LocalStore._committed

        def patched_committed(self):
            tick()
            return inner_committed(self)

        local.LocalStore._committed = patched_committed
    elif point in ("snapshot-file", "snapshot-record"):
        real_replace = os.replace

        def patched_replace(src, dst, *args, **kwargs):
            is_snapshot = str(dst).endswith(".faiss")
            if is_snapshot and point == "snapshot-file":
                tick()
            real_replace(src, dst, *args, **kwargs)
            if is_snapshot and point == "snapshot-record":
                tick()

        vectors.os.replace = patched_replace
    else:
        raise SystemExit(f"unknown crash point {point}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--crash")
    parser.add_argument("--wait-for")
    parser.add_argument("--remove", nargs="*", default=[])
    args = parser.parse_args()
    settings = load_settings(index_dir=Path(args.index))
    from qa.embedding.embedder import Embedder

    embedder = Embedder.from_settings(settings)
    store = open_collection(settings, embedder)
    if args.wait_for:  # everything loaded: start writing at the same moment as the other writer
        while not Path(args.wait_for).exists():
            time.sleep(0.01)
    if args.crash:
        point, n = args.crash.split(":")
        die_at(point, int(n))
    if args.remove:
        report = remove_articles(settings, args.remove, store)
    else:
        sources, problems = sources_in(Path(p) for p in args.paths)
        report = add_articles(settings, sources, store, embedder, problems=problems)
    for level, text in report.messages():
        print(f"{level}: {text}")
    return 0 if report.ok else 2


if __name__ == "__main__":
    raise SystemExit(main())
