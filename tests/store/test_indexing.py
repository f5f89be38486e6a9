"""The incremental index (qa.store.indexing): an update embeds only new or changed articles and gives what a full build gives."""

from __future__ import annotations


import numpy as np

from qa.ingest.corpus import load_corpus
from qa.store.indexing import build_store, open_store
from qa.store.local import LocalStore
from articles import CAIRO_TXT, LAGOS, PAGE, SEED_ID, jsonl, manifest, same_index


# --- incremental index --------------------------------------------------------------------------


def test_new_article_is_embedded_alone_and_matches_a_full_rebuild(settings, corpus, counting, embedder, caplog):
    first, _ = open_store(settings, counting)
    assert len(counting.texts) == len(first.passages)
    counting.texts.clear()

    (corpus / "cairo.html").write_text(PAGE)
    with caplog.at_level("INFO", logger="qa.store.indexing"):
        updated, _ = open_store(settings, counting)
    new = [p for p in updated.passages if p.article_id == "cairo"]
    assert new and len(counting.texts) == len(new)  # only the new article's passages were embedded
    assert all("Snow falls in Cairo" in t for t in counting.texts)
    assert "1 added, 0 changed, 0 removed, 2 kept" in caplog.text
    assert updated.manifest.last_update == {"added": 1, "changed": 0, "removed": 0, "kept": 2}

    full = build_store(load_corpus(corpus)[0], embedder, settings)
    same_index(updated, full)
    for question in ("How many missiles did Iraq say were fired?", "When did it last snow in Cairo?"):
        q = embedder.encode([question])[0]
        got, want = updated.dense_top_k(q[None], 5)[0], full.dense_top_k(q[None], 5)[0]
        assert [i for i, _ in got] == [i for i, _ in want]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
    # What was saved is what was returned, and it is used as it is next time.
    same_index(LocalStore.load(settings.index_dir), updated)
    counting.texts.clear()
    assert manifest(open_store(settings, counting)[0]) == manifest(updated) and counting.texts == []


def test_changed_and_removed_articles_embed_only_what_changed(settings, corpus, counting, embedder, caplog):
    open_store(settings, counting)
    counting.texts.clear()
    (corpus / "000_69438e7c3c1c14ec.txt").unlink()
    seed = corpus / f"{SEED_ID}.txt"
    seed.write_text(seed.read_text() + "\nA late paragraph about the weather in Baghdad.\n")
    with caplog.at_level("INFO", logger="qa.store.indexing"):
        updated, _ = open_store(settings, counting)
    assert "0 added, 1 changed, 1 removed, 0 kept" in caplog.text
    assert len(counting.texts) == len(updated.passages)
    same_index(updated, build_store(load_corpus(corpus)[0], embedder, settings))

    counting.texts.clear()
    (corpus / "late.txt").write_text(CAIRO_TXT)
    (corpus / f"{SEED_ID}.txt").unlink()
    updated, _ = open_store(settings, counting)
    assert list(updated.articles) == ["late"] and len(counting.texts) == len(updated.passages) == 1


def test_metadata_change_keeps_the_vectors(settings, corpus, counting):
    (corpus / "news.jsonl").write_bytes(jsonl(LAGOS))
    open_store(settings, counting)
    counting.texts.clear()
    (corpus / "news.jsonl").write_bytes(jsonl(dict(LAGOS, date="2024-07-03")))
    updated, _ = open_store(settings, counting)
    assert counting.texts == []
    assert [a.date for a in updated.articles.values() if a.id.startswith("news#")] == ["2024-07-03"]
