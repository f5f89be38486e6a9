"""How chunking time grows with the length of one line: a single-line article (a dump with no line
breaks) of each size, chunked with pysbd over bounded pieces (now) and over the whole line (before).

    python scripts/bench_chunking.py [--sizes 100000 200000 1000000 5000000] [--before-up-to 200000]

The whole-line path grows about quadratically, so it is only run up to --before-up-to characters.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable from a checkout without installing

SENTENCE = "Iraq said 22 missiles were fired at two bases on Tuesday night, according to U.S. officials. "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 200_000, 1_000_000, 5_000_000])
    parser.add_argument("--before-up-to", type=int, default=200_000)
    args = parser.parse_args()

    from transformers import AutoTokenizer

    import qa.ingest.chunking as chunking
    from qa.schema import Article
    from qa.settings import load_settings, quiet_model_loading

    quiet_model_loading()
    count = chunking.token_counter(AutoTokenizer.from_pretrained(load_settings().embedder_name()))
    bounded = chunking.SEGMENT_CHARS
    print("| characters (one line) | passages | bounded pieces (now) | whole line (before) |")
    print("|---|---|---|---|")
    for size in args.sizes:
        article = Article("dump", "Dump", "Dump\n" + (SENTENCE * (size // len(SENTENCE) + 1))[:size])
        row = []
        for limit in (bounded, 10**12):
            if limit != bounded and size > args.before_up_to:
                row.append("not run")
                continue
            chunking.SEGMENT_CHARS = limit
            started = time.perf_counter()
            passages = chunking.chunk_article(article, count, 128, 32)
            row.append(f"{time.perf_counter() - started:.1f} s")
        chunking.SEGMENT_CHARS = bounded
        print(f"| {size:,} | {len(passages):,} | {row[0]} | {row[1]} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
