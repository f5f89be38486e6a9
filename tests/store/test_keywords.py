"""The keyword index (qa.store.keywords, Tantivy): which words a question searches for, how they match,
and how the index follows the collection database: changes applied once, a generation recorded with
them, other handles seeing them, and a store that rebuilds or upgrades it when it must."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import contextmanager

import pytest

from qa.store.collection import add_articles, open_collection, remove_articles
from qa.store.keywords import Changes, KeywordIndex, KeywordIndexDamaged, query_words
from qa.store.local import DATABASE, KEYWORDS
from articles import CAIRO_TXT, SEED_ID, found, uploads

QUESTION = "How many missiles did Iraq say were fired?"


def given(changes: Changes):
    @contextmanager
    def changes_since(held: int):
        yield changes if held != changes.generation else None

    return changes_since


def test_stop_words_and_repeats_are_left_out():
    assert query_words("The Broncos win, and the Broncos lose?") == ["broncos", "win", "lose"]


def test_words_match_by_stem_and_without_accents_and_query_syntax_is_only_text(tmp_path):
    index = KeywordIndex.open(tmp_path / "kw", create=True)
    assert index.generation() == -1
    index.sync(given(Changes(1, [], [(1, "Sport\nThe universities played in the Zürich café league."),
                                      (2, "Ports\nBrisbane's harbour took in 42 ships."),
                                      (3, "Ports\nThe harbour of Oslo is closed.")])))
    assert [k for k, _ in index.search("Which university plays in Zurich?", 5)] == [1]
    (first, s1), (second, s2) = index.search("How many ships did the harbour in Brisbane take?", 5)
    assert (first, second) == (2, 3) and s1 > s2 > 0
    assert index.search('the "a" OR NOT * ( ) : [', 5) == [] and index.search("zzzqqq", 5) == []
    assert index.search("ships", 0) == []


def test_a_sync_replaces_removes_and_records_its_generation_for_every_handle(tmp_path):
    index = KeywordIndex.open(tmp_path / "kw", create=True)
    other = KeywordIndex.open(tmp_path / "kw", create=False)  # another process's view
    index.sync(given(Changes(3, [], [(1, "Oslo\nRain in Oslo."), (2, "Rome\nSun in Rome.")])))
    # the same key again replaces (a catch-up that repeats a change doubles nothing); removals go
    assert index.sync(given(Changes(5, [2], [(1, "Oslo\nSnow in Oslo.")])))
    assert not index.sync(given(Changes(5, [], [])))  # level already: nothing to commit
    assert index.generation() == 5 and index.search("rain", 5) == [] and [k for k, _ in index.search("snow oslo", 5)] == [1]
    assert other.generation() == -1  # not until it reloads
    other.reload()
    assert other.generation() == 5 and other.search("sun", 5) == [] and [k for k, _ in other.search("snow", 5)] == [1]
    index.sync(given(Changes(6, [], [(7, "Lima\nFog in Lima.")], everything=True)))
    other.reload()
    assert [k for k, _ in other.search("snow fog", 5)] == [7]


def test_a_missing_or_unreadable_folder_is_reported_as_damaged(tmp_path):
    with pytest.raises(KeywordIndexDamaged):
        KeywordIndex.open(tmp_path / "none", create=False)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "meta.json").write_text("{not an index")
    with pytest.raises(KeywordIndexDamaged, match="cannot be read"):
        KeywordIndex.open(tmp_path / "bad", create=False)


def test_a_damaged_keyword_index_is_built_again_from_the_database(settings, embedder, caplog):
    store = open_collection(settings, embedder)
    expected = [p for p, _ in found(store, store.keyword_top_k([QUESTION], 3))[0]]
    store.close()
    for f in (settings.index_dir / KEYWORDS).iterdir():
        f.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING):
        again = open_collection(settings, embedder)
    assert "building it again" in caplog.text
    # the same passages (scores move a little: Tantivy counts deleted documents until segments merge)
    assert [p for p, _ in found(again, again.keyword_top_k([QUESTION], 3))[0]] == expected


def test_a_collection_from_before_the_keyword_index_moved_out_is_upgraded(settings, embedder):
    """Collections made with FTS5 inside the database lose the FTS5 table and trigger at their next
    start, get a Tantivy index built from their passages, and remove articles as before."""
    open_collection(settings, embedder).close()
    db = sqlite3.connect(settings.index_dir / DATABASE)
    db.executescript("""
        CREATE VIRTUAL TABLE keywords USING fts5(body);
        DROP TRIGGER passage_removed;
        CREATE TRIGGER passage_removed AFTER DELETE ON passages BEGIN
            INSERT OR REPLACE INTO removed VALUES (old.key, 0);
            DELETE FROM keywords WHERE rowid = old.key;
        END;""")
    db.close()
    import shutil

    shutil.rmtree(settings.index_dir / KEYWORDS)
    store = open_collection(settings, embedder)
    names = {n for (n,) in store._conn().execute("SELECT name FROM sqlite_master")}
    assert "keywords" not in names and "passage_removed" in names
    assert any("22 missiles" in p.text for p, _ in found(store, store.keyword_top_k([QUESTION], 3))[0])
    add_articles(settings, uploads(("cairo.txt", CAIRO_TXT.encode())), store, embedder)
    remove_articles(settings, [SEED_ID], store)
    assert found(store, store.keyword_top_k(["snow in Cairo"], 1))[0][0][0].article_id == "cairo"
    assert SEED_ID not in {p.article_id for p, _ in found(store, store.keyword_top_k([QUESTION], 20))[0]}
    assert store._conn().execute("SELECT count(*) FROM removed").fetchone()[0] > 0



def test_the_files_of_a_commit_killed_before_it_was_published_do_not_stop_the_next_writer(tmp_path):
    """kill -9 inside Tantivy's commit leaves the files it wrote (registered in .managed.json) while
    meta.json still names the last commit. The next writer repeats the same operations, so the same
    operation numbers and the same file names (a segment's deletes, `SEGMENT.OPSTAMP.del`): it must
    clear the dead commit's files first. Made here exactly: a commit whose meta.json is put back."""
    import shutil

    folder = tmp_path / "kw"
    first = Changes(1, [], [(1, "Oslo\nRain in Oslo."), (2, "Rome\nSun in Rome.")])
    second = Changes(2, [2], [(3, "Lima\nFog in Lima.")])  # deletes from the first commit's segment
    KeywordIndex.open(folder, create=True).sync(given(first))
    shutil.copy(folder / "meta.json", tmp_path / "meta-1.json")
    KeywordIndex.open(folder, create=False).sync(given(second))
    assert [f.name for f in folder.glob("*.del")]
    shutil.copy(tmp_path / "meta-1.json", folder / "meta.json")  # the second commit was never published

    index = KeywordIndex.open(folder, create=False)
    assert index.generation() == 1
    assert index.sync(given(second))
    assert index.generation() == 2 and index.search("sun", 3) == [] and [k for k, _ in index.search("fog", 3)] == [3]
