"""`python -m qa ...`: the command line drives the same library the chat app uses."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from qa.settings import REPO_ROOT, RETRIEVERS, SHIPPED_READER, Settings, default_embedder, load_settings, quiet_model_loading


def _recipe(args, base: str, data: list[str], **stage_options):
    """The Recipe both training stages take from their shared command-line options."""
    from qa.training.loop import Recipe

    return Recipe(
        base=base,
        data=data,
        mix={k: float(v) for k, v in (item.split("=", 1) for item in args.mix)},
        # the embedder's training has no reading windows
        **{k: getattr(args, k) for k in ("max_length", "stride") if hasattr(args, k)},
        learning_rate=args.lr,
        warmup=args.warmup,
        batch_size=args.batch_size,
        epochs=args.epochs,
        max_steps=args.max_steps,
        seed=args.seed,
        precision=args.precision,
        **stage_options,
    )


def _resume(args):
    """Where a reader run keeps its resumable state: OUT/state, or nowhere with --save-minutes 0."""
    from qa.training.loop import Resume

    return Resume(Path(args.out) / "state", args.save_minutes) if args.save_minutes > 0 else None


def _train_reader(args) -> int:
    from qa.training.reader import train_reader

    data = args.data or sorted(str(p) for p in (REPO_ROOT.parent / "shared" / "data" / "train").glob("*.json"))
    if not data:
        raise SystemExit("no training files: pass --data FILE ...")
    recipe = _recipe(args, args.base or default_embedder(), data, negative_ratio=args.negative_ratio)
    train_reader(recipe, Path(args.out), init=args.init, save_every=args.save_every, hold_out=args.hold_out,
                 resume=_resume(args))
    print(f"reader written to {args.out}")
    return 0


def _train_reader_passages(args) -> int:
    from qa.training.passages import train_reader_on_passages

    recipe = _recipe(args, args.init, args.data)
    train_reader_on_passages(recipe, Path(args.out), args.init, args.top_k, args.neighbours, args.hold_out,
                             resume=_resume(args))
    print(f"reader written to {args.out}")
    return 0


def _train_embedder(args) -> int:
    from qa.training.embedder import train_embedder

    recipe = _recipe(args, args.base or default_embedder(), args.data)
    train_embedder(recipe, Path(args.out), args.hold_out)
    print(f"embedder written to {args.out}")
    return 0


def _settings(args):
    return load_settings(
        index_dir=Path(args.index) if getattr(args, "index", None) else None,
        top_k=getattr(args, "top_k", None),
        retriever=getattr(args, "retriever", None),
    )


def _index(args) -> int:
    from qa.store.collection import open_collection

    settings = _settings(args)
    store = open_collection(settings, show_progress=True)
    if args.snapshot and hasattr(store, "snapshot"):  # a local store's vectors; PostgreSQL keeps its own
        store.snapshot()
    print(f"collection in {store.location}: {store.article_count():,} articles, {store.passage_count():,} passages")
    return 0


def _serve(args) -> int:
    from qa.api import serve

    serve(args.host, args.port, args.workers)
    return 0


def _postgres(args) -> int:
    from qa.store import postgres_server

    folder = Path(args.dir)
    if args.action == "start":
        server = postgres_server.start(folder, args.port)
        print(server.url)
        print(f"PostgreSQL (pid {server.pid}) listens on 127.0.0.1:{server.port}; its data and log are in {folder}. "
              f"Use it with: export QA_STORE='{server.url}'", file=sys.stderr)
    elif args.action == "replica":
        if not args.of:
            raise ValueError("replica needs --of PRIMARY_DIR, the folder of the server to copy")
        server = postgres_server.start_replica(folder, Path(args.of), args.port)
        print(server.url)
        print(f"a read-only streaming replica of {args.of} (pid {server.pid}) listens on 127.0.0.1:{server.port}",
              file=sys.stderr)
    elif args.action == "stop":
        print("stopped" if postgres_server.stop(folder) else f"no server was running on {folder}")
    else:
        server = postgres_server.status(folder)
        print(server.url if server else f"no server is running on {folder}")
        return 0 if server else 1
    return 0


def _export_onnx(args) -> int:
    from qa.runtime import onnx_runtime
    from qa.runtime.base import QUESTION_ANSWERING, SENTENCE_EMBEDDING

    settings = load_settings()
    for task, name in ((QUESTION_ANSWERING, settings.reader), (SENTENCE_EMBEDDING, settings.embedder_name())):
        network = onnx_runtime.load(task, name, settings.onnx_cache, rebuild=args.force)
        size = (network.folder / onnx_runtime.MODEL_FILE).stat().st_size
        print(f"{task.name}: {network.folder} ({size / 1e6:.0f} MB)")
    return 0


def _print_report(report, store) -> int:
    for level, text in report.messages():
        print(text, file=sys.stderr if level == "error" else sys.stdout)
    if report.changed:
        print(f"collection: {store.article_count():,} articles, {store.passage_count():,} passages")
    return 0 if report.ok else 2


def _add(args) -> int:
    from qa.ingest.sources import sources_in
    from qa.store.collection import add_articles, open_collection

    settings = _settings(args)
    store = open_collection(settings)
    sources, problems = sources_in(Path(p) for p in args.paths)
    report = add_articles(settings, sources, store, strict=args.strict, show_progress=True, problems=problems)
    return _print_report(report, store)


def _remove(args) -> int:
    from qa.store.collection import open_collection, remove_articles

    settings = _settings(args)
    store = open_collection(settings)
    return _print_report(remove_articles(settings, args.article_ids, store), store)


def _list(args) -> int:
    from qa.store.collection import open_collection

    for entry in open_collection(_settings(args)).entries():
        print(f"{entry.id}\t{entry.origin}\t{entry.title}")
    return 0


def _question_error(question: str, err: Exception, as_json: bool) -> None:
    print(json.dumps({"question": question, "error": str(err)}) if as_json else f"error: {err}")


def _ask(args) -> int:
    from qa.answering.conversation import Turn
    from qa.answering.pipeline import EmptyQuestion, Pipeline
    from qa.answering.questions import clean_question
    from qa.answering.records import response_record
    from qa.display import evidence_label, passage_name

    settings = _settings(args)
    refused = {}
    for question in args.questions:
        try:
            clean_question(question, settings.max_question_chars)
        except EmptyQuestion as err:
            refused[question] = err
    if len(refused) == len(set(args.questions)):  # said at once, not after seconds of loading models
        for question in args.questions:
            _question_error(question, refused[question], args.json)
        return 2
    pipeline = Pipeline.load(settings)
    status = 0
    turns: list[Turn] = []
    for question in args.questions:
        try:
            response = pipeline.ask(question, history=turns if args.conversation else ())
        except EmptyQuestion as err:
            _question_error(question, err, args.json)
            status = 2
            continue
        turns.append(Turn.of(response))
        if args.json:
            print(json.dumps(response_record(response), ensure_ascii=False))
            continue
        print(f"Q: {response.question}")
        if response.interpreted:
            print(f"   (read as: {response.interpreted})")
        if response.abstained:
            print("A: I couldn't find this in the articles.")
        elif response.disagreement:
            print("A: the sources disagree:")
        for i, a in enumerate(response.answers[: 1 if response.abstained else None]):
            label = "closest" if response.abstained else ("A" if i == 0 else "  or")
            source = f" (according to {a.attribution})" if a.attribution else ""
            text = " ".join(a.text.split())
            print(f"{label}: {text}{source}  ({evidence_label(a.share)})  [{passage_name(a.citation.title, a.citation.passage_index)}]")
    return status


def _eval_squad(args) -> int:
    from qa.evaluation.runs import evaluate_squad_open, evaluate_squad_reader
    from qa.evaluation.reports import write_run

    settings = _settings(args)
    out = Path(args.out or f"runs/eval-{Path(args.file).stem}-{args.mode}")
    if args.mode == "reader":
        from qa.reading.reader import ExtractiveReader

        report, outcomes = evaluate_squad_reader(
            Path(args.file), ExtractiveReader(settings.reader, settings), settings, args.limit, args.held_out)
        recall = None
    else:
        run = evaluate_squad_open(Path(args.file), settings, args.limit, args.held_out)
        report, outcomes, recall = run.report, run.outcomes, run.recall
    write_run(out, report, outcomes, recall)
    print(json.dumps(report, indent=2))
    print(f"report, summary, per-question CSV, predictions and charts in {out}")
    return 0


def _eval_qa(args) -> int:
    from qa.evaluation.runs import evaluate_qa
    from qa.evaluation.reports import write_run

    report, outcomes = evaluate_qa(Path(args.file), _settings(args))
    out = Path(args.out or f"runs/eval-{Path(args.file).stem}-qa")
    write_run(out, report, outcomes)
    print(json.dumps(report, indent=2))
    print(f"report, summary, per-question CSV and charts in {out}")
    return 0


def _eval_compare(args) -> int:
    from qa.evaluation.reports import gap_by_gold_rank, gap_markdown, read_questions_csv

    try:
        table = gap_by_gold_rank(read_questions_csv(Path(args.open_run)), read_questions_csv(Path(args.reader_run)))
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(gap_markdown(table), end="")
    return 0


def _collection_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", help="the collection's folder (default: index/, or QA_INDEX_DIR; QA_STORE=postgresql://... uses a PostgreSQL store instead)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qa", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="open the collection (created with the seed articles, indexed again if the models changed)")
    _collection_option(p)
    p.add_argument("--snapshot", action="store_true", help="also write the vector index to a snapshot now (faster starts)")
    p.set_defaults(func=_index)

    p = sub.add_parser("ask", help="answer questions over the indexed articles")
    p.add_argument("questions", nargs="+", metavar="QUESTION")
    _collection_option(p)
    p.add_argument("--top-k", type=int, help="passages to read")
    p.add_argument("--json", action="store_true", help="one JSON object per question")
    p.add_argument("--conversation", action="store_true", help="each question follows the ones before it (follow-ups)")
    p.set_defaults(func=_ask)

    p = sub.add_parser("add", help="add article files (.txt, .md, .html, .htm, .jsonl) or folders of them to the collection")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _collection_option(p)
    p.add_argument("--strict", action="store_true", help="add nothing unless every file and line is good")
    p.set_defaults(func=_add)

    p = sub.add_parser("remove", help="remove articles by id (see `list`)")
    p.add_argument("article_ids", nargs="+", metavar="ARTICLE_ID")
    _collection_option(p)
    p.set_defaults(func=_remove)

    p = sub.add_parser("list", help="list the collection's articles: id, where it was added from, title")
    _collection_option(p)
    p.set_defaults(func=_list)

    p = sub.add_parser("serve", help="the HTTP API (POST /ask, GET/POST /articles, DELETE /articles/ID, GET /healthz; "
                       "OpenAPI at /openapi.json); writes need QA_ADMIN_TOKEN")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="processes, each with its own models, sharing the collection")
    p.set_defaults(func=_serve)

    p = sub.add_parser("postgres", help="a local PostgreSQL server with pgvector (loopback only) to try the "
                       "PostgreSQL store on: start prints the URL for QA_STORE")
    p.add_argument("action", choices=["start", "replica", "stop", "status"])
    p.add_argument("--dir", required=True, help="the server's folder: its data, log and socket")
    p.add_argument("--port", type=int, default=5433, help="the port on 127.0.0.1 (start, replica; default 5433)")
    p.add_argument("--of", help="replica: the folder of the running server to copy and follow")
    p.set_defaults(func=_postgres)

    p = sub.add_parser("export-onnx", help="build the int8 ONNX files of the reader and the embedder now "
                       "(otherwise built on first use); QA_ONNX_CACHE says where")
    p.add_argument("--force", action="store_true", help="build them again even if they are there")
    p.set_defaults(func=_export_onnx)

    p = sub.add_parser("eval", help="offline evaluation")
    evals = p.add_subparsers(dest="suite", required=True)
    e = evals.add_parser("squad", help="a SQuAD-format file (v1.1 or v2.0 style)")
    e.add_argument("file")
    e.add_argument("--mode", choices=["reader", "open"], default="reader",
                   help="reader: the gold paragraph is given; open: every paragraph becomes an article and the whole pipeline answers")
    e.add_argument("--retriever", choices=RETRIEVERS, help="open mode: which retriever answers (recall is measured for all)")
    e.add_argument("--top-k", type=int, help="open mode: passages read per question")
    which = e.add_mutually_exclusive_group()
    which.add_argument("--limit", type=int, help="only the first N questions")
    which.add_argument("--held-out", type=int, default=0, metavar="N",
                       help="only the N questions that training with --hold-out N left out of this file")
    e.add_argument("--out", help="folder for report.json, summary.md, questions.csv, predictions.json and charts")
    e.set_defaults(func=_eval_squad)
    e = evals.add_parser("qa", help="your own questions (JSONL) over your indexed articles")
    e.add_argument("file", help='one JSON object per line: {"id", "question", "answers": [...], "history": [...]}')
    _collection_option(e)
    e.add_argument("--retriever", choices=RETRIEVERS)
    e.add_argument("--top-k", type=int, help="passages read per question")
    e.add_argument("--out", help="folder for the report files")
    e.set_defaults(func=_eval_qa)
    e = evals.add_parser("compare", help="where an open-mode run loses F1 against a reader-mode run of the same questions")
    e.add_argument("open_run", help="--out folder of `eval squad --mode open`")
    e.add_argument("reader_run", help="--out folder of `eval squad --mode reader` on the same file")
    e.set_defaults(func=_eval_compare)

    from qa.training.defaults import EMBEDDER, PASSAGES, READER

    p = sub.add_parser("train-reader", help="fine-tune the extractive reader on SQuAD-format files")
    p.add_argument("--out", default="runs/reader")
    p.add_argument("--data", nargs="*", help="SQuAD-format files (default: ../shared/data/train/*.json)")
    p.add_argument("--base", help="encoder to start from (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--init", help="continue from this reader checkpoint instead of a fresh head")
    _window_options(p, READER)
    p.add_argument("--negative-ratio", type=float, default=READER.negative_ratio)
    _schedule_options(p, READER, batch_help="reading windows per optimizer step")
    p.add_argument("--save-every", type=int, default=500, help="write the weights so far every N steps (to evaluate midway)")
    _hold_out_option(p)
    _resume_option(p)
    p.set_defaults(func=_train_reader)

    p = sub.add_parser(
        "train-reader-passages",
        help="continue training a reader on the windows retrieval gives it, normalised across them (qa.training.passages)",
    )
    p.add_argument("--data", nargs="+", required=True, help="SQuAD-format files; each is its own retrieval corpus")
    p.add_argument("--init", default=str(SHIPPED_READER), help="reader checkpoint to continue from")
    p.add_argument("--out", default="runs/reader-passages")
    shipped = Settings()
    p.add_argument("--top-k", type=int, default=shipped.top_k, help="passages retrieved per question")
    p.add_argument("--neighbours", type=int, default=shipped.read_neighbours, help="passages read either side of each")
    _hold_out_option(p)
    _window_options(p, PASSAGES)
    _schedule_options(p, PASSAGES, batch_help="questions per optimizer step")
    _resume_option(p)
    p.set_defaults(func=_train_reader_passages)

    p = sub.add_parser(
        "train-embedder",
        help="fine-tune the embedder on questions and the passages that answer them (qa.training.embedder)",
    )
    p.add_argument("--data", nargs="+", required=True, help="SQuAD-format files; each is its own retrieval corpus")
    p.add_argument("--base", default="", help="sentence-transformers model to start from (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--out", default="runs/embedder")
    _hold_out_option(p)
    _schedule_options(p, EMBEDDER, batch_help="questions per optimizer step (each against the batch's passages)")
    p.set_defaults(func=_train_embedder)
    return parser


def _window_options(p, defaults) -> None:
    p.add_argument("--max-length", type=int, default=defaults.max_length, help="tokens per reading window")
    p.add_argument("--stride", type=int, default=defaults.stride, help="tokens shared by consecutive windows")


def _schedule_options(p, defaults, batch_help: str) -> None:
    """What every training command shares, defaulting to the stage's recipe; `_recipe` turns it back into one."""
    p.add_argument("--mix", nargs="*", default=[], help="FILE_STEM=SHARE of its questions to use, e.g. qamr-dev=0.25")
    p.add_argument("--lr", type=float, default=defaults.learning_rate)
    p.add_argument("--warmup", type=float, default=defaults.warmup, help="share of the steps the learning rate warms up over")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size, help=batch_help)
    p.add_argument("--epochs", type=float, default=defaults.epochs)
    p.add_argument("--max-steps", type=int, default=defaults.max_steps, help="0: as many as --epochs takes")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--precision", choices=("fp32", "bf16"), default=defaults.precision,
                   help="bf16: forward passes under bf16 autocast (fast on CPUs with AVX-512 BF16 or AMX)")


def _resume_option(p) -> None:
    p.add_argument("--save-minutes", type=float, default=30.0,
                   help="keep the run's whole state in OUT/state every N minutes; the same command run again "
                   "goes on from there (0: keep none)")


def _hold_out_option(p) -> None:
    p.add_argument("--hold-out", type=int, default=0, help="leave out the N questions per file scripts/tune_fusion.py tunes on")


def main(argv: list[str] | None = None) -> int:
    from qa.store.base import StoreUnusable
    from qa.store.postgres_server import ServerError

    args = build_parser().parse_args(argv)
    quiet_model_loading()
    logging.basicConfig(level=logging.INFO if args.verbose or args.command.startswith("train-") else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, StoreUnusable, ServerError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
