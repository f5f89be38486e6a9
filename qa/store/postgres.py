"""The PostgreSQL store: the collection in a PostgreSQL database with pgvector, shared by any number of
processes and machines (`QA_STORE=postgresql://user:password@host:port/db`).

Why PostgreSQL: when an archive outgrows one machine, or many people ask at once, the collection must
live in an engine that scales out (streaming replicas for reads, Citus or a managed service beyond),
not in one process's files. Everything is in the database, so nothing is held in memory or caught up:

- `qa_articles`, `qa_passages` (text, character offsets, the vector as pgvector `vector`, the keyword
  index as a `tsvector` with its length), `qa_lexemes` (how many passages hold each word stem, for
  BM25's inverse document frequency), `qa_meta` (schema version, manifest, generation, counts),
  `qa_sources` (bulk-ingest checkpoints), `qa_commits` (one line per change).
- Dense search: an HNSW index on inner product (vectors are unit length, so it is cosine).
- Keyword search: PostgreSQL's English full-text search (`to_tsvector`, a GIN index) finds the
  passages holding any of the question's words; they are ranked by Okapi BM25 (k1 1.2, b 0.75, as the
  local store's Tantivy index), computed from the stored term frequencies, passage lengths and the
  `qa_lexemes` counts, because PostgreSQL's own `ts_rank` has no inverse document frequency.

Every change is one transaction that first locks the generation row: writers take turns (an add's
duplicate and id checks hold under races), a crash commits nothing, and readers (each statement sees
committed data only) never see half an article.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import replace
from typing import Iterable, Iterator, Sequence

import numpy as np

from qa.schema import Article, Passage
from qa.store.base import (
    ArticleEntry, Change, Checkpoint, Manifest, NewArticle, Scored, StoreReadOnly, StoreUnusable, Written, titled,
)
from qa.store.rows import ARTICLE_COLUMNS, PASSAGE_COLUMNS, Rollback, article_by, free_id, now, passage_of, runs_text
from qa.store.keywords import query_words

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
K1, B = 1.2, 0.75

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE qa_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE qa_articles (
    key bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    content_key text NOT NULL UNIQUE,
    title text NOT NULL, text text NOT NULL, source text NOT NULL, date text NOT NULL, url text NOT NULL,
    origin text NOT NULL,
    generation bigint NOT NULL
);
CREATE TABLE qa_passages (
    key bigserial PRIMARY KEY,
    article bigint NOT NULL REFERENCES qa_articles(key) ON DELETE CASCADE,
    position integer NOT NULL,
    text text NOT NULL, start integer NOT NULL, "end" integer NOT NULL, runs text NOT NULL,
    embedding vector({dimension}) NOT NULL,
    body tsvector NOT NULL,
    length integer NOT NULL,
    generation bigint NOT NULL
);
CREATE INDEX qa_passages_by_article ON qa_passages (article, position);
CREATE INDEX qa_passages_body ON qa_passages USING gin (body);
CREATE INDEX qa_passages_embedding ON qa_passages USING hnsw (embedding vector_ip_ops);
CREATE TABLE qa_lexemes (lexeme text PRIMARY KEY, passages integer NOT NULL);
CREATE TABLE qa_sources (source text PRIMARY KEY, "offset" bigint NOT NULL, line bigint NOT NULL, generation bigint NOT NULL);
CREATE TABLE qa_commits (generation bigint PRIMARY KEY, at text NOT NULL, added integer NOT NULL,
                         removed integer NOT NULL, note text NOT NULL);
"""


# How many passages hold each stem of these passages' keyword index (to add to or take from qa_lexemes).
_STEMS_OF = "SELECT u.lexeme, count(*) FROM qa_passages p, unnest(p.body) u WHERE {where} GROUP BY u.lexeme"

_BM25 = f"""
WITH words AS (
    SELECT l.lexeme, ln(1 + (%(n)s - l.passages + 0.5) / (l.passages + 0.5)) AS idf
    FROM qa_lexemes l
    WHERE l.lexeme = ANY(tsvector_to_array(to_tsvector('english', %(text)s))) AND l.passages > 0
)
SELECT p.key, sum(w.idf * t.tf * {K1 + 1} / (t.tf + {K1} * ({1 - B} + {B} * p.length / %(average)s))) AS score
FROM qa_passages p
CROSS JOIN LATERAL (SELECT u.lexeme, coalesce(array_length(u.positions, 1), 1) AS tf FROM unnest(p.body) u) t
JOIN words w ON w.lexeme = t.lexeme
WHERE p.body @@ (SELECT to_tsquery('simple', string_agg(quote_literal(lexeme), ' | ')) FROM words)
GROUP BY p.key
ORDER BY score DESC, p.key
LIMIT %(k)s
"""


