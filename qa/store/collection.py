"""Adding and removing articles: the corpus folder changes, then the index is brought up to date.

Every upload is checked before anything is written, and if one file is refused nothing is written at
all, so a batch either goes in whole or leaves the corpus folder and the index exactly as they were.
An article whose title and text are already in the corpus (compared after collapsing whitespace,
whatever the file is called or its format; see `qa.corpus.content_key`) is reported as a duplicate of
that article and not added again. File names are reduced to a safe base name inside
`settings.corpus_dir` and never replace an existing file; every write goes to a hidden temporary
file first and is swapped in with `os.replace`. The index is then updated through `open_index`,
which embeds only the new articles.
"""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from qa.settings import Settings
from qa.ingest.corpus import CorpusFile, Skipped, prepare_corpus, scan_corpus
from qa.ingest.formats import ArticleError, articles_from_bytes, content_key, decode_article_bytes, parse_jsonl
from qa.ingest.names import display_name, safe_file_name
from qa.schema import Article

# One Streamlit process serves every browser session from threads: changes to the folder go one at a time.
_lock = threading.Lock()


@dataclass(frozen=True)
class AddedFile:
    name: str  # as given
    file: str  # as written in the corpus folder
    articles: tuple[Article, ...]


@dataclass(frozen=True)
class Duplicate:
    name: str  # as given; "NAME line N" for a JSONL line
    title: str
    duplicate_of: str  # id of the article already in the corpus (or earlier in the same batch)
    duplicate_of_title: str


@dataclass(frozen=True)
class Refused:
    name: str
    reason: str  # names the file and says why


