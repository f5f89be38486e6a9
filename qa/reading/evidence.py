"""How strongly the retrieved text supports a span, beyond the reader's own probability.

Two signals, both tuned on SQuAD-format questions that are not the evaluation set
(scripts/tune_fusion.py): how well the retriever matched the passage, and how many of the question's
words the span's own sentence repeats - the reader alone took "80 American terrorists killed" over
"fired 15 missiles" for a question about missiles fired, though only the second sentence says so.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

import numpy as np

from qa.text import stemmer

WORD = re.compile(r"[\w']+")


def passage_weights(scores: Sequence[float], temperature: float) -> np.ndarray:
    """P(passage | question): a softmax over the retriever's scores.

    The reader normalises each window on its own, so a passage without the answer still offers a
    confident-looking span; weighting by retrieval evidence lets the passage that matches the question
    count for more."""
    z = np.asarray(scores, dtype=np.float64) / max(temperature, 1e-9)
    z = np.exp(z - z.max())
    return z / z.sum()


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | {"many", "much", "did", "does", "say", "said", "says"}


@lru_cache(maxsize=4096)
def content_stems(text: str) -> frozenset[str]:
    words = [w for w in WORD.findall(text.lower()) if w not in _stopwords()]
    return frozenset(stemmer("english").stemWords(words))


def sentence_overlap(question: str, sentence: str) -> float:
    """Share of the question's content words (stemmed, stop words out) that the sentence repeats."""
    wanted = content_stems(question)
    return len(wanted & content_stems(sentence)) / len(wanted) if wanted else 0.0


def support(question: str, sentence: str, weight: float) -> float:
    """Multiplier for a span's score: exp(weight x overlap); weight 0 turns it off."""
    return float(np.exp(weight * sentence_overlap(question, sentence))) if weight else 1.0
