"""Offline evaluation: SQuAD open mode on a tiny hand-made file, the user's JSONL questions, the report files.

The real reader, embedder, FAISS and bm25s run on a corpus small enough for CI."""

import csv
import json
import random

import pytest

from qa.cli import main
from qa.settings import REPO_ROOT, load_settings
from qa.datasets.squad import holds_answer
from qa.evaluation.runs import Outcome, evaluate_squad_open, load_qa_jsonl, recall_table
from qa.evaluation.reports import f1_by_gold_rank, gap_by_gold_rank, read_questions_csv, write_run
from qa.datasets.squad import DataFormatError
from qa.training.data import load_training_examples
from qa.training.loop import Recipe

SEEDS = REPO_ROOT / "seeds"
CONVERSATIONS = REPO_ROOT / "tests" / "data" / "seed_conversations.jsonl"

PARAGRAPHS = [
    ("Baghdad_attack", "Iraq said 22 missiles were fired at two bases housing US troops early on Wednesday.",
     [("q1", "How many missiles did Iraq say were fired?", "22")]),
    ("Istanbul_summit", "Presidents Tayyip Erdogan and Vladimir Putin met in Istanbul and called for diplomacy.",
     [("q2", "Where did Erdogan and Putin meet?", "Istanbul")]),
    ("Pentagon", "Pentagon spokesman Jonathan Hoffman said the bases targeted were al-Asad air base and Erbil.",
     [("q3", "Who is the Pentagon spokesman?", "Jonathan Hoffman")]),
    ("Rivers", "The Danube flows through ten countries before it reaches the Black Sea in Romania.",
     [("q4", "Into which sea does the Danube flow?", "the Black Sea")]),
]


