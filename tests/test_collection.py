"""Users' own articles: HTML and JSONL loading, the incremental index, adding and removing articles
(qa.store.collection) and the `add` / `remove` commands. Real embedder and FAISS; every corpus and index
lives in tmp_path (a copy of seeds/), so the repo's seeds/ and index/ are never touched."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import qa.ingest.formats
from qa.cli import main
from qa.store.collection import add_articles, remove_articles, safe_file_name
from qa.settings import load_settings
from qa.ingest.corpus import load_corpus
from qa.ingest.formats import ArticleError, articles_from_bytes, content_key
from qa.store.indexing import build_store, open_store
from qa.store.local import LocalStore
from conftest import SEEDS

SEED_ID = "004_b4b330c42fa68dce"

PAGE = """<!doctype html><html><head><title>Snow in Cairo | The Daily</title>
<meta property="og:title" content="Snow falls in Cairo for the first time in decades">
<meta name="date" content="2024-01-15"><link rel="canonical" href="https://example.com/snow"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>Snow falls in Cairo for the first time in decades</h1>
<p>It snowed in Cairo on Monday for the first time in 112 years, the meteorological office said.</p>
<p>Residents took photographs of the white streets &amp; domes. Children built snowmen near the pyramids.</p>
<script>var tracking = "do not index me";</script>
<p>Temperatures fell to minus two degrees Celsius overnight, and schools stayed closed on Tuesday.</p>
</article><footer>Copyright 2024 The Daily. All rights reserved.</footer></body></html>
"""

LAGOS = {"title": "Floods in Lagos", "text": "Heavy rain flooded Lagos on Tuesday.\nOfficials said 3,000 homes were damaged.",
         "date": "2024-07-02", "url": "https://example.com/lagos"}
WHEAT = {"title": "Wheat prices", "text": "Wheat prices rose 4 percent in Chicago after a poor harvest in Ukraine.",
         "source": "Reuters"}
CAIRO_TXT = "Snow in Cairo\nIt snowed in Cairo on Monday for the first time in decades.\n"


def jsonl(*records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def snapshot(*folders: Path) -> dict[str, bytes]:
    """Every file under the folders (hidden ones too), by path: to prove nothing changed."""
    return {str(p): p.read_bytes() for folder in folders if folder.exists() for p in sorted(folder.rglob("*")) if p.is_file()}


class CountingEmbedder:
    """The real embedder, counting the texts it embeds."""

    def __init__(self, embedder):
        self.inner, self.texts = embedder, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, show_progress=False):
        self.texts.extend(texts)
        return self.inner.encode(texts, show_progress)


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    for p in folder.iterdir():
        p.chmod(0o644)
    return folder


@pytest.fixture
def settings(corpus, tmp_path):
    return load_settings(corpus_dir=corpus, index_dir=tmp_path / "index")


@pytest.fixture
def counting(embedder):
    return CountingEmbedder(embedder)


def assert_offsets_point_into_the_article(index):
    """Every word of every passage is the same word at its offsets in Article.text."""
    assert index.passages
    for p in index.passages:
        text = index.articles[p.article_id].text
        for m in re.finditer(r"\S+", p.text):
            start, end = p.to_article(m.start(), m.end())
            assert text[start:end] == m.group(), (p.article_id, m.group())
        assert text[p.start : p.end].split()[0] == p.text.split()[0]


# --- formats ------------------------------------------------------------------------------------


def test_html_article_is_the_extracted_text_with_metadata(tmp_path, embedder):
    (tmp_path / "cairo.html").write_text(PAGE)
    (tmp_path / "other.htm").write_text("<html><body><p>Rain in Oslo</p><p>It rained in Oslo all week.</p></body></html>")
    articles, skipped = load_corpus(tmp_path)
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
    assert any("112 years" in p.text for p in index.passages)


def test_html_without_article_text_is_refused(tmp_path):
    (tmp_path / "blank.html").write_text("<html><head><title>x</title></head><body><script>1</script></body></html>")
    articles, skipped = load_corpus(tmp_path)
    assert articles == [] and "blank.html" in skipped[0].reason and "no article text" in skipped[0].reason


def test_jsonl_articles_load_with_fields_ids_and_offsets(tmp_path, embedder):
    (tmp_path / "news.jsonl").write_bytes(jsonl(LAGOS) + b"\n" + jsonl(WHEAT))
    articles, skipped = load_corpus(tmp_path)
    assert skipped == []
    lagos, wheat = articles
    assert lagos.id == "news#" + content_key(LAGOS["title"], LAGOS["text"])[:10] and wheat.id.startswith("news#")
    assert (lagos.title, lagos.text, lagos.date, lagos.url, lagos.source) == (
        LAGOS["title"], LAGOS["text"], "2024-07-02", "https://example.com/lagos", "news.jsonl")
    assert wheat.source == "Reuters" and wheat.date == ""
    index = build_store(articles, embedder, load_settings())
    assert_offsets_point_into_the_article(index)
    # The title is not part of a JSONL article's text, so the first line of the text is kept.
    assert index.passages[0].text.startswith("Heavy rain flooded Lagos")


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
    with pytest.raises(ArticleError, match=f"^news.jsonl {re.escape(expected)}"):
        articles_from_bytes(data, "news.jsonl")
    # Loading a folder keeps the good lines and reports the bad one.
    (tmp_path / "news.jsonl").write_bytes(data)
    articles, skipped = load_corpus(tmp_path)
    assert [a.title for a in articles] == ["Floods in Lagos", "Wheat prices"]
    assert len(skipped) == 1 and skipped[0].reason.startswith(f"news.jsonl {expected}")


def test_old_rules_hold_for_the_new_formats(tmp_path, monkeypatch):
    monkeypatch.setattr(qa.ingest.formats, "MAX_ARTICLE_BYTES", 1000)
    (tmp_path / "big.jsonl").write_bytes(jsonl({"title": "T", "text": "x" * 2000}))
    (tmp_path / "bin.html").write_bytes(b"<html>\x00\x01\x02</html>")
    (tmp_path / "latin.jsonl").write_bytes('{"title": "Caf\xe9", "text": "na\xefve"}\n'.encode("latin-1"))
    (tmp_path / "empty.jsonl").write_bytes(b"\n \n")
    articles, skipped = load_corpus(tmp_path)
    assert articles == []
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "limit" in reasons["big.jsonl"] and "binary" in reasons["bin.html"]
    assert "UTF-8" in reasons["latin.jsonl"] and "empty" in reasons["empty.jsonl"]
    assert all(reason.startswith(name) for name, reason in reasons.items())


def test_same_id_twice_in_a_folder_is_skipped_not_merged(tmp_path):
    (tmp_path / "a.txt").write_text("First\nOne text.\n")
    (tmp_path / "a.md").write_text("Second\nAnother text.\n")
    articles, skipped = load_corpus(tmp_path)
    assert [a.title for a in articles] == ["Second"]  # a.md sorts first
    assert "a.txt" in skipped[0].reason and "same id" in skipped[0].reason


# --- incremental index --------------------------------------------------------------------------


def manifest(index) -> dict:
    return index.manifest.to_dict()


def same_index(a, b) -> None:
    key = lambda p: (p.article_id, p.index, p.text, p.start, p.end, p.runs)  # noqa: E731
    assert [key(p) for p in a.passages] == [key(p) for p in b.passages]
    assert a.articles == b.articles
    va, vb = a.vectors.reconstruct_n(0, a.vectors.ntotal), b.vectors.reconstruct_n(0, b.vectors.ntotal)
    np.testing.assert_allclose(va, vb, atol=1e-5)


def test_new_article_is_embedded_alone_and_matches_a_full_rebuild(settings, corpus, counting, embedder, caplog):
    first, _ = open_store(settings, counting)
    assert len(counting.texts) == len(first.passages)
    counting.texts.clear()

    (corpus / "cairo.html").write_text(PAGE)
    with caplog.at_level("INFO", logger="qa.store.indexing"):
        updated, _ = open_store(settings, counting)
    new = [p for p in updated.passages if p.article_id == "cairo"]
    assert new and len(counting.texts) == len(new)  # only the new article's passages were embedded
    assert all("Snow falls in Cairo" in t for t in counting.texts)
    assert "1 added, 0 changed, 0 removed, 2 kept" in caplog.text
    assert updated.manifest.last_update == {"added": 1, "changed": 0, "removed": 0, "kept": 2}

    full = build_store(load_corpus(corpus)[0], embedder, settings)
    same_index(updated, full)
    for question in ("How many missiles did Iraq say were fired?", "When did it last snow in Cairo?"):
        q = embedder.encode([question])[0]
        got, want = updated.dense_top_k(q[None], 5)[0], full.dense_top_k(q[None], 5)[0]
        assert [i for i, _ in got] == [i for i, _ in want]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
    # What was saved is what was returned, and it is used as it is next time.
    same_index(LocalStore.load(settings.index_dir), updated)
    counting.texts.clear()
    assert manifest(open_store(settings, counting)[0]) == manifest(updated) and counting.texts == []


def test_changed_and_removed_articles_embed_only_what_changed(settings, corpus, counting, embedder, caplog):
    open_store(settings, counting)
    counting.texts.clear()
    (corpus / "000_69438e7c3c1c14ec.txt").unlink()
    seed = corpus / f"{SEED_ID}.txt"
    seed.write_text(seed.read_text() + "\nA late paragraph about the weather in Baghdad.\n")
    with caplog.at_level("INFO", logger="qa.store.indexing"):
        updated, _ = open_store(settings, counting)
    assert "0 added, 1 changed, 1 removed, 0 kept" in caplog.text
    assert len(counting.texts) == len(updated.passages)
    same_index(updated, build_store(load_corpus(corpus)[0], embedder, settings))

    counting.texts.clear()
    (corpus / "late.txt").write_text(CAIRO_TXT)
    (corpus / f"{SEED_ID}.txt").unlink()
    updated, _ = open_store(settings, counting)
    assert list(updated.articles) == ["late"] and len(counting.texts) == len(updated.passages) == 1


def test_metadata_change_keeps_the_vectors(settings, corpus, counting):
    (corpus / "news.jsonl").write_bytes(jsonl(LAGOS))
    open_store(settings, counting)
    counting.texts.clear()
    (corpus / "news.jsonl").write_bytes(jsonl(dict(LAGOS, date="2024-07-03")))
    updated, _ = open_store(settings, counting)
    assert counting.texts == []
    assert [a.date for a in updated.articles.values() if a.id.startswith("news#")] == ["2024-07-03"]


# --- adding -------------------------------------------------------------------------------------


def test_add_writes_the_files_and_updates_the_index(settings, corpus, counting):
    open_store(settings, counting)
    counting.texts.clear()
    report = add_articles(settings, [("cairo.html", PAGE.encode()), ("news.jsonl", jsonl(LAGOS, WHEAT))], embedder=counting)
    assert report.ok and report.changed and not report.duplicates
    assert [f.file for f in report.added] == ["cairo.html", "news.jsonl"]
    assert (corpus / "cairo.html").read_text() == PAGE  # the page as uploaded; its text is extracted on load
    ids = {a.id for f in report.added for a in f.articles}
    assert ids <= set(report.index.articles) and len(report.index.articles) == 5
    assert len(counting.texts) == sum(1 for p in report.index.passages if p.article_id in ids)
    assert sorted(p.name for p in corpus.iterdir()) == sorted([*(p.name for p in SEEDS.iterdir()), "cairo.html", "news.jsonl"])
    assert any(level == "success" and "Floods in Lagos" in text for level, text in report.messages())


def test_duplicate_is_recognised_whatever_its_name_or_spacing(settings, corpus, embedder):
    open_store(settings, embedder)
    seed = (corpus / f"{SEED_ID}.txt").read_text()
    respaced = "\n\n".join("   ".join(line.split()) for line in seed.splitlines())
    before = snapshot(corpus, settings.index_dir)
    report = add_articles(settings, [("renamed copy.txt", respaced.encode())], embedder=embedder)
    assert report.ok and not report.changed and report.index is None
    (dup,) = report.duplicates
    assert (dup.name, dup.duplicate_of) == ("renamed copy.txt", SEED_ID)
    assert snapshot(corpus, settings.index_dir) == before
    assert any(SEED_ID in text for level, text in report.messages() if level == "warning")

    # The same article as a JSONL line (title as a field, not the first line), next to a new one.
    title, _, body = seed.partition("\n")
    report = add_articles(settings, [("mixed.jsonl", jsonl({"title": title, "text": body}, LAGOS, LAGOS))], embedder=embedder)
    assert [d.duplicate_of for d in report.duplicates][0] == SEED_ID
    assert report.duplicates[0].name == "mixed.jsonl line 1" and report.duplicates[1].name == "mixed.jsonl line 3"
    assert [a.title for a in report.added[0].articles] == ["Floods in Lagos"]
    assert (corpus / "mixed.jsonl").read_bytes() == jsonl(LAGOS)  # only the new line is written


def test_same_article_means_same_title_and_text_in_any_format():
    assert content_key("Snow", "Snow\n\n  It   snowed.\r\n") == content_key(" Snow ", "It snowed.")  # txt == jsonl
    assert content_key("Snow", "Snow\nIt snowed.") != content_key("Rain", "Rain\nIt snowed.")
    assert content_key("Snow", "Snow\nIt snowed.") != content_key("Snow", "Snow\nIt snowed again.")


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b" \n\n", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("huge.txt", b"Title\n" + b"word " * 400, "limit"),
        ("latin1.md", "Caf\xe9\nna\xefve".encode("latin-1"), "UTF-8"),
        ("page.html", b"<html><body><script>x()</script></body></html>", "no article text"),
        ("bad.jsonl", jsonl(LAGOS) + b'{"title": "x"}\n', 'bad.jsonl line 2: missing required field "text"'),
        ("notes.pdf", b"%PDF-1.7", "unsupported file type"),
    ],
)
def test_bad_upload_is_refused_and_changes_nothing(settings, corpus, embedder, monkeypatch, name, data, reason):
    monkeypatch.setattr(qa.ingest.formats, "MAX_ARTICLE_BYTES", 1000)
    open_store(settings, embedder)
    before = snapshot(corpus, settings.index_dir)
    # A good file in the same batch is not written either: a batch goes in whole or not at all.
    report = add_articles(settings, [("good.txt", CAIRO_TXT.encode()), (name, data)], embedder=embedder)
    assert not report.ok and not report.changed and report.index is None
    (refused,) = report.refused
    assert refused.name == name and refused.reason.startswith(name) and reason in refused.reason
    assert snapshot(corpus, settings.index_dir) == before
    assert report.messages()[-1] == ("error", "nothing was added: fix or leave out the refused files and try again")


def test_a_50_mb_upload_is_refused_at_the_real_limit(settings, corpus, embedder):
    open_store(settings, embedder)
    before = snapshot(corpus, settings.index_dir)
    huge = b"A very long feed\n" + b"Words of a mistaken dump. " * 2_000_000  # about 52 MB of valid text
    report = add_articles(settings, [("dump.txt", huge)], embedder=embedder)
    (refused,) = report.refused
    assert not report.ok and "over the 5,000,000-byte limit" in refused.reason
    assert snapshot(corpus, settings.index_dir) == before


def test_upload_names_cannot_leave_the_corpus_folder(settings, corpus, tmp_path, embedder):
    open_store(settings, embedder)
    outside_before = sorted(p.name for p in tmp_path.iterdir())
    names = ["../evil.txt", "..\\..\\evil2.txt", "/etc/passwd.txt", ".hidden.txt", "sub/dir/deep.md",
             "we ird?*name.txt", "....txt", f"{SEED_ID}.txt"]
    files = [(n, f"Title {i}\nDistinct article number {i} about something else.\n".encode()) for i, n in enumerate(names)]
    report = add_articles(settings, [*files, ("CAIRO.HTML", PAGE.encode())], embedder=embedder)
    assert report.ok, report.refused
    assert sorted(f.file for f in report.added) == sorted(
        ["evil.txt", "evil2.txt", "passwd.txt", "hidden.txt", "deep.md", "we_ird_name.txt", "article.txt",
         f"{SEED_ID}-2.txt", "CAIRO.html"])
    assert sorted(p.name for p in tmp_path.iterdir()) == outside_before  # nothing next to the corpus folder
    assert not [p for p in corpus.iterdir() if p.name.startswith(".") or p.is_dir()]
    assert (corpus / f"{SEED_ID}.txt").read_bytes() == (SEEDS / f"{SEED_ID}.txt").read_bytes()  # not overwritten
    assert len(report.index.articles) == 2 + len(names) + 1
    # A name with no file type left is refused, not guessed.
    report = add_articles(settings, [("..", b"Title\ntext")], embedder=embedder)
    assert not report.ok and "unsupported" in report.refused[0].reason


def test_safe_file_name():
    taken = {"a"}
    assert safe_file_name("x/../a.TXT", taken) == "a-2.txt"
    assert safe_file_name("a.txt", taken) == "a-3.txt"
    assert safe_file_name("Ünïcode name.md", taken) == "Ünïcode_name.md"
    assert safe_file_name("C:\\Users\\me\\.secret.jsonl", taken) == "secret.jsonl"
    with pytest.raises(ArticleError, match="unsupported"):
        safe_file_name(".txt", taken)


# --- removing -----------------------------------------------------------------------------------


def test_remove_deletes_files_and_jsonl_lines(settings, corpus, counting):
    (corpus / "news.jsonl").write_bytes(jsonl(LAGOS) + b'{"broken": \n' + jsonl(WHEAT))
    first, _ = open_store(settings, counting)
    lagos = next(a.id for a in first.articles.values() if a.title == "Floods in Lagos")
    counting.texts.clear()
    report = remove_articles(settings, [lagos, SEED_ID], embedder=counting)
    assert report.ok and counting.texts == []
    assert [(r.article_id, r.file, r.file_deleted) for r in report.removed] == [
        (lagos, "news.jsonl", False), (SEED_ID, f"{SEED_ID}.txt", True)]
    assert not (corpus / f"{SEED_ID}.txt").exists()
    assert (corpus / "news.jsonl").read_bytes() == b'{"broken": \n' + jsonl(WHEAT)  # other lines as they were
    assert set(report.index.articles) == set(first.articles) - {lagos, SEED_ID}
    assert not [p for p in report.index.passages if p.article_id in (lagos, SEED_ID)]
    assert manifest(LocalStore.load(settings.index_dir)) == manifest(report.index)

    wheat = next(a.id for a in report.index.articles.values() if a.title == "Wheat prices")
    report = remove_articles(settings, [wheat], embedder=counting)
    assert report.removed[0].file_deleted is False  # the broken line is the user's to fix, not ours to drop
    assert (corpus / "news.jsonl").read_bytes() == b'{"broken": \n'


def test_removing_an_unknown_article_changes_nothing(settings, corpus, embedder):
    open_store(settings, embedder)
    before = snapshot(corpus, settings.index_dir)
    report = remove_articles(settings, [SEED_ID, "no-such-article"], embedder=embedder)
    assert not report.ok and not report.removed and report.refused[0].name == "no-such-article"
    assert snapshot(corpus, settings.index_dir) == before


def test_last_line_of_a_jsonl_removes_the_file(settings, corpus, embedder):
    add_articles(settings, [("one.jsonl", jsonl(WHEAT))], embedder=embedder)
    (article_id,) = [a.id for a in load_corpus(corpus)[0] if a.id.startswith("one#")]
    report = remove_articles(settings, [article_id], embedder=embedder)
    assert report.removed[0].file_deleted and not (corpus / "one.jsonl").exists()


# --- command line -------------------------------------------------------------------------------


def test_cli_add_and_remove(settings, corpus, tmp_path, capsys):
    (tmp_path / "cairo.html").write_text(PAGE)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "copy.txt").write_text((SEEDS / f"{SEED_ID}.txt").read_text())
    folders = ["--corpus", str(corpus), "--index", str(settings.index_dir)]

    assert main(["add", str(tmp_path / "cairo.html"), str(tmp_path / "empty.txt"), *folders]) == 2
    out, err = capsys.readouterr()
    assert "refused empty.txt: the file is empty" in err and "nothing was added" in err
    assert not (corpus / "cairo.html").exists()

    assert main(["add", str(tmp_path / "cairo.html"), str(tmp_path / "copy.txt"), *folders]) == 0
    out, err = capsys.readouterr()
    assert "added cairo from cairo.html: Snow falls in Cairo" in out
    assert f"skipped copy.txt: same text as article {SEED_ID}" in out
    assert "index: 3 articles" in out

    assert main(["add", str(tmp_path / "missing.txt"), *folders]) == 2
    assert "no such file" in capsys.readouterr().err

    assert main(["list", "--corpus", str(corpus)]) == 0
    assert "cairo\tcairo.html\tSnow falls in Cairo" in capsys.readouterr().out

    assert main(["remove", "cairo", "nope", *folders]) == 2
    assert "refused nope" in capsys.readouterr().err and (corpus / "cairo.html").exists()
    assert main(["remove", "cairo", *folders]) == 0
    out, _ = capsys.readouterr()
    assert "removed cairo: Snow falls in Cairo" in out and "index: 2 articles" in out
    assert not (corpus / "cairo.html").exists()
