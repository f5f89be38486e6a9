"""Shared-normalisation training (qa.training.passages) and reading with it (qa.reading.reader).

The training-loop test uses a tiny randomly initialised BERT: it tests plumbing (labels, loss, loop,
saving, reloading as a shared-normalisation reader), not quality."""

import json

import numpy as np
import pytest
import torch

from qa.settings import load_settings
from qa.training.passages import Group, group_features, retrieved_groups, shared_loss, train_reader_on_passages
from qa.reading.decoding import best_spans, shared_factors
from qa.reading.reader import ExtractiveReader
from qa.datasets.squad import load_squad
from qa.training.loop import Recipe
from test_reader_training import CONTEXTS, SMALL_WINDOWS, _tiny_base, _write_squad


def test_every_occurrence_of_a_gold_answer_is_labelled_and_windows_without_one_point_at_cls(tmp_path):
    tokenizer = _tiny_base(tmp_path / "base")
    group = Group(
        "How many missiles were fired?",
        ["Iraq said 22 missiles were fired, and 22 more were ready.", "The air base is in Anbar province."],
        ["22"],
    )
    f = group_features(tokenizer, group, Recipe(base="", data=[], max_length=64, stride=16))
    assert f["input_ids"].shape[0] == 2
    starts = f["gold_starts"][0].nonzero().flatten().tolist()
    ends = f["gold_ends"][0].nonzero().flatten().tolist()
    assert len(starts) == 2 and [tokenizer.decode(f["input_ids"][0][s : e + 1]) for s, e in zip(starts, ends)] == ["22", "22"]
    assert f["start_positions"][0] == starts[0]
    assert not f["gold_starts"][1].any() and (f["start_positions"][1], f["end_positions"][1]) == (0, 0)
    # the question and [CLS] are never passage text
    assert not f["context"][:, 0].any() and f["context"][0, starts].all()


def test_shared_loss_is_minus_log_of_a_softmax_over_every_windows_passage_tokens():
    logits = torch.tensor([[9.0, 1.0, 2.0, 0.0], [9.0, 3.0, 0.5, 0.0]])
    context = torch.tensor([[False, True, True, False], [False, True, True, False]])
    gold = torch.zeros_like(context)
    gold[1, 1] = True
    passage = torch.tensor([1.0, 2.0, 3.0, 0.5])  # [CLS] (9.0) and padding are left out
    expected = -torch.log_softmax(passage, 0)[2]
    assert shared_loss(logits, gold, context).item() == pytest.approx(expected.item(), rel=1e-6)
    raised = logits.clone()
    raised[1, 1] += 1.0
    assert shared_loss(raised, gold, context) < shared_loss(logits, gold, context)


def test_shared_factors_turn_window_probabilities_into_one_softmax_over_all_windows():
    context = np.array([False, False, True, True, True, False])
    rng = np.random.default_rng(0)
    windows = [(rng.normal(size=6) * 3, rng.normal(size=6) * 3) for _ in range(3)]
    allowed = context.copy()
    allowed[0] = True
    log_norms, per_window = [], []
    for start, end in windows:
        log_norms.append(tuple(float(np.log(np.exp(x[allowed]).sum())) for x in (start, end)))
        per_window.append(best_spans(start, end, context, max_answer_tokens=30)[0])
    factors = shared_factors(log_norms)
    z_start = sum(np.exp(s[allowed]).sum() for s, _ in windows)
    z_end = sum(np.exp(e[allowed]).sum() for _, e in windows)
    for w, (start, end) in enumerate(windows):
        for s, e, p in per_window[w]:
            assert p * factors[w] == pytest.approx(np.exp(start[s] + end[e]) / (z_start * z_end), rel=1e-9)
    assert shared_factors([(0.3, -1.2)]) == pytest.approx([1.0])  # one window: its own probabilities


def test_retrieved_groups_hold_the_pipelines_windows_and_drop_questions_they_cannot_answer(tmp_path):
    _write_squad(tmp_path / "train.json")
    examples = load_squad(tmp_path / "train.json")
    groups = retrieved_groups(examples, load_settings(top_k=2), top_k=2, neighbours=1)
    assert len(groups) == len(CONTEXTS)  # every paragraph is in the corpus: each question finds its own
    for group, ex in groups:
        assert group.question == ex.question and len(group.windows) <= 2
        assert any(a.text in w for a in ex.answers for w in group.windows)


def test_training_loop_saves_a_reader_that_reads_with_shared_normalisation(tmp_path):
    _tiny_base(tmp_path / "base")
    _write_squad(tmp_path / "train.json")
    recipe = Recipe(base=str(tmp_path / "base"), data=[str(tmp_path / "train.json")], max_length=64, stride=16,
                    learning_rate=3e-3, warmup=0.0, batch_size=2, max_steps=30, seed=1)
    out = train_reader_on_passages(recipe, tmp_path / "reader", str(tmp_path / "base"), top_k=2, neighbours=0,
                                   hold_out=1, log_every=10)
    info = json.loads((out / "training.json").read_text())
    assert info["questions"] == len(CONTEXTS) - 1  # the tuning question is held out
    assert info["recipe"]["learning_rate"] == 3e-3 and "negative_ratio" not in info["recipe"]  # stage 1's alone
    losses = [h["loss"] for h in info["history"]]
    assert losses[-1] < losses[0] * 0.5
    reader = ExtractiveReader(out, SMALL_WINDOWS)
    assert reader.shared_normalisation
    windowed = ExtractiveReader(tmp_path / "base", SMALL_WINDOWS)
    assert not windowed.shared_normalisation
    question, passages = CONTEXTS[0][0], [c for _, c, _ in CONTEXTS]
    for r, shared in ((reader, True), (windowed, False)):
        alone = r.read(question, passages[:1]).best
        together = next(s for s in r.read(question, passages, top_k=200).spans
                        if (s.passage_index, s.start, s.end) == (0, alone.start, alone.end))
        # shared: the other passages take their part of one distribution; per window: nothing changes
        assert (together.score < alone.score * 0.9) if shared else together.score == pytest.approx(alone.score)
