"""Questions as SQLite FTS5 keyword queries.

FTS5 ranks with Okapi BM25 and stems with Porter (the `keywords` table's tokenizer); it only needs to be
told which words to look for. Stop words are left out because an OR over "the" scores every passage
in the collection for nothing; the list is bm25s's English one.

FTS5 computes BM25 for every passage that matches any word of the query, at a cost per passage, so a
question's common words ("year", "city") make it slow on a large collection while adding little to
the ranking (a word in many passages has a small inverse document frequency). `within_budget` keeps the
rarest words up to a number of matching passages: a bound on the work per question whatever the size.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from functools import lru_cache
from typing import Mapping, Sequence

from qa.text import stemmer

TOKENIZER = "porter unicode61 remove_diacritics 2"
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def query_words(question: str) -> list[str]:
    """The question's words that are not stop words, each once, in order."""
    return list(dict.fromkeys(w for w in _WORD.findall(question.casefold()) if w not in _stop_words()))


def match_expression(words: Sequence[str]) -> str:
    """An FTS5 MATCH expression: any of `words` ("" if none). Each word is quoted, so FTS5 syntax in a
    question ("NOT", "*", quotes) is only ever text."""
    return " OR ".join(f'"{w}"' for w in words)


def within_budget(words: Sequence[str], passages: Mapping[str, int], budget: int) -> list[str]:
    """The rarest of `words` (by `passages`: how many passages hold each) while the passages they match
    add up to at most `budget`, in the question's order. None when even the rarest is over budget: a
    question of common words only ranks most of the collection by a little BM25 each, so the dense
    retriever alone ranks it. 0: no budget."""
    if not budget or sum(passages.get(w, 0) for w in words) <= budget:
        return list(words)
    kept, total = set(), 0
    for w in sorted(words, key=lambda w: passages.get(w, 0)):
        if total + passages.get(w, 0) > budget:
            break
        kept.add(w)
        total += passages.get(w, 0)
    return [w for w in words if w in kept]


VOCABULARY = "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocabulary USING fts5vocab(main, keywords, 'row')"


def keyword_query(db: sqlite3.Connection, question: str, budget: int, counts: "TermCounts", size: int) -> str:
    """The MATCH expression for `question` on the `keywords` table of `db` (whose connection has made
    the `VOCABULARY` view) under `budget`, for a collection of `size` passages."""
    words = query_words(question)
    if budget and words:
        terms = {w: index_term(w) for w in words}
        held = counts(db, sorted(set(terms.values())), size)  # "played" and "playing" are one term
        words = within_budget(words, {w: held[t] for w, t in terms.items()}, budget)
    return match_expression(words)


class TermCounts:
    """How many passages hold each index term, from the FTS5 vocabulary, remembered until the
    collection's size moves by 1%: counting a common term reads its whole posting list, which costs
    more than the search it bounds, and a budget needs no exact count."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._size = 0

    def __call__(self, db: sqlite3.Connection, terms: Sequence[str], size: int) -> dict[str, int]:
        if abs(size - self._size) > size // 100:
            self._counts, self._size = {}, size
        missing = [t for t in terms if t not in self._counts]
        if missing:
            found = dict(db.execute(f"SELECT term, doc FROM temp.vocabulary WHERE term IN ({','.join('?' * len(missing))})",
                                    missing))
            self._counts.update({t: found.get(t, 0) for t in missing})
        return {t: self._counts[t] for t in terms}


def index_term(word: str) -> str:
    """The word as the index holds it: diacritics removed as unicode61 does, then Porter's stem (FTS5's
    porter is the original algorithm, which Snowball's "porter" implements). A word stemmed otherwise is
    not found in the vocabulary and counts as rare: kept, never wrongly dropped."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    # FTS5's porter leaves words of one or two letters as they are (Snowball's turns "s" into "").
    return plain if len(plain) <= 2 else stemmer("porter").stemWord(plain)
