"""Retrieved passages -> what the reader reads: each passage together with its neighbours in the article.

Passages are short so retrieval stays precise, but the words that answer can sit just across a passage
boundary, and "he said" needs the sentence before it. So the reader reads each retrieved passage with the
passages beside it (small-to-big retrieval); windows of one article that overlap are merged, so the same
text is read once and the retrieval evidence of every passage in it adds up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from qa.ingest.chunking import merge_passages
from qa.reading.evidence import passage_weights
from qa.schema import Passage, RetrievedPassage


@dataclass(frozen=True)
class Window:
    passage: Passage  # the text read: `parts` merged, mapped to the article like any passage
    parts: tuple[Passage, ...]  # consecutive passages of one article
    hits: tuple[int, ...]  # positions in the hit list of the retrieved passages it holds
    retrieved: frozenset[int]  # their passage indices

    def cite(self, start: int, end: int) -> Passage:
        """The passage to cite for the article characters [start, end): a retrieved one that holds them
        if there is one, else the one holding most of them."""

        def fit(p: Passage) -> tuple[bool, bool, int]:
            inside = p.start <= start and end <= p.end
            return inside, inside and p.index in self.retrieved, min(end, p.end) - max(start, p.start)

        return max(self.parts, key=fit)


def reading_windows(
    hits: Sequence[RetrievedPassage], passages_of: Callable[[str], Sequence[Passage]], neighbours: int
) -> list[Window]:
    """One window per run of overlapping (passage ± `neighbours`) ranges, ordered by their best hit.
    `passages_of` is asked once per article."""
    article_passages = {a: passages_of(a) for a in dict.fromkeys(h.passage.article_id for h in hits)}
    ranges: dict[str, list[tuple[int, int, list[int]]]] = {}  # article -> (first, last passage, hit positions)
    for position, hit in enumerate(hits):
        p = hit.passage
        last = len(article_passages[p.article_id]) - 1
        ranges.setdefault(p.article_id, []).append(
            (max(p.index - neighbours, 0), min(p.index + neighbours, last), [position])
        )
    windows = []
    for article_id, spans in ranges.items():
        merged: list[tuple[int, int, list[int]]] = []
        for lo, hi, positions in sorted(spans):
            if merged and lo <= merged[-1][1]:
                top_lo, top_hi, top_positions = merged[-1]
                merged[-1] = (top_lo, max(top_hi, hi), top_positions + positions)
            else:
                merged.append((lo, hi, positions))
        for lo, hi, positions in merged:
            parts = tuple(article_passages[article_id][lo : hi + 1])
            retrieved = frozenset(hits[i].passage.index for i in positions)
            windows.append(Window(merge_passages(parts), parts, tuple(sorted(positions)), retrieved))
    return sorted(windows, key=lambda w: w.hits[0])


def window_weights(windows: Sequence[Window], scores: Sequence[float], temperature: float) -> np.ndarray:
    """P(window | question): the retrieval weights (evidence.passage_weights) of the passages it holds."""
    per_hit = passage_weights(scores, temperature)
    return np.array([per_hit[list(w.hits)].sum() for w in windows])
