"""The training loop on a tiny subset, with a tiny randomly initialised BERT: this tests plumbing
(labels, loop, saving, reloading), not quality."""

import json
import random

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

from qa.settings import load_settings
from qa.reading.reader import ExtractiveReader
from qa.training.loop import Recipe
from qa.training.reader import TrainPair, make_features, train_reader, training_pairs
from qa.datasets.squad import load_squad

CONTEXTS = [
    ("How many missiles did Iraq say were fired?", "Iraq said 22 missiles were fired at two bases.", "22"),
    ("Who said all is well?", "President Trump said all is well on Twitter.", "President Trump"),
    ("Where is the air base?", "The targeted air base is in Anbar province.", "Anbar province"),
    ("When did the strike happen?", "The strike happened early on Wednesday morning.", "Wednesday"),
]

# The tiny plumbing readers read short windows.
# PyTorch: the readers trained here are small plumbing checks, not worth an ONNX build in the shared cache.
SMALL_WINDOWS = load_settings(reader_max_length=64, reader_stride=16, runtime="torch")


def _write_squad(path):
    data = {"data": [{"title": "t", "paragraphs": [
        {"context": c, "qas": [{"id": str(i), "question": q, "answers": [{"text": a, "answer_start": c.index(a)}]}]}
        for i, (q, c, a) in enumerate(CONTEXTS)
    ]}]}
    path.write_text(json.dumps(data))


