"""The whole flow over seeds/: retrieve -> read -> cited answers."""

import json
import os
import subprocess
import sys

import pytest

from qa.answering import EmptyQuestion
from qa.config import REPO_ROOT

KNOWN = [
    ("How many missiles did Iraq say were fired?", "22", "004_b4b330c42fa68dce"),
    ("How many missiles did Iranian state television say Iran fired?", "15", "004_b4b330c42fa68dce"),
    ("Who ordered the drone strike that killed General Qassem Soleimani?", "Trump", "000_69438e7c3c1c14ec"),
    ("Where did Erdogan and Putin meet?", "Istanbul", "000_69438e7c3c1c14ec"),
    ("Who is the Pentagon spokesman?", "Jonathan Hoffman", "004_b4b330c42fa68dce"),
]


@pytest.mark.parametrize("question, expected, article_id", KNOWN)
def test_known_answers_with_exact_citations(seed_pipeline, question, expected, article_id):
    response = seed_pipeline.ask(question)
    assert not response.abstained
    best = response.answers[0]
    assert expected in best.text
    assert best.citation.article_id == article_id
    article = seed_pipeline.index.articles[article_id]
    assert article.text[best.citation.start : best.citation.end] == best.text
    assert best.citation.title == article.title
    assert " ".join(best.text.split()) in best.citation.passage


def test_every_answer_is_the_exact_article_span(seed_pipeline):
    for question, _, _ in KNOWN:
        for answer in seed_pipeline.ask(question).answers:
            for c in (answer.citation, *answer.also_in):
                text = seed_pipeline.index.articles[c.article_id].text[c.start : c.end]
                assert " ".join(text.split()) == " ".join(answer.text.split())


def test_empty_and_huge_questions(seed_pipeline):
    with pytest.raises(EmptyQuestion):
        seed_pipeline.ask(" \n\t ")
    response = seed_pipeline.ask("How many missiles did Iraq say were fired? " + "x" * 10_000)
    assert response.passages  # handled: clipped, retrieved and read


def test_cli_ask_json(tmp_path):
    env = dict(os.environ, QA_INDEX_DIR=str(tmp_path / "index"), HF_HUB_OFFLINE="1")
    out = subprocess.run(
        [sys.executable, "-m", "qa", "ask", "--json", "How many missiles did Iraq say were fired?", " "],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300,
    )
    assert out.returncode == 2, out.stderr  # the blank question is reported, the good one answered
    first, second = [json.loads(line) for line in out.stdout.splitlines()]
    assert first["answers"][0]["text"] == "22" and first["abstained"] is False
    assert set(first["answers"][0]) == {"text", "score", "article_id", "title", "start", "end", "passage"}
    assert "error" in second
