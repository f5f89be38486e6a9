"""Evaluation runs on disk: writing report.json, summary.md, questions.csv, predictions.json and charts;
reading questions.csv back to compare an open-mode run with a reader-mode run."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from qa.evaluation.runs import Outcome

QUESTION_WORDS = ("what", "who", "when", "where", "which", "how", "why")


def question_word(question: str) -> str:
    """The wh-word that types the question; SQuAD questions often put it mid-sentence ("In what year ...")."""
    words = [w.strip("?,.'\"").lower() for w in question.split()]
    return next((w for w in words if w in QUESTION_WORDS), "other")


def write_run(out_dir: Path, report: dict, outcomes: Sequence[Outcome], recall: dict[str, dict] | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "report.json", out_dir / "summary.md", out_dir / "questions.csv", out_dir / "predictions.json"]
    written[0].write_text(json.dumps(report, indent=2, ensure_ascii=False))
    written[1].write_text(summary_markdown(report, outcomes))
    _write_csv(written[2], outcomes)
    # The official SQuAD scorer's format: {question id: predicted text}.
    written[3].write_text(json.dumps({o.id: o.prediction for o in outcomes}, indent=1, ensure_ascii=False))
    written += _charts(out_dir, outcomes, recall or {})
    return written


CSV_COLUMNS = ("id", "question", "gold", "prediction", "score", "exact_match", "f1", "gold_passage_rank", "latency_ms")
GOLD_SEPARATOR = " | "


def _write_csv(path: Path, outcomes: Sequence[Outcome]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for o in outcomes:
            w.writerow([
                o.id, o.question, GOLD_SEPARATOR.join(o.golds), o.prediction, f"{o.score:.4f}", int(o.exact_match), f"{o.f1:.4f}",
                "" if o.gold_rank is None else o.gold_rank,
                "" if o.latency_ms is None else f"{o.latency_ms:.1f}",
            ])


def read_questions_csv(run_dir: Path) -> list[Outcome]:
    """The per-question outcomes of an earlier run, from its questions.csv. Gold answers come back split
    at the " | " the CSV joins them with (a gold answer holding one comes back as two)."""
    path = Path(run_dir) / "questions.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no questions.csv here; give the --out folder of an `eval` run")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in CSV_COLUMNS if rows and c not in rows[0]]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    out = []
    for line, r in enumerate(rows, start=2):
        try:
            out.append(Outcome(
                r["id"], r["question"], tuple(r["gold"].split(GOLD_SEPARATOR)) if r["gold"] else (), r["prediction"],
                float(r["score"]), float(r["exact_match"]), float(r["f1"]),
                int(r["gold_passage_rank"]) if r["gold_passage_rank"] else None,
                float(r["latency_ms"]) if r["latency_ms"] else None,
            ))
        except (TypeError, ValueError) as e:  # TypeError: a short row leaves its last fields None
            raise ValueError(f"{path}, line {line}: {e}") from None
    return out


def f1_by_question_word(outcomes: Sequence[Outcome]) -> dict[str, tuple[int, float]]:
    groups: dict[str, list[float]] = defaultdict(list)
    for o in outcomes:
        groups[question_word(o.question)].append(o.f1)
    return {w: (len(v), 100 * sum(v) / len(v)) for w, v in sorted(groups.items(), key=lambda t: -len(t[1]))}


def _rank_groups(outcomes: Sequence[Outcome], singles: int) -> dict[str, list[Outcome]]:
    """Answerable questions by the rank of the first retrieved passage holding a gold answer, in rank order."""
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        if not o.answerable:
            continue
        if o.gold_rank is None:
            label = "not retrieved"
        else:
            label = str(o.gold_rank) if o.gold_rank <= singles else f"{singles + 1} or lower"
        groups[label].append(o)
    order = [str(r) for r in range(1, singles + 1)] + [f"{singles + 1} or lower", "not retrieved"]
    return {k: groups[k] for k in order if groups.get(k)}


def f1_by_gold_rank(outcomes: Sequence[Outcome], singles: int = 5) -> dict[str, tuple[int, float]]:
    """F1 of answerable questions by the rank of the first retrieved passage holding a gold answer: where
    open-mode F1 is lost, retrieval order (a rank below 1) or reading (rank 1)."""
    return {k: (len(g), 100 * sum(o.f1 for o in g) / len(g)) for k, g in _rank_groups(outcomes, singles).items()}


def gap_by_gold_rank(
    open_run: Sequence[Outcome], reader_run: Sequence[Outcome], singles: int = 5
) -> dict[str, tuple[int, float, float, float]]:
    """Open mode against reader mode on the same questions, by gold-passage rank in the open run:
    (questions, open F1, reader F1, points of overall F1 the group loses). The points add up to the
    overall gap, so they say where closing it pays: better ranking, or better reading at rank 1."""
    reader_f1 = {o.id: o.f1 for o in reader_run}
    unmatched = [o.id for o in open_run if o.answerable and o.id not in reader_f1]
    if unmatched:
        raise ValueError(
            f"{len(unmatched)} question(s) of the open run are not in the reader run (first: {unmatched[0]}); "
            "compare runs of the same file and --limit"
        )
    if not any(o.gold_rank is not None for o in open_run):
        raise ValueError("the open run holds no retrieval ranks: is it an `eval squad --mode open` run?")
    groups = _rank_groups(open_run, singles)
    total = sum(len(g) for g in groups.values())
    table = {}
    for label, g in groups.items():
        open_sum, reader_sum = sum(o.f1 for o in g), sum(reader_f1[o.id] for o in g)
        table[label] = (len(g), 100 * open_sum / len(g), 100 * reader_sum / len(g), 100 * (reader_sum - open_sum) / total)
    return table


def gap_markdown(table: dict[str, tuple[int, float, float, float]]) -> str:
    lines = ["| gold passage rank | questions | open F1 | reader F1 | F1 points lost |", "|---|---|---|---|---|"]
    lines += [f"| {k} | {n} | {o:.1f} | {r:.1f} | {lost:.2f} |" for k, (n, o, r, lost) in table.items()]
    lines.append(f"| all | {sum(v[0] for v in table.values())} | | | {sum(v[3] for v in table.values()):.2f} |")
    return "\n".join(lines) + "\n"


def summary_markdown(report: dict, outcomes: Sequence[Outcome]) -> str:
    lines = [f"# Evaluation: {report.get('file', '')} ({report.get('mode', '')} mode)", ""]
    lines += ["| measure | value |", "|---|---|"]
    for key in ("count", "exact_match", "f1", "abstention_accuracy", "abstained", "index_build_seconds"):
        if report.get(key) is not None:
            lines.append(f"| {key.replace('_', ' ')} | {report[key]} |")
    for part in ("has_answer", "no_answer"):
        if part in report:
            b = report[part]
            lines.append(f"| {part.replace('_', '-')} EM / F1 ({b['count']} questions) | {b['exact_match']} / {b['f1']} |")
    if "latency_ms" in report:
        lines.append(f"| latency p50 / p95 | {report['latency_ms']['p50']} / {report['latency_ms']['p95']} ms |")
    retrieval = report.get("retrieval") or {}
    if retrieval:
        keys = list(next(iter(retrieval.values())).keys())
        lines += ["", "## Retrieval", "", "| retriever | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        for kind, table in retrieval.items():
            lines.append(f"| {kind} | " + " | ".join(str(table[k]) for k in keys) + " |")
    if any(o.gold_rank is not None for o in outcomes):
        lines += ["", "## F1 by rank of the first passage holding a gold answer", "",
                  "| rank | questions | F1 |", "|---|---|---|"]
        for rank, (n, f1) in f1_by_gold_rank(outcomes).items():
            lines.append(f"| {rank} | {n} | {f1:.1f} |")
    lines += ["", "## F1 by question word", "", "| word | questions | F1 |", "|---|---|---|"]
    for word, (n, f1) in f1_by_question_word(outcomes).items():
        lines.append(f"| {word} | {n} | {f1:.1f} |")
    return "\n".join(lines) + "\n"


def _charts(out_dir: Path, outcomes: Sequence[Outcome], recall: dict[str, dict]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display on these machines
    import matplotlib.pyplot as plt

    written = []
    if recall:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for kind, table in recall.items():
            ks = [int(k.split("@")[1]) for k in table if k.startswith("recall@")]
            ax.plot(ks, [table[f"recall@{k}"] for k in ks], marker="o", label=kind)
        ax.set(xlabel="passages retrieved (k)", ylabel="recall@k", title="Retrieval recall", ylim=(0, 1))
        ax.grid(alpha=0.3)
        ax.legend()
        written.append(_save(fig, out_dir / "recall_at_k.png"))
    latencies = [o.latency_ms for o in outcomes if o.latency_ms is not None]
    if latencies:
        written.append(_save(latency_figure(latencies), out_dir / "latency.png"))
    groups = f1_by_question_word(outcomes)
    if groups:
        written.append(_save(f1_figure(groups), out_dir / "f1_by_question_word.png"))
    return written


def latency_figure(latencies: Sequence[float]):
    """A histogram of question latencies; its axis counts whole questions."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(latencies, bins=min(40, max(5, len(latencies) // 2)))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="latency per question (ms)", ylabel="questions", title="Question latency")
    return fig


def f1_figure(groups: dict[str, tuple[int, float]]):
    """F1 per question word, each bar labelled with its F1 and question count (a bar of F1 0 has no
    height to see)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    bars = ax.bar(list(groups), [f1 for _, f1 in groups.values()])
    ax.bar_label(bars, labels=[f"{f1:.0f} (n={n})" for n, f1 in groups.values()], fontsize=8)
    ax.set(ylabel="F1", title="F1 by question word", ylim=(0, 110))
    return fig


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