def _squad_file(path):
    data = {"data": [
        {"title": title, "paragraphs": [{"context": context, "qas": [
            {"id": qid, "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]} for qid, q, a in qas]}]}
        for title, context, qas in PARAGRAPHS
    ]}
    path.write_text(json.dumps(data))
    return path


def test_holds_answer_uses_squad_normalisation():
    assert holds_answer("Iraq said 22 missiles were fired.", ["22 missiles"])
    assert holds_answer("They met in Istanbul.", ["the Istanbul"])  # articles dropped
    assert not holds_answer("Iraq said 220 missiles were fired.", ["22"])  # whole words only


def test_recall_table():
    table = recall_table([1, 3, None, 12])
    assert table == {"recall@1": 0.25, "recall@5": 0.5, "recall@10": 0.5, "recall@20": 0.75,
                     "mrr": round((1 + 1 / 3 + 1 / 12) / 4, 4)}


def test_f1_by_gold_rank_shows_where_open_mode_loses_f1():
    def row(rank, f1, golds=("x",)):
        return Outcome("q", "q?", tuple(golds), "p", 0.5, exact_match=float(f1 == 1.0), f1=f1, gold_rank=rank)

    rows = [row(1, 1.0), row(1, 0.5), row(2, 0.0), row(7, 1.0), row(30, 0.0), row(None, 0.25), row(None, 1.0, golds=())]
    assert f1_by_gold_rank(rows) == {"1": (2, 75.0), "2": (1, 0.0), "6 or lower": (2, 50.0), "not retrieved": (1, 25.0)}


def _run(pairs, ranked=True):
    """Outcomes of a made-up run: (id, f1, gold rank) per question."""
    return [Outcome(qid, f"{qid}?", ("x", "y"), "p", 0.5, float(f1 == 1.0), f1, rank if ranked else None)
            for qid, f1, rank in pairs]


OPEN_RUN = _run([("a", 1.0, 1), ("b", 0.5, 1), ("c", 0.0, 2), ("d", 0.0, None)])
READER_RUN = _run([("a", 1.0, 1), ("b", 1.0, 1), ("c", 1.0, 1), ("d", 0.5, 1)], ranked=False)


def test_gap_by_gold_rank_splits_the_whole_gap_between_ranks():
    table = gap_by_gold_rank(OPEN_RUN, READER_RUN)
    assert table == {"1": (2, 75.0, 100.0, 12.5), "2": (1, 0.0, 100.0, 25.0), "not retrieved": (1, 0.0, 50.0, 12.5)}
    # reader mode 87.5, open mode 37.5: the groups' points add up to the 50-point gap
    assert sum(lost for *_, lost in table.values()) == 50.0


def test_gap_by_gold_rank_refuses_runs_of_different_questions():
    with pytest.raises(ValueError, match="1 question.*first: d"):
        gap_by_gold_rank(OPEN_RUN, READER_RUN[:3])
    with pytest.raises(ValueError, match="no retrieval ranks"):
        gap_by_gold_rank(READER_RUN, OPEN_RUN)  # arguments swapped: the reader run has no ranks


def test_eval_compare_cli_reads_the_runs_eval_wrote(tmp_path, capsys):
    for name, rows in (("open", OPEN_RUN), ("reader", READER_RUN)):
        write_run(tmp_path / name, {"mode": name}, rows)
    assert read_questions_csv(tmp_path / "open") == OPEN_RUN
    assert main(["eval", "compare", str(tmp_path / "open"), str(tmp_path / "reader")]) == 0
    out = capsys.readouterr().out
    assert "| 2 | 1 | 0.0 | 100.0 | 25.00 |" in out and "| all | 4 | | | 50.00 |" in out
    assert main(["eval", "compare", str(tmp_path / "open"), str(tmp_path)]) == 2
    assert "no questions.csv" in capsys.readouterr().err
    csv_path = tmp_path / "reader" / "questions.csv"
    csv_path.write_text(csv_path.read_text() + "e,e?,x,p,0.5\n")  # a row cut short
    assert main(["eval", "compare", str(tmp_path / "open"), str(tmp_path / "reader")]) == 2
    assert "questions.csv, line 6" in capsys.readouterr().err


@pytest.mark.parametrize("retriever", ["dense", "bm25", "hybrid"])
def test_open_mode_answers_from_a_corpus_of_all_paragraphs(tmp_path, retriever):
    run = evaluate_squad_open(_squad_file(tmp_path / "tiny.json"), load_settings(retriever=retriever), limit=None)
    assert run.report["count"] == 4 and run.report["corpus"]["articles"] == 4
    assert set(run.recall) == {"dense", "bm25", "hybrid"}
    assert run.recall[retriever]["recall@1"] == 1.0  # every question names its paragraph's words
    # Each answer is read out of its own paragraph as a short span (the reader may take a word more: "in Istanbul").
    assert all(holds_answer(o.prediction, o.golds) and len(o.prediction.split()) <= len(o.golds[0].split()) + 1
               for o in run.outcomes[:3])
    assert run.outcomes[0].prediction == "22"
    assert all(o.gold_rank == 1 and o.latency_ms > 0 for o in run.outcomes)


def test_held_out_evaluation_reads_exactly_the_questions_training_left_out(tmp_path):
    """Reader choices are made on `eval squad --held-out N`: it must read the questions `--hold-out N`
    kept out of training, not the first N (q1, q2) or any other draw."""
    path = _squad_file(tmp_path / "tiny.json")
    trained = load_training_examples(Recipe("base", [str(path)]), random.Random(0), hold_out=2)
    left_out = {qid for _, _, qas in PARAGRAPHS for qid, _, _ in qas} - {ex.id for ex in trained}

    out = tmp_path / "held-out"
    assert main(["eval", "squad", str(path), "--mode", "reader", "--held-out", "2", "--out", str(out)]) == 0

    report = json.loads((out / "report.json").read_text())
    assert report["held_out"] == 2 and report["count"] == 2
    assert {o.id for o in read_questions_csv(out)} == left_out != {"q1", "q2"}


def test_eval_squad_open_cli_writes_every_report_file(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["eval", "squad", str(_squad_file(tmp_path / "tiny.json")), "--mode", "open", "--limit", "2", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["mode"] == "open" and report["count"] == 2 and report["retrieval"]["hybrid"]["recall@1"] == 1.0
    # How the passages were read, so two runs' reports say why their figures differ.
    settings = load_settings()
    assert (report["top_k"], report["read_neighbours"], report["read_alone_weight"]) == (
        settings.top_k, settings.read_neighbours, settings.read_alone_weight)
    for name in ("summary.md", "questions.csv", "predictions.json", "recall_at_k.png", "latency.png", "f1_by_question_word.png"):
        assert (out / name).stat().st_size > 0, name
    rows = list(csv.DictReader((out / "questions.csv").open()))
    assert [r["id"] for r in rows] == ["q1", "q2"] and rows[0]["gold_passage_rank"] == "1"
    summary = (out / "summary.md").read_text()
    mean_f1 = 100 * sum(float(r["f1"]) for r in rows) / len(rows)
    assert "| hybrid |" in summary and f"| 1 | 2 | {mean_f1:.1f} |" in summary  # F1 by gold passage rank


def test_eval_qa_over_seed_conversations(tmp_path):
    out = tmp_path / "out"
    code = main(["eval", "qa", str(CONVERSATIONS), "--index", str(tmp_path / "index"), "--out", str(out)])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    items = load_qa_jsonl(CONVERSATIONS)
    assert report["count"] == len(items) and report["no_answer"]["count"] == sum(1 for i in items if not i.answers)
    assert report["no_answer"]["exact_match"] == 100.0  # every out-of-corpus question is declined
    assert report["has_answer"]["f1"] >= 70.0


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": 1, "question": "Q?"', "line 2: not valid JSON"),
        ('{"id": 1, "answers": []}', "line 2: missing field 'question'"),
        ('{"id": 1, "question": "Q?", "answers": "22"}', "line 2: field 'answers' must be a list of strings"),
        ('{"id": 1, "question": "Q?", "answers": [], "history": [3]}', "line 2: field 'history' must be a list of strings"),
        ('{"id": 0, "question": "Q?", "answers": []}', "line 2: id '0' appears twice"),
        ('["id", "question"]', "line 2: each line must be a JSON object"),
    ],
)
def test_malformed_qa_files_name_the_line_and_field(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "0", "question": "Fine?", "answers": []}\n' + line + "\n")
    with pytest.raises(DataFormatError, match=message.replace("(", r"\(")):
        load_qa_jsonl(path)


def test_cli_reports_a_malformed_file_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text("not json\n")
    assert main(["eval", "qa", str(path), "--index", str(tmp_path / "index")]) == 2
    assert "bad.jsonl, line 1: not valid JSON" in capsys.readouterr().err


def test_charts_count_whole_questions_and_label_every_bar():
    """A few questions: the latency axis counts whole questions, and a question word whose F1 is 0 still
    shows its bar's label (F1 and count)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qa.evaluation.reports import f1_figure, latency_figure

    fig = latency_figure([120.0, 180.0, 185.0])
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_yticks() if t >= 0]
    assert ticks and all(float(t).is_integer() for t in ticks)
    plt.close(fig)
    fig = f1_figure({"what": (3, 66.7), "when": (1, 0.0)})
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels == ["67 (n=3)", "0 (n=1)"]
    plt.close(fig)
