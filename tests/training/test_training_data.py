"""Which training questions a recipe reads: its mix, and never the questions tuned or evaluated on."""

from __future__ import annotations

import json
import random

import pytest

from qa.datasets.squad import load_squad, tuning_sample
from qa.training.data import load_training_examples, training_file
from qa.training.loop import Recipe


def _write_file(path, questions: int):
    paragraphs = [
        {"context": f"Paragraph {i} says the answer is {i}.", "qas": [{"id": f"q{i}", "question": f"What is answer {i}?",
                                                                       "answers": [{"text": str(i), "answer_start": 0}]}]}
        for i in range(questions)
    ]
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": paragraphs}]}))
    return path


@pytest.mark.parametrize("share", [1.0, 0.5, 0.1])
def test_the_whole_files_tuning_sample_is_held_out_whatever_share_the_mix_takes(tmp_path, share):
    path = _write_file(tmp_path / "train.json", 400)
    tuned = {ex.question for ex in tuning_sample(load_squad(path), 40)}  # what tune_fusion and held-out evaluations read

    trained = load_training_examples(Recipe("base", [str(path)], {"train": share}), random.Random(0), hold_out=40)

    assert len(trained) == pytest.approx(400 * share - 40 * share, abs=12)
    assert not tuned & {ex.question for ex in trained}


def test_one_files_questions_name_those_of_them_to_leave_out(tmp_path):
    path = _write_file(tmp_path / "train.json", 400)
    tuned = {ex.question for ex in tuning_sample(load_squad(path), 40)}

    examples, held = training_file(path, {"train": 0.5}, random.Random(0), hold_out=40)

    assert len(examples) == 200  # the corpus keeps them; training skips them
    assert {ex.question for ex in examples if id(ex) in held} == tuned & {ex.question for ex in examples}


def test_an_evaluation_file_is_refused(tmp_path):
    path = _write_file(tmp_path / "dev-v1.1.json", 4)
    with pytest.raises(ValueError, match="evaluation"):
        load_training_examples(Recipe("base", [str(path)]), random.Random(0))
