"""Markup for showing answers in the chat: pure functions, so they are tested without Streamlit.

Article text goes into `st.markdown(..., unsafe_allow_html=True)` (needed for `<mark>`), so every
character of it that HTML *or* Markdown could act on must be neutralised first: news text is full of
`$` (Streamlit renders `$...$` as LaTeX), `*`, `_`, `[...](...)`, `:emoji:` and leading `-` or `1.`.
"""

from __future__ import annotations

import re

# Numeric entities show the character itself but are never read as syntax, by HTML or by Markdown.
_ACTIVE = "&<>\"'\\`*_{}[]()#+-.!|~$:"
_ENTITIES = {ord(c): f"&#{ord(c)};" for c in _ACTIVE}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def collapse(text: str) -> str:
    """Whitespace runs -> one space: how passages store text, so comparisons ignore line layout."""
    return " ".join(text.split())


def evidence_label(share: float) -> str:
    """How an answer's share of the summed evidence is worded wherever answers are shown (chat, CLI).
    The share follows the order the answers are shown in; the reader's probability alone would not."""
    return f"{share:.0%} of the evidence"


def passage_name(title: str, passage_index: int) -> str:
    """How a cited passage is named wherever answers are shown (chat, CLI): counted from 1."""
    return f"{collapse(title)} — passage {passage_index + 1}"


def escape(text: str) -> str:
    """`text` as an inline HTML fragment that displays exactly `text`, line breaks as `<br>`.

    The result has no newline at all, so Markdown cannot see a block boundary inside it (a blank
    line would end an HTML block; an indented line would start a code block).
    """
    return _LINE_BREAK.sub("<br>", text.translate(_ENTITIES))


def text_block(text: str) -> str:
    """`text` as one HTML block; the `<div>` keeps an indented first line from becoming a code block."""
    return f"<div>{escape(text)}</div>"


def highlight(text: str, start: int, end: int) -> str:
    """`text` as one HTML block with `text[start:end]` in `<mark>`; offsets are used as given, no search."""
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"span [{start}, {end}) is outside a text of {len(text)} characters")
    return f"<div>{escape(text[:start])}<mark>{escape(text[start:end])}</mark>{escape(text[end:])}</div>"



def article_view(lines: list[list[tuple[str, int]]], start: int, end: int) -> str:
    """The cleaned article (its body lines as `chunking.body_lines` gives them: words with their article
    offsets; the doubled photo caption and blank lines already gone) as HTML paragraphs, the article
    characters [start, end) in `<mark>`, the first one with id "answer" for the page to scroll to."""
    paragraphs = []
    for words in lines:
        parts = []
        for text, at in words:
            a, b = max(start - at, 0), min(end - at, len(text))
            marked = f"{escape(text[:a])}<mark>{escape(text[a:b])}</mark>{escape(text[b:])}" if a < b else escape(text)
            parts.append(marked)
        paragraphs.append("<p>" + " ".join(parts).replace("</mark> <mark>", " ") + "</p>")
    return "".join(paragraphs).replace("<mark>", '<mark id="answer">', 1)
