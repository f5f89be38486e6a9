"""Tune how retrieval and reader evidence combine: per retriever, the softmax temperature over retrieval
scores (evidence.passage_weights), the weight of question words repeated in the span's sentence
(evidence.support) and the number of passages read.

Reads each question once over its top passages, then scores every (top_k, temperature) on those
readings, so the grid costs no more reader time than one run. Tune on questions that are NOT the
evaluation set (default: the SQuAD v1.1 train fragment in ../shared/data/train/).

    python scripts/tune_fusion.py [--file FILE] [--limit 400]
"""

from __future__ import annotations

import argparse
import random

from tqdm import tqdm

from qa.answering import Pipeline, answers_from_reading, build_reader
from qa.config import REPO_ROOT, RETRIEVERS, load_settings, quiet_model_loading
from qa.embedding import Embedder
from qa.evidence import passage_weights
from qa.evaluation import squad_articles
from qa.index import build_index
from qa.reader import Reading
from qa.retrieval import make_retriever
from qa.squad import load_squad, score_prediction

GRID = {
    "dense": [0.05, 0.1, 0.2],
    "bm25": [1.0, 2.0, 4.0],
    "hybrid": [0.001, 0.002, 0.005],
}
TOP_KS = (5, 10)
OVERLAP_WEIGHTS = (0.0, 1.0, 2.0, 3.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", default=str(REPO_ROOT.parent / "shared/data/train/squad-v1.1-train-fragment.json"))
    parser.add_argument("--limit", type=int, default=400, help="questions sampled (seeded) from the file")
    parser.add_argument("--retrievers", nargs="*", default=list(RETRIEVERS), choices=RETRIEVERS)
    parser.add_argument("--top-k", type=int, nargs="*", default=list(TOP_KS), help="passages read (grid)")
    parser.add_argument("--overlap-weights", type=float, nargs="*", default=list(OVERLAP_WEIGHTS))
    args = parser.parse_args()
    quiet_model_loading()

    examples = load_squad(args.file)
    sample = random.Random(13).sample(examples, min(args.limit, len(examples)))
    settings = load_settings()
    embedder = Embedder(settings.embedder_name())
    index = build_index(squad_articles(examples), embedder, settings, show_progress=True)
    reader = build_reader(settings)
    depth = max(args.top_k)
    print(f"{len(sample)} questions from {args.file}; corpus {len(index.passages)} passages")
    print("| retriever | top_k | temperature | overlap weight | F1 | EM |\n|---|---|---|---|---|---|")
    for kind in args.retrievers:
        pipeline = Pipeline(settings, embedder, index, reader, make_retriever(kind, index, embedder), [])
        runs = []
        for ex in tqdm(sample, desc=kind, leave=False):
            hits = pipeline.retrieve(ex.question, depth)
            reading = reader.read(ex.question, [h.passage.text for h in hits], top_k=30)
            runs.append((ex, hits, reading))
        best = None
        for k in args.top_k:
            for t in GRID[kind]:
                for beta in args.overlap_weights:
                    em = f1 = 0.0
                    for ex, hits, reading in runs:
                        kept = Reading([s for s in reading.spans if s.passage_index < k], 0.0, reading.passage_no_answer[:k])
                        weights = passage_weights([h.score for h in hits[:k]], t)
                        answers = answers_from_reading(kept, hits[:k], index, 1, weights, ex.question, beta)
                        e, f = score_prediction(answers[0].text if answers else "", [a.text for a in ex.answers])
                        em, f1 = em + e, f1 + f
                    row = (100 * f1 / len(runs), 100 * em / len(runs), k, t, beta)
                    best = max(best or row, row)
                    print(f"| {kind} | {k} | {t} | {beta} | {row[0]:.2f} | {row[1]:.2f} |", flush=True)
        print(f"best for {kind}: top_k {best[2]}, temperature {best[3]}, overlap weight {best[4]} (F1 {best[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()