def _tiny_base(folder):
    tokenizer = AutoTokenizer.from_pretrained(load_settings().embedder_name())
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    BertForQuestionAnswering(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return tokenizer


def test_labels_point_at_the_answer_tokens_and_negatives_at_cls(tmp_path):
    tokenizer = _tiny_base(tmp_path / "base")
    recipe = Recipe(base=str(tmp_path / "base"), data=[], max_length=64, stride=16)
    pairs = [TrainPair(q, c, c.index(a), a) for q, c, a in CONTEXTS] + [TrainPair(CONTEXTS[0][0], CONTEXTS[1][1], None)]
    features = make_features(tokenizer, pairs, recipe, random.Random(0))
    assert len(features) == len(pairs)
    for feat, (_, _, answer) in zip(features, CONTEXTS):
        tokens = feat["input_ids"][feat["start_positions"] : feat["end_positions"] + 1]
        assert tokenizer.decode(tokens) == answer.lower()
    assert (features[-1]["start_positions"], features[-1]["end_positions"]) == (0, 0)


def test_negatives_come_from_other_paragraphs_without_the_answer(tmp_path):
    _write_squad(tmp_path / "train.json")
    pairs = training_pairs(load_squad(tmp_path / "train.json"), negative_ratio=1.0, rng=random.Random(0))
    negatives = [p for p in pairs if p.answer_start is None]
    assert negatives
    for neg in negatives:
        q, c, a = next(x for x in CONTEXTS if x[0] == neg.question)
        assert neg.context != c and a not in neg.context


def test_loss_falls_and_the_checkpoint_reloads_as_a_reader(tmp_path):
    _tiny_base(tmp_path / "base")
    _write_squad(tmp_path / "train.json")
    recipe = Recipe(base=str(tmp_path / "base"), data=[str(tmp_path / "train.json")], max_length=64, stride=16,
                    negative_ratio=0.0, learning_rate=3e-3, warmup=0.0, batch_size=4, max_steps=60, seed=1)
    out = train_reader(recipe, tmp_path / "reader", log_every=10)
    info = json.loads((out / "training.json").read_text())
    losses = [h["loss"] for h in info["history"]]
    assert losses[-1] < losses[0] * 0.5
    assert info["recipe"]["max_steps"] == 60
    weights = next(out.glob("*.safetensors"))
    from safetensors import safe_open

    with safe_open(weights, "pt") as f:
        assert all(f.get_tensor(k).dtype == torch.float16 for k in f.keys())
    reader = ExtractiveReader(out, SMALL_WINDOWS)
    reading = reader.read(CONTEXTS[0][0], [CONTEXTS[0][1]])
    assert reading.best.text == "22"  # memorised: the point is that what was trained is what reloads


def test_cli_options_become_the_recipe_of_every_training_command(monkeypatch, tmp_path):
    # Training itself is replaced by a recorder: this checks only the command line -> Recipe plumbing.
    import qa.training.embedder
    import qa.training.passages
    import qa.training.reader
    from qa.cli import main
    from qa.settings import default_embedder

    seen = {}
    monkeypatch.setattr(qa.training.reader, "train_reader", lambda recipe, out, **kw: seen.update(stage1=recipe))
    monkeypatch.setattr(qa.training.passages, "train_reader_on_passages", lambda recipe, out, *a, **kw: seen.update(stage2=recipe))
    monkeypatch.setattr(qa.training.embedder, "train_embedder", lambda recipe, out, *a, **kw: seen.update(embedder=recipe))
    common = ["--data", "a.json", "b.json", "--mix", "b=0.4", "--lr", "3e-5", "--batch-size", "4", "--seed", "7", "--out", str(tmp_path)]
    assert main(["train-reader", "--base", "base-model", "--negative-ratio", "0.3", *common]) == 0
    assert main(["train-reader-passages", "--init", "stage1-model", *common]) == 0
    assert main(["train-embedder", *common]) == 0
    one, two, embedder = seen["stage1"], seen["stage2"], seen["embedder"]
    assert (one.base, one.negative_ratio, two.base) == ("base-model", 0.3, "stage1-model")
    # The embedder starts from the packaged model, not from whatever embedder the settings name.
    assert embedder.base == default_embedder()
    for recipe in (one, two, embedder):
        assert recipe.data == ["a.json", "b.json"] and recipe.mix == {"b": 0.4}
        assert (recipe.learning_rate, recipe.batch_size, recipe.seed) == (3e-5, 4, 7)


def test_a_run_cut_off_resumes_from_its_saved_state_and_ends_where_the_uncut_run_ends(tmp_path):
    """A run saving its whole state after every step is run to the end, then its state is wound back to
    the last save (step 5 of 6, as if killed during step 6): the same command goes on from there and
    its weights equal those of a run never cut off."""
    from qa.training.loop import Resume
    from safetensors.torch import load_file

    _tiny_base(tmp_path / "base")
    _write_squad(tmp_path / "train.json")
    recipe = Recipe(base=str(tmp_path / "base"), data=[str(tmp_path / "train.json")], max_length=64, stride=16,
                    negative_ratio=0.5, learning_rate=3e-3, warmup=0.2, batch_size=2, max_steps=6, seed=1)
    uncut = train_reader(recipe, tmp_path / "uncut", log_every=1)
    resume = Resume(tmp_path / "cut" / "state", minutes=0)
    train_reader(recipe, tmp_path / "cut", log_every=1, resume=resume)
    state = torch.load(resume.path, weights_only=False)
    assert state["step"] == 5
    resumed = train_reader(recipe, tmp_path / "cut", log_every=1, resume=resume)

    expected, got = load_file(uncut / "model.safetensors"), load_file(resumed / "model.safetensors")
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    history = json.loads((resumed / "training.json").read_text())["history"]
    assert [h["step"] for h in history] == [1, 2, 3, 4, 5, 6]

    changed = Recipe(**{**recipe.__dict__, "learning_rate": 1e-3})
    with pytest.raises(ValueError, match="another recipe"):
        train_reader(changed, tmp_path / "cut", resume=resume)


def test_a_run_asked_to_stop_saves_its_state_and_the_next_run_goes_on_from_there(tmp_path):
    """SIGTERM during step 3: the step finishes, the state is saved at step 3, the run ends; the same
    command then ends where an uncut run ends."""
    import os
    import signal

    from qa.training.loop import Recipe as R, Resume, run_steps

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    recipe = R(base="", data=[], learning_rate=0.1, warmup=0.0, max_steps=5)
    x = torch.ones(4, 3)

    def step_loss(step):
        if step == 3 and not stopped:
            stopped.append(step)
            os.kill(os.getpid(), signal.SIGTERM)
        loss = (model(x) - step).pow(2).mean()
        loss.backward()
        return loss.item()

    stopped: list[int] = []
    resume = Resume(tmp_path / "state", minutes=60)
    with pytest.raises(SystemExit, match="stopped after step 3 of 5"):
        run_steps(model, recipe, 5, step_loss, resume=resume)
    assert torch.load(resume.path, weights_only=False)["step"] == 3
    run_steps(model, recipe, 5, step_loss, resume=resume)
    resumed = [p.detach().clone() for p in model.parameters()]

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    run_steps(model, recipe, 5, step_loss)
    assert all(torch.equal(a, b) for a, b in zip(resumed, model.parameters()))
