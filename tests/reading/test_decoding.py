"""Span decoding on hand-made logits: no model involved."""

import numpy as np
import pytest

from qa.reading.decoding import balanced, best_spans, length_batches, whole_words

# [CLS] q q [SEP] c c c c c c [SEP] pad
CONTEXT = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0], dtype=bool)


def _logits(**peaks):
    x = np.full(len(CONTEXT), -10.0)
    for i, v in peaks.items():
        x[int(i[1:])] = v
    return x


def test_picks_the_highest_start_end_pair_in_the_context():
    spans, _ = best_spans(_logits(t5=8.0, t6=2.0), _logits(t7=8.0, t6=3.0), CONTEXT, max_answer_tokens=30)
    assert spans[0][:2] == (5, 7)
    assert spans == sorted(spans, key=lambda s: -s[2])


def test_never_a_span_inside_the_question_special_tokens_or_padding():
    start = _logits(t1=20.0, t3=19.0, t11=18.0, t4=1.0)
    end = _logits(t2=20.0, t10=19.0, t11=18.0, t5=1.0)
    spans, _ = best_spans(start, end, CONTEXT, max_answer_tokens=30)
    assert spans and all(CONTEXT[s] and CONTEXT[e] for s, e, _ in spans)
    assert spans[0][:2] == (4, 5)


def test_end_before_start_and_too_long_spans_are_rejected():
    start = _logits(t8=9.0, t4=5.0)
    end = _logits(t5=9.0, t9=8.0)
    spans, _ = best_spans(start, end, CONTEXT, max_answer_tokens=3)
    assert all(s <= e < s + 3 for s, e, _ in spans)
    assert spans[0][:2] == (8, 9)  # (8,5) runs backwards, (4,9) is too long


def test_scores_are_probabilities_and_null_is_cls():
    start = _logits(t0=10.0, t5=1.0)
    end = _logits(t0=10.0, t6=1.0)
    spans, null = best_spans(start, end, CONTEXT, max_answer_tokens=30)
    assert 0.99 < null <= 1.0
    assert all(0.0 <= p <= 1.0 for *_, p in spans)
    assert spans[0][2] == pytest.approx(np.exp(1 - 10) ** 2, rel=0.01)


def test_window_without_context_gives_no_spans():
    spans, null = best_spans(np.zeros(4), np.zeros(4), np.zeros(4, dtype=bool), 30)
    assert spans == [] and null == pytest.approx(1.0)


def test_spans_are_widened_to_whole_words():
    text = "a response from Iran for the killing of Soleimani, commander of Iran's Quds Force"
    cut = text.index("Soleimani") + 4  # the model's span stopped after the word piece "sole"
    assert text[slice(*whole_words(text, 0, cut))] == "a response from Iran for the killing of Soleimani"
    assert text[slice(*whole_words(text, cut, cut + 2))] == "Soleimani"  # a span starting inside the word
    assert whole_words(text, 0, 10) == (0, 10)  # whole words stay as they are; punctuation ends a word
    assert text[slice(*whole_words(text, text.index("Iran'"), text.index("Iran'") + 4))] == "Iran"
    assert whole_words("北京大学", 1, 2) == (1, 2)  # no spaces between CJK words: nothing to widen to


def test_length_batches_group_similar_lengths_and_read_every_sequence_once():
    lengths = [384, 170, 172, 384, 168, 300, 171, 384]
    batches = length_batches(lengths, batch_size=3, slack=0.25)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) <= 3 for b in batches)
    # No short passage is padded to a long window's length, and like lengths share a batch.
    assert all(max(lengths[i] for i in b) <= 1.25 * min(lengths[i] for i in b) for b in batches)
    assert [sorted(lengths[i] for i in b) for b in batches] == [[168, 170, 171], [172], [300], [384, 384, 384]]


@pytest.mark.parametrize(
    ("text", "span", "shown"),
    [
        # the CLI's broken answer: a bracket opened and never closed
        ("targeted at about 1:30 a.m. Iraq time (2230 GMT on Tuesday).", "1:30 a.m. Iraq time (2230 GMT on Tuesday",
         "1:30 a.m. Iraq time (2230 GMT on Tuesday)"),
        # the chat's broken alternative: from inside a quotation past its end
        ("“All is well!” Trump, who visited one of the targeted sites", "All is well!” Trump, who visited", "All is well!"),
        ("he called it a “slap on the face” of the United States", "a “slap on the face", "a “slap on the face”"),
        ("he called it a “slap on the face” of the United States", "a “slap on the face” of the United States",
         "a “slap on the face” of the United States"),
        ("Iran’s Supreme Leader said", "Iran’s Supreme Leader", "Iran’s Supreme Leader"),
        ('He said "no comment" twice', 'said "no comment', 'said "no comment"'),
        ("Article 51 of the UN Charter) says", "Article 51 of the UN Charter)", "Article 51 of the UN Charter"),
        # the closing mark too far away: end before the opener instead
        ("a base (" + "x" * 60 + ")", "a base (xx", "a base"),
    ],
)
def test_spans_never_leave_a_bracket_or_quote_open_or_closed_alone(text, span, shown):
    start = text.index(span)
    a, b = balanced(text, start, start + len(span))
    assert text[a:b] == shown
