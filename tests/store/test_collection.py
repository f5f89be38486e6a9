"""Adding and removing articles (qa.store.collection): checks before any write, duplicates, safe names,
the index updated. Real embedder and FAISS; every corpus and index lives in tmp_path (a copy of seeds/)."""

from __future__ import annotations

import pytest

import qa.ingest.formats
from qa.ingest.corpus import load_corpus
from qa.ingest.formats import ArticleError, content_key
from qa.ingest.names import safe_file_name
from qa.store.collection import add_articles, remove_articles
from qa.store.indexing import open_store
from qa.store.local import LocalStore
from articles import CAIRO_TXT, LAGOS, PAGE, SEED_ID, WHEAT, jsonl, manifest, snapshot
from conftest import SEEDS


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


def test_a_long_cjk_name_is_cut_by_bytes_and_added(settings, corpus, embedder):
    """80 CJK characters are 240 bytes: with the suffix and the temporary name they overflowed the
    255-byte limit of a file name and crashed the add."""
    name = "伊朗导弹袭击美军基地" * 8 + ".txt"
    safe = safe_file_name(name, set())
    assert len(safe.encode("utf-8")) <= 130 and safe.startswith("伊朗导弹") and safe.endswith(".txt")
    report = add_articles(settings, [(name, "伊朗向美军基地发射导弹\n伊拉克说发射了22枚导弹。\n".encode())], embedder=embedder)
    assert report.ok and (corpus / safe).exists(), report.messages()


def test_one_paragraph_without_a_title_line_is_titled_and_answerable(settings, corpus, embedder):
    """Its first line used to become the title and be dropped from the body: "added", 0 passages."""
    text = "Snow fell in Cairo on Monday for the first time in 112 years. Schools stayed closed on Tuesday.\n"
    report = add_articles(settings, [("snow.txt", text.encode())], embedder=embedder)
    assert report.ok, report.messages()
    assert report.index.article("snow").title == "Snow fell in Cairo on Monday for the first time in 112 years."
    (passage,) = report.index.article_passages("snow")
    assert passage.text == text.strip()


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
