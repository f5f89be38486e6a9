"""Articles -> passages: cleaned, sentence-aware, overlapping, each mapped back to the original text.

Cleaning drops the title line, blank lines and exact repeats of an earlier line (news pages often
print a photo caption twice) and collapses whitespace; a passage's `runs` keep every word's offset
into the original article, so answers can always be cited as `article.text[start:end]`.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

from qa.schema import Article, Passage

TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True)
class Word:
    text: str
    start: int  # into Article.text


def body_lines(article: Article) -> list[list[Word]]:
    """The article's lines as words with offsets; blank and repeated lines dropped, and the first line
    too when it is the title (text files start with it; articles from JSONL or HTML may not)."""
    lines: list[list[Word]] = []
    title_line: list[Word] = []
    seen: set[str] = set()
    first = True
    title = " ".join(article.title.split())
    for m in re.finditer(r"[^\r\n]+", article.text):
        words = [Word(w.group(), m.start() + w.start()) for w in re.finditer(r"\S+", m.group())]
        if not words:
            continue
        key = " ".join(w.text for w in words)
        if first and key == title:
            first = False
            seen.add(key)
            title_line = words
            continue
        first = False
        if key in seen:
            continue
        seen.add(key)
        lines.append(words)
    # An article that is nothing but its title line is its own body: it must still be answerable.
    return lines or ([title_line] if title_line else [])


def _segments(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`: sentencex's English rules (no model download; compiled,
    linear in the text, so a megabyte-long line needs no special care)."""
    from sentencex import get_sentence_boundaries

    return [(b["start_index"], b["end_index"]) for b in get_sentence_boundaries("en", text)]


def first_sentence(line: str) -> str:
    """The first sentence of one line of text."""
    segments = _segments(line)
    return line[segments[0][0] : segments[0][1]].strip() if segments else line.strip()


@lru_cache(maxsize=65536)  # answers are re-scored often (the same spans across settings and turns)
def sentence_at(text: str, start: int, end: int) -> str:
    """The sentence of `text` holding the characters [start, end) ("U.S." does not end one)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : line_end if line_end != -1 else len(text)]
    for a, b in _segments(line):
        if b > start - line_start:
            return line[a:b].strip()
    return line.strip()


def sentences(line: list[Word]) -> list[list[Word]]:
    """Split one line into sentences."""
    text = " ".join(w.text for w in line)
    starts, pos = [], 0
    for w in line:
        starts.append(pos)
        pos += len(w.text) + 1
    out: list[list[Word]] = []
    i = 0
    for _, end in _segments(text):
        group = []
        while i < len(line) and starts[i] < end:
            group.append(line[i])
            i += 1
        if group:
            out.append(group)
    if i < len(line):
        out.append(line[i:])
    return out


def chunk_article(article: Article, count_tokens: TokenCounter, max_tokens: int, overlap_tokens: int) -> list[Passage]:
    """Pack whole sentences into passages of at most `max_tokens`, repeating up to `overlap_tokens` of
    trailing sentences at the start of the next passage so an answer on a boundary is seen whole."""
    sentences_ = [sentence for line in body_lines(article) for sentence in sentences(line)]
    # One tokenizer call for the whole article: per sentence, the calls cost more than the tokenizing.
    counts = count_tokens([w.text for sentence in sentences_ for w in sentence])
    units: list[tuple[list[Word], int]] = []  # (words, tokens)
    at = 0
    for sentence in sentences_:
        units += _split_long(sentence, counts[at : at + len(sentence)], max_tokens)
        at += len(sentence)
    if not units:
        return []
    sizes = [size for _, size in units]
    passages: list[Passage] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + sizes[j] <= max_tokens):
            total += sizes[j]
            j += 1
        passages.append(_passage(article.id, len(passages), [w for u, _ in units[i:j] for w in u]))
        if j >= len(units):
            break
        k, tail = j, 0
        while k - 1 > i and tail + sizes[k - 1] <= overlap_tokens:
            k -= 1
            tail += sizes[k]
        i = k
    return passages


def _split_long(words: list[Word], counts: Sequence[int], max_tokens: int) -> list[tuple[list[Word], int]]:
    """A sentence longer than a passage is cut between words; each part with its token count."""
    if sum(counts) <= max_tokens:
        return [(words, sum(counts))]
    parts, current, size = [], [], 0
    for w, c in zip(words, counts):
        if current and size + c > max_tokens:
            parts.append((current, size))
            current, size = [], 0
        current.append(w)
        size += c
    parts.append((current, size))
    return parts


def _passage(article_id: str, index: int, words: list[Word]) -> Passage:
    runs, parts, pos = [], [], 0
    for w in words:
        runs.append((pos, w.start))
        parts.append(w.text)
        pos += len(w.text) + 1
    last = words[-1]
    return Passage(
        article_id=article_id,
        index=index,
        text=" ".join(parts),
        start=words[0].start,
        end=last.start + len(last.text),
        runs=tuple(runs),
    )


def passage_words(passage: Passage) -> list[Word]:
    """The words a passage was built from, with their article offsets (one run per word)."""
    ends = [clean - 1 for clean, _ in passage.runs[1:]] + [len(passage.text)]
    return [Word(passage.text[clean:end], orig) for (clean, orig), end in zip(passage.runs, ends)]


def merge_passages(passages: Sequence[Passage]) -> Passage:
    """Consecutive passages of one article as one, the text they share (their overlap) taken once."""
    words: list[Word] = []
    for p in passages:
        covered = words[-1].start + len(words[-1].text) if words else -1
        words += [w for w in passage_words(p) if w.start >= covered]
    return _passage(passages[0].article_id, passages[0].index, words)


# Words per tokenizer call when counting: one call per word costs more than the tokenizing, and one call
# for a very long text grows faster than the text.
COUNT_WORDS = 2000


def token_counter(tokenizer) -> TokenCounter:
    """Token counts per word with a Hugging Face fast tokenizer: the words are tokenised together, a few
    thousand per call, and each token counted for the word its offsets fall in (WordPiece never merges
    across spaces, so this is what tokenising each word alone gives)."""

    def count(words: Sequence[str]) -> list[int]:
        counts: list[int] = []
        for at in range(0, len(words), COUNT_WORDS):
            part = words[at : at + COUNT_WORDS]
            starts, pos = [], 0
            for w in part:
                starts.append(pos)
                pos += len(w) + 1
            enc = tokenizer(" ".join(part), add_special_tokens=False, return_offsets_mapping=True, verbose=False)
            found = [0] * len(part)
            for start, end in enc["offset_mapping"]:
                if end > start:
                    found[bisect_right(starts, start) - 1] += 1
            counts += found
        return counts

    return count
