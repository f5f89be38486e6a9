"""The sidebar's upload and remove controls, end to end (AppTest, real models), on a new collection started
from seeds/ (which stays untouched); and a running chat that sees another process's changes."""

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

    index = tmp_path_factory.mktemp("app-index")
    # The pipeline is shared through st.cache_resource, so one loaded by another test module (other
    # folders) would be served here: start and end with an empty cache.
    st.cache_resource.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QA_INDEX_DIR", str(index))
        mp.setenv("QA_ALLOW_EDITS", "1")  # the controls are hidden by default
        at = AppTest.from_file(str(APP), default_timeout=180).run()
        assert not at.exception, at.exception
        yield at, index
    st.cache_resource.clear()


def repository_state() -> tuple[str, dict]:
    """`git status` of the checkout (when it is one) and the bytes of every seed file."""
    status = subprocess.run(["git", "status", "--porcelain"], cwd=SEEDS.parent, capture_output=True, text=True)
    return (status.stdout if status.returncode == 0 else ""), snapshot(SEEDS)


def button(at, label):
    return next(b for b in at.sidebar.button if b.label == label)


@pytest.mark.slow
def test_upload_remove_and_refusal_in_the_sidebar(app):
    at, index = app
    repository = repository_state()
    assert "2 articles" in shown(at.sidebar)
    assert button(at, "Add to the articles").disabled and button(at, "Remove").disabled

    at.sidebar.file_uploader[0].set_value([("cairo.html", PAGE.encode(), "text/html")])
    button(at.run(), "Add to the articles").click().run()
    assert not at.exception, at.exception
    assert "3 articles" in shown(at.sidebar) and CAIRO_TITLE in shown(at.sidebar)
    assert any("added cairo from cairo.html" in plain(s.value) for s in at.sidebar.success)
    assert not at.sidebar.file_uploader[0].value  # emptied for the next upload

    # The chat reads the new index straight away.
    at.chat_input[0].set_value("When did it snow in Cairo?").run()
    assert not at.exception, at.exception
    assert CAIRO_TITLE in shown(assistant_messages(at)[-1])

    # A bad upload: an error naming it, and nothing written.
    before = shown(at.sidebar)
    at.sidebar.file_uploader[0].set_value([("empty.txt", b"", "text/plain")])
    button(at.run(), "Add to the articles").click().run()
    assert not at.exception, at.exception
    errors = [plain(e.value) for e in at.sidebar.error]
    assert any("empty.txt" in e and "empty" in e for e in errors) and any("nothing was added" in e for e in errors)
    assert "3 articles" in shown(at.sidebar) and "3 articles" in before
    assert not at.sidebar.file_uploader[0].value  # the refused file is not left looking accepted

    # The seed articles are not offered for removal; the rest are, one confirmation away.
    seed_titles = {line.splitlines()[0] for line in (p.read_text(encoding="utf-8") for p in SEEDS.iterdir())}
    offered = at.sidebar.selectbox[0].options
    assert CAIRO_TITLE in offered and not seed_titles & set(offered)
    at.sidebar.selectbox[0].set_value("cairo").run()
    button(at, "Remove").click().run()
    assert any("Remove this article" in w.value for w in at.sidebar.warning)
    button(at, "Cancel").click().run()
    assert "3 articles" in shown(at.sidebar) and not at.sidebar.warning
    button(at, "Remove").click().run()
    button(at, "Yes, remove it").click().run()
    assert not at.exception, at.exception
    assert "2 articles" in shown(at.sidebar) and CAIRO_TITLE not in shown(at.sidebar.expander[0])
    assert any("removed cairo" in plain(s.value) for s in at.sidebar.success)
    # The answer given before the removal is still on screen.
    assert CAIRO_TITLE in shown(assistant_messages(at)[-1])
    assert repository_state() == repository  # uploads and removals never touch the checkout


@pytest.mark.slow
def test_a_running_chat_sees_another_process_remove_an_article(tmp_path):
    """The chat was started before `qa remove` ran in another process: its next question must not cite
    the removed article, and its sidebar counts the change."""
    import os
    import sys

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    index = tmp_path / "index"
    st.cache_resource.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QA_INDEX_DIR", str(index))
        at = AppTest.from_file(str(APP), default_timeout=180).run()
        question = "How many missiles did Iraq say were fired?"
        at.chat_input[0].set_value(question).run()
        cited = shown(assistant_messages(at)[-1])
        assert "Iran fires missiles" in cited
        seed_id = "004_b4b330c42fa68dce"
        done = subprocess.run([sys.executable, "-m", "qa", "remove", seed_id, "--index", str(index)],
                              capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        assert done.returncode == 0, done.stderr
        at.chat_input[0].set_value(question).run()
        assert not at.exception, at.exception
        assert "Iran fires missiles" not in shown(assistant_messages(at)[-1])
        assert "1 articles" in shown(at.sidebar)
    st.cache_resource.clear()
