"""Adding and removing articles (qa.store.collection): checks, duplicates, safe ids, strict and lenient
batches, only new articles embedded. Real embedder, FAISS and SQLite; every collection is in tmp_path."""

from __future__ import annotations

import pytest

import qa.ingest.formats
from qa.ingest.formats import ArticleError, content_key
from qa.ingest.names import safe_stem
from qa.ingest.sources import Source, sources_in
from qa.store.collection import add_articles, open_collection, remove_articles
from articles import CAIRO_TXT, LAGOS, PAGE, SEED_ID, WHEAT, found, jsonl, uploads
from conftest import SEEDS


def state(store) -> tuple:
    return store.generation(), store.entries(), store.passage_count()


# --- adding -------------------------------------------------------------------------------------


def test_a_new_collection_starts_with_the_seeds_and_an_add_embeds_only_the_new(settings, counting):
    store = open_collection(settings, counting)
    assert sorted(e.id for e in store.entries()) == sorted(p.stem for p in SEEDS.iterdir())
    counting.texts.clear()
    report = add_articles(settings, uploads(("cairo.html", PAGE.encode()), ("news.jsonl", jsonl(LAGOS, WHEAT))), store, counting)
    assert report.ok and report.changed and report.added_count == 3 and not report.duplicates
    ids = [a.id for a, _ in report.added]
    assert ids[0] == "cairo" and all(i.startswith("news#") for i in ids[1:])
    assert store.article_count() == 5
    assert len(counting.texts) == sum(len(store.article_passages(i)) for i in ids) == report.passages
    assert store.article("cairo").title == "Snow falls in Cairo for the first time in decades"
    assert [e.origin for e in store.entries()][-2:] == ["news.jsonl line 1", "news.jsonl line 2"]
    assert any(level == "success" and "Floods in Lagos" in text for level, text in report.messages())
    # What was committed is what a new process reads, embedding nothing.
    counting.texts.clear()
    assert open_collection(settings, counting).entries() == store.entries() and counting.texts == []


