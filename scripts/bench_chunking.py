"""Sentence splitting and chunking speed: sentencex (now) beside pysbd (before, when installed), on the
long-article corpus of scripts/bench_pipeline.py, and chunking time as one line grows.

    python scripts/bench_chunking.py [--articles 1000] [--sizes 100000 400000 1000000 5000000]

pysbd is no longer a dependency; `pip install pysbd` to see the before column.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

SENTENCE = "Iraq said 22 missiles were fired at two bases on Tuesday night, according to U.S. officials. "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 400_000, 1_000_000, 5_000_000])
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from bench_pipeline import ROOT, long_articles
    from qa.ingest.chunking import _segments, body_lines, chunk_article, token_counter
    from qa.schema import Article
    from qa.settings import load_settings, quiet_model_loading

    quiet_model_loading()
    count = token_counter(AutoTokenizer.from_pretrained(load_settings().embedder_name()))
    articles, _ = long_articles(args.articles, ROOT.parent / "shared" / "data" / "train")
    lines = [" ".join(w.text for w in line) for a in articles for line in body_lines(a)]
    chars = sum(map(len, lines))
    started = time.perf_counter()
    passages = sum(len(chunk_article(a, count, 128, 32)) for a in articles)
    chunk_s = time.perf_counter() - started
    splitters = [("sentencex (now)", _segments)]
    try:
        import pysbd

        segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
        splitters.append(("pysbd (before)", segmenter.segment))
    except ImportError:
        pass
    print(f"{len(articles):,} long articles, {chars:,} characters, {passages:,} passages")
    print(f"chunking (split, count tokens, pack): {chunk_s:.2f} s, {passages / chunk_s:,.0f} passages/s")
    print("| splitter | sentences | time | passages/s (splitting alone) |\n|---|---|---|---|")
    for name, split in splitters:
        started = time.perf_counter()
        sentences = sum(len(split(line)) for line in lines)
        seconds = time.perf_counter() - started
        print(f"| {name} | {sentences:,} | {seconds:.2f} s | {passages / seconds:,.0f} |", flush=True)
    print("\n| characters (one line) | passages | chunking |\n|---|---|---|")
    for size in args.sizes:
        article = Article("dump", "Dump", "Dump\n" + (SENTENCE * (size // len(SENTENCE) + 1))[:size])
        started = time.perf_counter()
        found = chunk_article(article, count, 128, 32)
        print(f"| {size:,} | {len(found):,} | {time.perf_counter() - started:.2f} s |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
