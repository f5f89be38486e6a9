"""Follow-up questions: rewrite a question that leans on earlier turns into one that stands alone.

Rule-based and cheap, for the cases a news chat meets most: a pronoun for the person the last answer
named ("Which bases did he say were targeted?"), an elliptical "And Iran?" / "What about Turkey?" that
swaps the subject of the last question, and a bare "And when?" that swaps its question word. Whatever
the rule, retrieval also searches with the last turn's words, so "it" / "they" / "there" still find the
passages the conversation is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from qa.schema import Response

QUESTION_WORDS = {"what", "who", "whom", "whose", "when", "where", "which", "why", "how"}
PERSON_PRONOUNS = {"he": "", "him": "", "she": "", "his": "'s", "hers": "'s"}
# Words that point back without naming anything; "that" is left out, it is mostly a conjunction.
POINTERS = {"it", "its", "they", "them", "their", "there", "this", "these", "those", "he", "him", "his", "she", "her", "hers"}
ELLIPSIS = re.compile(r"^(?:and|but|what about|how about|and what about)\s+(.+?)\s*\??$", re.IGNORECASE)
# A run of capitalised words (with joiners such as "of", "al-") not at the start of the sentence.
ENTITY = re.compile(r"(?<!^)(?<![.?!]\s)\b(?:[A-Z][\w'’.-]*)(?:\s+(?:of\s+|the\s+|al-)?[A-Z][\w'’.-]*)*")


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: the question as it was understood, and the answer given ("" if none)."""

    question: str
    answer: str = ""

    @classmethod
    def of(cls, response: Response) -> "Turn":
        """The turn a response makes: the question as it was read, and the best answer unless it abstained."""
        best = "" if response.abstained or not response.answers else response.answers[0].text
        return cls(response.interpreted or response.question, best)


@dataclass(frozen=True)
class Contextualized:
    question: str  # what the reader reads: the question made to stand alone where a rule applies
    query: str  # what retrieval searches with
    follow_up: bool  # whether the earlier turns were used


def contextualize(question: str, history: Sequence[Turn]) -> Contextualized:
    question = " ".join(question.split())
    if not history:
        return Contextualized(question, question, False)
    last = history[-1]
    standalone = _ellipsis(question, last) or _pronouns(question, history) or question
    words = {w.lower() for w in re.findall(r"[\w']+", question)}
    follow_up = standalone != question or bool(words & POINTERS) or len(words) <= 3
    if not follow_up:
        return Contextualized(question, question, False)
    query = " ".join(part for part in (standalone, last.question, last.answer) if part)
    return Contextualized(standalone, query, True)


def _ellipsis(question: str, last: Turn) -> str | None:
    """ "And Iran?" after "How many missiles did Iraq say were fired?" -> "... did Iran say ..."."""
    m = ELLIPSIS.match(question)
    if not m or len(m.group(1).split()) > 6:
        return None
    rest = m.group(1)
    first = rest.split()[0].lower()
    if first in QUESTION_WORDS and len(rest.split()) == 1:
        # "And when?": the last question with its question word swapped.
        lead = last.question.split()[0]
        if lead.lower() in QUESTION_WORDS:
            return rest.capitalize() + last.question[len(lead) :]
        return None
    if first in QUESTION_WORDS:
        return None  # a question of its own ("and who said so?"): pointers handle it
    entities = list(ENTITY.finditer(last.question))
    if not entities:
        return None
    e = entities[-1]  # the subject swapped is the last one named
    return last.question[: e.start()] + rest + last.question[e.end() :]


def _pronouns(question: str, history: Sequence[Turn]) -> str | None:
    """ "he" / "his" -> the person the conversation last named (an answer to a "who" question first)."""
    if not re.search(r"\b(?:he|him|his|she|hers)\b", question, re.IGNORECASE):
        return None
    person = _last_person(history)
    if not person:
        return None
    return re.sub(
        r"\b(he|him|his|she|hers)\b",
        lambda m: person + PERSON_PRONOUNS[m.group(1).lower()],
        question,
        count=1,  # "Where was she when she got it?" -> "Where was Nancy Pelosi when she got it?"
        flags=re.IGNORECASE,
    )


def _last_person(history: Sequence[Turn]) -> str | None:
    for turn in reversed(history):
        asked_for_someone = turn.question.split()[0].lower() in {"who", "whom", "which"}
        if turn.answer and asked_for_someone and turn.answer[:1].isupper() and len(turn.answer.split()) <= 5:
            return turn.answer
        names = [e.group() for e in ENTITY.finditer(turn.question) if len(e.group().split()) >= 2]
        if names:
            return names[-1]
    return None
