"""Articles and helpers the ingest, store and surface tests share: real article text in every format the
corpus reads, and an embedder that counts what it embeds (to prove an update embeds only what changed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

SEED_ID = "004_b4b330c42fa68dce"

PAGE = """<!doctype html><html><head><title>Snow in Cairo | The Daily</title>
<meta property="og:title" content="Snow falls in Cairo for the first time in decades">
<meta name="date" content="2024-01-15"><link rel="canonical" href="https://example.com/snow"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>Snow falls in Cairo for the first time in decades</h1>
<p>It snowed in Cairo on Monday for the first time in 112 years, the meteorological office said.</p>
<p>Residents took photographs of the white streets &amp; domes. Children built snowmen near the pyramids.</p>
<script>var tracking = "do not index me";</script>
<p>Temperatures fell to minus two degrees Celsius overnight, and schools stayed closed on Tuesday.</p>
</article><footer>Copyright 2024 The Daily. All rights reserved.</footer></body></html>
"""

LAGOS = {"title": "Floods in Lagos", "text": "Heavy rain flooded Lagos on Tuesday.\nOfficials said 3,000 homes were damaged.",
         "date": "2024-07-02", "url": "https://example.com/lagos"}
WHEAT = {"title": "Wheat prices", "text": "Wheat prices rose 4 percent in Chicago after a poor harvest in Ukraine.",
         "source": "Reuters"}
CAIRO_TXT = "Snow in Cairo\nIt snowed in Cairo on Monday for the first time in decades.\n"


def jsonl(*records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def snapshot(*folders: Path) -> dict[str, bytes]:
    """Every file under the folders (hidden ones too), by path: to prove nothing changed."""
    return {str(p): p.read_bytes() for folder in folders if folder.exists() for p in sorted(folder.rglob("*")) if p.is_file()}


class CountingEmbedder:
    """The real embedder, counting the texts it embeds."""

    def __init__(self, embedder):
        self.inner, self.texts = embedder, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, show_progress=False):
        self.texts.extend(texts)
        return self.inner.encode(texts, show_progress)



def found(store, ranked: list[list[tuple[int, float]]]) -> list[list[tuple]]:
    """A store search's (key, score) lists as (passage, score), as retrieval reads them."""
    passages = store.passages(key for row in ranked for key, _ in row)
    return [[(passages[key], score) for key, score in row if key in passages] for row in ranked]


def all_passages(store) -> list:
    return [p for e in store.entries() for p in store.article_passages(e.id)]


def assert_offsets_point_into_the_article(store):
    """Every word of every passage is the same word at its offsets in Article.text."""
    passages = all_passages(store)
    assert passages
    for p in passages:
        text = store.article(p.article_id).text
        for m in re.finditer(r"\S+", p.text):
            start, end = p.to_article(m.start(), m.end())
            assert text[start:end] == m.group(), (p.article_id, m.group())
        assert text[p.start : p.end].split()[0] == p.text.split()[0]


def uploads(*files: tuple[str, bytes]) -> list:
    from qa.ingest.sources import Source

    return [Source.upload(name, data) for name, data in files]
