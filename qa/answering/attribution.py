"""Who says so: the source a passage attributes an answer to, and whether top answers disagree.

News states claims through sources ("Iraq said 22 missiles were fired", "according to Iranian state
television"). When the best answers are of the same kind (two counts, two names) and come from
different sources, the chat shows them side by side, each with its source, instead of picking one.
"""

from __future__ import annotations

import re
from typing import Sequence

from qa.reading.evidence import content_stems
from qa.schema import Answer

SAY = r"(?:said|says|say|reported|reports|told|announced|claimed|claims|stated|added|wrote|quoted)"
ACCORDING = re.compile(r"according to (.+?)(?:[,;:”\"]|\.$|$)", re.IGNORECASE)
# "<source> said ..." - the source is the noun phrase right before the verb, after any opening clause.
SUBJECT_SAYS = re.compile(rf"(?:^|[,;:—–-]\s*|\.\s+)((?:[\w’'.&-]+\s+){{0,5}}?[\w’'.&-]+)\s+(?:had\s+|has\s+)?{SAY}\b")
# "..., <source> said." - the verb after the claim.
SAYS_SUBJECT = re.compile(rf",\s*{SAY}\s+((?:[A-Z][\w’'.-]*\s*){{1,5}})")
# Settings.rival_share: the share of the best answer's evidence a rival must carry to be shown as a
# disagreement, not as a mere alternative. On the seed articles "15" (Iranian state television) carries 0.22 of the
# evidence for "22" (Iraq), while the wrong alternatives of answered seed questions carry 0.01 or less.
# The reader's own probability is no guide here: claims read in one window share one softmax, so a
# second claim beside the first gets a small probability however well the text supports it.
PRONOUNS = {"he", "she", "it", "they", "we", "i", "you", "this", "that", "which", "who"}
NUMBER_WORDS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "fifteen", "twenty", "fifty", "dozen", "dozens", "hundreds", "thousands", "hundred", "thousand", "million", "billion"}


def attribution(sentence: str) -> str:
    """The source the sentence attributes its claim to, or "" when it names none."""
    for pattern in (ACCORDING, SAYS_SUBJECT, SUBJECT_SAYS):
        m = pattern.search(sentence)
        if m:
            source = " ".join(m.group(1).strip(" ,").split()[:8])
            if source.lower() not in PRONOUNS and not source.lower().startswith(("the sources", "one source")):
                return source
    return ""


def answer_kind(text: str) -> str:
    words = [w.lower() for w in re.findall(r"[\w']+", text)]
    if any(any(c.isdigit() for c in w) or w in NUMBER_WORDS for w in words):
        return "number"
    if text[:1].isupper():
        return "name"
    return "phrase"


def disagreeing(answers: Sequence[Answer], question: str, rival_share: float) -> list[Answer]:
    """The answers to show side by side: the best and every other well-supported answer of the same kind
    (counts, names) from another source (another article, or another attribution in the same one).

    Empty when there is no rival, when the answers are free phrases (two phrases rarely contradict
    each other the way two counts do), or when the question asks for one source's claim ("How many
    missiles did Iraq say ...?") and the best answer is that source's."""
    if len(answers) < 2:
        return []
    best = answers[0]
    kind = answer_kind(best.text)
    if kind == "phrase":
        return []
    if best.attribution and content_stems(best.attribution) <= content_stems(question):
        return []
    rivals = [
        a
        for a in answers[1:]
        if a.score >= rival_share * best.score
        and answer_kind(a.text) == kind
        and (a.citation.article_id != best.citation.article_id or (a.attribution and a.attribution != best.attribution))
    ]
    return [best, *rivals] if rivals else []
