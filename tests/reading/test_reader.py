"""The shipped reader (models/reader) on real text."""

import pytest

IRAQ = "Iranian state television said Iran had fired 15 missiles at US targets. Iraq said 22 missiles were fired."


def test_answers_a_seed_question_with_exact_offsets(reader):
    passages = ["Germany, Denmark, Norway, and Poland said none of their troops in Iraq were hurt.", IRAQ]
    reading = reader.read("How many missiles did Iraq say were fired?", passages)
    best = reading.best
    assert best.text == "22" and best.passage_index == 1
    assert passages[1][best.start : best.end] == "22"
    assert 0.0 < best.score <= 1.0 and 0.0 <= reading.no_answer_score <= 1.0


def test_long_passage_is_read_in_windows(reader):
    filler = " ".join(f"Officials in city number {i} reported a quiet night." for i in range(150))
    passage = filler + " " + IRAQ + " " + filler
    assert len(reader.tokenizer(passage)["input_ids"]) > 3 * reader.max_length
    reading = reader.read("How many missiles did Iraq say were fired?", [passage])
    assert reading.best.text == "22"
    assert passage[reading.best.start : reading.best.end] == "22"
    assert reading.best.start > len(filler)


def test_batched_questions_match_single_reads(reader):
    items = [("How many missiles did Iraq say were fired?", [IRAQ]), ("Who said Iran fired 15 missiles?", [IRAQ])]
    together = reader.read_many(items)
    for (question, passages), got in zip(items, together):
        alone = reader.read(question, passages)
        assert got.best.text == alone.best.text
        assert got.best.score == pytest.approx(alone.best.score, rel=1e-4)


def test_bad_input_gets_a_clear_error(reader):
    with pytest.raises(ValueError, match="question is empty"):
        reader.read("   ", [IRAQ])
    with pytest.raises(ValueError, match="no passages"):
        reader.read("How many?", [])


def test_very_long_question_and_non_english_text_do_not_crash(reader):
    reading = reader.read("missiles " * 5000 + "How many missiles did Iraq say were fired?", [IRAQ])
    assert reading.spans
    for text in ["Der Irak sagte, dass 22 Raketen abgefeuert wurden.", "伊拉克表示发射了22枚导弹。", "العراق قال إن 22 صاروخا أطلقت"]:
        reading = reader.read("Wie viele Raketen?", [text])
        for span in reading.spans:
            assert text[span.start : span.end] == span.text
