"""Embedder training: the (question, answering passage, hard negative) triplets and the loop.

The loop test fine-tunes the real packaged all-MiniLM-L6-v2 for a few steps on four paragraphs: it tests
plumbing (triplets reach the loss, the weights change, fp16 is written and loads as an embedder), not
quality, which the README measures on SQuAD.
"""

import json

import numpy as np
import pytest
from safetensors import safe_open

from qa.settings import default_embedder, load_settings
from qa.training.embedder import Triplet, distinct_batches, train_embedder, triplets
from qa.embedding.embedder import Embedder
from qa.datasets.squad import holds_answer, load_squad, tuning_sample
from qa.training.loop import Recipe
from test_reader_training import CONTEXTS, _write_squad


def test_each_question_gets_its_answering_passage_and_a_retrieved_passage_without_the_answer(tmp_path):
    _write_squad(tmp_path / "train.json")
    examples = load_squad(tmp_path / "train.json")
    held = tuning_sample(examples, 1)[0]
    found = triplets(examples, load_settings(), Embedder(default_embedder(), runtime="torch"), held={id(held)})
    assert sorted(t.question for t in found) == sorted(q for q, _, _ in CONTEXTS if q != held.question)
    for t in found:
        _, context, answer = next(x for x in CONTEXTS if x[0] == t.question)
        assert context in t.positive and t.positive.startswith("t")  # embedded as the index does: title first
        assert not holds_answer(t.negative, [answer]) and t.negative != t.positive


def test_no_batch_holds_a_passage_twice():
    items = [Triplet(f"q{i}", f"passage {i % 3}", f"other {i % 5}") for i in range(30)]
    batches = distinct_batches(items, 4)
    for batch in batches:
        texts = [t.positive for t in batch] + [t.negative for t in batch]
        assert len(texts) == len(set(texts)) and 2 <= len(batch) <= 4
    kept = [t for b in batches for t in b]
    assert len(kept) == len(set(kept))


def test_training_writes_an_fp16_embedder_that_loads_and_differs_from_its_base(tmp_path):
    _write_squad(tmp_path / "train.json")
    recipe = Recipe(base=default_embedder(), data=[str(tmp_path / "train.json")], learning_rate=1e-3, warmup=0.0,
                    batch_size=2, max_steps=3, seed=1)  # four paragraphs: two questions per batch at most
    out = train_embedder(recipe, tmp_path / "embedder", log_every=1)
    info = json.loads((out / "training.json").read_text())
    assert info["step"] == 3 and len(info["history"]) == 3
    assert "negative_ratio" not in info["recipe"] and info["recipe"]["learning_rate"] == 1e-3
    weights = next(out.rglob("*.safetensors"))
    with safe_open(str(weights), "pt") as f:
        assert {str(f.get_tensor(k).dtype) for k in f.keys()} == {"torch.float16"}
    trained, base = Embedder(str(out), runtime="torch"), Embedder(default_embedder(), runtime="torch")
    assert trained.identity != base.identity
    question = [CONTEXTS[0][0]]
    vector = trained.encode(question)
    assert vector.dtype == np.float32 and abs(float(np.linalg.norm(vector)) - 1) < 1e-3
    assert float((vector @ base.encode(question).T)[0, 0]) < 0.9999  # three steps at a high rate moved it


def test_too_few_paragraphs_for_a_batch_is_a_clear_error(tmp_path):
    _write_squad(tmp_path / "train.json")
    recipe = Recipe(base=default_embedder(), data=[str(tmp_path / "train.json")], batch_size=8, max_steps=1)
    with pytest.raises(ValueError, match="smaller --batch-size"):
        train_embedder(recipe, tmp_path / "embedder")
    assert not (tmp_path / "embedder").exists()
