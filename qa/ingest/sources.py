"""Where articles come from: uploads held in memory, files, folders of files, and JSONL archives read as
a stream (an archive of 100,000 articles is never held in memory at once).

Each source yields `Item`s in order: an article, or why one entry could not be one (the file and line
say where). A JSONL file on disk is read line by line and every item says how far into the file it
ends, so a bulk ingest can record how far it committed and start again from there.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from qa.ingest.formats import ArticleError, article_from_bytes, check_size, check_suffix, decode_article_bytes, jsonl_article
from qa.ingest.names import display_name, safe_stem
from qa.schema import Article

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    where: str  # "cairo.html", "feed.jsonl line 3"
    article: Article | None
    error: str = ""  # why there is no article; names the file (and line)
    offset: int = 0  # bytes of the source read up to the end of this item
    line: int = 0  # lines read up to the end of this item


@dataclass(frozen=True)
class Source:
    """An upload (`data`) or a file on disk (`path`)."""

    name: str  # as people recognise it
    path: Path | None = None
    data: bytes | None = None

    @classmethod
    def upload(cls, name: str, data: bytes) -> "Source":
        return cls(display_name(name), data=bytes(data))

    @classmethod
    def file(cls, path: Path) -> "Source":
        return cls(display_name(Path(path).name), path=Path(path))

    def size(self) -> int:
        return len(self.data) if self.data is not None else self.path.stat().st_size

    def key(self) -> str | None:
        """What a bulk ingest's progress is recorded under: a JSONL file on disk, by where it is and how
        it starts (a file rewritten from scratch is a new source; one that grew continues)."""
        if self.path is None or self.path.suffix.lower() != ".jsonl":
            return None
        with open(self.path, "rb") as f:
            head = f.read(65536)
        return f"{self.path.resolve()}:{hashlib.sha256(head).hexdigest()[:16]}"


def sources_in(paths: Iterable[Path]) -> tuple[list[Source], list[Item]]:
    """Files as given and the supported files of folders (sorted; hidden files skipped); paths that
    cannot be read are items with the reason."""
    sources, problems = [], []
    for path in map(Path, paths):
        if path.is_dir():
            found, skipped = _folder(path)
            sources += found
            problems += skipped
        elif path.is_file():
            sources.append(Source.file(path))
        else:
            problems.append(Item(display_name(path.name), None, f"{display_name(path.name)}: no such file ({path})"))
    return sources, problems


def _folder(folder: Path) -> tuple[list[Source], list[Item]]:
    sources, problems, inside = [], [], folder.resolve()
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        if path.is_symlink() and path.resolve().parent != inside:
            # A link out of the folder would serve any file the process can read (/etc/passwd).
            log.warning("skipped %s: a link to %s, outside the folder", path.name, path.resolve())
            problems.append(Item(path.name, None, f"{path.name}: a link to a file outside the folder"))
            continue
        sources.append(Source.file(path))
    return sources, problems


def items(source: Source, offset: int = 0, line: int = 0) -> Iterator[Item]:
    """The source's articles (or problems) in order, from `offset` bytes / `line` lines in (JSONL)."""
    name = source.name
    try:
        suffix = check_suffix(name)
        stem = safe_stem(name)
        if suffix == ".jsonl":
            if source.data is not None:
                check_size(name, len(source.data))  # an upload is held in memory whole
                yield from _jsonl(io.BytesIO(source.data), name, stem, 0, 0)
            else:
                with open(source.path, "rb") as stream:
                    stream.seek(offset)
                    yield from _jsonl(stream, name, stem, offset, line)
            return
        if source.data is not None:
            data = source.data
        else:
            check_size(name, source.size())  # before reading a mistaken multi-GB dump into memory
            data = source.path.read_bytes()
        article = article_from_bytes(data, name, stem=stem)
        yield Item(name, article, offset=len(data), line=1)
    except ArticleError as err:
        yield Item(name, None, str(err))
    except OSError as err:
        yield Item(name, None, f"{name}: cannot be read ({err.strerror or err})")


def _jsonl(stream: BinaryIO, name: str, stem: str, offset: int, line_no: int) -> Iterator[Item]:
    """One item per non-blank line; a bad line is an item with the line number and the reason."""
    any_line = offset > 0
    head = stream.read(8192)
    stream.seek(offset)
    if offset == 0 and b"\x00" in head:
        yield Item(name, None, f"{name}: looks like a binary file, not text")
        return
    for raw in iter(stream.readline, b""):
        offset += len(raw)
        line_no += 1
        where = f"{name} line {line_no}"
        if not raw.strip():
            continue
        any_line = True
        try:
            check_size(where, len(raw))
            text = decode_article_bytes(raw, where).removeprefix("\ufeff").rstrip("\r\n")
            yield Item(where, jsonl_article(text, where, stem, name), offset=offset, line=line_no)
        except ArticleError as err:
            yield Item(where, None, str(err), offset=offset, line=line_no)
    if not any_line:
        yield Item(name, None, f"{name}: the file is empty")


def read_folder(folder: Path) -> tuple[list[Article], list[Item]]:
    """Every article in a folder of article files, and the entries that could not be read."""
    sources, problems = sources_in([folder])
    articles = []
    for source in sources:
        for item in items(source):
            if item.article is not None:
                articles.append(item.article)
            else:
                problems.append(item)
    return articles, problems

