"""Tune how retrieval and reader evidence combine: per retriever, the softmax temperature over retrieval
scores (evidence.passage_weights), the weight of question words repeated in the span's sentence
(evidence.support), the number of passages read, how many neighbours each is read with (qa.reading.windows) and
how much reading each passage alone as well counts (read_alone_weight).

Reads each question once per (top_k, neighbours), then scores every (temperature, overlap weight,
alone weight) on those readings, so that part of the grid costs no reader time. Tune on questions that are NOT the
evaluation set (default: the SQuAD v1.1 train fragment in ../shared/data/train/).

    python scripts/tune_fusion.py [--file FILE] [--limit 400]
    python scripts/tune_fusion.py --retrieval-only [--file FILE] [--limit 800]   # hybrid's dense weight

Both modes tune on the same seeded sample of --limit questions (qa.squad.tuning_sample), the questions
`--hold-out` keeps out of the reader's and the embedder's training; the rest of the file is only corpus.
"""

from __future__ import annotations

import argparse
import dataclasses

from tqdm import tqdm

from qa.answering.answers import answers_from_reading
from qa.answering.pipeline import Pipeline
from qa.datasets.squad import gold_rank, load_squad, squad_articles, tuning_sample
from qa.embedding.embedder import Embedder
from qa.evaluation.runs import recall_table
from qa.evaluation.scoring import score_prediction
from qa.reading.reader import ExtractiveReader
from qa.retrieval.retrievers import BM25Retriever, DenseRetriever, fuse, make_retriever
from qa.settings import REPO_ROOT, RETRIEVERS, load_settings, quiet_model_loading
from qa.store.indexing import build_store

GRID = {
    "dense": [0.05, 0.1, 0.2],
    "bm25": [1.0, 2.0, 4.0],
    "hybrid": [0.1, 0.2, 0.5, 1.0],
}
TOP_KS = (5, 10)
NEIGHBOURS = (0, 1)
DENSE_WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7)
OVERLAP_WEIGHTS = (0.0, 1.0, 2.0, 3.0)
ALONE_WEIGHTS = (0.0, 0.25, 0.5, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", default=str(REPO_ROOT.parent / "shared/data/train/squad-v1.1-train-fragment.json"))
    parser.add_argument("--limit", type=int, default=400, help="questions sampled (seeded) from the file")
    parser.add_argument("--retrievers", nargs="*", default=list(RETRIEVERS), choices=RETRIEVERS)
    parser.add_argument("--top-k", type=int, nargs="*", default=list(TOP_KS), help="passages read (grid)")
    parser.add_argument("--neighbours", type=int, nargs="*", default=list(NEIGHBOURS), help="passages read either side (grid)")
    parser.add_argument("--overlap-weights", type=float, nargs="*", default=list(OVERLAP_WEIGHTS))
    parser.add_argument("--alone-weights", type=float, nargs="*", default=list(ALONE_WEIGHTS),
                        help="read_alone_weight (grid; only with neighbours)")
    parser.add_argument(
        "--retrieval-only", action="store_true",
        help="tune hybrid's dense weight for recall@1 (no reader)",
    )
    parser.add_argument("--dense-weights", type=float, nargs="*", default=list(DENSE_WEIGHTS))
    parser.add_argument("--mismatch-weights", type=float, nargs="*", default=[load_settings().type_mismatch_weight],
                        help="evidence kept by a span not of the kind its question asks for (grid; 1.0: no answer types)")
    args = parser.parse_args()
    quiet_model_loading()

    examples = load_squad(args.file)
    sample = tuning_sample(examples, args.limit)
    settings = load_settings()
    embedder = Embedder.from_settings(settings)
    index = build_store(squad_articles(examples), embedder, settings, show_progress=True)
    if args.retrieval_only:
        tune_retrieval([ex for ex in sample if ex.answers], index, embedder, settings, args.dense_weights)
        return
    reader = ExtractiveReader(settings.reader, settings)
    print(f"{len(sample)} questions from {args.file}; corpus {index.passage_count()} passages")
    print("| retriever | top_k | neighbours | temperature | overlap weight | alone weight | mismatch weight | F1 | EM |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in args.retrievers:
        retriever = make_retriever(index, embedder, settings, kind)
        best = None
        for k in args.top_k:
            for neighbours in args.neighbours:
                # Read with the largest alone weight asked for; each smaller one only re-weights that view.
                read_with = settings.replace(read_neighbours=neighbours, read_alone_weight=max(args.alone_weights))
                pipeline = Pipeline(read_with, embedder, index, reader, retriever)
                runs = []
                for ex in tqdm(sample, desc=f"{kind} top {k} ±{neighbours}", leave=False):
                    hits = pipeline.retrieve(ex.question, k)
                    runs.append((ex, [h.score for h in hits], pipeline.read(ex.question, hits)))
                alone_weights = args.alone_weights if neighbours > 0 else [0.0]
                grid = ((t, b, a, m) for t in GRID[kind] for b in args.overlap_weights for a in alone_weights for m in args.mismatch_weights)
                for t, beta, alone, mismatch in grid:
                    em = f1 = 0.0
                    for ex, scores, views in runs:
                        views = views[:1] + [dataclasses.replace(v, weight=alone) for v in views[1:] if alone > 0]
                        answers = answers_from_reading(views, index, 1, scores, t, ex.question, beta, mismatch)
                        e, f = score_prediction(answers[0].text if answers else "", [a.text for a in ex.answers])
                        em, f1 = em + e, f1 + f
                    row = (100 * f1 / len(runs), 100 * em / len(runs), k, neighbours, t, beta, alone, mismatch)
                    best = max(best or row, row)
                    print(f"| {kind} | {k} | {neighbours} | {t} | {beta} | {alone} | {mismatch} | {row[0]:.2f} | {row[1]:.2f} |", flush=True)
        print(
            f"best for {kind}: top_k {best[2]}, neighbours {best[3]}, temperature {best[4]}, "
            f"overlap weight {best[5]}, alone weight {best[6]}, mismatch weight {best[7]} (F1 {best[0]:.2f})",
            flush=True,
        )


def tune_retrieval(examples, index, embedder, settings, dense_weights) -> None:
    """recall@1/5 of dense, of BM25 (the store's: Tantivy) and of hybrid at each dense weight. Each
    retriever ranks once; each dense weight only re-fuses."""
    questions = [ex.question for ex in examples]
    golds = [[a.text for a in ex.answers] for ex in examples]
    print(f"{len(questions)} questions; corpus {index.passage_count()} passages")
    print("| retriever | dense weight | recall@1 | recall@5 |\n|---|---|---|---|")
    dense = DenseRetriever(index, embedder)
    depth = settings.fusion_depth
    dense_lists = dense.rank(questions, depth)
    bm25_lists = BM25Retriever(index).rank(questions, depth)
    candidates = [("dense", None, dense_lists), ("bm25", None, bm25_lists)]
    candidates += [("hybrid", w, [fuse(d, x, w) for d, x in zip(dense_lists, bm25_lists)]) for w in dense_weights]
    for kind, weight, ranked in candidates:
        hits = [dense.hits(r, 5) for r in ranked]
        table = recall_table([gold_rank(h, g) for h, g in zip(hits, golds)], ks=(1, 5))
        weight_cell = "" if weight is None else weight
        print(f"| {kind} | {weight_cell} | {table['recall@1']:.3f} | {table['recall@5']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
