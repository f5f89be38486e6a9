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
        ([Turn("What did Trump say on Twitter?", "All is well!")], "Where was he?", "Where was Trump?"),
        # a new question word: the last question rebuilt around it, never words spliced in
        ([Turn("Which bases were targeted?", "al-Asad air base")], "And when?", "When were the bases targeted?"),
        ([Turn("Which bases were targeted?", "al-Asad air base")], "And when did it happen?", "When were the bases targeted?"),
        ([Turn("Which bases were targeted?", "al-Asad air base")], "How many?", "How many bases were targeted?"),
        ([Turn("Which bases did Jonathan Hoffman say were targeted?", "al-Asad air base")], "And when?",
         "When did Jonathan Hoffman say the bases were targeted?"),
        ([Turn("How many missiles did Iraq say were fired?", "22")], "When?", "When did Iraq say 22 missiles were fired?"),
        ([Turn("Who was handed a note about the attack?", "Nancy Pelosi")], "And where?",
         "Where was Nancy Pelosi handed a note about the attack?"),
        ([Turn("How many people were killed when the Ukrainian plane crashed?", "176")], "Where?",
         "Where were 176 people killed when the Ukrainian plane crashed?"),
        ([Turn("Who ordered the drone strike?", "Donald Trump")], "And why?", "Why was it that Donald Trump ordered the drone strike?"),
        ([Turn("Who is the Pentagon spokesman?", "Jonathan Hoffman")], "And where?", "Where is the Pentagon spokesman?"),
        # a new subject; with no name in the conversation's questions, what a news chat asks about one
        ([Turn("Which bases were targeted?", "al-Asad air base")], "What about Turkey?", "What did Turkey say?"),
    ],
)
def test_follow_ups_are_rewritten_to_stand_alone(history, question, expected):
    asked = contextualize(question, history)
    assert asked.follow_up and asked.question == expected
    assert history[-1].question in asked.query  # retrieval also searches with the last turn


@pytest.mark.parametrize(
    "history, question",
    [
        # no grammatical question can be made: the question is read as typed (and shown without "Read as")
        ([Turn("What happened to the Ukrainian plane?", "crashed")], "And where?"),
        ([Turn("How many US troops remain in Iraq?", "5,000")], "And when?"),
        ([Turn("Did Iran warn Iraq before the strikes?", "")], "And when?"),
        ([Turn("What?", "")], "And when?"),
        ([Turn("How many?", "")], "Where?"),
    ],
)
def test_a_follow_up_no_rule_can_rebuild_is_read_as_typed(history, question):
    asked = contextualize(question, history)
    assert asked.follow_up and not asked.rewritten(question)
    assert history[-1].question in asked.query


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


def test_read_as_is_shown_only_for_a_rewritten_question(seed_pipeline):
    first = seed_pipeline.ask("Which bases were targeted?")
    history = [Turn.of(first)]
    pointing = seed_pipeline.ask("Why were they chosen?", history=history)
    assert pointing.interpreted == ""
    swapped = seed_pipeline.ask("And when?", history=history)
    assert swapped.interpreted == "When were the bases targeted?"
