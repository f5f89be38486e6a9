"""The local store (SQLite + FAISS): what is stored is what is read back, by this process and others;
crashes at any write step, racing writers, a full disk and a read-only folder lose nothing committed.
Real embedder, real FAISS, real SQLite; writer processes are real processes (tests/store/writer.py)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa.ingest.sources import Source
from qa.store.base import StoreReadOnly, StoreUnusable
from qa.store.collection import add_articles, open_collection, remove_articles
from qa.store.local import DATABASE, LocalStore
from articles import CAIRO_TXT, SEED_ID, all_passages, found, uploads

WRITER = Path(__file__).with_name("writer.py")
QUESTION = "How many missiles did Iraq say were fired?"


def archive(path: Path, n: int, first: int = 0) -> Path:
    """n distinct one-fact stories, one per JSONL line."""
    lines = [json.dumps({"title": f"Harbour report {i}",
                         "text": f"The harbour master of port {i} said that {100 + i} ships docked in week {i}."})
             for i in range(first, first + n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def consistent(folder: Path, settings, embedder) -> LocalStore:
    """Open the collection as a reader would and check that it is whole: counts agree, every article has
    its passages and every passage its vector and keyword entry, nothing is stored twice, no temporary
    file is left."""
    store = open_collection(settings.replace(index_dir=folder), embedder)
    entries = store.entries()
    passages = all_passages(store)
    assert store.article_count() == len(entries) and store.passage_count() == len(passages)
    assert len(store._vectors) == len(passages)
    # the keyword index holds this generation: every passage once, and the marker of its generation
    assert store._keywords.generation() == store.generation()
    assert store._keywords._searcher.num_docs == len(passages) + 1
    assert len({e.id for e in entries}) == len(entries)
    titles = [e.title for e in entries]
    assert len(set(titles)) == len(titles), "an article was stored twice"
    assert all(store.article_passages(e.id) for e in entries)
    assert not [p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".new"))]
    return store


def run_writer(folder: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(WRITER), str(folder), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)
    if check:
        assert done.returncode in (0, 2), done.stderr[-3000:]
    return done


# --- what is stored is what is read ---------------------------------------------------------------


def test_reopened_collection_is_the_same_and_embeds_nothing(settings, counting):
    first = open_collection(settings, counting)
    assert first.article_count() == 2 and len(counting.texts) == first.passage_count() > 0
    counting.texts.clear()
    again = open_collection(settings, counting)
    assert counting.texts == [] and again.entries() == first.entries()
    q = counting.encode([QUESTION])
    assert [p for p, _ in found(again, again.dense_top_k(q, 5))[0]] == [p for p, _ in found(first, first.dense_top_k(q, 5))[0]]
    assert found(again, again.keyword_top_k([QUESTION], 3)) == found(first, first.keyword_top_k([QUESTION], 3))
    assert again.manifest.dimension == 384 and again.manifest.embedder == counting.identity


def test_keyword_search_ranks_by_bm25_and_ignores_query_syntax(settings, embedder):
    store = open_collection(settings, embedder)
    (hits,) = found(store, store.keyword_top_k(["How many missiles did Iraq say were fired?"], 3))
    assert any("22 missiles" in p.text for p, _ in hits) and hits[0][1] >= hits[-1][1] > 0
    assert found(store, store.keyword_top_k(['the "a" OR NOT * ( )', "zzzqqq"], 3)) == [[], []]


def test_another_store_sees_commits_at_refresh(settings, embedder):
    """The chat's store and a CLI's are two objects on one folder: each sees the other's commits at its
    next refresh, reading only what changed."""
    chat = open_collection(settings, embedder)
    cli = open_collection(settings, embedder)
    add_articles(settings, uploads(("cairo.txt", CAIRO_TXT.encode())), cli, embedder)
    q = embedder.encode(["When did it snow in Cairo?"])
    assert all(p.article_id != "cairo" for p, _ in found(chat, chat.dense_top_k(q, 5))[0])
    assert chat.refresh() and chat.generation() == cli.generation()
    assert found(chat, chat.dense_top_k(q, 1))[0][0][0].article_id == "cairo"
    remove_articles(settings, [SEED_ID], cli)
    chat.refresh()
    assert SEED_ID not in {p.article_id for p, _ in found(chat, chat.dense_top_k(embedder.encode([QUESTION]), 20))[0]}
    assert SEED_ID not in {p.article_id for p, _ in found(chat, chat.keyword_top_k([QUESTION], 20))[0]}
    with pytest.raises(KeyError):
        chat.article(SEED_ID)
    assert not chat.refresh()  # nothing new


def test_a_collection_that_grows_gets_an_approximate_dense_index_and_keeps_every_change(settings, embedder, tmp_path):
    """Past `hnsw_from` passages the dense index becomes an HNSW graph (small thresholds here: the switch
    is plumbing, its quality is measured by scripts/bench_vectors.py), built and written as a snapshot
    by the write that crossed it; other stores load it; removed passages are never found again, also by
    a store loading a snapshot that still holds their vectors; a graph a fifth dead is built again;
    shrinking brings the exact index back."""
    import faiss

    settings = settings.replace(seeds_dir="", hnsw_from=200, snapshot_every=10**9)
    writer = open_collection(settings, embedder)
    add_articles(settings, [Source.file(archive(tmp_path / "a.jsonl", 150))], writer, embedder)
    assert not writer._vectors.approximate and not list(settings.index_dir.glob("vectors-*.faiss"))
    add_articles(settings, [Source.file(archive(tmp_path / "a2.jsonl", 150, first=150))], writer, embedder)
    assert writer._vectors.approximate
    (snapshot,) = settings.index_dir.glob("vectors-*.faiss")
    assert isinstance(faiss.downcast_index(faiss.read_index(str(snapshot)).index), faiss.IndexHNSW)

    def finds_itself(store, article_id: str) -> bool:
        (passage,) = store.article_passages(article_id)
        vector = embedder.encode([f"{store.article(article_id).title}\n{passage.text}"])
        return found(store, store.dense_top_k(vector, 1))[0][0][0].article_id == article_id

    def found_ids(store) -> set[str]:
        return {p.article_id for p, _ in found(store, store.dense_top_k(embedder.encode(["Harbour report 3"]), 300))[0]}

    reader = open_collection(settings, embedder)
    assert reader._vectors.approximate and len(reader._vectors) == 300
    ids = [e.id for e in reader.entries()]
    assert all(finds_itself(reader, i) for i in ids[::25])

    remove_articles(settings, ids[:30], writer)  # a tenth: their vectors stay in the graph, dead
    assert reader.refresh() and len(reader._vectors) == 270 and reader._vectors.stored == 300
    assert len(found_ids(reader)) > 200 and not found_ids(reader) & set(ids[:30])
    writer.snapshot()
    assert writer._vectors.stored == 300  # written as it is
    fresh = open_collection(settings, embedder)
    assert len(fresh._vectors) == 270 and len(found_ids(fresh)) > 200 and not found_ids(fresh) & set(ids[:30])

    remove_articles(settings, ids[30:90], writer)  # 90 of 300 dead: built again without them
    assert writer._vectors.approximate and writer._vectors.stored == 210
    add_articles(settings, [Source.file(archive(tmp_path / "b.jsonl", 5, first=1000))], writer, embedder)
    assert reader.refresh() and len(reader._vectors) == 215
    assert all(finds_itself(reader, e.id) for e in reader.entries()[-5:])
    assert open_collection(settings, embedder)._vectors.stored == 210 + 5 and not found_ids(writer) & set(ids[:90])

    remove_articles(settings, ids[90:250], writer)  # 55 passages: below half the threshold, exact again
    assert not writer._vectors.approximate and len(writer._vectors) == 55
    assert reader.refresh() and len(reader._vectors) == 55
    assert not open_collection(settings, embedder)._vectors.approximate


def test_collection_from_another_model_is_indexed_again(settings, embedder, caplog):
    store = open_collection(settings, embedder)
    before = store.passage_count()
    store.close()
    db = sqlite3.connect(settings.index_dir / DATABASE)
    with db:
        manifest = json.loads(db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()[0])
        db.execute("UPDATE meta SET value = ? WHERE key = 'manifest'", (json.dumps(dict(manifest, embedder="other/model")),))
    db.close()
    with caplog.at_level("WARNING"):
        again = open_collection(settings, embedder)
    assert "indexed with another embedder" in caplog.text
    assert again.manifest.embedder == embedder.identity and again.passage_count() == before
    assert found(again, again.dense_top_k(embedder.encode([QUESTION]), 1))[0][0][0].article_id == SEED_ID


def test_a_damaged_snapshot_is_rebuilt_from_the_database(settings, embedder, caplog):
    settings = settings.replace(snapshot_every=1)
    store = open_collection(settings, embedder)
    snapshots = list(settings.index_dir.glob("vectors-*.faiss"))
    assert len(snapshots) == 1
    want = found(store, store.dense_top_k(embedder.encode([QUESTION]), 5))
    snapshots[0].write_bytes(b"garbage")
    with caplog.at_level("WARNING"):
        again = LocalStore.open(settings.index_dir, store.manifest)
    assert "missing or damaged" in caplog.text
    assert found(again, again.dense_top_k(embedder.encode([QUESTION]), 5)) == want


def test_a_damaged_database_is_a_clear_error_not_a_traceback(settings, embedder, tmp_path):
    open_collection(settings, embedder).close()
    for name in os.listdir(settings.index_dir):
        if name.startswith(DATABASE):
            (settings.index_dir / name).unlink()
    (settings.index_dir / DATABASE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreUnusable, match="damaged or not a collection"):
        open_collection(settings, embedder)
    done = subprocess.run([sys.executable, "-m", "qa", "list", "--index", str(settings.index_dir)],
                          capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 2 and "Traceback" not in done.stderr and "damaged" in done.stderr


# --- crashes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("crash", ["passage:7", "committed:2", "snapshot-file:1", "snapshot-record:1"])
def test_a_crash_at_any_write_step_keeps_the_last_commit_and_the_rerun_completes(tmp_path, settings, embedder, crash):
    """Die mid-transaction, just after a commit, and on either side of a snapshot's rename: the
    collection opens in its last committed state, and running the same add again finishes the job."""
    folder, feed = tmp_path / "crash", archive(tmp_path / "feed.jsonl", 12)
    env = {"QA_INGEST_BATCH": "4", "QA_SNAPSHOT_EVERY": "6"}
    died = run_writer(folder, str(feed), "--crash", crash, env=env, check=False)
    assert died.returncode == 137, died.stderr[-2000:]
    store = consistent(folder, settings, embedder)
    committed = store.article_count()
    assert committed % 4 == 2  # the seeds and whole batches of 4, never part of one
    store.close()
    resumed = run_writer(folder, str(feed), env=env)
    assert ("resuming feed.jsonl" in resumed.stdout) == (committed > 2)
    store = consistent(folder, settings, embedder)
    assert store.article_count() == 2 + 12
    assert "skipped" not in resumed.stdout  # resumed from the checkpoint: nothing re-read as a duplicate


@pytest.mark.slow
def test_kill_9_twice_during_a_bulk_add_then_resume_loses_and_doubles_nothing(tmp_path, settings, embedder, reader):
    """The issue's bulk-ingest check with real kill -9: every article is there once and answers."""
    from qa.answering.pipeline import Pipeline
    from qa.retrieval.retrievers import make_retriever

    folder, n = tmp_path / "bulk", 40
    feed = archive(tmp_path / "feed.jsonl", n)
    env = {**os.environ, "QA_INGEST_BATCH": "2", "QA_SNAPSHOT_EVERY": "10", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "qa", "add", str(feed), "--index", str(folder)]
    for kill_after in (6, 14):  # generations committed before the kill
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if (folder / DATABASE).exists():
                try:
                    db = sqlite3.connect(f"file:{folder / DATABASE}?mode=ro", uri=True)
                    generation = int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
                    db.close()
                except sqlite3.Error:
                    generation = 0
                if generation >= kill_after:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, "the add finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        consistent(folder, settings, embedder).close()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "resuming feed.jsonl" in done.stdout, done.stderr[-2000:]
    store = consistent(folder, settings, embedder)
    assert store.article_count() == 2 + n and store.passage_count() == 18 + n
    s = settings.replace(index_dir=folder)
    pipeline = Pipeline(s, embedder, store, reader, make_retriever(store, embedder, s))
    for i in range(0, n, 7):
        response = pipeline.ask(f"How many ships docked in port {i} in week {i}?")
        assert response.answers[0].text == str(100 + i), (i, response.answers[0])


