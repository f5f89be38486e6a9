"""Follow-up questions rewritten from earlier turns (pure rules), and answered in context over seeds/."""

import pytest

from qa.answering.conversation import Turn, contextualize


@pytest.mark.parametrize(
    "history, question, expected",
    [
        ([Turn("How many missiles did Iraq say were fired?", "22")], "And Iran?", "How many missiles did Iran say were fired?"),
        ([Turn("Who is the Pentagon spokesman?", "Jonathan Hoffman")], "Which bases did he say were targeted?",
         "Which bases did Jonathan Hoffman say were targeted?"),
        ([Turn("Who is Iran's Supreme Leader?", "Ali Khamenei")], "What was his message?", "What was Ali Khamenei's message?"),
        ([Turn("Where did Erdogan and Putin meet?", "Istanbul")], "And when?", "When did Erdogan and Putin meet?"),
        ([Turn("Where did Joe Biden speak?", "outside Philadelphia")], "What did he say?", "What did Joe Biden say?"),
    ],
)
def test_follow_ups_are_rewritten_to_stand_alone(history, question, expected):
    asked = contextualize(question, history)
    assert asked.follow_up and asked.question == expected
    assert history[-1].question in asked.query  # retrieval also searches with the last turn


def test_a_question_that_stands_alone_is_left_alone():
    asked = contextualize("How many US troops remain in Iraq?", [Turn("Who is the Pentagon spokesman?", "Jonathan Hoffman")])
    assert not asked.follow_up and asked.question == asked.query == "How many US troops remain in Iraq?"
    assert contextualize("And Iran?", []).question == "And Iran?"  # nothing to lean on


def test_pipeline_answers_a_follow_up_in_context(seed_pipeline):
    first = seed_pipeline.ask("Who is the Pentagon spokesman?")
    history = [Turn(first.question, first.answers[0].text)]
    response = seed_pipeline.ask("Which bases did he say were targeted?", history=history)
    assert response.interpreted == f"Which bases did {first.answers[0].text} say were targeted?"
    assert not response.abstained and "al-Asad" in response.answers[0].text
