"""The local store: one folder holding an SQLite database (the collection) and FAISS snapshots.

Why SQLite: it gives what a collection on one machine needs without a server. A change is one
transaction, all or nothing after a crash at any instruction (its journal, not ours); writers in any
number of processes serialise on its lock, so duplicate and id checks made inside the transaction
hold under races; and readers never wait for a writer and never see half a change (WAL mode).

What is where:
- `articles`, `passages` (text, character offsets, the vector as float32 bytes): the collection.
- `meta`: the manifest (what the vectors were made with), the committed generation, counts, and which
  vector snapshot file holds the dense index as of which generation.
- `removed`: the keys of passages deleted, by generation, so a dense index from an older generation can
  catch up (a trigger keeps it in step with `passages`).
- `commits`: one line per change; `sources`: how far each bulk ingest has committed.

The dense index lives in memory (`qa.store.vectors`): loaded from the newest snapshot plus the passages
added or removed since, and caught up by `refresh` with only what changed. The keyword index is a
Tantivy index in `keywords/` (`qa.store.keywords`), shared by every process: each writer brings it level
with the database after its commit, and so does every start that may write. Keys are never reused
(AUTOINCREMENT), so "remove these keys, add those" is exact whatever generation an index is at.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from qa.schema import Article, Passage
from qa.store.base import (
    ArticleEntry, Change, Checkpoint, Manifest, NewArticle, Scored, StoreReadOnly, StoreUnusable, Written, titled,
)
from qa.store.rows import ARTICLE_COLUMNS, PASSAGE_COLUMNS, Rollback, article_by, free_id, now, passage_of, runs_text
from qa.store.keywords import Changes, KeywordIndex, KeywordIndexDamaged
from qa.store.vectors import DenseLayout, VectorIndex, from_blobs, to_blob

log = logging.getLogger(__name__)

DATABASE = "collection.sqlite"
KEYWORDS = "keywords"  # the Tantivy index's folder
LOCK = ".lock"  # held (flock) while a snapshot is written or leftovers are cleaned
BUSY_TIMEOUT_S = 600  # a writer waits this long for another one (a rebuild of a large collection)
_BATCH = 5000  # rows fetched or bound per statement

TRIGGER = """CREATE TRIGGER passage_removed AFTER DELETE ON passages BEGIN
    INSERT OR REPLACE INTO removed VALUES (old.key, (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'));
END;"""

SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE articles (
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    content_key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL, date TEXT NOT NULL, url TEXT NOT NULL,
    origin TEXT NOT NULL,
    generation INTEGER NOT NULL
);
CREATE TABLE passages (
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    article INTEGER NOT NULL REFERENCES articles(key) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    text TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, runs TEXT NOT NULL,
    vector BLOB NOT NULL,
    generation INTEGER NOT NULL
);
CREATE INDEX passages_by_article ON passages(article, position);
CREATE INDEX passages_by_generation ON passages(generation);
CREATE TABLE removed (passage INTEGER PRIMARY KEY, generation INTEGER NOT NULL);
CREATE INDEX removed_by_generation ON removed(generation);
{TRIGGER}
CREATE TABLE commits (generation INTEGER PRIMARY KEY, at TEXT NOT NULL, added INTEGER NOT NULL,
                      removed INTEGER NOT NULL, note TEXT NOT NULL);
CREATE TABLE sources (source TEXT PRIMARY KEY, "offset" INTEGER NOT NULL, line INTEGER NOT NULL,
                      generation INTEGER NOT NULL);
"""



class LocalStore:
    """The collection in `folder` (see the module docstring). Open with `LocalStore.open`."""

    shared = False  # processes on this machine take turns on it; one opened with another model is indexed again

    def __init__(self, folder: Path, read_only: bool, snapshot_every: int, layout: DenseLayout) -> None:
        self.folder = Path(folder)
        self.location = str(self.folder)
        self.read_only = read_only
        self.snapshot_every = snapshot_every
        self.layout = layout
        self._keywords: KeywordIndex | None = None
        self._local = threading.local()  # one connection per thread
        self._connections: list[sqlite3.Connection] = []
        # The chat answers from several threads: the in-memory index is changed and searched under this.
        self._lock = threading.RLock()
        self._generation = 0
        self._vectors: VectorIndex | None = None
        self.manifest: Manifest | None = None

    # --- opening -----------------------------------------------------------------------------------

    @classmethod
    def open(cls, folder: Path, manifest: Manifest, snapshot_every: int = 20_000,
             layout: DenseLayout = DenseLayout()) -> "LocalStore":
        """The collection in `folder`, created (empty, with `manifest`) if there is none. Its
        `manifest` is the stored one, which may differ from the one given: the caller decides.
        `layout`: when the dense index is approximate (applied when a snapshot is written)."""
        folder = Path(folder)
        path = folder / DATABASE
        if not path.exists():
            if folder.exists() and not os.access(folder, os.W_OK):
                raise StoreUnusable(f"there is no collection in {folder}, and the folder is read-only")
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreUnusable(f"cannot create a collection in {folder}: {err.strerror or err}") from err
        read_only = path.exists() and not (os.access(folder, os.W_OK) and os.access(path, os.W_OK))
        store = cls(folder, read_only, snapshot_every, layout)
        try:
            if not read_only:
                with store._folder_lock(wait=True):
                    store._create(manifest)
                    store._upgrade()
                    store._clean_leftovers()
            store._load()
            store._open_keywords()
        except sqlite3.DatabaseError as err:
            store.close()
            raise StoreUnusable(f"the collection database {path} is damaged or not a collection ({err})") from err
        return store

    def _create(self, manifest: Manifest) -> None:
        """Make the database if it does not exist (under the folder lock, so two processes cannot)."""
        path = self.folder / DATABASE
        if path.exists():
            return
        tmp = self.folder / f".{DATABASE}.new"
        tmp.unlink(missing_ok=True)
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.executescript(SCHEMA)
            values = {"manifest": json.dumps(manifest.to_dict()), "generation": "0", "articles": "0", "passages": "0",
                      "pruned_through": "0", "created_at": now()}
            db.executemany("INSERT INTO meta VALUES (?, ?)", list(values.items()))
            db.execute("PRAGMA journal_mode=WAL")
        finally:
            db.close()
        os.replace(tmp, path)  # whole or not at all: a crash leaves only the .new file, cleaned next time

    def _upgrade(self) -> None:
        """A collection made before the keyword index moved out of the database loses its FTS5 table
        (the Tantivy index is built from the passages when it is opened)."""
        db = self._conn()
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'keywords'").fetchone() is None:
            return
        log.info("moving the keyword index of %s out of the database (once)", self.folder)
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DROP TRIGGER passage_removed")
            db.execute("DROP TABLE keywords")
            db.execute(TRIGGER)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _open_keywords(self) -> None:
        """The keyword index, level with the database: caught up (or built, when it is missing or
        damaged) if this process may write; else read as it is, or built in memory if it is behind."""
        folder, unusable = self.folder / KEYWORDS, ""
        try:
            keywords = KeywordIndex.open(folder, create=not self.read_only)
        except KeywordIndexDamaged as err:
            if not self.read_only:
                log.warning("%s: building it again from the collection", err)
                KeywordIndex.remove(folder)
                keywords = KeywordIndex.open(folder, create=True)
            else:  # Tantivy takes a lock file even to read, which a read-only file system refuses
                keywords, unusable = None, str(err)
        if keywords is not None and self.read_only and keywords.generation() != self._generation:
            keywords, unusable = None, "it is behind the database"
        if keywords is None:
            log.warning("the keyword index of the read-only collection in %s cannot be used (%s): "
                        "building it in memory", self.folder, unusable)
            keywords = KeywordIndex.in_memory()
        self._keywords = keywords
        if not self._sync_keywords(keywords) and not self.read_only:
            log.warning("building the keyword index of %s again from the collection", self.folder)
            KeywordIndex.remove(folder)
            self._keywords = KeywordIndex.open(folder, create=True)
            self._sync_keywords()

    def _sync_keywords(self, keywords: KeywordIndex | None = None) -> bool:
        """Apply to the keyword index what was committed since the generation it holds; False if that
        failed (the database has the change whatever failed here: the next writer or start catches up,
        and a start that cannot builds the index again)."""
        keywords = keywords or self._keywords
        if self.read_only and keywords.folder is not None:
            return True
        try:
            keywords.sync(self._keyword_changes, self._committed_generation())
        except Exception as err:
            log.warning("could not update the keyword index of %s (%s); it will catch up at the next change",
                        self.folder, err)
            return False
        return True

    def _committed_generation(self) -> int:
        return int(self._meta_value("generation"))

    @contextmanager
    def _keyword_changes(self, held: int) -> Iterator[Changes | None]:
        db = self._conn()
        with self._reading(db):
            meta = self._meta(db)
            generation = int(meta["generation"])
            if held == generation:
                yield None
                return
            # Tombstones before `pruned_through` are gone (or the index is not this database's): all again.
            everything = held < 0 or held > generation or held < int(meta["pruned_through"])
            since = 0 if everything else held
            removed = [k for (k,) in db.execute("SELECT passage FROM removed WHERE generation > ?", (since,))]
            rows = db.execute("SELECT p.key, a.title, p.text FROM passages p JOIN articles a ON a.key = p.article "
                              "WHERE p.generation > ?", (since,))
            if everything:
                log.info("building the keyword index of %s", self.folder)
            yield Changes(generation, [] if everything else removed,
                          ((key, titled(title, text)) for key, title, text in rows), everything)

    def _clean_leftovers(self) -> None:
        """Temporary files and snapshots nothing refers to, left by a crash (under the folder lock)."""
        current = self._meta(self._conn()).get("snapshot")
        keep = json.loads(current)["file"] if current else None
        for p in self.folder.iterdir():
            stray_temp = p.name.startswith(".") and p.name.endswith((".tmp", ".new"))
            old_snapshot = p.name.startswith("vectors-") and p.name.endswith(".faiss") and p.name != keep
            if stray_temp or old_snapshot:
                log.info("removing %s, left over from an earlier run", p)
                p.unlink(missing_ok=True)

    def _load(self) -> None:
        """The dense index from the newest snapshot and the changes since (or from every vector)."""
        db = self._conn()
        with self._reading(db):
            meta = self._meta(db)
            manifest = Manifest.from_dict(json.loads(meta["manifest"]))
            generation = int(meta["generation"])
            vectors, since = None, 0
            if meta.get("snapshot"):
                snap = json.loads(meta["snapshot"])
                vectors = VectorIndex.load(self.folder / snap["file"], manifest.dimension, snap["count"], snap["bytes"],
                                           self.layout.search_depth)
                if vectors is None:
                    log.warning("vector snapshot %s is missing or damaged: reading every vector from the database",
                                self.folder / snap["file"])
                else:
                    since = snap["generation"]
            vectors = vectors or VectorIndex(manifest.dimension)
            self._catch_up(db, vectors, since)
            if vectors.approximate:  # its graph still holds passages removed before the snapshot
                vectors.retain(self._live_keys(db))
        with self._lock:
            self.manifest, self._vectors, self._generation = manifest, vectors, generation

    def _catch_up(self, db: sqlite3.Connection, vectors: VectorIndex, since: int) -> None:
        """Apply every change after generation `since` to `vectors` (inside the caller's read transaction)."""
        gone = [k for (k,) in db.execute("SELECT passage FROM removed WHERE generation > ?", (since,))]
        vectors.remove(gone)
        rows = db.execute("SELECT key, vector FROM passages WHERE generation > ? ORDER BY key", (since,))
        while batch := rows.fetchmany(_BATCH):
            vectors.add([k for k, _ in batch], from_blobs([v for _, v in batch], vectors.dimension))

    # --- connections and locks ---------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            path = (self.folder / DATABASE).resolve()
            # A read-only folder cannot hold WAL's shared-memory file: read it as immutable then.
            modes = ["mode=ro", "immutable=1"] if self.read_only else ["mode=rw"]
            for n, mode in enumerate(modes):
                try:
                    db = sqlite3.connect(f"file:{path}?{mode}", uri=True, isolation_level=None,
                                         timeout=BUSY_TIMEOUT_S, check_same_thread=False)
                    db.execute("SELECT 1 FROM meta LIMIT 1")
                    break
                except sqlite3.OperationalError:
                    if n == len(modes) - 1:
                        raise
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=FULL")  # a commit that was reported survives a power cut too
            self._local.db = db
            self._connections.append(db)
        return db

    def close(self) -> None:
        for db in self._connections:
            db.close()
        self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def _reading(self, db: sqlite3.Connection) -> Iterator[None]:
        """One consistent snapshot of the database for the statements inside."""
        db.execute("BEGIN")
        try:
            yield
        finally:
            db.execute("COMMIT")

    @contextmanager
    def _folder_lock(self, wait: bool) -> Iterator[bool]:
        """A cross-process lock on the folder (released by the kernel if the holder dies)."""
        with open(self.folder / LOCK, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @staticmethod
    def _meta(db: sqlite3.Connection) -> dict[str, str]:
        return dict(db.execute("SELECT key, value FROM meta"))

    # --- reading -----------------------------------------------------------------------------------

    def generation(self) -> int:
        return self._generation

    def dense_index(self) -> str:
        """What the dense index is now, for people: "exact", or "HNSW" with its dead share."""
        with self._lock:
            v = self._vectors
            return f"HNSW ({100 * v.dead_share:.0f}% dead)" if v.approximate else "exact"

    def refresh(self) -> bool:
        db = self._conn()
        with self._lock:
            with self._reading(db):
                meta = self._meta(db)
                generation = int(meta["generation"])
                if generation == self._generation:
                    # The writer commits to the keyword index after the database: look again until level.
                    if self._keywords.generation() < generation:
                        self._keywords.reload()
                    return False
                stored = Manifest.from_dict(json.loads(meta["manifest"]))
                behind = self._generation < int(meta["pruned_through"]) or stored != self.manifest
                if not behind:
                    self._catch_up(db, self._vectors, self._generation)
                    self._generation = generation
            if behind:
                self._load()  # too far behind to catch up (or rebuilt with another model): start again
        if self._keywords.folder is None:  # a read-only collection's index, in memory: only this process updates it
            self._sync_keywords()
        else:
            self._keywords.reload()
        return True

    def article(self, article_id: str) -> Article:
        found = article_by(self._conn(), "articles", "id", article_id, "?")
        if found is None:
            raise KeyError(article_id)
        return found

    def entries(self, limit: int | None = None) -> list[ArticleEntry]:
        rows = self._conn().execute("SELECT id, title, origin FROM articles ORDER BY key LIMIT ?", (limit or -1,))
        return [ArticleEntry(*row) for row in rows]

    def article_count(self) -> int:
        return int(self._meta_value("articles"))

    def passage_count(self) -> int:
        return int(self._meta_value("passages"))

    def _meta_value(self, key: str) -> str:
        return self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    def article_passages(self, article_id: str) -> list[Passage]:
        rows = self._conn().execute(
            f"SELECT {PASSAGE_COLUMNS} FROM passages p JOIN articles a ON a.key = p.article "
            "WHERE a.id = ? ORDER BY p.position", (article_id,))
        return [passage_of(row) for row in rows]

    def stored(self, keys: Iterable[str]) -> dict[str, Article]:
        keys, found = list(dict.fromkeys(keys)), {}
        db = self._conn()
        for i in range(0, len(keys), _BATCH):
            chunk = keys[i : i + _BATCH]
            rows = db.execute(f"SELECT content_key, {ARTICLE_COLUMNS} FROM articles WHERE content_key IN "
                              f"({','.join('?' * len(chunk))})", chunk)
            found.update((row[0], Article(*row[1:])) for row in rows)
        return found

    def checkpoint(self, source: str) -> Checkpoint | None:
        row = self._conn().execute('SELECT "offset", line FROM sources WHERE source = ?', (source,)).fetchone()
        return Checkpoint(source, *row) if row else None

    def dense_top_k(self, queries: np.ndarray, k: int) -> list[list[Scored]]:
        with self._lock:
            return self._vectors.search(queries, k)

    def keyword_top_k(self, questions: Sequence[str], k: int) -> list[list[Scored]]:
        return [self._keywords.search(question, k) for question in questions]

    def passages(self, keys: Iterable[int]) -> dict[int, Passage]:
        keys, found, db = sorted(set(keys)), {}, self._conn()
        for i in range(0, len(keys), _BATCH):
            chunk = keys[i : i + _BATCH]
            rows = db.execute(f"SELECT {PASSAGE_COLUMNS} FROM passages p JOIN articles a ON a.key = p.article "
                              f"WHERE p.key IN ({','.join('?' * len(chunk))})", chunk)
            found.update((row[0], passage_of(row)) for row in rows)
        return found

    # --- writing -----------------------------------------------------------------------------------

    @contextmanager
    def _writing(self, bump: bool = True) -> Iterator[tuple[sqlite3.Connection, int]]:
        """A write transaction (waiting for any other writer) and the generation it commits (the same
        one, when `bump` is off: bookkeeping that changes no article)."""
        if self.read_only:
            raise StoreReadOnly(f"the collection in {self.folder} is read-only: nothing can be added or removed")
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise StoreUnusable(f"cannot change the collection in {self.folder}: {err}") from err
        try:
            generation = int(self._meta(db)["generation"]) + bump
            db.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(generation),))
            yield db, generation
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite has rolled back already after some errors (a full disk)
                db.execute("ROLLBACK")
            raise

    def write(self, change: Change) -> Written:
        try:
            with self._writing() as (db, generation):
                written, changed = self._apply(db, generation, change)
                if not changed:
                    raise Rollback(written)
                self._set_counts(db)
                db.execute("INSERT INTO commits VALUES (?, ?, ?, ?, ?)",
                           (generation, now(), len(written.added), len(written.removed), change.note))
        except Rollback as nothing:
            return nothing.written
        except sqlite3.OperationalError as err:
            raise StoreUnusable(_write_error(self.folder, err)) from err
        self._committed()
        return written

    def _committed(self) -> None:
        """After a commit: the keyword index brought level, this object moved to the new generation, a
        snapshot written if one is due. A crash before any of it loses nothing: each catches up later."""
        self._sync_keywords()
        self.refresh()
        self._snapshot_if_due()

    def _apply(self, db: sqlite3.Connection, generation: int, change: Change) -> tuple[Written, bool]:
        """Make the change inside the caller's transaction; False: nothing to commit."""
        ids = list(dict.fromkeys(change.remove))
        removed = [article_by(db, "articles", "id", i, "?") for i in ids]
        missing = tuple(i for i, a in zip(ids, removed) if a is None)
        if missing:
            return Written(self._generation, missing=missing), False
        if ids:
            db.executemany("DELETE FROM articles WHERE id = ?", [(i,) for i in ids])  # passages go with them
        added, duplicates = [], []
        for new in change.add:
            twin = article_by(db, "articles", "content_key", new.key, "?")
            if twin is not None:
                duplicates.append((new, twin))
                continue
            article = replace(new.article, id=free_id(db, "articles", new.article.id, "?"))
            cursor = db.execute(
                "INSERT INTO articles (id, content_key, title, text, source, date, url, origin, generation) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (article.id, new.key, article.title, article.text, article.source, article.date, article.url,
                 new.origin, generation))
            self._insert_passages(db, cursor.lastrowid, article, new, generation)
            added.append(article)
        if change.checkpoint is not None:
            c = change.checkpoint
            db.execute("INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?)", (c.source, c.offset, c.line, generation))
        if not (added or ids or change.checkpoint):
            return Written(self._generation, duplicates=tuple(duplicates)), False
        return Written(generation, tuple(added), tuple(duplicates), tuple(a for a in removed if a)), True

    def _insert_passages(self, db, article_key: int, article: Article, new: NewArticle, generation: int) -> None:
        for passage, vector in zip(new.passages, new.vectors):
            db.execute(
                'INSERT INTO passages (article, position, text, start, "end", runs, vector, generation) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (article_key, passage.index, passage.text, passage.start, passage.end,
                 runs_text(passage), to_blob(vector), generation))

    @staticmethod
    def _set_counts(db) -> None:
        for key, table in (("articles", "articles"), ("passages", "passages")):
            db.execute(f"UPDATE meta SET value = (SELECT count(*) FROM {table}) WHERE key = ?", (key,))

    def rebuild(self, manifest: Manifest, batches: Iterable[Sequence[NewArticle]]) -> None:
        with self._writing() as (db, generation):
            db.execute("DELETE FROM passages")
            db.execute("DELETE FROM removed")  # every older dense index is useless: readers start again
            for batch in batches:
                for new in batch:
                    (key,) = db.execute("SELECT key FROM articles WHERE id = ?", (new.article.id,)).fetchone()
                    self._insert_passages(db, key, new.article, new, generation)
            db.execute("UPDATE meta SET value = ? WHERE key = 'manifest'", (json.dumps(manifest.to_dict()),))
            db.execute("UPDATE meta SET value = ? WHERE key = 'pruned_through'", (str(generation),))
            db.execute("DELETE FROM meta WHERE key = 'snapshot'")
            self._set_counts(db)
            db.execute("INSERT INTO commits VALUES (?, ?, 0, 0, ?)", (generation, now(), "rebuilt: " + manifest.embedder))
        self._committed()

    def article_ids(self) -> list[str]:
        return [i for (i,) in self._conn().execute("SELECT id FROM articles ORDER BY key")]

    # --- snapshots ---------------------------------------------------------------------------------

    def _snapshot_if_due(self) -> None:
        """Write the dense index to a snapshot when enough has changed since the last one, so that the
        next start reads few vectors from the database, or when it is due to be built again (its size
        crossed the layout's threshold, or too much of its graph is dead)."""
        db = self._conn()
        meta = self._meta(db)
        since = json.loads(meta["snapshot"])["generation"] if meta.get("snapshot") else 0
        changed = sum(db.execute(f"SELECT count(*) FROM {table} WHERE generation > ?", (since,)).fetchone()[0]
                      for table in ("passages", "removed"))
        with self._lock:
            relayout = self.layout.rebuild(self._vectors)
        if changed < self.snapshot_every and not relayout:
            return
        with self._folder_lock(wait=False) as locked:
            if locked:  # else another process is writing one right now
                self._write_snapshot()

    def snapshot(self) -> None:
        """Write the dense index to a snapshot now."""
        with self._folder_lock(wait=True):
            self._write_snapshot()

    def _write_snapshot(self) -> None:
        self._relayout()
        with self._lock:
            generation = self._generation
            name, size = self._vectors.save(self.folder, generation)
            count = self._vectors.stored
        record = json.dumps({"file": name, "generation": generation, "count": count, "bytes": size})
        try:
            with self._writing(bump=False) as (db, _):
                current = self._meta(db).get("snapshot")
                if current and json.loads(current)["generation"] >= generation:
                    raise Rollback(None)  # a newer one is already in use
                db.execute("INSERT OR REPLACE INTO meta VALUES ('snapshot', ?)", (record,))
                # Older dense indexes can no longer catch up from here: they load this snapshot.
                db.execute("DELETE FROM removed WHERE generation <= ?", (generation,))
                db.execute("UPDATE meta SET value = ? WHERE key = 'pruned_through'", (str(generation),))
        except Rollback:
            (self.folder / name).unlink(missing_ok=True)
            return
        except BaseException:
            (self.folder / name).unlink(missing_ok=True)
            raise
        self._clean_leftovers()

    def _relayout(self) -> None:
        """Build the dense index again from the database when the collection's size calls for the other
        layout (exact or approximate) or too much of an approximate one is dead. Under the folder lock,
        so no snapshot prunes the tombstones this index needs to catch up afterwards."""
        with self._lock:
            current = self._vectors
            if not self.layout.rebuild(current):
                return
            count, approximate = len(current), self.layout.approximate(len(current), current.approximate)
        log.info("building the dense index again for %d vectors: %s", count, "HNSW" if approximate else "exact")
        db = self._conn()
        rebuilt = VectorIndex(self.manifest.dimension)
        with self._reading(db):
            generation = int(self._meta(db)["generation"])
            if approximate:  # the graph is built after the read ends: a writer need not wait for it
                keys, vectors = self._all_vectors(db)
            else:
                self._catch_up(db, rebuilt, 0)
        if approximate:
            rebuilt = VectorIndex.built(self.manifest.dimension, keys, vectors, self.layout)
            del keys, vectors
        with self._lock:
            self._vectors, self._generation = rebuilt, generation
        self.refresh()

    @staticmethod
    def _live_keys(db: sqlite3.Connection) -> np.ndarray:
        return np.fromiter((k for (k,) in db.execute("SELECT key FROM passages")), np.int64)

    def _all_vectors(self, db: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
        """Every passage's key and vector, read into one array (inside the caller's read transaction)."""
        (count,) = db.execute("SELECT count(*) FROM passages").fetchone()
        keys, vectors = np.empty(count, np.int64), np.empty((count, self.manifest.dimension), np.float32)
        rows, n = db.execute("SELECT key, vector FROM passages ORDER BY key"), 0
        while batch := rows.fetchmany(_BATCH):
            keys[n : n + len(batch)] = [k for k, _ in batch]
            vectors[n : n + len(batch)] = from_blobs([v for _, v in batch], self.manifest.dimension)
            n += len(batch)
        return keys, vectors




def _write_error(folder: Path, err: sqlite3.OperationalError) -> str:
    text = str(err)
    if "full" in text:
        return f"the disk holding {folder} is full: nothing was changed (the collection is as it was)"
    if "readonly" in text or "read-only" in text:
        return f"the collection in {folder} is read-only: nothing was changed"
    return f"could not change the collection in {folder} ({text}): nothing was changed"
