"""Calibrate the abstention threshold (QA_MIN_ANSWER_SCORE) on SQuAD v2.0 dev.

Reads every question with its paragraph once (reader mode), then sweeps the threshold on the reader's
best-span probability: below it the system says "I couldn't find this". Prints, per threshold, the
share of answerable questions still answered, their F1, the share of unanswerable questions abstained
on, and the overall v2 F1 (an abstention scores 1 on an unanswerable question, 0 on an answerable one).

v2.0 dev's answerable questions are v1.1 dev questions, so any v1.1 figure that depends on this
threshold is calibrated-on-overlap.

    python scripts/calibrate_abstention.py [--file FILE] [--limit N]
"""

from __future__ import annotations

import argparse

import numpy as np

from qa.reading.reader import ExtractiveReader
from qa.settings import REPO_ROOT, load_settings, quiet_model_loading
from qa.evaluation.runs import predict_reader_mode
from qa.datasets.squad import load_squad

THRESHOLDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", default=str(REPO_ROOT.parent / "shared/data/squad/dev-v2.0.reconstructed-from-explorer.json"))
    parser.add_argument("--limit", type=int)
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(THRESHOLDS), help="reader probabilities to try")
    args = parser.parse_args()
    quiet_model_loading()

    examples = load_squad(args.file)[: args.limit]
    outcomes = predict_reader_mode(ExtractiveReader(load_settings().reader), examples, min_answer_score=None)
    score = np.array([o.score for o in outcomes])
    answerable = np.array([o.answerable for o in outcomes])
    f1 = np.array([o.f1 for o in outcomes])  # F1 of the answer given, had it been given
    print(f"{len(outcomes)} questions: {answerable.sum()} answerable, {(~answerable).sum()} unanswerable ({args.file})")
    print("| threshold | answerable: answered | answerable F1 | unanswerable: abstained | overall F1 | accuracy |")
    print("|---|---|---|---|---|---|")
    best = None
    for t in args.thresholds:
        answered = score >= t
        has_f1 = 100 * np.where(answered, f1, 0)[answerable].mean()
        abstained = 100 * (~answered[~answerable]).mean()
        overall = 100 * np.where(answerable, np.where(answered, f1, 0), ~answered).mean()
        accuracy = 100 * (answered == answerable).mean()
        print(f"| {t} | {100 * answered[answerable].mean():.1f}% | {has_f1:.2f} | {abstained:.1f}% | {overall:.2f} | {accuracy:.1f}% |")
        best = max(best or (overall, t), (overall, t))
    print(f"best overall F1 {best[0]:.2f} at threshold {best[1]}")


if __name__ == "__main__":
    main()
