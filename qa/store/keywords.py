"""Questions as SQLite FTS5 keyword queries.

FTS5 ranks with Okapi BM25 and stems with Porter (the `keywords` table's tokenizer); it only needs to be
told which words to look for. Stop words are left out because an OR over "the" scores every passage
in the collection for nothing; the list is bm25s's English one.
"""

from __future__ import annotations

import re
from functools import lru_cache

TOKENIZER = "porter unicode61 remove_diacritics 2"
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def match_expression(question: str) -> str:
    """An FTS5 MATCH expression: any of the question's words that are not stop words ("" if none).
    Each word is quoted, so FTS5 syntax in a question ("NOT", "*", quotes) is only ever text."""
    words = dict.fromkeys(w for w in _WORD.findall(question.casefold()) if w not in _stop_words())
    return " OR ".join(f'"{w}"' for w in words)
