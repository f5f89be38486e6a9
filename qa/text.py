"""Answer text compared as SQuAD's official scorer compares it: what makes two answers "the same"."""

from __future__ import annotations

import re
import string
from functools import lru_cache

_PUNCTUATION = set(string.punctuation)


@lru_cache(maxsize=1)
def english_stemmer():
    """PyStemmer's English (Snowball) stemmer, for matching question words in an answer's sentence."""
    import Stemmer

    return Stemmer.Stemmer("english")


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (as the official script)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCTUATION)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())
