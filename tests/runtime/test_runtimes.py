"""Both runtimes behind the reader and the embedder: the int8 ONNX default against the fp32 PyTorch
reference, and the ONNX cache (built once, rebuilt when damaged or when the weights change)."""

import shutil

import numpy as np
import pytest

from qa.settings import SHIPPED_EMBEDDER, load_settings

QUESTIONS = (
    "How many missiles did Iraq say were fired?",
    "Who ordered the drone strike that killed Soleimani?",
    "What did Khamenei call the missile attack?",
    "How many people were on board the Ukrainian plane?",
)


@pytest.fixture(scope="module")
def torch_reader():
    from qa.reading.reader import ExtractiveReader

    settings = load_settings(runtime="torch")
    return ExtractiveReader(settings.reader, settings)


@pytest.fixture(scope="module")
def torch_embedder():
    from qa.embedding.embedder import Embedder

    return Embedder.from_settings(load_settings(runtime="torch"))


@pytest.fixture(scope="module")
def seed_passages(seed_pipeline):
    store = seed_pipeline.store
    return [p.text for entry in store.entries() for p in store.article_passages(entry.id)]


def test_the_default_runtime_is_int8_onnx(reader, embedder):
    assert reader.network.runtime == embedder.network.runtime == "onnx"
    assert "int8" in embedder.identity


def test_both_runtimes_give_the_same_answer_spans_from_the_same_decoding(reader, torch_reader, seed_passages):
    """The runtimes differ only in the logits (int8 against fp32); the windows, the decoding and the
    offsets are the project's own, so both must find the same answer in the same passage for each
    question (a quotation mark more or less at its edge aside). Where two articles quote the same
    words (Khamenei's "slap on the face"), the two near-equal readings may fall to either: then the
    passage must hold the same answer."""
    from qa.evaluation.scoring import normalize_answer

    for question in QUESTIONS:
        fast, exact = reader.read(question, seed_passages), torch_reader.read(question, seed_passages)
        quotes = "\"'“”‘’"
        assert normalize_answer(fast.best.text.strip(quotes)) == normalize_answer(exact.best.text.strip(quotes)), question
        if fast.best.passage_index == exact.best.passage_index:
            assert abs(fast.best.start - exact.best.start) <= 1 and abs(fast.best.end - exact.best.end) <= 1
        else:
            assert exact.best.text.strip(quotes) in seed_passages[fast.best.passage_index], question
        assert fast.best.text == seed_passages[fast.best.passage_index][fast.best.start : fast.best.end]
        assert fast.best.score == pytest.approx(exact.best.score, abs=0.15)


def test_the_torch_embedder_batches_like_sentence_transformers(torch_embedder, seed_passages):
    """The embedder sorts and pads its own batches (for both runtimes): the vectors must be the ones
    sentence-transformers' own encode gives, row for row."""
    texts = seed_passages + ["A short one.", ""]
    ours = torch_embedder.encode(texts)
    theirs = torch_embedder.network.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert np.abs(ours - theirs).max() < 1e-4


def test_int8_embeddings_stay_close_to_fp32_and_rank_passages_alike(embedder, torch_embedder, seed_passages):
    fast, exact = embedder.encode(seed_passages), torch_embedder.encode(seed_passages)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)
    assert (fast * exact).sum(axis=1).min() > 0.97
    questions_fast, questions_exact = embedder.encode(QUESTIONS), torch_embedder.encode(QUESTIONS)
    for q_fast, q_exact in zip(questions_fast, questions_exact):
        assert np.argmax(fast @ q_fast) == np.argmax(exact @ q_exact)


def test_the_onnx_cache_is_built_once_rebuilt_when_damaged_and_keyed_by_the_weights(tmp_path, caplog):
    from qa.runtime import onnx_runtime
    from qa.runtime.base import SENTENCE_EMBEDDING

    model = tmp_path / "embedder"
    shutil.copytree(SHIPPED_EMBEDDER, model)
    cache = tmp_path / "cache"
    first = onnx_runtime.load(SENTENCE_EMBEDDING, str(model), cache)
    built = (first.folder / onnx_runtime.MODEL_FILE).stat().st_mtime_ns
    assert onnx_runtime.load(SENTENCE_EMBEDDING, str(model), cache).folder == first.folder
    assert (first.folder / onnx_runtime.MODEL_FILE).stat().st_mtime_ns == built, "a second load built again"
    assert [p.name for p in cache.iterdir()] == [first.folder.name], "work folders left behind"

    (first.folder / onnx_runtime.MODEL_FILE).write_bytes(b"not an onnx file")
    with caplog.at_level("WARNING"):
        repaired = onnx_runtime.load(SENTENCE_EMBEDDING, str(model), cache)
    assert "cannot be read" in caplog.text
    sample = {k: np.array([[101, 2054, 102]], dtype=np.int64) for k in repaired.input_names}
    sample["token_type_ids"] = np.zeros((1, 3), np.int64)
    sample["attention_mask"] = np.ones((1, 3), np.int64)
    assert repaired(sample)[0].shape == (1, 384)

    weights = model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert onnx_runtime.cache_folder(SENTENCE_EMBEDDING, str(model), cache) != first.folder


def test_an_unknown_runtime_is_refused():
    with pytest.raises(ValueError, match="unknown runtime"):
        load_settings(runtime="tensorrt")
