"""Loading articles from files: the first non-empty line is the title, the text stays as received."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from qa.schema import Article

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md")
MAX_ARTICLE_BYTES = 5_000_000  # far above any news article; stops a mistaken dump from filling the index


class ArticleError(ValueError):
    """A file that cannot become an article; the message says which file and why."""


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def decode_article_bytes(data: bytes, name: str) -> str:
    if len(data) > MAX_ARTICLE_BYTES:
        raise ArticleError(f"{name}: {len(data):,} bytes is over the {MAX_ARTICLE_BYTES:,}-byte limit for one article")
    if b"\x00" in data[:8192]:
        raise ArticleError(f"{name}: looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ArticleError(f"{name}: not UTF-8 text (bad byte at position {err.start})") from err
    if not text.strip():
        raise ArticleError(f"{name}: the file is empty")
    return text


def article_from_text(text: str, article_id: str, source: str = "") -> Article:
    title = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not title:
        raise ArticleError(f"{article_id}: the article has no text")
    return Article(id=article_id, title=title, text=text, source=source)


def read_article(path: Path) -> Article:
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ArticleError(f"{path.name}: unsupported file type (use {', '.join(SUPPORTED_SUFFIXES)})")
    text = decode_article_bytes(path.read_bytes(), path.name)
    return article_from_text(text, article_id=path.stem, source=path.name)


def load_corpus(folder: Path) -> tuple[list[Article], list[Skipped]]:
    """Every supported file in `folder`; files that cannot be read are skipped and reported, not fatal."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"corpus folder {folder} does not exist")
    articles, skipped = [], []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            articles.append(read_article(path))
        except ArticleError as err:
            log.warning("skipped %s", err)
            skipped.append(Skipped(str(path), str(err)))
    return articles, skipped


def fingerprint(articles: list[Article]) -> str:
    """Changes whenever any article's id, title or text changes."""
    h = hashlib.sha256()
    for a in sorted(articles, key=lambda a: a.id):
        for part in (a.id, a.title, a.text):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
    return h.hexdigest()
