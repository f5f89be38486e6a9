"""Example questions for a chat's first screen, drawn from the articles themselves.

A person facing an empty chat does not know what the collection holds or how to ask; three questions
its articles answer show both. They are made by rules from the newest articles' opening passages
(who holds a named role, how many of something were counted), one per article where possible, and
kept only when the pipeline answers them (Pipeline.ask), so an example never leads to "I couldn't find
this in the articles".
"""

from __future__ import annotations

import re
from typing import Iterator

from qa.store.base import PassageStore
from qa.text import normalize_answer

EXAMPLES = 3

ROLES = (
    "spokesman|spokeswoman|spokesperson|minister|secretary|chief|leader|president|mayor|master|director|"
    "chairman|chairwoman|governor|commander|ambassador|prosecutor|coach|captain|editor|founder"
)
# "Pentagon spokesman Jonathan Hoffman", "fire chief Marta Okafor": a role, then a two-word name.
ROLE_NAME = re.compile(
    rf"\b((?:[A-Z][\w’'-]+ |(?!(?:the|a|an|and|of|said|says|by|to|as|former|new)\b)[a-z]+ )?(?i:{ROLES}))\s+[A-Z][\w’'-]+\s+[A-Z][\w’'-]+"
)
# "22 missiles were fired", "3,000 homes were damaged": a count, a plural noun, a passive verb.
COUNTED = re.compile(r"\b\d[\d,.]*\s+([a-z]+s)\s+(were|was|had been|have been|are|is)\s+([a-z]+ed)\b")
# Passages read per article: news puts what matters first.
OPENING_PASSAGES = 3
NEWEST_ARTICLES = 12


def candidate_questions(store: PassageStore) -> Iterator[str]:
    """Questions the newest articles' opening passages answer by their words, newest article first,
    each article's best one before any article's second."""
    per_article = [list(_questions(store, article_id)) for article_id in reversed(store.article_ids()[-NEWEST_ARTICLES:])]
    seen: set[str] = set()
    for rank in range(max((len(q) for q in per_article), default=0)):
        for questions in per_article:
            if rank < len(questions) and questions[rank].lower() not in seen:
                seen.add(questions[rank].lower())
                yield questions[rank]


def _questions(store: PassageStore, article_id: str) -> Iterator[str]:
    return questions_in(" ".join(p.text for p in store.article_passages(article_id)[:OPENING_PASSAGES]))


def questions_in(text: str) -> Iterator[str]:
    """The questions `text` answers by its own words, in the order the rules find them."""
    for m in ROLE_NAME.finditer(text):
        role = m.group(1)
        yield f"Who is the {role.lower() if ' ' not in role else role}?"
    for m in COUNTED.finditer(text):
        noun, aux, verb = m.groups()
        yield f"How many {noun} {'were' if aux == 'was' else aux} {verb}?"


def example_questions(pipeline, count: int = EXAMPLES, tries: int = 2 * EXAMPLES) -> list[str]:
    """Up to `count` candidate questions the pipeline answers (of the first `tries`), each with an answer
    of its own ("Who is the president?" and "Who is the US President?" both lead to Donald Trump)."""
    found: list[str] = []
    answers: set[str] = set()
    for i, question in enumerate(candidate_questions(pipeline.store)):
        if len(found) == count or i == tries:
            break
        response = pipeline.ask(question)
        answer = normalize_answer(response.answers[0].text) if response.answers else ""
        if not response.abstained and answer not in answers:
            found.append(question)
            answers.add(answer)
    return found
