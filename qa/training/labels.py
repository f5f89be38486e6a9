"""Gold answers as token labels: what the start and end heads are trained to point at."""

from __future__ import annotations


def answer_tokens(offsets, context_tokens: list[int], start: int, end: int) -> tuple[int, int] | None:
    """The first and last token of the answer characters [start, end), when the window holds them all."""
    if not context_tokens or not (offsets[context_tokens[0]][0] <= start and offsets[context_tokens[-1]][1] >= end):
        return None
    first = next(i for i in context_tokens if offsets[i][1] > start)
    last = next(i for i in reversed(context_tokens) if offsets[i][0] < end)
    return first, last
