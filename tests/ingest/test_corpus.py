from qa.ingest.corpus import fingerprint, load_corpus
from qa.ingest.formats import MAX_ARTICLE_BYTES
from conftest import SEEDS


def test_seed_articles_load_with_titles_and_untouched_text():
    articles, skipped = load_corpus(SEEDS)
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
    articles, skipped = load_corpus(tmp_path)
    assert [a.id for a in articles] == ["good"]
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in skipped}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "limit" in reasons["huge.txt"]
    assert "unsupported" in reasons["image.png"]
    assert all(name in reason for name, reason in reasons.items())


def test_fingerprint_changes_with_text():
    articles, _ = load_corpus(SEEDS)
    changed = [articles[0].__class__(articles[0].id, articles[0].title, articles[0].text + " More.")] + articles[1:]
    assert fingerprint(articles) != fingerprint(changed)
    assert fingerprint(articles) == fingerprint(list(reversed(articles)))


def test_a_link_out_of_the_corpus_folder_is_skipped(tmp_path):
    """A symlink in the corpus to a file elsewhere would serve any file the server can read."""
    corpus, outside = tmp_path / "corpus", tmp_path / "private.txt"
    corpus.mkdir()
    outside.write_text("Secret\nroot:x:0:0:root:/root:/bin/bash\n")
    (corpus / "passwd.txt").symlink_to(outside)
    (corpus / "news.txt").write_text("Snow in Cairo\nIt snowed in Cairo on Monday.\n")
    (corpus / "again.txt").symlink_to(corpus / "news.txt")  # a link within the folder is followed
    articles, skipped = load_corpus(corpus)
    assert sorted(a.id for a in articles) == ["again", "news"]
    assert [s.reason for s in skipped] == ["passwd.txt: a link to a file outside the corpus folder"]
