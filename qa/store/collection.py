"""Adding and removing articles: from a handful of uploads to an archive of 100,000, one code path.

Sources are read in order and their articles are written in batches, each batch one transaction of the
store, so a crash loses at most the batch being written and a rerun of the same command continues
where it stopped: a JSONL file's progress is committed with each batch, and an article already in the
collection (the same title and text, however spaced or named) is a duplicate, never stored twice.
Bad entries (a broken line, a binary file) are reported with their file and line; with `strict`
nothing is written unless every entry is good.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from qa.ingest.formats import content_key
from qa.ingest.sources import Item, Source, items, sources_in
from qa.schema import Article
from qa.settings import Settings
from qa.store.base import Change, Checkpoint, NewArticle, PassageStore
from qa.store.indexing import open_store, prepare

log = logging.getLogger(__name__)

SHOWN = 20  # articles listed one by one in a report; beyond that, counted


@dataclass(frozen=True)
class Refused:
    name: str  # the file, or "FILE line N"
    reason: str  # names it and says why


@dataclass(frozen=True)
class Duplicate:
    name: str
    title: str
    duplicate_of: str  # id of the article already in the collection
    duplicate_of_title: str


@dataclass
class AddReport:
    refused: list[Refused] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    added: list[tuple[Article, str]] = field(default_factory=list)  # (article, origin), the first SHOWN
    added_count: int = 0
    passages: int = 0
    resumed: list[tuple[str, int]] = field(default_factory=list)  # (source, lines already committed)
    strict: bool = False

    @property
    def ok(self) -> bool:
        return not self.refused

    @property
    def changed(self) -> bool:
        return self.added_count > 0

    def messages(self) -> list[tuple[str, str]]:
        """(level, text) lines for people: level is "success", "warning" or "error"."""
        out = [("success", f"resuming {name} after line {line:,} (committed by an earlier run)") for name, line in self.resumed]
        for article, origin in self.added:
            shown = f" from {origin}" if origin and origin != article.id else ""
            out.append(("success", f"added {article.id}{shown}: {article.title}"))
        if self.added_count > len(self.added):
            out.append(("success", f"… {self.added_count:,} articles added in all ({self.passages:,} passages)"))
        for d in self.duplicates[:SHOWN]:
            out.append(("warning", f"skipped {d.name}: same text as article {d.duplicate_of} ({d.duplicate_of_title})"))
        if len(self.duplicates) > SHOWN:
            out.append(("warning", f"… {len(self.duplicates):,} duplicates skipped in all"))
        out += [("error", f"refused {r.reason}") for r in self.refused]
        if self.refused and (self.strict or not self.added_count):
            out.append(("error", "nothing was added: fix or leave out the refused files and try again"))
        elif self.refused:
            out.append(("error", f"{len(self.refused):,} refused; the rest was added"))
        return out


@dataclass
class RemoveReport:
    refused: list[Refused] = field(default_factory=list)
    removed: list[Article] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused

    @property
    def changed(self) -> bool:
        return bool(self.removed)

    def messages(self) -> list[tuple[str, str]]:
        out = [("success", f"removed {a.id}: {a.title}") for a in self.removed]
        out += [("error", f"refused {r.name}: {r.reason}") for r in self.refused]
        if self.refused:
            out.append(("error", "nothing was removed"))
        return out


def open_collection(settings: Settings, embedder=None, show_progress: bool = False) -> PassageStore:
    """The collection the settings name; a new one starts with the seed articles (`settings.seeds_dir`)."""
    embedder = embedder or _embedder(settings)
    store = open_store(settings, embedder, show_progress)
    # Generation 0: nothing was ever committed (a crash while seeding leaves it there too).
    if store.generation() == 0 and str(settings.seeds_dir) not in ("", ".") and settings.seeds_dir.is_dir():
        report = _seed(settings, store, embedder)
        log.info("new collection in %s: %d seed articles from %s", store.location, report.added_count, settings.seeds_dir)
    return store


def _seed(settings: Settings, store: PassageStore, embedder) -> AddReport:
    """All the seed articles in one transaction. A second process opening the new collection meanwhile
    (another server worker) then finds none of them, and seeds too (its copies are duplicates), or all of
    them; seeded a file per transaction, it could find one and serve a half-seeded collection as done,
    and a crash between files would leave it half-seeded for good."""
    sources = sources_in([settings.seeds_dir])[0]
    found = [i for source in sources for i in items(source)]
    report = AddReport(refused=[Refused(i.where, i.error) for i in found if i.article is None])
    batch = [i for i in found if i.article is not None]
    if batch:  # an empty seeds folder commits nothing, as before
        with _Progress(sources, False) as progress:
            _write(batch, None, store, embedder, settings, report, progress)
    return report


def add_articles(
    settings: Settings,
    sources: Sequence[Source],
    store: PassageStore | None = None,
    embedder=None,
    strict: bool = False,
    show_progress: bool = False,
    problems: Iterable[Item] = (),
) -> AddReport:
    """Add the articles of `sources` (see the module docstring). `problems`: entries the caller already
    found unreadable (a missing path), reported like any bad entry."""
    embedder = embedder or _embedder(settings)
    store = store or open_collection(settings, embedder)
    report = AddReport(refused=[Refused(p.where, p.error) for p in problems], strict=strict)
    if strict:  # a first pass reads everything; nothing is written if anything is bad
        report.refused += [Refused(i.where, i.error) for s in sources for i in items(s) if i.article is None]
        if report.refused:
            return report
    with _Progress(sources, show_progress) as progress:
        for source in sources:
            _add_source(source, store, embedder, settings, report, progress)
    return report


def _add_source(source: Source, store: PassageStore, embedder, settings: Settings, report: AddReport, progress) -> None:
    key = source.key()
    start = store.checkpoint(key) if key else None
    if start is not None:
        report.resumed.append((source.name, start.line))
        progress.skip(start.offset)
    batch: list[Item] = []
    last = start
    for item in items(source, *((start.offset, start.line) if start else ())):
        if key and item.offset:
            last = Checkpoint(key, item.offset, item.line)
        if item.article is None:
            report.refused.append(Refused(item.where, item.error))
            continue
        batch.append(item)
        if len(batch) >= settings.ingest_batch:
            _write(batch, last, store, embedder, settings, report, progress)
            batch = []
    if batch or (last is not None and last != start):
        _write(batch, last, store, embedder, settings, report, progress)
    progress.done_with(source)


def _write(batch: list[Item], checkpoint: Checkpoint | None, store: PassageStore, embedder, settings: Settings,
           report: AddReport, progress) -> None:
    """One transaction: the batch's new articles, chunked and embedded, and how far the source got."""
    keys = {id(i): content_key(i.article.title, i.article.text) for i in batch}
    stored = store.stored(keys.values())
    fresh: dict[str, Item] = {}
    for item in batch:  # already stored, or twice in this batch: not embedded at all
        twin = stored.get(keys[id(item)]) or (fresh[keys[id(item)]].article if keys[id(item)] in fresh else None)
        if twin is not None:
            report.duplicates.append(Duplicate(item.where, item.article.title, twin.id, twin.title))
        else:
            fresh[keys[id(item)]] = item
    key_of = {id(i.article): key for key, i in fresh.items()}
    new: list[NewArticle] = []
    for n in prepare([(i.article, i.where) for i in fresh.values()], embedder, settings, key=lambda a: key_of[id(a)]):
        if n.passages:
            new.append(n)
        else:
            report.refused.append(Refused(n.origin, f"{n.origin}: no text to index after the title"))
    written = store.write(Change(add=new, checkpoint=checkpoint, note=", ".join(sorted({i.where.split(" line ")[0] for i in batch}))))
    raced = {id(n) for n, _ in written.duplicates}
    for n, twin in written.duplicates:  # added by another writer since the check above
        report.duplicates.append(Duplicate(n.origin, n.article.title, twin.id, twin.title))
    stored_new = [n for n in new if id(n) not in raced]  # in the order `write` added them
    for n, article in zip(stored_new, written.added):
        if len(report.added) < SHOWN:
            report.added.append((article, n.origin))
    report.added_count += len(written.added)
    report.passages += sum(len(n.passages) for n in stored_new)
    progress.advance(checkpoint, len(written.added), report)


