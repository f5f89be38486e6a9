"""Calibrate which alternatives the chat shows (QA_MIN_ALTERNATIVE_SHARE) on the test conversations.

Asks every conversation of the given `eval qa` files the way the chat would (earlier questions first),
with no share threshold, and collects every alternative (each answer after the best) with its share of
the evidence. An alternative is *right* when it matches a gold answer (SQuAD F1 >= 0.5) and the best
answer does not: what a reader gains from seeing it. Prints, per threshold, how many alternatives would
be shown and how many of those are right, so the threshold can hide the junk and keep what helps.

    python scripts/calibrate_alternatives.py --index FOLDER FILE.jsonl [FILE.jsonl ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qa.answering.pipeline import Pipeline
from qa.evaluation.runs import conversation_turns, load_qa_jsonl
from qa.evaluation.scoring import score_prediction
from qa.settings import load_settings, quiet_model_loading

THRESHOLDS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--index", required=True, help="the collection the conversations are about")
    args = parser.parse_args()
    quiet_model_loading()
    pipeline = Pipeline.load(load_settings(index_dir=args.index, min_alternative_share=0.0))
    alternatives: list[tuple[float, bool]] = []  # (share, right)
    for item in (item for f in args.files for item in load_qa_jsonl(f) if item.answers):
        response = pipeline.ask(item.question, history=conversation_turns(pipeline, item.history))
        if response.abstained:
            continue
        best_right = score_prediction(response.answers[0].text, list(item.answers))[1] >= 0.5
        for answer in response.answers[1:]:
            right = not best_right and score_prediction(answer.text, list(item.answers))[1] >= 0.5
            alternatives.append((answer.share, right))
    print(f"{len(alternatives)} alternatives, {sum(r for _, r in alternatives)} of them right where the best answer is wrong")
    print("| threshold | shown | right among them | junk hidden |\n|---|---|---|---|")
    junk = sum(1 for _, right in alternatives if not right)
    for t in THRESHOLDS:
        shown = [right for share, right in alternatives if share >= t]
        print(f"| {t} | {len(shown)} | {sum(shown)} | {junk - sum(1 for r in shown if not r)} of {junk} |")


if __name__ == "__main__":
    main()
