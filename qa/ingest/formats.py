"""Loading articles from files.

- `.txt` / `.md`: one article; the first non-empty line is the title, the text stays as received.
- `.html` / `.htm`: one article; the main text is extracted with trafilatura (menus, scripts and
  footers dropped) and that extracted text is the article's text; the title comes from the page's
  metadata, else the first line.
- `.jsonl`: one article per line, `{"title", "text"}` required, `"source"`, `"date"`, `"url"` optional.

Article ids: a single-article file's id is its file name without the suffix; a JSONL article's id is
`<file stem>#<first 10 hex digits of the sha256 of its normalised text>` (see `content_key`), so it
stays the same when other lines are added or removed.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from qa.ingest.chunking import first_sentence
from qa.ingest.jsonl import json_object
from qa.schema import Article

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".jsonl")
HTML_SUFFIXES = (".html", ".htm")
JSONL_FIELDS = {"title": True, "text": True, "source": False, "date": False, "url": False}  # name: required
MAX_ARTICLE_BYTES = 5_000_000  # far above any news article; stops a mistaken dump from filling the index


class ArticleError(ValueError):
    """A file that cannot become an article; the message says which file and why."""


def check_suffix(name: str) -> str:
    """The file's suffix, lower-cased, if it is a supported article format; else ArticleError."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES or Path(name).name.lower() == suffix:
        raise ArticleError(f"{Path(name).name}: unsupported file type (use {', '.join(SUPPORTED_SUFFIXES)})")
    return suffix


def check_size(name: str, size: int) -> None:
    if size > MAX_ARTICLE_BYTES:
        raise ArticleError(f"{name}: {size:,} bytes is over the {MAX_ARTICLE_BYTES:,}-byte limit for one file")


def decode_article_bytes(data: bytes, name: str) -> str:
    check_size(name, len(data))
    if b"\x00" in data[:8192]:
        raise ArticleError(f"{name}: looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ArticleError(f"{name}: not UTF-8 text (bad byte at position {err.start})") from err
    if not text.strip():
        raise ArticleError(f"{name}: the file is empty")
    return text


# A one-paragraph file's title (its first sentence) is cut at a word after this many characters.
MAX_TITLE_CHARS = 200


def article_from_text(text: str, article_id: str, source: str = "") -> Article:
    """The first non-empty line is the title; a file of one paragraph and no title line is titled with
    its first sentence, and the paragraph stays the article's text."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ArticleError(f"{article_id}: the article has no text")
    if len(lines) > 1:
        return Article(id=article_id, title=lines[0], text=text, source=source)
    title = first_sentence(lines[0])
    if len(title) > MAX_TITLE_CHARS:
        title = title[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + "…"
    return Article(id=article_id, title=title, text=text, source=source)


def article_from_html(markup: str, article_id: str, source: str = "") -> Article:
    """The page's main text (trafilatura) becomes `Article.text`; every offset points into that text."""
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.ERROR)  # "discarding data" chatter on short pages
    doc = trafilatura.bare_extraction(markup, with_metadata=True, include_comments=False, include_tables=True)
    text = (getattr(doc, "text", None) or "").strip("\n")
    if not text.strip():
        raise ArticleError(f"{source or article_id}: no article text found in the HTML")
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = " ".join((getattr(doc, "title", None) or "").split()) or first_line
    return Article(
        id=article_id,
        title=title,
        text=text,
        source=source,
        date=getattr(doc, "date", None) or "",
        url=getattr(doc, "url", None) or "",
    )


def jsonl_article(raw: str, where: str, stem: str, name: str) -> Article:
    """The article on one JSONL line; ArticleError naming `where` and the field if it is not one."""
    record = json_object(raw, where, ArticleError)
    values = {}
    for field_name, required in JSONL_FIELDS.items():
        value = record.get(field_name)
        if value is None:
            if required:
                raise ArticleError(f"{where}: missing required field \"{field_name}\"")
            value = ""
        if not isinstance(value, str):
            raise ArticleError(f"{where}: field \"{field_name}\" must be a string, not {type(value).__name__}")
        if required and not value.strip():
            raise ArticleError(f"{where}: field \"{field_name}\" is empty")
        values[field_name] = value
    title = " ".join(values["title"].split())
    article_id = f"{stem}#{content_key(title, values['text'])[:10]}"
    return Article(article_id, title, values["text"], values["source"] or name, values["date"], values["url"])


def normalised_text(title: str, text: str) -> str:
    """The article as one whitespace-collapsed string with its title first: a text file's first line is
    its title already; a JSONL or HTML article whose text does not start with its title gets it in front,
    so the same article compares equal whichever format it came in."""
    body = " ".join(text.split())
    head = " ".join(title.split())
    if head and body != head and not body.startswith(head + " "):
        body = f"{head} {body}"
    return body


def content_key(title: str, text: str) -> str:
    """sha256 of `normalised_text`: equal for the same article however it is spaced, named or stored."""
    return hashlib.sha256(normalised_text(title, text).encode("utf-8")).hexdigest()


def article_from_bytes(data: bytes, name: str, stem: str | None = None) -> Article:
    """The article in one single-article file's bytes (JSONL files are read by `qa.ingest.sources`); a
    problem raises ArticleError naming the file."""
    suffix = check_suffix(name)
    if suffix == ".jsonl":
        raise ArticleError(f"{name}: a JSONL file holds many articles (qa.ingest.sources reads it)")
    stem = stem if stem is not None else Path(name).stem
    text = decode_article_bytes(data, name)
    if suffix in HTML_SUFFIXES:
        return article_from_html(text, article_id=stem, source=name)
    return article_from_text(text, article_id=stem, source=name)