# --- racing writers ------------------------------------------------------------------------------


def test_two_writers_at_once_neither_overwrites_nor_doubles(tmp_path, settings, embedder):
    """Two processes, released at the same moment: the same file name with different texts gives two
    articles (the second id gets a suffix); the same text under two names is stored once."""
    folder = tmp_path / "race"
    open_collection(settings.replace(index_dir=folder), embedder).close()
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()
    (a / "story.txt").write_text("Rain in Oslo\nIt rained in Oslo for nine days in a row.\n")
    (b / "story.txt").write_text("Sun in Rome\nThe sun shone in Rome for forty days.\n")
    (c / "same.txt").write_text(CAIRO_TXT)
    (a / "cairo.txt").write_text(CAIRO_TXT)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, str(WRITER), str(folder), str(d), "--wait-for", str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for d in (a, b, c)]
    time.sleep(1)
    go.touch()
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode in (0, 2) for p in procs), [o[1][-2000:] for o in outputs]
    store = consistent(folder, settings, embedder)
    assert sorted(e.title for e in store.entries() if not e.id.startswith("00")) == [
        "Rain in Oslo", "Snow in Cairo", "Sun in Rome"]
    assert sorted(e.id for e in store.entries() if e.id.startswith("story")) == ["story", "story-2"]
    assert sum("same text as article" in out for out, _ in outputs) == 1


