"""The sidebar's upload and remove controls, end to end (AppTest, real models), on the default collection:
the user data folder (here under a temporary XDG_DATA_HOME), started from seeds/, which stays untouched."""

from __future__ import annotations

import subprocess

import pytest

from conftest import SEEDS
from test_app import APP, assistant_messages, plain, shown
from articles import PAGE, snapshot

CAIRO_TITLE = "Snow falls in Cairo for the first time in decades"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    data = tmp_path_factory.mktemp("app-data")
    corpus = data / "article-qa" / "articles"  # platformdirs' user data folder under XDG_DATA_HOME
    index = tmp_path_factory.mktemp("app-index")
    # load_pipeline takes no arguments, so a pipeline cached by another test module (other folders)
    # would be served here: start and end with an empty cache.
    st.cache_resource.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", str(data))
        mp.delenv("QA_CORPUS_DIR", raising=False)
        mp.setenv("QA_INDEX_DIR", str(index))
        at = AppTest.from_file(str(APP), default_timeout=180).run()
        assert not at.exception, at.exception
        yield at, corpus, index
    st.cache_resource.clear()


def repository_state() -> tuple[str, dict]:
    """`git status` of the checkout (when it is one) and the bytes of every seed file."""
    status = subprocess.run(["git", "status", "--porcelain"], cwd=SEEDS.parent, capture_output=True, text=True)
    return (status.stdout if status.returncode == 0 else ""), snapshot(SEEDS)


def button(at, label):
    return next(b for b in at.sidebar.button if b.label == label)


@pytest.mark.slow
def test_upload_remove_and_refusal_in_the_sidebar(app):
    at, corpus, index = app
    repository = repository_state()
    assert "2 articles" in shown(at.sidebar)
    assert sorted(p.name for p in corpus.iterdir()) == sorted(p.name for p in SEEDS.iterdir())
    assert button(at, "Add to the articles").disabled and button(at, "Remove").disabled

    at.sidebar.file_uploader[0].set_value([("cairo.html", PAGE.encode(), "text/html")])
    button(at.run(), "Add to the articles").click().run()
    assert not at.exception, at.exception
    assert "3 articles" in shown(at.sidebar) and CAIRO_TITLE in shown(at.sidebar)
    assert any("added cairo from cairo.html" in plain(s.value) for s in at.sidebar.success)
    assert (corpus / "cairo.html").exists()
    assert not at.sidebar.file_uploader[0].value  # emptied for the next upload

    # The chat reads the new index straight away.
    at.chat_input[0].set_value("When did it snow in Cairo?").run()
    assert not at.exception, at.exception
    assert CAIRO_TITLE in shown(assistant_messages(at)[-1])

    # A bad upload: an error naming it, and nothing written.
    before = snapshot(corpus, index)
    at.sidebar.file_uploader[0].set_value([("empty.txt", b"", "text/plain")])
    button(at.run(), "Add to the articles").click().run()
    assert not at.exception, at.exception
    errors = [plain(e.value) for e in at.sidebar.error]
    assert any("empty.txt" in e and "empty" in e for e in errors) and any("nothing was added" in e for e in errors)
    assert snapshot(corpus, index) == before and "3 articles" in shown(at.sidebar)

    at.sidebar.selectbox[0].set_value("cairo").run()
    button(at, "Remove").click().run()
    assert not at.exception, at.exception
    assert "2 articles" in shown(at.sidebar) and CAIRO_TITLE not in shown(at.sidebar.expander[0])
    assert any("removed cairo" in plain(s.value) for s in at.sidebar.success)
    assert not (corpus / "cairo.html").exists()
    # The answer given before the removal is still on screen.
    assert CAIRO_TITLE in shown(assistant_messages(at)[-1])

    # Removing a seed article takes it out of the collection, not out of seeds/.
    seed_id = sorted(p.stem for p in SEEDS.iterdir())[0]
    at.sidebar.selectbox[0].set_value(seed_id).run()
    button(at, "Remove").click().run()
    assert not at.exception, at.exception
    assert "1 articles" in shown(at.sidebar) and not (corpus / f"{seed_id}.txt").exists()
    assert repository_state() == repository  # uploads and removals never touch the checkout
