"""The kind of answer a question asks for (qa.answering.answer_types): pure rules, no model."""

import pytest

from qa.answering.answer_types import asked_kind, fits


@pytest.mark.parametrize(
    ("question", "span", "expected"),
    [
        ("And when?", "al-Asad air base", False),  # the README follow-up's wrong answer
        ("When were the bases targeted?", "about 1:30 a.m. Iraq time", True),
        ("When were the bases targeted?", "December 2018", True),
        ("When did the plane crash?", "shortly after take-off", True),
        ("What year did the war end?", "1945", True),
        ("Where did Biden speak?", "Wednesday", False),
        ("Where did Biden speak?", "New York", True),
        ("Where was she?", "during a meeting of Democratic lawmakers", True),
        ("Who fired the missiles?", "22", False),
        ("Who fired the missiles?", "Iran", True),
        ("Who visited the base?", "December 2018", False),
        ("How many missiles were fired?", "over a dozen", True),
        ("How many missiles were fired?", "Iraq", False),
        ("What did he say?", "All is well!", True),  # no kind asked: anything fits
    ],
)
def test_spans_fit_the_kind_their_question_asks_for(question, span, expected):
    assert fits(question, span) is expected


def test_questions_without_a_telling_word_ask_for_no_kind():
    assert asked_kind("What did they call on the United States and Iran to do?") is None
    assert asked_kind("Which bases were targeted?") is None
    assert asked_kind("and how many?") == "number"
