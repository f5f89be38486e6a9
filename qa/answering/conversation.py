"""Follow-up questions: rewrite a question that leans on earlier turns into one that stands alone.

Rule-based and cheap, for the cases a news chat meets most:
- a pronoun for the person the conversation last named ("Which bases did he say were targeted?");
- a new question word for the last question ("And when?", "Where did it happen?", "How many?"): the
  last question is rebuilt around it, its asked-for phrase filled with what the last answer gave
  ("Which bases were targeted?" -> "When were the bases targeted?");
- a new subject for the last question ("And Iran?", "What about Turkey?").
A rule that cannot make a grammatical question makes none: the question is then read as typed, and
retrieval still searches with the last turn's words, so "it" / "they" / "there" find the passages the
conversation is about. The chat shows "Read as" only when a question was rewritten.
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
DO = {"did", "does", "do"}
AUXILIARIES = DO | {"is", "are", "was", "were", "has", "have", "had", "will", "would", "can", "could", "should", "may", "might", "must"}
DETERMINERS = {"the", "a", "an", "this", "that", "these", "those", "his", "her", "its", "their", "our", "my", "your"}
LEADING = re.compile(r"^(?:and|but|so|then|ok|okay)[,\s]+", re.IGNORECASE)
ELLIPSIS = re.compile(r"^(?:what about|how about|and what about|and|but)\s+(.+?)\s*\??$", re.IGNORECASE)
# "And when?", "Where?", "How many?", "Why did it happen?", "When was that?": the last question, asked anew.
NEW_QUESTION_WORD = re.compile(
    r"^(?:and\s+|but\s+|so\s+)?(when|where|why|how many|how much|how|who|what)"
    r"(?:\s+(?:did|does|was|is)\s+(?:it|that|this)(?:\s+(?:happen|take place|occur))?)?\s*\??$",
    re.IGNORECASE,
)
# A run of capitalised words (with joiners such as "of", "al-") not at the start of the sentence.
ENTITY = re.compile(r"(?<!^)(?<![.?!]\s)\b(?:[A-Z][\w'’.-]*)(?:\s+(?:of\s+|the\s+|al-)?[A-Z][\w'’.-]*)*")
# An answer this short can stand in for the phrase its question asked with ("Who was handed a note?" ->
# "Nancy Pelosi"); a longer one would make the rebuilt question hard to read.
FILLER_WORDS = 6


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

    def rewritten(self, typed: str) -> bool:
        return self.question != " ".join(typed.split())


def contextualize(question: str, history: Sequence[Turn]) -> Contextualized:
    question = " ".join(question.split())
    if not history:
        return Contextualized(question, question, False)
    last = history[-1]
    standalone = (
        _new_question_word(question, last) or _new_subject(question, history) or _pronouns(question, history) or question
    )
    words = {w.lower() for w in re.findall(r"[\w']+", question)}
    follow_up = standalone != question or bool(words & POINTERS) or len(words) <= 3
    if not follow_up:
        return Contextualized(question, question, False)
    query = " ".join(part for part in (standalone, last.question, last.answer) if part)
    return Contextualized(standalone, query, True)


# --- "And when?": the last question with another question word ----------------------------------------


@dataclass(frozen=True)
class Parsed:
    """A question as its first words give it: question word(s), the noun they ask about ("bases" of
    "Which bases were targeted?"), the auxiliary after them if any, and the rest."""

    wh: str
    noun: str
    aux: str
    rest: list[str]


def parse(question: str) -> Parsed | None:
    words = question.rstrip(" ?").split()
    if not words or words[0].lower() not in QUESTION_WORDS:
        return None
    wh, i = words[0].lower(), 1
    if wh == "how" and len(words) > 1 and words[1].lower() in {"many", "much"}:
        wh, i = f"how {words[1].lower()}", 2
    if i == len(words):
        return None  # "What?", "How many?": nothing to rebuild
    aux_at = next((j for j in range(i, min(i + 5, len(words))) if words[j].lower() in AUXILIARIES), None)
    if wh in {"which", "what", "whose", "how many", "how much"}:
        if aux_at is None:
            # No auxiliary: "Which country fired ...", "What happened": a one-word noun, then the verb.
            if wh in {"how many", "how much"} or words[i].lower().endswith("ed"):
                # "How many US troops remain": where the noun ends is anyone's guess; "What happened
                # to ...": an event, with no phrase an answer could stand in for
                return None
            return Parsed(wh, words[i] if len(words) > i + 1 else "", "", words[i + 1 :] if len(words) > i + 1 else words[i:])
        return Parsed(wh, " ".join(words[i:aux_at]), words[aux_at].lower(), words[aux_at + 1 :])
    if aux_at == i:
        return Parsed(wh, "", words[i].lower(), words[i + 1 :])
    return Parsed(wh, "", "", words[i:])


def _new_question_word(question: str, last: Turn) -> str | None:
    m = NEW_QUESTION_WORD.match(question)
    parsed = parse(last.question) if m else None
    if parsed is None:
        return None
    new = m.group(1).lower()
    if new == parsed.wh:
        return None
    if new in {"how many", "how much"}:
        # "Which bases were targeted?" -> "How many bases were targeted?": the same noun, counted.
        return _sentence([new, parsed.noun, parsed.aux, *parsed.rest]) if parsed.noun else None
    filler = _filler(parsed, last.answer)
    if parsed.aux in DO or (parsed.aux and _starts_noun_phrase(parsed.rest)):
        # The asked-for phrase was the object ("How many missiles did Iraq say were fired?") or the
        # complement ("Who is the Pentagon spokesman?"): it goes where the object stood.
        if parsed.aux not in DO:
            return _sentence([new, parsed.aux, *parsed.rest])
        return _sentence([new, parsed.aux, *_with_object(parsed.rest, filler if parsed.noun else "")])
    if parsed.aux:
        # It was the subject ("Which bases were targeted?"): it goes after the auxiliary.
        return _sentence([new, parsed.aux, filler, *parsed.rest]) if filler else None
    # No auxiliary ("Who ordered the strike?"): without one to move, a cleft keeps the verb as it was;
    # with no auxiliary to agree with, the answer itself reads best.
    filler = _filler(parsed, last.answer, answer_first=True)
    return _sentence([new, "was it that", filler, *parsed.rest]) if filler else None


def _filler(parsed: Parsed, answer: str, answer_first: bool = False) -> str:
    """What stands in for the asked-for phrase: for a noun asked about, "the <noun>" (it agrees with
    the auxiliary as the answer may not: "were the bases"), else the answer when it is short."""
    short = bool(answer) and len(answer.split()) <= FILLER_WORDS
    if parsed.wh in {"how many", "how much"}:
        return f"{answer} {parsed.noun}".strip() if short else f"the {parsed.noun}".strip()
    if parsed.noun and not (answer_first and short):
        return f"the {parsed.noun}"
    return answer if short else ""


def _starts_noun_phrase(words: list[str]) -> bool:
    return bool(words) and (words[0].lower() in DETERMINERS or words[0][:1].isupper())


def _with_object(rest: list[str], filler: str) -> list[str]:
    """`rest` with `filler` where the object stood: before the clause a reporting verb introduces
    ("say [22 missiles] were fired"), else at the end ("visit [Iraq]")."""
    if not filler:
        return rest
    for i, word in enumerate(rest[:-1]):
        if word.lower() in {"say", "said", "think", "believe", "report", "claim", "expect"} and rest[i + 1].lower() in AUXILIARIES:
            return [*rest[: i + 1], filler, *rest[i + 1 :]]
    return [*rest, filler]


def _sentence(words: list[str]) -> str:
    text = " ".join(w for w in words if w)
    return text[:1].upper() + text[1:] + "?"


# --- "What about Turkey?": the last question about someone else ---------------------------------------


def _new_subject(question: str, history: Sequence[Turn]) -> str | None:
    """ "And Iran?" after "How many missiles did Iraq say were fired?" -> "... did Iran say ..."; with no
    name in the conversation's questions to swap, what a news chat asks about a name: what it said."""
    m = ELLIPSIS.match(question)
    if not m or len(m.group(1).split()) > 6:
        return None
    rest = m.group(1)
    if rest.split()[0].lower() in QUESTION_WORDS:
        return None  # a question of its own ("and who said so?"): pointers handle it
    for turn in reversed(history):
        entities = list(ENTITY.finditer(turn.question))
        if entities:
            e = entities[-1]  # the subject swapped is the last one named
            return turn.question[: e.start()] + rest + turn.question[e.end() :]
    return f"What did {rest} say?" if rest[:1].isupper() else None


