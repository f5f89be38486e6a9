"""Reading windows: retrieved passages read with their neighbours (real seed index and chunking)."""

import pytest

from qa.ingest.chunking import merge_passages, passage_words
from qa.schema import RetrievedPassage
from qa.reading.windows import reading_windows, window_weights

ARTICLE = "004_b4b330c42fa68dce"  # the seed article with the most passages


@pytest.fixture(scope="module")
def index(seed_pipeline):
    return seed_pipeline.store


def _hit(index, article_id, i, rank, score=0.5):
    passage = index.article_passages(article_id)[i]
    return RetrievedPassage(passage, index.article(article_id).title, score, rank)


def test_article_passages_are_in_order_and_cover_the_index(index):
    passages = index.article_passages(ARTICLE)
    assert len(passages) >= 5
    assert [p.index for p in passages] == list(range(len(passages)))
    assert sum(len(index.article_passages(e.id)) for e in index.entries()) == index.passage_count()
    assert index.article_passages("no-such-article") == []


def test_from_article_inverts_to_article_for_every_word(index):
    for passage in index.article_passages(ARTICLE):
        for word in passage_words(passage):
            start = passage.text.index(word.text, passage.from_article(word.start, word.start + 1)[0])
            assert passage.to_article(start, start + len(word.text)) == (word.start, word.start + len(word.text))
            assert passage.from_article(word.start, word.start + len(word.text)) == (start, start + len(word.text))


def test_merged_passages_read_the_shared_overlap_once_and_map_back_to_the_article(index):
    article = index.article(ARTICLE)
    parts = index.article_passages(ARTICLE)[1:4]
    merged = merge_passages(parts)
    words = passage_words(merged)
    starts = [w.start for w in words]
    assert starts == sorted(set(starts))  # no word twice, in article order
    assert {w.start for p in parts for w in passage_words(p)} == set(starts)  # and none lost
    assert (merged.start, merged.end, merged.index) == (parts[0].start, parts[-1].end, parts[0].index)
    for w in words:
        s = merged.from_article(w.start, w.start + len(w.text))[0]
        a, b = merged.to_article(s, s + len(w.text))
        assert article.text[a:b] == w.text


def test_overlapping_windows_merge_and_their_retrieval_weights_add_up(index):
    other = next(e.id for e in index.entries() if e.id != ARTICLE)
    hits = [_hit(index, ARTICLE, 4, 1, 3.0), _hit(index, other, 0, 2, 2.0), _hit(index, ARTICLE, 2, 3, 1.0)]
    windows = reading_windows(hits, index.article_passages, neighbours=1)
    assert [[p.index for p in w.parts] for w in windows] == [[1, 2, 3, 4, 5], [0, 1]]
    assert [w.hits for w in windows] == [(0, 2), (1,)]
    assert windows[0].retrieved == {2, 4}
    weights = window_weights(windows, [h.score for h in hits], temperature=1.0)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[0] > weights[1]  # the passages ranked 1st and 3rd outweigh the one ranked 2nd

    alone = reading_windows(hits, index.article_passages, neighbours=0)
    assert [w.passage.text for w in alone] == [h.passage.text for h in hits]


def test_an_answer_is_cited_in_the_retrieved_passage_that_holds_it(index):
    passages = index.article_passages(ARTICLE)
    # a passage that repeats the end of the one before it (the chunker's overlap) and has one after it
    i = next(i for i in range(1, len(passages) - 1) if passages[i].start < passages[i - 1].end)
    window = reading_windows([_hit(index, ARTICLE, i, 1)], index.article_passages, neighbours=1)[0]
    # A word both passages hold is cited in the retrieved one.
    shared = next(w for w in passage_words(passages[i]) if w.start < passages[i - 1].end)
    assert window.cite(shared.start, shared.start + len(shared.text)).index == i
    # A word only a neighbour holds is cited there.
    only_next = next(w for w in passage_words(passages[i + 1]) if w.start >= passages[i].end)
    assert window.cite(only_next.start, only_next.start + len(only_next.text)).index == i + 1
