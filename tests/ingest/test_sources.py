import json

from qa.ingest.sources import read_folder
from qa.ingest.formats import MAX_ARTICLE_BYTES
from conftest import SEEDS


def test_seed_articles_load_with_titles_and_untouched_text():
    articles, skipped = read_folder(SEEDS)
    assert skipped == []
    by_id = {a.id: a for a in articles}
    assert by_id["004_b4b330c42fa68dce"].title.startswith("Iran fires missiles on US-led forces in Iraq")
    raw = (SEEDS / "004_b4b330c42fa68dce.txt").read_text(encoding="utf-8")
    assert by_id["004_b4b330c42fa68dce"].text == raw


def test_bad_files_are_skipped_with_a_reason_naming_them(tmp_path):
    (tmp_path / "good.txt").write_text("Title\nIraq said 22 missiles were fired.\n")
    (tmp_path / "empty.txt").write_text("  \n\n")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 title\nna\xefve text".encode("latin-1"))
    (tmp_path / "huge.txt").write_bytes(b"a" * (MAX_ARTICLE_BYTES + 1))
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    articles, skipped = read_folder(tmp_path)
    assert [a.id for a in articles] == ["good"]
    reasons = {s.where: s.error for s in skipped}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "limit" in reasons["huge.txt"]
    assert "unsupported" in reasons["image.png"]
    assert all(name in reason for name, reason in reasons.items())


def test_a_link_out_of_the_folder_is_skipped(tmp_path):
    """A symlink in a folder being added, to a file elsewhere, would serve any file the server can read."""
    corpus, outside = tmp_path / "corpus", tmp_path / "private.txt"
    corpus.mkdir()
    outside.write_text("Secret\nroot:x:0:0:root:/root:/bin/bash\n")
    (corpus / "passwd.txt").symlink_to(outside)
    (corpus / "news.txt").write_text("Snow in Cairo\nIt snowed in Cairo on Monday.\n")
    (corpus / "again.txt").symlink_to(corpus / "news.txt")  # a link within the folder is followed
    articles, skipped = read_folder(corpus)
    assert sorted(a.id for a in articles) == ["again", "news"]
    assert [s.error for s in skipped] == ["passwd.txt: a link to a file outside the folder"]


def test_a_jsonl_archive_is_read_as_a_stream_from_where_it_stopped(tmp_path):
    """Each item says how far into the file it ends; reading again from there gives the rest, with the
    same line numbers."""
    from qa.ingest.sources import Source, items

    lines = [{"title": f"Story {i}", "text": f"Story number {i} happened on day {i}."} for i in range(5)]
    path = tmp_path / "archive.jsonl"
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in lines[:2]) + b"{broken\n\n"
                     + b"".join(json.dumps(r).encode() + b"\n" for r in lines[2:]))
    whole = list(items(Source.file(path)))
    assert [i.line for i in whole] == [1, 2, 3, 5, 6, 7]
    assert whole[2].article is None and whole[2].error.startswith("archive.jsonl line 3: not valid JSON")
    rest = list(items(Source.file(path), whole[2].offset, whole[2].line))
    assert [(i.line, i.article.title) for i in rest] == [(5, "Story 2"), (6, "Story 3"), (7, "Story 4")]
    assert rest[-1].offset == path.stat().st_size