# --- "he", "his": the person last named ----------------------------------------------------------------


def _pronouns(question: str, history: Sequence[Turn]) -> str | None:
    """ "he" / "his" -> the person the conversation last named (an answer to a "who" question first)."""
    if not re.search(r"\b(?:he|him|his|she|hers)\b", question, re.IGNORECASE):
        return None
    person = _last_person(history)
    if not person:
        return None
    rewritten = re.sub(
        r"\b(he|him|his|she|hers)\b",
        lambda m: person + PERSON_PRONOUNS[m.group(1).lower()],
        question,
        count=1,  # "Where was she when she got it?" -> "Where was Nancy Pelosi when she got it?"
        flags=re.IGNORECASE,
    )
    rewritten = LEADING.sub("", rewritten)
    return rewritten[:1].upper() + rewritten[1:]


def _last_person(history: Sequence[Turn]) -> str | None:
    for turn in reversed(history):
        asked_for_someone = turn.question.split()[0].lower() in {"who", "whom", "which"}
        if turn.answer and asked_for_someone and turn.answer[:1].isupper() and len(turn.answer.split()) <= 5:
            return turn.answer
        names = [e.group() for e in ENTITY.finditer(turn.question)]
        # a full name before a bare one ("Joe Biden" over "Iran" in "What did Joe Biden say about Iran?"),
        # the first, where the subject stands ("the US Defense Secretary" in "What did the US Defense
        # Secretary say the United States should anticipate?")
        full = [n for n in names if len(n.split()) >= 2]
        if full or names:
            return (full or names)[0]
    return None
