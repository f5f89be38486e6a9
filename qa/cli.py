"""`python -m qa ...`: the command line drives the same library the chat app uses."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from qa.config import REPO_ROOT, load_settings


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qa", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

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
    logging.basicConfig(level=logging.INFO if args.verbose or args.command == "train-reader" else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
