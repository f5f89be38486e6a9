"""The corpus folder: every article file in it, read and checked, and a fingerprint of the whole."""

from __future__ import annotations

import hashlib
import os
import logging
from dataclasses import dataclass
from pathlib import Path

from qa.ingest.formats import ArticleError, read_articles
from qa.schema import Article

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CorpusFile:
    """One file of the corpus folder and the articles it holds."""

    path: Path
    articles: tuple[Article, ...]


def scan_corpus(folder: Path) -> tuple[list[CorpusFile], list[Skipped]]:
    """Every supported, non-hidden file in `folder` with its articles. Unreadable files and bad JSONL
    lines are skipped and reported, not fatal; so is an article whose id another one already has."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"corpus folder {folder} does not exist")
    files, skipped, owner = [], [], {}
    inside = folder.resolve()
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        problems: list[ArticleError] = []
        if path.is_symlink() and path.resolve().parent != inside:
            # A link out of the folder would serve any file the process can read (/etc/passwd).
            log.warning("skipped %s: a link to %s, outside the corpus folder", path.name, path.resolve())
            skipped.append(Skipped(str(path), f"{path.name}: a link to a file outside the corpus folder"))
            continue
        try:
            found = read_articles(path, on_error=problems.append)
        except ArticleError as err:
            problems.append(err)
            found = []
        kept = []
        for article in found:
            if article.id in owner:
                problems.append(ArticleError(f"{path.name}: article {article.id!r} ({article.title}) has the same id as one in {owner[article.id]}"))
                continue
            owner[article.id] = path.name
            kept.append(article)
        for err in problems:
            log.warning("skipped %s", err)
            skipped.append(Skipped(str(path), str(err)))
        if kept:
            files.append(CorpusFile(path, tuple(kept)))
    return files, skipped


@dataclass(frozen=True)
class Skipped:
    """A file of the corpus folder (or a line of one) that could not be read: reported, not fatal."""

    path: str
    reason: str


def load_corpus(folder: Path) -> tuple[list[Article], list[Skipped]]:
    """Every article in `folder`; files that cannot be read are skipped and reported, not fatal."""
    files, skipped = scan_corpus(folder)
    return [a for f in files for a in f.articles], skipped


def fingerprint(articles: list[Article]) -> str:
    """Changes whenever any article's id, title, text, date or url changes."""
    h = hashlib.sha256()
    for a in sorted(articles, key=lambda a: a.id):
        # date and url only when set, so the fingerprint of a plain-text corpus is what it always was
        for part in (a.id, a.title, a.text) + ((a.date, a.url) if a.date or a.url else ()):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
    return h.hexdigest()


def prepare_corpus(settings) -> Path:
    """The corpus folder, created with a copy of the seed articles when it is the default collection
    (the user data folder) and does not exist yet. A folder the user named must exist already."""
    import shutil

    from qa.settings import user_articles_dir

    folder = settings.corpus_dir
    if not folder.exists() and folder == user_articles_dir():
        staging = folder.with_name(f".{folder.name}.new")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(settings.seeds_dir, staging)
        os.replace(staging, folder)  # whole or not at all: a crash leaves no half-seeded collection
        log.info("new collection at %s, started from %s", folder, settings.seeds_dir)
    return folder
