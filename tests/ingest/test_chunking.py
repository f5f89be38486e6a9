import re
import time

from qa.ingest.chunking import COUNT_WORDS, body_lines, chunk_article, sentence_at, sentences, token_counter
from qa.ingest.sources import read_folder
from qa.ingest.formats import article_from_text
from qa.schema import Article
from conftest import SEEDS


def _seeds():
    return {a.id: a for a in read_folder(SEEDS)[0]}


def test_every_passage_maps_back_to_the_original_text(embedder):
    count = token_counter(embedder.tokenizer)
    for article in _seeds().values():
        passages = chunk_article(article, count, max_tokens=120, overlap_tokens=30)
        assert len(passages) > 1
        for p in passages:
            # The passage's words appear in the original slice in order; dropped repeats are the only gaps.
            remaining = iter(article.text[p.start : p.end].split())
            assert all(word in remaining for word in p.text.split())
            for m in re.finditer(r"\S+", p.text):
                a, b = p.to_article(m.start(), m.end())
                assert article.text[a:b] == m.group()
            assert sum(count(p.text.split())) <= 120


def test_repeated_caption_lines_are_dropped_and_title_left_out():
    article = _seeds()["004_b4b330c42fa68dce"]
    lines = [" ".join(w.text for w in line) for line in body_lines(article)]
    captions = [line for line in lines if line.startswith("Curious crowd.")]
    assert len(captions) == 1
    assert article.title not in lines
    assert len(lines) == len(set(lines))


def test_passages_overlap_and_cover_every_sentence(embedder):
    count = token_counter(embedder.tokenizer)
    article = _seeds()["004_b4b330c42fa68dce"]
    passages = chunk_article(article, count, max_tokens=100, overlap_tokens=40)
    covered = set()
    for p in passages:
        covered |= {a for a, _ in [p.to_article(m.start(), m.end()) for m in re.finditer(r"\S+", p.text)]}
    words = {w.start for line in body_lines(article) for w in line}
    assert words <= covered
    overlaps = [p.start < prev.end for prev, p in zip(passages, passages[1:])]
    assert any(overlaps)
    assert all(p.start > prev.start for prev, p in zip(passages, passages[1:]))


def test_sentences_split_on_boundaries_not_abbreviations():
    article = article_from_text("T\nU.S. President Donald Trump spoke at 11 a.m. (1600 GMT). Iraq said 22 missiles were fired.", "x")
    (line,) = body_lines(article)
    got = [" ".join(w.text for w in s) for s in sentences(line)]
    assert got == ["U.S. President Donald Trump spoke at 11 a.m. (1600 GMT).", "Iraq said 22 missiles were fired."]


def test_a_sentence_longer_than_a_passage_is_cut(embedder):
    count = token_counter(embedder.tokenizer)
    article = article_from_text("T\n" + " ".join(f"word{i}" for i in range(400)) + ".", "long")
    passages = chunk_article(article, count, max_tokens=50, overlap_tokens=10)
    assert len(passages) > 5
    assert all(sum(count(p.text.split())) <= 50 for p in passages)


SENTENCE = "Iraq said 22 missiles were fired at two bases on Tuesday night, according to U.S. officials. "


def _one_line(chars: int) -> Article:
    return Article("dump", "Dump", "Dump\n" + (SENTENCE * (chars // len(SENTENCE) + 1))[:chars])


def test_a_long_line_is_tokenised_once_in_bounded_calls(embedder):
    """Counting hands the tokenizer every word of a one-line article exactly once, a bounded number of
    words per call: per-sentence calls cost more than the tokenizing, and one call for a whole
    megabyte-long line grows faster than the line."""
    calls: list[list[str]] = []

    def recording(text, **kwargs):
        calls.append(text.split())
        return embedder.tokenizer(text, **kwargs)

    article = _one_line(300_000)
    passages = chunk_article(article, token_counter(recording), 128, 32)
    words = article.text.split()[1:]  # the title line is not body
    assert [w for call in calls for w in call] == words
    assert max(len(call) for call in calls) <= COUNT_WORDS
    assert len(calls) == -(-len(words) // COUNT_WORDS) >= 10
    assert passages[-1].end == len(article.text)


def test_a_megabyte_line_is_chunked_in_seconds_not_minutes(embedder):
    """A whole article on one line (a scraped page without line breaks) must not hang ingestion: the
    splitter used before, pysbd, took minutes on a megabyte. The bound is generous (the benchmark,
    scripts/bench_chunking.py, measures the real growth); it only catches work that grows with the
    square of the line."""
    started = time.process_time()
    passages = chunk_article(_one_line(1_000_000), token_counter(embedder.tokenizer), 128, 32)
    assert time.process_time() - started < 30
    assert len(passages) > 1000


def test_the_sentence_of_an_answer_in_a_long_line_is_found_in_its_piece():
    text = _one_line(200_000).text
    at = text.index("Iraq", 150_000)
    assert sentence_at(text, at, at + 4) == SENTENCE.strip()


def test_words_counted_together_get_the_counts_of_each_word_tokenised_alone(embedder):
    """Chunking tokenises an article's words in one call; each word's count must be what tokenising
    it alone gives, punctuation, accents, digits and characters the vocabulary lacks included."""
    words = (SEEDS / "000_69438e7c3c1c14ec.txt").read_text().split()
    words += ["U.S.", "Soleimani's", "café", "1,300,000", "(21.3", "ft)", "日本語", "\u200b", "—"]
    tokenizer = embedder.tokenizer
    alone = [len(ids) for ids in tokenizer(words, add_special_tokens=False)["input_ids"]]
    assert token_counter(tokenizer)(words) == alone
