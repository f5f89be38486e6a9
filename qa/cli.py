"""`python -m qa ...`: the command line drives the same library the chat app uses."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from qa.config import REPO_ROOT, load_settings, quiet_model_loading


def _train_reader(args) -> int:
    from qa.training import Recipe, train_reader

    data = args.data or sorted(str(p) for p in (REPO_ROOT.parent / "shared" / "data" / "train").glob("*.json"))
    if not data:
        raise SystemExit("no training files: pass --data FILE ...")
    mix = dict(item.split("=", 1) for item in args.mix)
    recipe = Recipe(
        base=args.base or load_settings().embedder_name(),
        data=data,
        mix={k: float(v) for k, v in mix.items()},
        max_length=args.max_length,
        stride=args.stride,
        negative_ratio=args.negative_ratio,
        learning_rate=args.lr,
        warmup=args.warmup,
        batch_size=args.batch_size,
        epochs=args.epochs,
        max_steps=args.max_steps,
        seed=args.seed,
    )
    train_reader(recipe, Path(args.out), init=args.init, save_every=args.save_every)
    print(f"reader written to {args.out}")
    return 0


def _settings(args):
    return load_settings(
        corpus_dir=Path(args.corpus) if getattr(args, "corpus", None) else None,
        index_dir=Path(args.index) if getattr(args, "index", None) else None,
        top_k=getattr(args, "top_k", None),
    )


def _index(args) -> int:
    from qa.answering import Pipeline

    pipeline = Pipeline.load(_settings(args), show_progress=True)
    m = pipeline.index.manifest
    for s in pipeline.skipped:
        print(f"skipped: {s.reason}", file=sys.stderr)
    print(f"index at {pipeline.settings.index_dir}: {m['articles']} articles, {m['passages']} passages")
    return 0


def response_record(response) -> dict:
    return {
        "question": response.question,
        "answers": [
            {
                "text": a.text,
                "score": round(a.score, 4),
                "article_id": a.citation.article_id,
                "title": a.citation.title,
                "start": a.citation.start,
                "end": a.citation.end,
                "passage": a.citation.passage,
            }
            for a in response.answers
        ],
        "abstained": response.abstained,
    }


def _ask(args) -> int:
    from qa.answering import EmptyQuestion, Pipeline

    pipeline = Pipeline.load(_settings(args))
    status = 0
    for question in args.questions:
        try:
            response = pipeline.ask(question)
        except EmptyQuestion as err:
            print(json.dumps({"question": question, "error": str(err)}) if args.json else f"error: {err}")
            status = 2
            continue
        if args.json:
            print(json.dumps(response_record(response), ensure_ascii=False))
            continue
        print(f"Q: {response.question}")
        if response.abstained:
            print("A: I couldn't find this in the articles.")
        for i, a in enumerate(response.answers[: 1 if response.abstained else None]):
            label = "closest" if response.abstained else ("A" if i == 0 else "  or")
            print(f"{label}: {' '.join(a.text.split())}  ({a.score:.0%})  [{a.citation.title} #{a.citation.passage_index}]")
    return status


def _eval_squad(args) -> int:
    from qa.answering import build_reader
    from qa.evaluation import evaluate_squad_reader

    settings = _settings(args)
    out = Path(args.out or f"runs/eval-{Path(args.file).stem}-{args.mode}")
    report = evaluate_squad_reader(Path(args.file), build_reader(settings), out, args.limit, settings.min_answer_score)
    print(json.dumps(report, indent=2))
    print(f"report and predictions in {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qa", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build (or refresh) the passage index for a corpus folder")
    p.add_argument("--corpus", help="folder of .txt/.md articles (default: seeds/)")
    p.add_argument("--index", help="index folder (default: index/)")
    p.set_defaults(func=_index)

    p = sub.add_parser("ask", help="answer questions over the indexed articles")
    p.add_argument("questions", nargs="+", metavar="QUESTION")
    p.add_argument("--corpus", help="folder of articles the index is built from (default: seeds/)")
    p.add_argument("--index", help="index folder (default: index/)")
    p.add_argument("--top-k", type=int, help="passages to read")
    p.add_argument("--json", action="store_true", help="one JSON object per question")
    p.set_defaults(func=_ask)

    p = sub.add_parser("eval", help="offline evaluation")
    evals = p.add_subparsers(dest="suite", required=True)
    e = evals.add_parser("squad", help="a SQuAD-format file (v1.1 or v2.0 style)")
    e.add_argument("file")
    e.add_argument("--mode", choices=["reader"], default="reader", help="reader: the gold paragraph is given")
    e.add_argument("--limit", type=int, help="only the first N questions")
    e.add_argument("--out", help="folder for report.json and predictions.json")
    e.set_defaults(func=_eval_squad)

    p = sub.add_parser("train-reader", help="fine-tune the extractive reader on SQuAD-format files")
    p.add_argument("--out", default="runs/reader")
    p.add_argument("--data", nargs="*", help="SQuAD-format files (default: ../shared/data/train/*.json)")
    p.add_argument("--mix", nargs="*", default=[], help="FILE_STEM=SHARE of its questions to use, e.g. qamr-dev=0.25")
    p.add_argument("--base", help="encoder to start from (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--init", help="continue from this reader checkpoint instead of a fresh head")
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--stride", type=int, default=96)
    p.add_argument("--negative-ratio", type=float, default=0.2)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--save-every", type=int, default=500)
    p.set_defaults(func=_train_reader)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_model_loading()
    logging.basicConfig(level=logging.INFO if args.verbose or args.command == "train-reader" else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
