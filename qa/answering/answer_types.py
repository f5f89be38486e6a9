"""What kind of answer a question asks for, and whether a span is of that kind.

A "when" question answered with a place ("al-Asad air base" at 99% for "And when?") is the wrong answer
however sure the reader is; a person sees it at once. The reader's candidates usually hold one of the
right kind, so spans of the wrong kind count for little (Settings.type_mismatch_weight) instead of
being thrown away: when no candidate fits, the order of the rest is kept.
"""

from __future__ import annotations

import re

MONTHS = "january february march april may june july august september october november december"
DAYS = "monday tuesday wednesday thursday friday saturday sunday"
TIME_WORDS = (
    f"{MONTHS} {DAYS} jan feb mar apr jun jul aug sep sept oct nov dec today yesterday tomorrow tonight "
    "morning afternoon evening night overnight dawn dusk midnight noon week weeks weekend month months year "
    "years decade decades century centuries ago hour hours minute minutes day days season spring summer autumn "
    "fall winter earlier later recently since until during before after gmt utc a.m p.m am pm era"
).split()
NUMBER_WORDS = set(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands "
    "million millions billion billions trillion dozen dozens half several few many no none once twice".split()
)
WORD = re.compile(r"[a-z]+(?:\.[a-z])?|\d+")
YEAR_OR_CLOCK = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b|\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}(?:st|nd|rd|th)\b")
# (question pattern, kind): the first that matches decides.
ASKS = [
    (re.compile(r"^(?:when\b|what (?:time|year|day|date|month)\b|which (?:year|day|date|month)\b|(?:in|on|at|since) what (?:year|day|date|time)\b)"), "time"),
    (re.compile(r"^(?:how (?:many|much|old|far|long)\b|what (?:number|percentage|share|proportion)\b)"), "number"),
    (re.compile(r"^(?:who|whom|where)\b"), "not time or number"),
]


def asked_kind(question: str) -> str | None:
    """The kind of answer `question` asks for, or None when its words do not say."""
    q = " ".join(re.sub(r"^(?:and|but|so|then)\s+", "", question.strip().lower()).split())
    return next((kind for pattern, kind in ASKS if pattern.search(q)), None)


def is_time(text: str) -> bool:
    low = text.lower()
    return bool(YEAR_OR_CLOCK.search(text)) or any(w in TIME_WORDS for w in WORD.findall(low))


def is_number(text: str) -> bool:
    return any(c.isdigit() for c in text) or any(w in NUMBER_WORDS for w in WORD.findall(text.lower()))


def fits(question: str, text: str) -> bool:
    """Whether the span `text` is of the kind `question` asks for (True when it asks for no kind)."""
    kind = asked_kind(question)
    if kind == "time":
        return is_time(text)
    if kind == "number":
        return is_number(text)
    if kind == "not time or number":
        # a date or a bare count is no person and no place; "the 82nd Airborne" still may be
        words = WORD.findall(text.lower())
        only_time = is_time(text) and all(w in TIME_WORDS or w.isdigit() for w in words)
        only_number = all(w.isdigit() or w in NUMBER_WORDS for w in words)
        return bool(words) and not (only_time or only_number)
    return True
