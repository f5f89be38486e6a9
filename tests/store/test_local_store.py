import json

import pytest

from qa.settings import load_settings
from qa.store.base import StoreUnusable
from qa.store.indexing import open_store
from qa.store.local import LocalStore


def _settings(corpus, tmp_path):
    return load_settings(corpus_dir=corpus, index_dir=tmp_path / "index")


def test_built_index_is_reused_until_the_corpus_changes(corpus, tmp_path, embedder, caplog):
    settings = _settings(corpus, tmp_path)
    first, _ = open_store(settings, embedder)
    built_at = (settings.index_dir / "manifest.json").read_text()
    again, _ = open_store(settings, embedder)
    assert (settings.index_dir / "manifest.json").read_text() == built_at
    assert len(again.passages) == len(first.passages) == again.vectors.ntotal
    manifest = again.manifest
    assert manifest.dimension == 384 and manifest.format_version == 1 and manifest.embedder

    (corpus / "new.txt").write_text("Snow in Cairo\nIt snowed in Cairo on Monday for the first time in decades.\n")
    with caplog.at_level("WARNING"):
        updated, _ = open_store(settings, embedder)
    assert "stale" in caplog.text
    assert "new" in updated.articles and len(updated.passages) == len(first.passages) + 1


def test_corrupt_index_is_rebuilt_not_a_crash(corpus, tmp_path, embedder, caplog):
    settings = _settings(corpus, tmp_path)
    good, _ = open_store(settings, embedder)
    (settings.index_dir / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(StoreUnusable, match="corrupt"):
        LocalStore.load(settings.index_dir)
    with caplog.at_level("WARNING"):
        rebuilt, _ = open_store(settings, embedder)
    assert "corrupt" in caplog.text
    assert rebuilt.vectors.ntotal == good.vectors.ntotal
    (settings.index_dir / "manifest.json").write_text("{not json")
    assert open_store(settings, embedder)[0].vectors.ntotal == good.vectors.ntotal


def test_index_from_another_model_is_rebuilt(corpus, tmp_path, embedder, caplog):
    settings = _settings(corpus, tmp_path)
    open_store(settings, embedder)
    path = settings.index_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["embedder"] = "some/other-model"
    path.write_text(json.dumps(manifest))
    with caplog.at_level("WARNING"):
        index, _ = open_store(settings, embedder)
    assert "embedder changed" in caplog.text
    assert json.loads(path.read_text())["embedder"] == embedder.identity


def test_search_finds_the_passage_that_holds_the_answer(corpus, tmp_path, embedder):
    index, _ = open_store(_settings(corpus, tmp_path), embedder)
    hits = index.dense_top_k(embedder.encode(["How many missiles did Iraq say were fired?"]), 3)[0]
    assert any("Iraq said 22 missiles were fired." in p.text for p, _ in hits)
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)


def test_retrained_weights_of_the_same_size_in_the_same_folder_rebuild_the_index(tmp_path):
    """The identity used to hash the config and the weights' size only: new vectors of the same shape
    were used with an old index. Weights are compared by content now."""
    import shutil

    from qa.embedding.embedder import Embedder
    from qa.settings import SHIPPED_EMBEDDER

    folder = tmp_path / "embedder"
    shutil.copytree(SHIPPED_EMBEDDER, folder)
    before = Embedder(str(folder)).identity
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # same size, one bit of one weight changed
    weights.write_bytes(bytes(data))
    assert Embedder(str(folder)).identity != before