def remove_articles(settings: Settings, article_ids: Sequence[str], store: PassageStore | None = None,
                    embedder=None) -> RemoveReport:
    """Remove articles by id, in one transaction; an unknown id means nothing is removed."""
    store = store or open_collection(settings, embedder)
    report = RemoveReport()
    if not article_ids:
        return report
    written = store.write(Change(remove=list(article_ids), note="removed"))
    report.refused = [Refused(i, "no such article in the collection") for i in written.missing]
    report.removed = list(written.removed)
    return report


def _embedder(settings: Settings):
    from qa.embedding.embedder import Embedder

    return Embedder.from_settings(settings)


class _Progress:
    """A progress bar over the bytes of all sources, with articles/s and passages/s beside the ETA."""

    def __init__(self, sources: Sequence[Source], show: bool) -> None:
        self.started = time.monotonic()
        self.bar = None
        if show:
            from tqdm.auto import tqdm

            total = sum(s.size() for s in sources)
            self.bar = tqdm(total=total, unit="B", unit_scale=True, desc="Adding", dynamic_ncols=True)
        self.position = 0
        self.source_start = 0

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def skip(self, offset: int) -> None:
        self._to(self.source_start + offset)

    def advance(self, checkpoint: Checkpoint | None, added: int, report: AddReport) -> None:
        if self.bar is None:
            return
        if checkpoint is not None:
            self._to(self.source_start + checkpoint.offset)
        seconds = max(time.monotonic() - self.started, 1e-9)
        self.bar.set_postfix_str(f"{report.added_count:,} articles ({report.added_count / seconds:.1f}/s), "
                                 f"{report.passages:,} passages ({report.passages / seconds:.1f}/s)")

    def done_with(self, source: Source) -> None:
        self.source_start += source.size()
        self._to(self.source_start)

    def _to(self, position: int) -> None:
        if self.bar is not None and position > self.position:
            self.bar.update(position - self.position)
        self.position = max(self.position, position)
