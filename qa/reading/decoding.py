"""Span decoding: from a window's start and end logits to answer spans with probabilities. Pure numpy,
so it is tested without a model; the reader (qa.reading.reader) feeds it."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def best_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    max_answer_tokens: int,
    top_n: int = 20,
) -> tuple[list[tuple[int, int, float]], float]:
    """Decode one window: ([(start_token, end_token, probability)] best first, no-answer probability).

    Only tokens where `context_mask` is true may start or end a span, so a span never covers the
    question, special tokens or padding; `end - start < max_answer_tokens`. Position 0 is [CLS].
    """
    allowed = allowed_positions(context_mask)
    log_start = _log_softmax(start_logits, allowed)
    log_end = _log_softmax(end_logits, allowed)
    null = float(np.exp(log_start[0] + log_end[0]))
    context = np.flatnonzero(context_mask)
    if context.size == 0:
        return [], null
    n = min(top_n, context.size)
    starts = context[np.argsort(-log_start[context])[:n]]
    ends = context[np.argsort(-log_end[context])[:n]]
    spans = [
        (int(s), int(e), float(np.exp(log_start[s] + log_end[e])))
        for s in starts
        for e in ends
        if s <= e < s + max_answer_tokens
    ]
    spans.sort(key=lambda t: -t[2])
    return spans, null


def allowed_positions(context_mask: np.ndarray) -> np.ndarray:
    allowed = context_mask.copy()
    allowed[0] = True
    return allowed


def log_norm(logits: np.ndarray, allowed: np.ndarray) -> float:
    """log of the softmax denominator over the allowed positions."""
    masked = np.where(allowed, logits.astype(np.float64), -np.inf)
    top = masked.max()
    return float(top + np.log(np.exp(masked - top).sum()))


def _log_softmax(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    return np.where(allowed, logits.astype(np.float64), -np.inf) - log_norm(logits, allowed)


def shared_factors(log_norms: Sequence[tuple[float, float]]) -> np.ndarray:
    """Per window, what turns its own span probabilities into probabilities over all the windows read
    together: Z_start(w) Z_end(w) / (sum of every window's Z_start x sum of every window's Z_end)."""
    starts, ends = np.array(log_norms, dtype=np.float64).reshape(-1, 2).T
    joint = np.logaddexp.reduce(starts) + np.logaddexp.reduce(ends)
    return np.exp(starts + ends - joint)


def length_batches(lengths: Sequence[int], batch_size: int, slack: float) -> list[list[int]]:
    """Indices of the sequences, shortest first, in batches of at most `batch_size` whose longest is at most
    (1 + slack) x their shortest. On a CPU a padding token costs what a real one does: one batch of a
    question's five short passages and its two long windows cost nearly twice reading them apart."""
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if batches and len(batches[-1]) < batch_size and lengths[i] <= (1 + slack) * lengths[batches[-1][0]]:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def _inside_word(c: str) -> bool:
    # CJK scripts write words without spaces and the tokenizer reads each character as one word.
    return c.isalnum() and ord(c) < 0x2E80


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Character span [start, end) of `text` widened to whole words. The model may stop inside a word it
    split into pieces ("Sole" of "Soleimani"), most often where a long passage's window ends mid-word;
    a reader shown half a name cannot check it."""
    while start > 0 and _inside_word(text[start - 1]) and _inside_word(text[start]):
        start -= 1
    while end < len(text) and _inside_word(text[end]) and _inside_word(text[end - 1]):
        end += 1
    return start, end


PAIRS = {"(": ")", "[": "]", "{": "}", "“": "”", "‘": "’"}
CLOSERS = {close: open_ for open_, close in PAIRS.items()}
# How far a span may grow to take in the closing mark of a bracket or quote it opened.
REACH = 40


def balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """Character span [start, end) of `text` with no bracket or quote left open or closed alone.

    A reader may stop after "(2230 GMT on Tuesday" or run from inside a quotation past its end
    ("All is well!” Trump, who visited ..."); a span shown with half a bracket or quote reads as
    broken. An opener inside the span is closed by growing the span to its closing mark when that is
    near, else the span ends before the opener; a closer whose opener lies before the span cuts the
    span there. Straight double quotes count as a pair when they are an even number."""
    for _ in range(4):  # each pass settles one mark; a span holds few
        new = _settle(text, start, end)
        if new == (start, end):
            break
        start, end = new
    while end > start and text[end - 1] in " \t\n,;:":
        end -= 1
    return start, end


def _settle(text: str, start: int, end: int) -> tuple[int, int]:
    stack: list[int] = []
    for i in range(start, end):
        c = text[i]
        if c in PAIRS:
            stack.append(i)
        elif c in CLOSERS:
            if stack and text[stack[-1]] == CLOSERS[c]:
                stack.pop()
            elif c == "’" and i + 1 < len(text) and text[i + 1].isalpha():
                continue  # an apostrophe ("Iran’s"), not a closing quote
            elif i > start:
                return start, i  # closes something opened before the span: end where it closes
            else:
                return start + 1, end
    if stack:
        opener = stack[0]
        closing = text.find(PAIRS[text[opener]], end, end + REACH)
        if closing >= 0 and text.count(text[opener], end, closing) == 0:
            return start, closing + 1
        return (start, opener) if opener > start else (start + 1, end)
    quotes = [i for i in range(start, end) if text[i] == '"']
    if len(quotes) % 2:
        q = quotes[-1]
        closing = text.find('"', end, end + REACH)
        if q == quotes[0] and closing >= 0 and text.count('"', 0, start) % 2 == 0:
            return start, closing + 1
        return (start, q) if q > start else (start + 1, end)
    return start, end
