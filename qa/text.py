"""Answer text compared as SQuAD's official scorer compares it: what makes two answers "the same"."""

from __future__ import annotations

import re
import string
import threading

_PUNCTUATION = set(string.punctuation)


_local = threading.local()


def stemmer(algorithm: str):
    """PyStemmer's stemmer for `algorithm` ("english": matching question words in an answer's sentence),
    one per thread: a PyStemmer stemmer is not safe to share between threads."""
    stemmers = _local.__dict__.setdefault("stemmers", {})
    if algorithm not in stemmers:
        import Stemmer

        stemmers[algorithm] = Stemmer.Stemmer(algorithm)
    return stemmers[algorithm]


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (as the official script)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCTUATION)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())
