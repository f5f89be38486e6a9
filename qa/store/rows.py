"""What the SQL stores (qa.store.local: SQLite; qa.store.postgres: PostgreSQL) share: how rows become
articles and passages, the free-id rule, and the rollback of a write that changed nothing. `mark` is
the driver's parameter placeholder ("?" for sqlite3, "%s" for psycopg)."""

from __future__ import annotations

import json
import time

from qa.schema import Article, Passage
from qa.store.base import Written

ARTICLE_COLUMNS = "id, title, text, source, date, url"
PASSAGE_COLUMNS = 'p.key, a.id, p.position, p.text, p.start, p."end", p.runs'  # passages p JOIN articles a


class Rollback(Exception):
    """Rolls back a write transaction that turned out to change nothing, carrying what to report."""

    def __init__(self, written: Written | None) -> None:
        self.written = written


def article_by(db, table: str, column: str, value: str, mark: str) -> Article | None:
    """The article whose `column` (id or content_key, both unique) is `value`."""
    row = db.execute(f"SELECT {ARTICLE_COLUMNS} FROM {table} WHERE {column} = {mark}", (value,)).fetchone()
    return Article(*row) if row else None


def free_id(db, table: str, wanted: str, mark: str) -> str:
    """`wanted`, or with the first suffix (-2, -3, ...) no article has: an add never replaces another."""
    candidate, n = wanted, 2
    while db.execute(f"SELECT 1 FROM {table} WHERE id = {mark}", (candidate,)).fetchone():
        candidate, n = f"{wanted}-{n}", n + 1
    return candidate


def passage_of(row) -> Passage:
    """A row of PASSAGE_COLUMNS (its key first) as a Passage."""
    _, article_id, position, text, start, end, runs = row
    return Passage(article_id, position, text, start, end, tuple(tuple(r) for r in json.loads(runs)))


def runs_text(p: Passage) -> str:
    return json.dumps(p.runs)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")
