"""Turning reader spans into cited answers: passage weights and merging (real seed index, hand-made spans)."""

import numpy as np
import pytest

from qa.answering.answers import View, answers_from_reading
from qa.reading.evidence import passage_weights, sentence_overlap
from qa.reading.reader import Reading, Span
from qa.schema import RetrievedPassage
from qa.reading.windows import reading_windows
from articles import all_passages


def test_passage_weights_are_a_distribution_that_sharpens_with_lower_temperature():
    scores = [0.71, 0.65, 0.60]
    warm, cold = passage_weights(scores, 0.5), passage_weights(scores, 0.02)
    for w in (warm, cold):
        assert w.sum() == pytest.approx(1.0) and list(np.argsort(-w)) == [0, 1, 2]
    assert cold[0] > warm[0]


def _hits_with(index, *needles, scores=None):
    hits = []
    for needle, score in zip(needles, scores or [0.5] * len(needles)):
        passage = next(p for p in all_passages(index) if needle in p.text)
        hits.append(RetrievedPassage(passage, index.article(passage.article_id).title, score, len(hits) + 1))
    return hits


def _span(windows, i, words, score, at=None):
    start = windows[i].passage.text.index(at or words)
    return Span(words, score, i, start, start + len(words), score)


def test_overlapping_spans_are_one_answer_and_rivals_stay_apart(seed_pipeline):
    index = seed_pipeline.store
    # Scores log(0.6) and log(0.4) at temperature 1 give the passages weights 0.6 and 0.4.
    hits = _hits_with(index, "Iraq said 22 missiles", "deliberately sought to avoid", scores=[np.log(0.6), np.log(0.4)])
    windows = reading_windows(hits, index.article_passages, neighbours=0)
    spans = [
        _span(windows, 0, "22 missiles", 0.5),
        _span(windows, 1, "U.S. military casualties", 0.4),
        _span(windows, 0, "22", 0.3, at="22 missiles"),  # inside the first span: a variant of it, not a rival
    ]
    view = View(windows, Reading(spans, 0.1))
    answers = answers_from_reading([view], index, 5, [h.score for h in hits], temperature=1.0)
    assert [a.text for a in answers] == ["22 missiles", "U.S. military casualties"]
    assert answers[0].score == pytest.approx(0.6 * 0.5 + 0.6 * 0.3)
    assert answers[1].score == pytest.approx(0.4 * 0.4)
    # The share shown in the chat is the score over all answers read, so it follows the ranking.
    assert [a.share for a in answers] == pytest.approx([0.48 / 0.64, 0.16 / 0.64])
    assert [a.reader_score for a in answers] == [0.5, 0.4]
    for a in answers:
        article = index.article(a.citation.article_id)
        assert article.text[a.citation.start : a.citation.end] == a.text
        assert a.citation.passage[a.citation.passage_start : a.citation.passage_end] == a.text


def test_evidence_from_every_view_adds_up_with_its_weight(seed_pipeline):
    """The same span found in the windowed reading and in the passage read alone is one answer whose
    score sums both, the second scaled by its view's weight; a span only the second view finds still
    competes, at that weight."""
    index = seed_pipeline.store
    hits = _hits_with(index, "Iraq said 22 missiles", "deliberately sought to avoid", scores=[np.log(0.6), np.log(0.4)])
    windowed = reading_windows(hits, index.article_passages, neighbours=1)
    alone = reading_windows(hits, index.article_passages, neighbours=0)
    first = next(i for i, w in enumerate(windowed) if 0 in w.hits)
    views = [
        View(windowed, Reading([_span(windowed, first, "22 missiles", 0.5)], 0.1)),
        View(alone, Reading([_span(alone, 0, "22 missiles", 0.8), _span(alone, 1, "U.S. military casualties", 0.9)],
                            0.1), weight=0.25),
    ]
    answers = answers_from_reading(views, index, 5, [h.score for h in hits], temperature=1.0)
    window_weight = sum([0.6, 0.4][h] for h in windowed[first].hits)
    assert [a.text for a in answers] == ["22 missiles", "U.S. military casualties"]
    assert answers[0].score == pytest.approx(window_weight * 0.5 + 0.25 * 0.6 * 0.8)
    assert answers[1].score == pytest.approx(0.25 * 0.4 * 0.9)


