"""Who a sentence says a claim comes from, and when the best answers disagree (seed 004: 22 vs 15 missiles)."""

import pytest

from qa.answering.attribution import answer_kind, attribution
from qa.ingest.chunking import sentence_at


@pytest.mark.parametrize(
    "sentence, source",
    [
        ("Iraq said 22 missiles were fired.", "Iraq"),
        ("Iranian state television said Iran had fired 15 missiles at US targets.", "Iranian state television"),
        ("Pentagon spokesman Jonathan Hoffman said the bases targeted were al-Asad air base.", "Pentagon spokesman Jonathan Hoffman"),
        ("The death toll rose to 12, according to local officials.", "local officials"),
        ("Casualties were light, he said.", ""),  # a pronoun names no one
        ("The joint call was issued in a statement after a meeting in Istanbul.", ""),
    ],
)
def test_attribution(sentence, source):
    assert attribution(sentence) == source


def test_sentence_at_does_not_stop_at_abbreviations():
    text = "Title\nIt avoided U.S. casualties, according to U.S. officials. Next sentence."
    i = text.index("casualties")
    assert sentence_at(text, i, i + 10) == "It avoided U.S. casualties, according to U.S. officials."


def test_answer_kinds():
    assert [answer_kind(t) for t in ("22", "fifteen", "Jonathan Hoffman", "all necessary measures")] == [
        "number", "number", "name", "phrase"]


def test_disagreeing_sources_are_shown_side_by_side(seed_pipeline):
    response = seed_pipeline.ask("How many missiles were fired?")
    assert not response.abstained
    shown = {a.text: a.attribution for a in response.disagreement}
    assert shown.get("22") == "Iraq" and shown.get("15") == "Iranian state television"
    for a in response.disagreement:
        assert a.attribution in a.citation.passage


def test_one_source_one_answer_is_no_disagreement(seed_pipeline):
    response = seed_pipeline.ask("Where did Erdogan and Putin meet?")
    assert response.answers[0].text == "Istanbul" and response.disagreement == []


def test_a_question_naming_its_source_gets_that_source_without_a_dispute(seed_pipeline):
    response = seed_pipeline.ask("How many missiles did Iraq say were fired?")
    assert response.answers[0].text == "22" and response.answers[0].attribution == "Iraq"
    assert response.disagreement == []


def test_weak_alternatives_are_not_shown_as_disagreement(seed_pipeline):
    response = seed_pipeline.ask("Who is the Pentagon spokesman?")
    assert response.answers[0].text == "Jonathan Hoffman" and response.disagreement == []
