"""What each part of the reading costs and buys: F1 against reading latency for reading layouts.

    python scripts/reading_frontier.py [--file FILE] [--limit 800] [--configs "5,1,0.5" "5,1,0" ...]

A configuration is top_k,neighbours,alone_weight[,reader_max_length]. Each one answers the same questions
through the whole pipeline (Pipeline.answer: windows, the alone reading, abstention's scores); F1 is that
of the best answer (abstention aside, as scripts/tune_fusion.py scores it), latency that of reading and
answering (retrieval excluded: the same for every configuration), tokens those the reader read. Tuned on
questions that are NOT the evaluation set (default: the held-out sample of the SQuAD v1.1 train fragment).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable from a checkout without installing

from qa.answering.pipeline import Pipeline  # noqa: E402
from qa.datasets.squad import load_squad, squad_articles, tuning_sample  # noqa: E402
from qa.embedding.embedder import Embedder  # noqa: E402
from qa.evaluation.runs import never_abstaining  # noqa: E402
from qa.evaluation.scoring import score_prediction  # noqa: E402
from qa.reading.reader import ExtractiveReader  # noqa: E402
from qa.retrieval.retrievers import make_retriever  # noqa: E402
from qa.settings import REPO_ROOT, load_settings, quiet_model_loading  # noqa: E402
from qa.store.indexing import build_store  # noqa: E402

DEFAULT_CONFIGS = ("5,1,0.5", "5,1,0", "5,0,0", "3,1,0.5", "3,1,0", "4,1,0.5")


class CountingNetwork:
    """The reader's network, counting the tokens it is given."""

    def __init__(self, network) -> None:
        self.network, self.tokens = network, 0

    def __getattr__(self, name):
        return getattr(self.network, name)

    def __call__(self, batch):
        self.tokens += int(batch["attention_mask"].sum())
        return self.network(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", default=str(REPO_ROOT.parent / "shared/data/train/squad-v1.1-train-fragment.json"))
    parser.add_argument("--limit", type=int, default=800, help="questions sampled (seeded) from the file")
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS),
                        help="top_k,neighbours,alone_weight[,reader_max_length]")
    args = parser.parse_args()
    quiet_model_loading()

    examples = load_squad(args.file)
    sample = [ex for ex in tuning_sample(examples, args.limit) if ex.answers]
    settings = load_settings()
    embedder = Embedder.from_settings(settings)
    store = build_store(squad_articles(examples), embedder, settings, show_progress=True)
    retriever = make_retriever(store, embedder, settings)
    hits = {ex.question: retriever.run(ex.question, 5) for ex in sample}
    print(f"{len(sample)} questions from {args.file}; corpus {store.passage_count()} passages; runtime {settings.runtime}")
    print("| top-k | neighbours | alone weight | window tokens | F1 | EM | reading p50 | p95 | tokens read per question |")
    print("|---|---|---|---|---|---|---|---|---|")
    readers: dict[int, ExtractiveReader] = {}
    for config in args.configs:
        values = config.split(",")
        top_k, neighbours, alone = int(values[0]), int(values[1]), float(values[2])
        max_length = int(values[3]) if len(values) > 3 else settings.reader_max_length
        read_with = never_abstaining(settings).replace(top_k=top_k, read_neighbours=neighbours, read_alone_weight=alone,
                                                       reader_max_length=max_length)
        if max_length not in readers:
            readers[max_length] = ExtractiveReader(settings.reader, read_with)
            readers[max_length].network = CountingNetwork(readers[max_length].network)
        reader = readers[max_length]
        pipeline = Pipeline(read_with, embedder, store, reader, retriever)
        pipeline.answer(sample[0].question, hits[sample[0].question][:top_k])
        reader.network.tokens = 0
        em = f1 = 0.0
        latencies = []
        for ex in tqdm(sample, desc=config, leave=False):
            started = time.perf_counter()
            response = pipeline.answer(ex.question, hits[ex.question][:top_k])
            latencies.append(time.perf_counter() - started)
            e, f = score_prediction(response.answers[0].text if response.answers else "", [a.text for a in ex.answers])
            em, f1 = em + e, f1 + f
        n = len(sample)
        print(f"| {top_k} | {neighbours} | {alone} | {max_length} | {100 * f1 / n:.2f} | {100 * em / n:.2f} | "
              f"{np.percentile(latencies, 50) * 1000:.0f} ms | {np.percentile(latencies, 95) * 1000:.0f} ms | "
              f"{reader.network.tokens / n:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