# --- full disk, read-only folder ------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A real 3 MB file system (tmpfs), where the machine lets us mount one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or 'not permitted'})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_refuses_the_change_and_keeps_the_collection(small_disk, settings, embedder):
    settings = settings.replace(index_dir=small_disk / "index")
    store = open_collection(settings, embedder)
    before = store.entries()
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    (small_disk / "filler").write_bytes(b"\0" * (free - 40_000))  # leave less than the article needs
    report = "A long report\n" + "".join(f"Paragraph {i} says that ship {i} carried {i * 7} tonnes of grain to port.\n"
                                         for i in range(400))
    with pytest.raises(StoreUnusable, match="disk holding .* is full: nothing was changed"):
        add_articles(settings, uploads(("big.txt", report.encode())), store, embedder)
    assert store.entries() == before
    store.close()
    again = consistent(settings.index_dir, settings, embedder)
    assert again.entries() == before
    assert found(again, again.dense_top_k(embedder.encode([QUESTION]), 1))[0][0][0].article_id == SEED_ID


def test_a_read_only_collection_answers_and_refuses_changes_clearly(small_disk, settings, embedder):
    """Behind its snapshot (changes since are read from the database in memory), on a read-only mount."""
    settings = settings.replace(index_dir=small_disk / "index", snapshot_every=1)
    store = open_collection(settings, embedder)
    store.snapshot_every = 10**9
    add_articles(settings, uploads(("cairo.txt", CAIRO_TXT.encode())), store, embedder)
    store.close()
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)]).returncode == 0
    ro = LocalStore.open(settings.index_dir, store.manifest)
    assert ro.read_only and ro.article_count() == 3
    assert found(ro, ro.dense_top_k(embedder.encode(["When did it snow in Cairo?"]), 1))[0][0][0].article_id == "cairo"
    with pytest.raises(StoreReadOnly, match="read-only"):
        remove_articles(settings, ["cairo"], ro)
    assert np.isfinite(found(ro, ro.keyword_top_k([QUESTION], 1))[0][0][1])


def test_readers_answer_from_the_last_commit_while_a_writer_is_mid_transaction(settings, embedder):
    """WAL: a bulk add holding the write lock never makes the chat wait, and the chat sees none of it
    until it commits."""
    import threading

    chat = open_collection(settings, embedder)
    writer = open_collection(settings, embedder)
    inside, release = threading.Event(), threading.Event()
    insert = writer._insert_passages

    def held(*args, **kwargs):
        inside.set()
        release.wait(60)
        return insert(*args, **kwargs)

    writer._insert_passages = held
    adding = threading.Thread(target=add_articles, args=(settings, uploads(("cairo.txt", CAIRO_TXT.encode())), writer, embedder))
    adding.start()
    try:
        assert inside.wait(60)
        started = time.monotonic()
        assert not chat.refresh() and chat.article_count() == 2
        assert found(chat, chat.keyword_top_k(["snow Cairo"], 5)) == [[]]
        assert found(chat, chat.dense_top_k(embedder.encode([QUESTION]), 1))[0][0][0].article_id == SEED_ID
        assert time.monotonic() - started < 5  # read without waiting for the writer
    finally:
        release.set()
        adding.join(60)
    assert chat.refresh() and chat.article("cairo").title == "Snow in Cairo"
