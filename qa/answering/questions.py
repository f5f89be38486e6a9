"""What a question must be before anything reads it."""

from __future__ import annotations


class EmptyQuestion(ValueError):
    pass


def clean_question(question: str, max_chars: int) -> str:
    """Strip it, refuse an empty one, and keep a pasted essay from costing more than a question."""
    question = " ".join((question or "").split())
    if not question:
        raise EmptyQuestion("Please type a question.")
    return question[:max_chars]
