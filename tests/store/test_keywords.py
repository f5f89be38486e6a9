"""Keyword queries (qa.store.keywords): which words a question searches for, under a budget of passages
scored, and that the store's FTS5 index agrees with the stems the budget looks up."""

import sqlite3

from qa.store.keywords import TOKENIZER, VOCABULARY, TermCounts, index_term, keyword_query, query_words, within_budget


def test_stop_words_and_repeats_are_left_out():
    assert query_words("The Broncos win, and the Broncos lose?") == ["broncos", "win", "lose"]


def test_a_budget_keeps_the_rarest_words_in_question_order():
    held = {"year": 30_000, "film": 5_000, "brisbane": 90, "denver": 200}
    words = ["year", "film", "brisbane", "denver"]
    assert within_budget(words, held, 0) == words
    assert within_budget(words, held, 10**6) == words
    assert within_budget(words, held, 6_000) == ["film", "brisbane", "denver"]
    assert within_budget(words, held, 300) == ["brisbane", "denver"]
    assert within_budget(words, held, 100) == ["brisbane"]
    assert within_budget(words, held, 10) == []  # common words only: the dense retriever alone ranks
    assert within_budget(["qqq", "year"], held, 100) == ["qqq"]  # unknown words count as rare


def test_the_budget_reads_the_fts_vocabulary_with_the_tokenizers_stems():
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE keywords USING fts5(body, tokenize='{TOKENIZER}')")
    db.execute(VOCABULARY)
    rows = [f"Report {i}: the universities played in the café league." for i in range(50)]
    rows += ["Brisbane's harbour took in 42 ships.", "Its port's ships."]
    db.executemany("INSERT INTO keywords (body) VALUES (?)", [(r,) for r in rows])
    stored = {t for (t,) in db.execute("SELECT term FROM temp.vocabulary")}
    assert {index_term(w) for w in ("universities", "played", "café", "brisbane", "ships", "s", "42")} <= stored
    counts, size = TermCounts(), len(rows)
    question = "Universities played as ships docked in Brisbane?"
    assert keyword_query(db, question, 0, counts, size) == '"universities" OR "played" OR "ships" OR "docked" OR "brisbane"'
    assert keyword_query(db, question, 10, counts, size) == '"ships" OR "docked" OR "brisbane"'
    # one stem for two words; "s" is a term of its own, held by two passages
    assert keyword_query(db, "They played, and they are playing, in Brisbane's port?", 2, counts, size) == '"brisbane" OR "port"'
    assert counts(db, ["s", "plai"], size) == {"s": 2, "plai": 50}
