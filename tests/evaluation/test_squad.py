"""SQuAD loading and the official scorer (expected values worked out by hand from evaluate-v1.1.py)."""

import json

import pytest

from qa.datasets.squad import DataFormatError, load_squad
from qa.evaluation.scoring import f1_score, score_prediction
from qa.text import normalize_answer


def test_normalize_answer_matches_official_rules():
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a day") == "apple day"
    assert normalize_answer("Theater") == "theater"  # articles only as whole words


def test_token_f1_and_max_over_gold():
    assert f1_score("Denver Broncos won", "the Denver Broncos") == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert f1_score("nothing shared", "Denver") == 0.0
    em, f1 = score_prediction("Broncos", ["Carolina Panthers", "the Broncos"])
    assert (em, f1) == (1.0, 1.0)


def test_unanswerable_follows_squad_v2():
    assert score_prediction("", []) == (1.0, 1.0)
    assert score_prediction("22", []) == (0.0, 0.0)
    assert score_prediction("", ["22"]) == (0.0, 0.0)


def test_load_squad_reads_v2_impossible_and_repeated_ids(tmp_path):
    data = {"data": [{"title": "T", "paragraphs": [{"context": "Iraq said 22 missiles were fired.", "qas": [
        {"id": 1, "question": "How many?", "answers": [{"text": "22", "answer_start": 10}]},
        {"id": 1, "question": "Who?", "answers": [], "is_impossible": True},
    ]}]}]}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data))
    first, second = load_squad(path)
    assert first.answers[0].text == "22" and first.context[10:12] == "22"
    assert first.id == second.id == "1" and not second.answerable


@pytest.mark.parametrize(
    "payload, where",
    [
        ("not json", "not a SQuAD JSON"),
        (json.dumps({"version": 1}), "'data'"),
        (json.dumps({"data": [{"paragraphs": [{"qas": []}]}]}), "data[0].paragraphs[0]: missing field 'context'"),
        (json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "x", "answers": []}]}]}]}),
         "qas[0]: missing field 'question'"),
    ],
)
def test_malformed_file_names_the_place(tmp_path, payload, where):
    path = tmp_path / "bad.json"
    path.write_text(payload)
    with pytest.raises(DataFormatError, match=__import__("re").escape(where)):
        load_squad(path)
