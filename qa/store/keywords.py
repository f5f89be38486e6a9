"""The keyword (BM25) index of a collection: a Tantivy index derived from the collection database.

Why Tantivy and not SQLite FTS5, which the database has built in: FTS5 computes BM25 for every passage
that matches any word of a question and sorts them all, so a 200,000-passage collection spent tens of
milliseconds per question even when only its rarest words were searched; Tantivy finds the top k of the
same OR query with block-max WAND, skipping passages that cannot make it, in about a millisecond at that
size, with every word of the question (docs/benchmarks.md, "Keyword search").

The database stays the source of truth, as for the vectors: the index records the generation it holds
(in a marker document, committed with the changes it describes) and catches up from the database's
passages and tombstones, so a process killed between the database's commit and the index's only leaves
the index behind, never ahead, and the next writer or start brings it level. Tantivy lets one writer in
at a time: writers of this collection take turns on a lock file next to it.
"""

from __future__ import annotations

import fcntl
import logging
import re
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, ContextManager, Iterable, Iterator, Sequence

import tantivy

log = logging.getLogger(__name__)

ANALYZER = "qa_english"  # registered by name on every open: Tantivy does not store analyzers
_WORD = re.compile(r"\w+")
_MARKER = 0  # the key of the document holding the generation (passage keys start at 1)
_WRITER_HEAP = 50_000_000  # bytes Tantivy buffers before writing a segment


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def query_words(question: str) -> list[str]:
    """The question's words that are not stop words, each once, in order. Stop words are left out so that
    "the" neither costs a walk through every passage nor moves the ranking."""
    return list(dict.fromkeys(w for w in _WORD.findall(question.casefold()) if w not in _stop_words()))


def query_expression(words: Sequence[str]) -> str:
    """A query for any of `words` ("" if none). Each word is quoted, so query syntax in a question
    ("NOT", "*", ":") is only ever text."""
    return " OR ".join(f'"{w}"' for w in words)


def _analyzer() -> tantivy.TextAnalyzer:
    # Words as in FTS5's unicode61 tokenizer (accents folded), stemmed with Snowball's English stemmer.
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .filter(tantivy.Filter.stemmer("english"))
            .build())


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name=ANALYZER)
    builder.add_integer_field("key", stored=False, indexed=True, fast=True)  # the passage's key
    builder.add_integer_field("generation", stored=False, indexed=False, fast=True)  # on the marker only
    return builder.build()


class KeywordIndexDamaged(Exception):
    """The index's files cannot be read as an index: it is built again from the database."""


class KeywordIndex:
    """BM25 search over passages by key. Open one with `open` (a folder) or `in_memory`."""

    def __init__(self, index: tantivy.Index, folder: Path | None) -> None:
        index.register_tokenizer(ANALYZER, _analyzer())
        index.config_reader("Manual")
        self._index, self.folder = index, folder
        self._lock = threading.Lock()  # reloads and searches from the chat's threads
        self._searcher = index.searcher()

    @classmethod
    def open(cls, folder: Path, create: bool) -> "KeywordIndex":
        """The index in `folder`, made empty if `create` and there is none."""
        folder = Path(folder)
        try:
            if not (folder / "meta.json").exists():
                if not create:
                    raise KeywordIndexDamaged(f"there is no keyword index in {folder}")
                folder.mkdir(parents=True, exist_ok=True)
                return cls(tantivy.Index(_schema(), path=str(folder)), folder)
            return cls(tantivy.Index.open(str(folder)), folder)
        except (ValueError, OSError) as err:
            raise KeywordIndexDamaged(f"the keyword index in {folder} cannot be read ({err})") from err

    @classmethod
    def in_memory(cls) -> "KeywordIndex":
        """An index that lives only in this process (a read-only collection whose index cannot be used)."""
        return cls(tantivy.Index(_schema()), None)

    @staticmethod
    def remove(folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    # --- reading -----------------------------------------------------------------------------------

    def reload(self) -> None:
        """See what was committed since, by this process or another."""
        with self._lock:
            self._index.reload()
            self._searcher = self._index.searcher()

    def generation(self) -> int:
        """The generation of the collection this index holds (-1: none yet)."""
        with self._lock:
            searcher = self._searcher
        hits = searcher.search(tantivy.Query.term_query(self._index.schema, "key", _MARKER), 1, count=False).hits
        return searcher.fast_field_values("generation", [hits[0][1]])[0] if hits else -1

    def search(self, question: str, k: int) -> list[tuple[int, float]]:
        """(passage key, BM25 score) of the k best passages for any of the question's words, best first."""
        expression = query_expression(query_words(question))
        if not expression or k <= 0:  # only stop words: no evidence, no hits
            return []
        with self._lock:
            searcher = self._searcher
        query, _ = self._index.parse_query_lenient(expression, ["body"])
        hits = searcher.search(query, k, count=False).hits
        keys = searcher.fast_field_values("key", [address for _, address in hits])
        return [(key, score) for key, (score, _) in zip(keys, hits) if key != _MARKER]

    # --- writing -----------------------------------------------------------------------------------

    @contextmanager
    def _writer(self) -> Iterator[tantivy.IndexWriter]:
        """Tantivy's one writer, taken in turn by this collection's writing processes (the lock is released
        by the kernel if its holder dies)."""
        lock = open(self.folder.parent / f".{self.folder.name}.lock", "a") if self.folder else None
        try:
            if lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
            self.reload()  # the generation held is read under the lock: another writer may just have moved it
            writer = self._index.writer(heap_size=_WRITER_HEAP, num_threads=1)
            # A writer killed mid-commit leaves files its commit never named; Tantivy would write files
            # of the same names again (its operation counter restarts at the last commit) and fail.
            writer.garbage_collect_files()
            try:
                yield writer
            except BaseException:
                writer.rollback()
                raise
            # Merging keeps the segments few (each costs every search a little), and must end before
            # the writer lets go of the index.
            writer.wait_merging_threads()
        finally:
            if lock:
                lock.close()
        self.reload()

    def sync(self, changes: Callable[[int], ContextManager["Changes | None"]], newest: int | None = None) -> bool:
        """Bring the index level with the collection: `changes(held)` gives what changed after the
        generation the index holds (None: nothing), read while the writer is held so that two processes
        never apply the same change over each other. `newest`: the collection's generation, if known,
        so that an index already there takes no writer (a start beside a running bulk add does not
        wait for it). True if anything was committed."""
        if newest is not None and self.generation() == newest:
            return False
        with self._writer() as writer:
            with changes(self.generation()) as todo:
                if todo is None:
                    return False
                if todo.everything:
                    writer.delete_all_documents()
                for key in todo.removed:
                    writer.delete_documents_by_term("key", key)
                for key, text in todo.added:
                    if not todo.everything:  # a key held already is replaced, never doubled
                        writer.delete_documents_by_term("key", key)
                    writer.add_document(tantivy.Document(body=text, key=key))
                writer.delete_documents_by_term("key", _MARKER)
                writer.add_document(tantivy.Document(key=_MARKER, generation=todo.generation))
                writer.commit()
        return True


@dataclass
class Changes:
    """What the keyword index must do to hold `generation` of the collection."""

    generation: int
    removed: Iterable[int]  # passage keys
    added: Iterable[tuple[int, str]]  # (passage key, title and text)
    everything: bool = False  # `added` is every passage: empty the index first