def test_sentence_overlap_counts_question_words_the_sentence_repeats():
    q = "How many missiles did Iranian state television say Iran fired?"
    fired = "Iranian state television said Iran had fired 15 missiles at US targets."
    killed = "Iranian state television said 80 American terrorists had been killed."
    assert sentence_overlap(q, fired) == 1.0  # iranian state televis iran fire missil
    assert sentence_overlap(q, killed) == pytest.approx(3 / 6)
    assert sentence_overlap("How many?", fired) == 0.0  # nothing to match


def test_an_answer_named_more_fully_elsewhere_is_the_same_answer():
    from qa.answering.answers import _same_words

    assert _same_words("trump", "us president donald trump")
    assert _same_words("22 missiles", "22")
    assert not _same_words("22", "15") and not _same_words("", "15")


def test_a_passage_is_cited_once_per_answer_and_a_source_is_not_the_answer_repeated(seed_pipeline):
    """Two windows holding the same passage give one citation, not two expanders of one passage; an
    answer that names its own source ("Jonathan Hoffman", said by Pentagon spokesman Jonathan Hoffman)
    is shown without the attribution."""
    index = seed_pipeline.store
    hits = _hits_with(index, "Pentagon spokesman Jonathan Hoffman", "Iraq said 22 missiles")
    alone = reading_windows(hits, index.article_passages, neighbours=0)
    wide = reading_windows(hits, index.article_passages, neighbours=1)
    views = [View(alone, Reading([_span(alone, 0, "Jonathan Hoffman", 0.6)], 0.1)),
             View(wide, Reading([_span(wide, 0, "Jonathan Hoffman", 0.3)], 0.1))]
    (answer,) = answers_from_reading(views, index, 5, [h.score for h in hits], temperature=1.0)
    assert answer.also_in == ()
    assert answer.attribution == ""


def test_spans_not_of_the_kind_asked_for_keep_little_evidence(seed_pipeline):
    index = seed_pipeline.store
    hits = _hits_with(index, "Pentagon spokesman Jonathan Hoffman", "1:30 a.m.")
    windows = reading_windows(hits, index.article_passages, neighbours=0)
    spans = [_span(windows, 0, "al-Asad air base", 0.8), _span(windows, 1, "1:30 a.m. Iraq time", 0.2)]
    view = View(windows, Reading(spans, 0.1))
    scores = [h.score for h in hits]
    asked = answers_from_reading([view], index, 5, scores, 1.0, "When were the bases targeted?", mismatch_weight=0.05)
    assert [a.text for a in asked] == ["1:30 a.m. Iraq time", "al-Asad air base"]
    untyped = answers_from_reading([view], index, 5, scores, 1.0, "What was targeted?", mismatch_weight=0.05)
    assert [a.text for a in untyped] == ["al-Asad air base", "1:30 a.m. Iraq time"]


def test_an_answer_does_not_begin_by_restating_its_question():
    from qa.answering.answers import past_restatement

    text = ("House Speaker Nancy Pelosi was handed a note about the attack during a meeting of Democratic "
            "lawmakers in the House of Representatives.")
    question = "Where was Nancy Pelosi handed a note about the attack?"
    end = len(text) - 1
    assert text[past_restatement(question, text, 0, end):end] == (
        "during a meeting of Democratic lawmakers in the House of Representatives")
    # sharing a word or two with the question is no restatement
    base = "Pentagon spokesman Jonathan Hoffman said the bases targeted were al-Asad air base and another facility"
    start = base.index("al-Asad")
    assert past_restatement("Which bases were targeted?", base, start, len(base)) == start
    # nor is a span that ends on the question's words
    assert past_restatement(question, text, 0, text.index(" during")) == 0