@dataclass
class _Report:
    """What a change to the collection did; a refused input means nothing was written."""

    refused: list[Refused] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # unreadable files already in the folder
    index: object | None = None  # the updated store, when anything was written

    @property
    def ok(self) -> bool:
        return not self.refused

    @property
    def changed(self) -> bool:
        return bool(self._done())

    def messages(self) -> list[tuple[str, str]]:
        """(level, text) lines for people: level is "success", "warning" or "error"."""
        out = self._done_messages() + [("error", f"refused {self._refusal(r)}") for r in self.refused]
        if self.refused:
            out.append(("error", self._nothing_done))
        return out

    _nothing_done = "nothing was changed"

    def _done(self) -> list:
        raise NotImplementedError

    def _done_messages(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def _refusal(self, r: Refused) -> str:
        return f"{r.name}: {r.reason}"


@dataclass
class AddReport(_Report):
    added: list[AddedFile] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    _nothing_done = "nothing was added: fix or leave out the refused files and try again"

    def _done(self) -> list:
        return self.added

    def _done_messages(self) -> list[tuple[str, str]]:
        out = []
        for added in self.added:
            renamed = f" as {added.file}" if added.file != added.name else ""
            for a in added.articles:
                out.append(("success", f"added {a.id} from {added.name}{renamed}: {a.title}"))
        for d in self.duplicates:
            out.append(("warning", f"skipped {d.name}: same text as article {d.duplicate_of} ({d.duplicate_of_title})"))
        return out

    def _refusal(self, r: Refused) -> str:
        return r.reason  # names the file already


@dataclass(frozen=True)
class RemovedArticle:
    article_id: str
    title: str
    file: str
    file_deleted: bool  # False: the article was one line of a JSONL file that is still there


@dataclass
class RemoveReport(_Report):
    removed: list[RemovedArticle] = field(default_factory=list)
    _nothing_done = "nothing was removed"

    def _done(self) -> list:
        return self.removed

    def _done_messages(self) -> list[tuple[str, str]]:
        return [
            ("success", f"removed {r.article_id}: {r.title} "
             f"({f'deleted {r.file}' if r.file_deleted else f'its line removed from {r.file}'})")
            for r in self.removed
        ]


@dataclass
class _Write:
    name: str
    target: str
    data: bytes
    articles: tuple[Article, ...]


def add_articles(
    settings: Settings,
    files: Sequence[tuple[str, bytes]],
    embedder=None,
    show_progress: bool = False,
    refused: Iterable[Refused] = (),
) -> AddReport:
    """Check every (name, bytes) upload, write the new articles into `settings.corpus_dir` and update
    the index. `refused`: uploads the caller already turned down (say, unreadable paths); like any
    refusal they mean nothing is written."""
    report = AddReport(refused=list(refused))
    with _lock:
        folder = prepare_corpus(settings)
        existing, report.skipped = scan_corpus(folder) if folder.is_dir() else ([], [])
        known: dict[str, Article] = {content_key(a.title, a.text): a for f in existing for a in f.articles}
        taken = {p.stem.casefold() for p in folder.iterdir()} if folder.is_dir() else set()
        writes: list[_Write] = []
        for name, data in files:
            shown, target = display_name(name), None
            try:
                target = safe_file_name(name, taken)
                write = _plan(shown, target, bytes(data), known, report.duplicates)
            except ArticleError as err:
                report.refused.append(Refused(shown, _named(str(err), target or shown, shown)))
                continue
            if write is not None:
                writes.append(write)
        if report.refused or not writes:
            return report

        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write_all(folder, [(w.target, w.data) for w in writes])
        report.added = [AddedFile(w.name, w.target, w.articles) for w in writes]
        report.index, report.skipped = _refresh_index(settings, embedder, show_progress)
    return report


def remove_articles(settings: Settings, article_ids: Sequence[str], embedder=None, show_progress: bool = False) -> RemoveReport:
    """Remove articles by id: a single-article file is deleted, a JSONL file is rewritten without the
    article's line (deleted when no line is left). An unknown id means nothing is removed."""
    report = RemoveReport()
    with _lock:
        files, _ = scan_corpus(prepare_corpus(settings))
        owner: dict[str, tuple[CorpusFile, Article]] = {a.id: (f, a) for f in files for a in f.articles}
        wanted = list(dict.fromkeys(article_ids))
        report.refused = [Refused(i, f"no such article in {settings.corpus_dir}") for i in wanted if i not in owner]
        if report.refused or not wanted:
            return report

        by_file: dict[Path, set[str]] = {}
        for article_id in wanted:
            by_file.setdefault(owner[article_id][0].path, set()).add(article_id)
        rewrites: list[tuple[str, bytes]] = []
        deletes: list[Path] = []
        for path, ids in by_file.items():
            if path.suffix.lower() != ".jsonl":
                deletes.append(path)
                continue
            text = decode_article_bytes(path.read_bytes(), path.name)
            # Bad lines stay as they were (still reported when the corpus loads); only the removed go.
            kept = [line.raw for line in parse_jsonl(text, path.name, path.stem) if line.article is None or line.article.id not in ids]
            if kept:
                rewrites.append((path.name, ("\n".join(kept) + "\n").encode("utf-8")))
            else:
                deletes.append(path)
        for article_id in wanted:
            path = owner[article_id][0].path
            report.removed.append(RemovedArticle(article_id, owner[article_id][1].title, path.name, path in deletes))

        _atomic_write_all(settings.corpus_dir, rewrites)
        for path in deletes:
            path.unlink()
        report.index, report.skipped = _refresh_index(settings, embedder, show_progress)
    return report


def _plan(shown: str, target: str, data: bytes, known: dict[str, Article], duplicates: list[Duplicate]) -> _Write | None:
    """What to write for one upload (None: nothing new in it); `known` gains its articles."""
    stem = Path(target).stem
    articles = articles_from_bytes(data, target, stem=stem)  # raises ArticleError: refused
    lines = []
    if target.endswith(".jsonl"):
        lines = [line for line in parse_jsonl(decode_article_bytes(data, target), target, stem) if line.article]
    new, new_lines = [], []
    for i, article in enumerate(articles):
        key = content_key(article.title, article.text)
        where = f"{shown} line {lines[i].line_no}" if lines else shown
        if key in known:
            duplicates.append(Duplicate(where, article.title, known[key].id, known[key].title))
            continue
        known[key] = article
        new.append(article)
        if lines:
            new_lines.append(lines[i].raw)
    if not new:
        return None
    if lines and len(new) < len(articles):  # leave the duplicate lines out of the file that is written
        data = ("\n".join(new_lines) + "\n").encode("utf-8")
    return _Write(shown, target, data, tuple(new))


def _named(reason: str, used: str, shown: str) -> str:
    """Error messages name the file as the user gave it, not the safe name it would have been saved as."""
    return shown + reason[len(used) :] if reason.startswith(used) else reason


def _atomic_write_all(folder: Path, payloads: list[tuple[str, bytes]]) -> None:
    """Write every payload to a hidden temporary file first (load_corpus ignores those), then swap
    them in; a failure before the swap leaves the folder as it was."""
    temps = []
    try:
        for name, data in payloads:
            target = folder / name
            if target.resolve().parent != folder.resolve():  # safe_file_name makes this impossible
                raise ArticleError(f"{name}: not a plain file name inside {folder}")
            tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            temps.append((tmp, target))
    except BaseException:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in temps:
        os.replace(tmp, target)


def _refresh_index(settings: Settings, embedder, show_progress: bool):
    from qa.store.indexing import open_store

    if embedder is None:
        from qa.embedding.embedder import Embedder

        embedder = Embedder.from_settings(settings)
    return open_store(settings, embedder, show_progress)