def test_the_seeds_arrive_in_one_commit(settings, embedder, tmp_path):
    """Another process (a second server worker) opening a new collection while it is being seeded must
    find none of the seeds or all of them: one commit, not one a file."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name in ("one", "two", "three"):
        (seeds / f"{name}.txt").write_text(f"Story {name}\n\nThe council met on Monday about {name}.\n", encoding="utf-8")
    store = open_collection(settings.replace(seeds_dir=seeds), embedder)
    assert store.article_count() == 3 and store.generation() == 1


def test_removing_every_article_does_not_bring_the_seeds_back(settings, embedder):
    store = open_collection(settings, embedder)
    remove_articles(settings, [e.id for e in store.entries()], store)
    assert open_collection(settings, embedder).article_count() == 0


def test_duplicate_is_recognised_whatever_its_name_or_spacing(settings, embedder):
    store = open_collection(settings, embedder)
    seed = (SEEDS / f"{SEED_ID}.txt").read_text()
    respaced = "\n\n".join("   ".join(line.split()) for line in seed.splitlines())
    before = state(store)
    report = add_articles(settings, uploads(("renamed copy.txt", respaced.encode())), store, embedder)
    assert report.ok and not report.changed
    (dup,) = report.duplicates
    assert (dup.name, dup.duplicate_of) == ("renamed copy.txt", SEED_ID)
    assert state(store) == before
    assert any(SEED_ID in text for level, text in report.messages() if level == "warning")

    # The same article as a JSONL line (title as a field, not the first line), next to a new one twice.
    title, _, body = seed.partition("\n")
    report = add_articles(settings, uploads(("mixed.jsonl", jsonl({"title": title, "text": body}, LAGOS, LAGOS))), store, embedder)
    assert [d.duplicate_of for d in report.duplicates][0] == SEED_ID
    assert [d.name for d in report.duplicates] == ["mixed.jsonl line 1", "mixed.jsonl line 3"]
    assert [a.title for a, _ in report.added] == ["Floods in Lagos"]


def test_same_article_means_same_title_and_text_in_any_format():
    assert content_key("Snow", "Snow\n\n  It   snowed.\r\n") == content_key(" Snow ", "It snowed.")  # txt == jsonl
    assert content_key("Snow", "Snow\nIt snowed.") != content_key("Rain", "Rain\nIt snowed.")
    assert content_key("Snow", "Snow\nIt snowed.") != content_key("Snow", "Snow\nIt snowed again.")


BAD = [
    ("empty.txt", b" \n\n", "empty"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("huge.txt", b"Title\n" + b"word " * 400, "limit"),
    ("latin1.md", "Caf\xe9\nna\xefve".encode("latin-1"), "UTF-8"),
    ("page.html", b"<html><body><script>x()</script></body></html>", "no article text"),
    ("bad.jsonl", jsonl(LAGOS) + b'{"title": "x"}\n', 'bad.jsonl line 2: missing required field "text"'),
    ("notes.pdf", b"%PDF-1.7", "unsupported file type"),
]


@pytest.mark.parametrize(("name", "data", "reason"), BAD)
def test_strict_refuses_the_whole_batch_for_one_bad_file(settings, embedder, monkeypatch, name, data, reason):
    monkeypatch.setattr(qa.ingest.formats, "MAX_ARTICLE_BYTES", 1000)
    store = open_collection(settings, embedder)
    before = state(store)
    report = add_articles(settings, uploads(("good.txt", CAIRO_TXT.encode()), (name, data)), store, embedder, strict=True)
    assert not report.ok and not report.changed
    (refused,) = report.refused
    assert refused.name.startswith(name) and refused.reason.startswith(name) and reason in refused.reason
    assert state(store) == before
    assert report.messages()[-1] == ("error", "nothing was added: fix or leave out the refused files and try again")


def test_lenient_adds_the_rest_and_names_every_bad_entry(settings, embedder, monkeypatch):
    """What `qa add` does by default: a bad file or line is reported with its reason, the rest goes in."""
    monkeypatch.setattr(qa.ingest.formats, "MAX_ARTICLE_BYTES", 1000)
    store = open_collection(settings, embedder)
    report = add_articles(settings, uploads(("good.txt", CAIRO_TXT.encode()), *[(n, d) for n, d, _ in BAD]), store, embedder)
    assert not report.ok and report.changed
    assert sorted(a.title for a, _ in report.added) == ["Floods in Lagos", "Snow in Cairo"]
    assert len(report.refused) == len(BAD)
    for (name, _, reason), refused in zip(BAD, report.refused):
        assert refused.reason.startswith(name) and reason in refused.reason
    assert report.messages()[-1] == ("error", f"{len(BAD)} refused; the rest was added")


def test_a_50_mb_upload_is_refused_at_the_real_limit(settings, embedder):
    store = open_collection(settings, embedder)
    huge = b"A very long feed\n" + b"Words of a mistaken dump. " * 2_000_000  # about 52 MB of valid text
    report = add_articles(settings, uploads(("dump.txt", huge)), store, embedder, strict=True)
    (refused,) = report.refused
    assert not report.ok and "over the 5,000,000-byte limit" in refused.reason


def test_upload_names_become_safe_unique_ids(settings, embedder):
    store = open_collection(settings, embedder)
    names = ["../evil.txt", "..\\..\\evil2.txt", "/etc/passwd.txt", ".hidden.txt", "sub/dir/deep.md",
             "we ird?*name.txt", "....txt", f"{SEED_ID}.txt"]
    files = [(n, f"Title {i}\nDistinct article number {i} about something else.\n".encode()) for i, n in enumerate(names)]
    report = add_articles(settings, uploads(*files, ("CAIRO.HTML", PAGE.encode())), store, embedder)
    assert report.ok, report.refused
    assert sorted(a.id for a, _ in report.added) == sorted(
        ["evil", "evil2", "passwd", "hidden", "deep", "we_ird_name", "article", f"{SEED_ID}-2", "CAIRO"])
    assert store.article(SEED_ID).text == (SEEDS / f"{SEED_ID}.txt").read_text()  # not overwritten
    report = add_articles(settings, uploads(("..", b"Title\ntext")), store, embedder)
    assert not report.ok and "unsupported" in report.refused[0].reason


def test_safe_stem():
    assert safe_stem("x/../a.TXT") == "a"
    assert safe_stem("Ünïcode name.md") == "Ünïcode_name"
    assert safe_stem("C:\\Users\\me\\.secret.jsonl") == "secret"
    with pytest.raises(ArticleError, match="unsupported"):
        safe_stem(".txt")


def test_a_long_cjk_name_is_cut_by_bytes_and_added(settings, embedder):
    name = "伊朗导弹袭击美军基地" * 8 + ".txt"
    stem = safe_stem(name)
    assert len(stem.encode("utf-8")) <= 120 and stem.startswith("伊朗导弹")
    report = add_articles(settings, uploads((name, "伊朗向美军基地发射导弹\n伊拉克说发射了22枚导弹。\n".encode())),
                          open_collection(settings, embedder), embedder)
    assert report.ok and report.added[0][0].id == stem, report.messages()


def test_one_paragraph_without_a_title_line_is_titled_and_answerable(settings, embedder):
    """Its first line used to become the title and be dropped from the body: "added", 0 passages."""
    store = open_collection(settings, embedder)
    text = "Snow fell in Cairo on Monday for the first time in 112 years. Schools stayed closed on Tuesday.\n"
    report = add_articles(settings, uploads(("snow.txt", text.encode())), store, embedder)
    assert report.ok, report.messages()
    assert store.article("snow").title == "Snow fell in Cairo on Monday for the first time in 112 years."
    (passage,) = store.article_passages("snow")
    assert passage.text == text.strip()


def test_two_files_with_one_id_in_a_folder_are_both_kept(tmp_path, settings, embedder):
    (tmp_path / "a.txt").write_text("First\nOne text.\n")
    (tmp_path / "a.md").write_text("Second\nAnother text.\n")
    sources, _ = sources_in([tmp_path])
    report = add_articles(settings, sources, open_collection(settings, embedder), embedder)
    assert [(a.id, a.title) for a, _ in report.added] == [("a", "Second"), ("a-2", "First")]  # a.md sorts first


def test_a_folder_is_added_in_order_and_a_rerun_only_finds_duplicates(tmp_path, settings, counting):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "cairo.html").write_text(PAGE)
    (folder / "feed.jsonl").write_bytes(jsonl(LAGOS, WHEAT))
    store = open_collection(settings, counting)
    report = add_articles(settings, sources_in([folder])[0], store, counting)
    assert report.added_count == 3
    counting.texts.clear()
    again = add_articles(settings, sources_in([folder])[0], store, counting)
    # The JSONL file resumes after its last line; the HTML page is seen again as a duplicate.
    assert again.added_count == 0 and counting.texts == [] and [d.name for d in again.duplicates] == ["cairo.html"]
    assert again.resumed == [("feed.jsonl", 2)]


# --- removing -----------------------------------------------------------------------------------


def test_remove_takes_the_articles_and_their_passages_out_at_once(settings, embedder):
    store = open_collection(settings, embedder)
    add_articles(settings, uploads(("news.jsonl", jsonl(LAGOS, WHEAT))), store, embedder)
    lagos = next(e.id for e in store.entries() if e.title == "Floods in Lagos")
    report = remove_articles(settings, [lagos, SEED_ID], store)
    assert report.ok and [a.id for a in report.removed] == [lagos, SEED_ID]
    assert {e.id for e in store.entries()} == {"000_69438e7c3c1c14ec", next(e.id for e in store.entries() if e.title == "Wheat prices")}
    assert store.article_passages(SEED_ID) == []
    hits = found(store, store.dense_top_k(embedder.encode(["How many missiles did Iraq say were fired?"]), 50))[0]
    assert SEED_ID not in {p.article_id for p, _ in hits} and len(hits) == store.passage_count()
    assert any(level == "success" and lagos in text for level, text in report.messages())


def test_removing_an_unknown_article_removes_nothing(settings, embedder):
    store = open_collection(settings, embedder)
    before = state(store)
    report = remove_articles(settings, [SEED_ID, "no-such-article"], store)
    assert not report.ok and not report.removed and report.refused[0].name == "no-such-article"
    assert state(store) == before
    assert report.messages()[-1] == ("error", "nothing was removed")


def test_an_upload_source_reads_like_a_file(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_bytes(jsonl(LAGOS))
    from qa.ingest.sources import items

    assert [i.article for i in items(Source.upload("news.jsonl", path.read_bytes()))] == [i.article for i in items(Source.file(path))]
