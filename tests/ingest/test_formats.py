"""Users' own article files: HTML and JSONL loading, bad lines and files, ids (qa.ingest.formats)."""

from __future__ import annotations

import re

import pytest

import qa.ingest.formats
from qa.ingest.formats import content_key
from qa.ingest.sources import Source, items, read_folder
from qa.settings import load_settings
from qa.store.indexing import build_store
from articles import LAGOS, PAGE, WHEAT, all_passages, assert_offsets_point_into_the_article, jsonl


# --- formats ------------------------------------------------------------------------------------


def test_html_article_is_the_extracted_text_with_metadata(tmp_path, embedder):
    (tmp_path / "cairo.html").write_text(PAGE)
    (tmp_path / "other.htm").write_text("<html><body><p>Rain in Oslo</p><p>It rained in Oslo all week.</p></body></html>")
    articles, skipped = read_folder(tmp_path)
    assert skipped == []
    by_id = {a.id: a for a in articles}
    cairo = by_id["cairo"]
    assert cairo.title == "Snow falls in Cairo for the first time in decades"
    assert (cairo.date, cairo.url, cairo.source) == ("2024-01-15", "https://example.com/snow", "cairo.html")
    assert "It snowed in Cairo on Monday for the first time in 112 years" in cairo.text
    assert "Residents took photographs of the white streets & domes." in cairo.text  # entities decoded
    for markup in ("<", "tracking", "Copyright", "Sport"):
        assert markup not in cairo.text
    assert by_id["other"].title == "Rain in Oslo"  # no metadata title: the first line
    index = build_store(articles, embedder, load_settings())
    assert_offsets_point_into_the_article(index)
    assert any("112 years" in p.text for p in all_passages(index))


def test_html_without_article_text_is_refused(tmp_path):
    (tmp_path / "blank.html").write_text("<html><head><title>x</title></head><body><script>1</script></body></html>")
    articles, skipped = read_folder(tmp_path)
    assert articles == [] and "blank.html" in skipped[0].error and "no article text" in skipped[0].error


def test_jsonl_articles_load_with_fields_ids_and_offsets(tmp_path, embedder):
    (tmp_path / "news.jsonl").write_bytes(jsonl(LAGOS) + b"\n" + jsonl(WHEAT))
    articles, skipped = read_folder(tmp_path)
    assert skipped == []
    lagos, wheat = articles
    assert lagos.id == "news#" + content_key(LAGOS["title"], LAGOS["text"])[:10] and wheat.id.startswith("news#")
    assert (lagos.title, lagos.text, lagos.date, lagos.url, lagos.source) == (
        LAGOS["title"], LAGOS["text"], "2024-07-02", "https://example.com/lagos", "news.jsonl")
    assert wheat.source == "Reuters" and wheat.date == ""
    index = build_store(articles, embedder, load_settings())
    assert_offsets_point_into_the_article(index)
    # The title is not part of a JSONL article's text, so the first line of the text is kept.
    assert all_passages(index)[0].text.startswith("Heavy rain flooded Lagos")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"title": "T", "text": ', "line 2: not valid JSON"),
        ('["T", "x"]', "line 2: each line must be a JSON object"),
        ('{"title": "T"}', 'line 2: missing required field "text"'),
        ('{"title": 5, "text": "x"}', 'line 2: field "title" must be a string'),
        ('{"title": "T", "text": "   "}', 'line 2: field "text" is empty'),
        ('{"title": "T", "text": "x", "date": 2024}', 'line 2: field "date" must be a string'),
    ],
)
def test_bad_jsonl_line_names_file_line_and_field(tmp_path, line, expected):
    data = jsonl(LAGOS) + line.encode() + b"\n" + jsonl(WHEAT)
    (error,) = [i.error for i in items(Source.upload("news.jsonl", data)) if i.article is None]
    assert re.match(f"^news.jsonl {re.escape(expected)}", error)
    # Loading a folder keeps the good lines and reports the bad one.
    (tmp_path / "news.jsonl").write_bytes(data)
    articles, skipped = read_folder(tmp_path)
    assert [a.title for a in articles] == ["Floods in Lagos", "Wheat prices"]
    assert len(skipped) == 1 and skipped[0].error.startswith(f"news.jsonl {expected}")


def test_old_rules_hold_for_the_new_formats(tmp_path, monkeypatch):
    monkeypatch.setattr(qa.ingest.formats, "MAX_ARTICLE_BYTES", 1000)
    (tmp_path / "big.jsonl").write_bytes(jsonl({"title": "T", "text": "x" * 2000}))
    (tmp_path / "bin.html").write_bytes(b"<html>\x00\x01\x02</html>")
    (tmp_path / "latin.jsonl").write_bytes('{"title": "Caf\xe9", "text": "na\xefve"}\n'.encode("latin-1"))
    (tmp_path / "empty.jsonl").write_bytes(b"\n \n")
    articles, skipped = read_folder(tmp_path)
    assert articles == []
    reasons = {s.where.split(" line ")[0]: s.error for s in skipped}
    assert "limit" in reasons["big.jsonl"] and "binary" in reasons["bin.html"]
    assert "UTF-8" in reasons["latin.jsonl"] and "empty" in reasons["empty.jsonl"]
    assert all(reason.startswith(name) for name, reason in reasons.items())
