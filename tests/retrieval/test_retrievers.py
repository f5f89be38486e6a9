"""Hybrid fusion of dense and BM25 scores (real seed index, real embedder and bm25s)."""

import pytest

from qa.retrieval.retrievers import BM25Retriever, DenseRetriever, HybridRetriever, _min_max, fuse, make_retriever

QUESTIONS = ["How many missiles did Iraq say were fired?", "What did Trump say after the attack?"]


def test_min_max_scales_one_list_to_the_unit_interval():
    assert _min_max([(3, 12.0), (7, 9.0), (1, 4.0)]) == [(3, 1.0), (7, pytest.approx(5 / 8)), (1, 0.0)]
    assert _min_max([(5, 0.3)]) == [(5, 1.0)]  # one passage: nothing to scale against
    assert _min_max([]) == []


@pytest.fixture(scope="module")
def retrievers(seed_pipeline):
    index, embedder = seed_pipeline.store, seed_pipeline.embedder
    return DenseRetriever(index, embedder), BM25Retriever(index)


def _order(retriever, question):
    return [h.passage for h in retriever.run(question, 5)]


@pytest.mark.parametrize("question", QUESTIONS)
def test_hybrid_weight_moves_the_ranking_from_bm25_to_dense(retrievers, question):
    dense, bm25 = retrievers
    assert _order(HybridRetriever(dense, bm25, dense_weight=1.0, depth=100), question) == _order(dense, question)
    assert _order(HybridRetriever(dense, bm25, dense_weight=0.0, depth=100), question) == _order(bm25, question)
    hits = HybridRetriever(dense, bm25, dense_weight=0.5, depth=100).run(question, 5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert 0.0 <= hits[-1].score <= hits[0].score <= 1.0


def test_fusion_adds_the_scaled_scores_and_a_passage_first_in_both_lists_wins():
    dense = [(1, 0.80), (2, 0.60), (3, 0.40)]
    bm25 = [(1, 20.0), (4, 15.0), (2, 10.0)]
    fused = dict(fuse(dense, bm25, dense_weight=0.5))
    assert fuse(dense, bm25, 0.5)[0] == (1, pytest.approx(1.0))
    assert fused[2] == pytest.approx(0.5 * 0.5 + 0.5 * 0.0)
    assert fused[4] == pytest.approx(0.5 * 0.5)  # found by BM25 alone: no dense share
    assert fused[3] == pytest.approx(0.0)


@pytest.mark.parametrize("kind", ["dense", "bm25", "hybrid"])
def test_no_questions_retrieve_nothing(seed_pipeline, kind):
    # A training file whose questions all lack answer text hands retrieval an empty list (TyDi dev here).
    retriever = make_retriever(seed_pipeline.store, seed_pipeline.embedder, seed_pipeline.settings, kind)
    assert retriever.run_many([], 5) == []



@pytest.mark.parametrize("kind", ["dense", "bm25", "hybrid"])
def test_a_passage_removed_since_the_search_index_was_refreshed_is_passed_over(settings, embedder, kind):
    """Searches give keys and only the passages kept are read: another process's removal, committed
    after this store last refreshed, leaves keys with no passage. None is returned, and hybrid
    retrieval, whose fused list runs deeper than k, still fills its k places."""
    from qa.store.collection import add_articles, open_collection, remove_articles
    from articles import CAIRO_TXT, SEED_ID, uploads

    chat, cli = open_collection(settings, embedder), open_collection(settings, embedder)
    add_articles(settings, uploads(("cairo.txt", CAIRO_TXT.encode())), cli, embedder)
    chat.refresh()
    question = "How many missiles did Iraq say were fired?"
    retriever = make_retriever(chat, embedder, settings, kind)
    assert sum(h.passage.article_id == SEED_ID for h in retriever.run(question, 5)) >= 2
    remove_articles(settings, [SEED_ID], cli)  # chat's indexes still hold its passages' keys
    hits = retriever.run(question, 5)
    assert not any(h.passage.article_id == SEED_ID for h in hits)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    if kind == "hybrid":
        assert len(hits) == 5