def masked(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class PostgresStore:
    """The collection in the PostgreSQL database at `url` (see the module docstring)."""

    shared = True

    def __init__(self, url: str, search_depth: int) -> None:
        self.url, self.location = url, masked(url)
        self.search_depth = search_depth
        self.read_only = False
        self._local = threading.local()
        self._connections: list = []
        self._generation = 0
        self.manifest: Manifest | None = None

    @classmethod
    def open(cls, url: str, manifest: Manifest, search_depth: int = 128) -> "PostgresStore":
        """The collection at `url`, its tables created (empty, with `manifest`) if there are none. Its
        `manifest` is the stored one, which may differ from the one given: the caller decides."""
        store = cls(url, search_depth)
        # A streaming replica answers reads; changes go to its primary.
        store.read_only = store._conn().execute("SELECT pg_is_in_recovery()").fetchone()[0]
        if not store.read_only:
            store._create(manifest)
        elif store._conn().execute("SELECT to_regclass('qa_meta') IS NULL").fetchone()[0]:
            raise StoreUnusable(f"{store.location} is a read-only replica with no collection in it yet")
        store.refresh()
        return store

    def _create(self, manifest: Manifest) -> None:
        with self._transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(hashtext('article-qa schema'))")  # two first starts at once
            exists = db.execute("SELECT to_regclass('qa_meta') IS NOT NULL").fetchone()[0]
            if exists:
                version = int(self._meta(db).get("schema_version", 0))
                if version != SCHEMA_VERSION:
                    raise StoreUnusable(f"the collection at {self.location} has schema version {version}, and this "
                                        f"version of article-qa reads {SCHEMA_VERSION}: upgrade article-qa")
                return
            db.execute(SCHEMA.format(dimension=manifest.dimension))
            from pgvector.psycopg import register_vector

            register_vector(db)
            values = {"schema_version": str(SCHEMA_VERSION), "manifest": json.dumps(manifest.to_dict()),
                      "generation": "0", "articles": "0", "passages": "0", "length": "0", "created_at": now()}
            for key, value in values.items():
                db.execute("INSERT INTO qa_meta VALUES (%s, %s)", (key, value))

    # --- connections -------------------------------------------------------------------------------

    def _conn(self):
        db = getattr(self._local, "db", None)
        if db is None or db.closed:
            import psycopg
            from pgvector.psycopg import register_vector

            try:
                db = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            except psycopg.OperationalError as err:
                raise StoreUnusable(f"cannot reach the collection at {self.location}: "
                                    f"{str(err).strip().splitlines()[-1]}") from err
            try:
                register_vector(db)
            except psycopg.ProgrammingError:  # no vector type yet: `_create` makes it, then registers it
                pass
            self._local.db = db
            self._connections.append(db)
        return db

    @contextmanager
    def _transaction(self) -> Iterator:
        import psycopg

        db = self._conn()
        try:
            with db.transaction():
                yield db
        except psycopg.OperationalError as err:
            raise StoreUnusable(f"could not change the collection at {self.location} ({err}): nothing was changed") from err

    def close(self) -> None:
        for db in self._connections:
            db.close()
        self._connections.clear()
        self._local = threading.local()

    @staticmethod
    def _meta(db) -> dict[str, str]:
        return dict(db.execute("SELECT key, value FROM qa_meta").fetchall())

    # --- reading -----------------------------------------------------------------------------------

    def generation(self) -> int:
        return self._generation

    def dense_index(self) -> str:
        return "HNSW (pgvector)"

    def refresh(self) -> bool:
        meta = self._meta(self._conn())
        generation = int(meta["generation"])
        self.manifest = Manifest.from_dict(json.loads(meta["manifest"]))
        moved, self._generation = generation != self._generation, generation
        return moved

    def article(self, article_id: str) -> Article:
        found = article_by(self._conn(), "qa_articles", "id", article_id, "%s")
        if found is None:
            raise KeyError(article_id)
        return found

    def entries(self, limit: int | None = None) -> list[ArticleEntry]:
        rows = self._conn().execute("SELECT id, title, origin FROM qa_articles ORDER BY key LIMIT %s", (limit,))
        return [ArticleEntry(*row) for row in rows]

    def article_count(self) -> int:
        return int(self._meta(self._conn())["articles"])

    def article_ids(self) -> list[str]:
        return [i for (i,) in self._conn().execute("SELECT id FROM qa_articles ORDER BY key")]

    def passage_count(self) -> int:
        return int(self._meta(self._conn())["passages"])

    def article_passages(self, article_id: str) -> list[Passage]:
        rows = self._conn().execute(
            f"SELECT {PASSAGE_COLUMNS} FROM qa_passages p JOIN qa_articles a ON a.key = p.article "
            "WHERE a.id = %s ORDER BY p.position", (article_id,))
        return [passage_of(row) for row in rows]

    def stored(self, keys: Iterable[str]) -> dict[str, Article]:
        rows = self._conn().execute(f"SELECT content_key, {ARTICLE_COLUMNS} FROM qa_articles WHERE content_key = ANY(%s)",
                                    (list(dict.fromkeys(keys)),))
        return {row[0]: Article(*row[1:]) for row in rows}

    def checkpoint(self, source: str) -> Checkpoint | None:
        row = self._conn().execute('SELECT "offset", line FROM qa_sources WHERE source = %s', (source,)).fetchone()
        return Checkpoint(source, *row) if row else None

    def dense_top_k(self, queries: np.ndarray, k: int) -> list[list[Scored]]:
        out = []
        with self._transaction() as db:
            # pgvector's HNSW search returns at most ef_search rows, 40 unless told
            db.execute(f"SET LOCAL hnsw.ef_search = {int(max(k, self.search_depth))}")
            for query in np.asarray(queries, dtype=np.float32):
                rows = db.execute("SELECT key, -(embedding <#> %(q)s) FROM qa_passages ORDER BY embedding <#> %(q)s LIMIT %(k)s",
                                  {"q": query, "k": k})
                out.append([(key, float(score)) for key, score in rows])
        return out

    def keyword_top_k(self, questions: Sequence[str], k: int) -> list[list[Scored]]:
        db = self._conn()
        meta = self._meta(db)
        n, length = int(meta["passages"]), int(meta["length"])
        out = []
        for question in questions:
            words = query_words(question)
            if not words or k <= 0 or not n:  # only stop words: no evidence, no hits
                out.append([])
                continue
            rows = db.execute(_BM25, {"n": n, "average": max(length / n, 1.0), "text": " ".join(words), "k": k})
            out.append([(key, float(score)) for key, score in rows])
        return out

    def passages(self, keys: Iterable[int]) -> dict[int, Passage]:
        rows = self._conn().execute(f"SELECT {PASSAGE_COLUMNS} FROM qa_passages p JOIN qa_articles a ON a.key = p.article "
                                    "WHERE p.key = ANY(%s)", (list(keys),))
        return {row[0]: passage_of(row) for row in rows}

    # --- writing -----------------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[tuple[object, int]]:
        """A write transaction, after every earlier writer's (the generation row is locked until it
        commits), and the generation it commits."""
        if self.read_only:
            raise StoreReadOnly(f"the collection at {self.location} is a read-only replica: "
                                "add and remove articles on its primary")
        with self._transaction() as db:
            (value,) = db.execute("SELECT value FROM qa_meta WHERE key = 'generation' FOR UPDATE").fetchone()
            generation = int(value) + 1
            db.execute("UPDATE qa_meta SET value = %s WHERE key = 'generation'", (str(generation),))
            yield db, generation

    def write(self, change: Change) -> Written:
        try:
            with self._writing() as (db, generation):
                written = self._apply(db, generation, change)
                if written.generation != generation:
                    raise Rollback(written)
                self._set_counts(db)
                db.execute("INSERT INTO qa_commits VALUES (%s, %s, %s, %s, %s)",
                           (generation, now(), len(written.added), len(written.removed), change.note))
        except Rollback as nothing:
            return nothing.written
        self.refresh()
        return written

    def _apply(self, db, generation: int, change: Change) -> Written:
        ids = list(dict.fromkeys(change.remove))
        removed = [article_by(db, "qa_articles", "id", i, "%s") for i in ids]
        missing = tuple(i for i, a in zip(ids, removed) if a is None)
        if missing:
            return Written(self._generation, missing=missing)
        if ids:
            self._count_stems(db, "p.article IN (SELECT key FROM qa_articles WHERE id = ANY(%s))", (ids,), -1)
            db.execute("DELETE FROM qa_lexemes WHERE passages <= 0")
            db.execute("DELETE FROM qa_articles WHERE id = ANY(%s)", (ids,))  # passages go with them
        added, duplicates = [], []
        for new in change.add:
            twin = article_by(db, "qa_articles", "content_key", new.key, "%s")
            if twin is not None:
                duplicates.append((new, twin))
                continue
            article = replace(new.article, id=free_id(db, "qa_articles", new.article.id, "%s"))
            (key,) = db.execute(
                "INSERT INTO qa_articles (id, content_key, title, text, source, date, url, origin, generation) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING key",
                (article.id, new.key, article.title, article.text, article.source, article.date, article.url,
                 new.origin, generation)).fetchone()
            self._insert_passages(db, key, article, new, generation)
            added.append(article)
        if added:
            self._count_stems(db, "p.generation = %s", (generation,), +1)
        if change.checkpoint is not None:
            c = change.checkpoint
            db.execute('INSERT INTO qa_sources VALUES (%s, %s, %s, %s) ON CONFLICT (source) DO UPDATE '
                       'SET "offset" = excluded."offset", line = excluded.line, generation = excluded.generation',
                       (c.source, c.offset, c.line, generation))
        if not (added or ids or change.checkpoint):
            return Written(self._generation, duplicates=tuple(duplicates))
        return Written(generation, tuple(added), tuple(duplicates), tuple(a for a in removed if a))

    @staticmethod
    def _insert_passages(db, article_key: int, article: Article, new: NewArticle, generation: int) -> None:
        with db.cursor() as cursor:
            cursor.executemany(
                'INSERT INTO qa_passages (article, position, text, start, "end", runs, embedding, body, length, generation) '
                "SELECT %s, %s, %s, %s, %s, %s, %s, v, (SELECT coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0) "
                "FROM unnest(v) u), %s FROM to_tsvector('english', %s) v",
                [(article_key, p.index, p.text, p.start, p.end, runs_text(p), np.asarray(vector, np.float32),
                  generation, titled(article.title, p.text)) for p, vector in zip(new.passages, new.vectors)])

    @staticmethod
    def _count_stems(db, where: str, params: tuple, sign: int) -> None:
        """Add (sign +1) or take (-1) the stems of the passages matching `where` to or from qa_lexemes."""
        db.execute(f"INSERT INTO qa_lexemes (lexeme, passages) {_STEMS_OF.format(where=where)} "
                   f"ON CONFLICT (lexeme) DO UPDATE SET passages = qa_lexemes.passages + {sign} * excluded.passages",
                   params)

    @staticmethod
    def _set_counts(db) -> None:
        db.execute("UPDATE qa_meta SET value = (SELECT count(*) FROM qa_articles)::text WHERE key = 'articles'")
        db.execute("UPDATE qa_meta SET value = (SELECT count(*) FROM qa_passages)::text WHERE key = 'passages'")
        db.execute("UPDATE qa_meta SET value = (SELECT coalesce(sum(length), 0) FROM qa_passages)::text WHERE key = 'length'")

    def rebuild(self, manifest: Manifest, batches: Iterable[Sequence[NewArticle]]) -> None:
        with self._writing() as (db, generation):
            db.execute("DELETE FROM qa_passages")
            db.execute("DELETE FROM qa_lexemes")
            db.execute("DROP INDEX qa_passages_embedding")
            db.execute(f"ALTER TABLE qa_passages ALTER COLUMN embedding TYPE vector({manifest.dimension})")
            for batch in batches:
                for new in batch:
                    (key,) = db.execute("SELECT key FROM qa_articles WHERE id = %s", (new.article.id,)).fetchone()
                    self._insert_passages(db, key, new.article, new, generation)
            db.execute("CREATE INDEX qa_passages_embedding ON qa_passages USING hnsw (embedding vector_ip_ops)")
            self._count_stems(db, "true", (), +1)
            db.execute("UPDATE qa_meta SET value = %s WHERE key = 'manifest'", (json.dumps(manifest.to_dict()),))
            self._set_counts(db)
            db.execute("INSERT INTO qa_commits VALUES (%s, %s, 0, 0, %s)", (generation, now(), "rebuilt: " + manifest.embedder))
        self.refresh()


