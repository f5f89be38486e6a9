"""The chat app end to end (Streamlit's AppTest, real models), and the markup helpers it relies on.

Every AppTest run of a question loads models or reads passages, so one app is shared by the module:
AppTest keeps session state between runs, which is also what the history test needs.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from qa.settings import load_settings
from qa.display import escape, highlight

APP = Path(__file__).resolve().parents[2] / "app.py"
MISSILES = "How many missiles did Iraq say were fired?"
SOLEIMANI = "Who ordered the drone strike that killed Soleimani?"
SEED_TITLES = (
    "Iran fires missiles on US-led forces in Iraq; Trump responds: ‘All is well’",
    "Iran Believed to Have Deliberately Missed U.S. Forces in Iraq Strikes, Western Sources Say",
)


def plain(markup: str) -> str:
    """The text a browser shows for markup from qa.display (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]*>", "", markup.replace("<br>", "\n")))


def shown(block) -> str:
    """What a reader of `block` sees: markdown bodies and expander titles."""
    return "\n".join(plain(part) for part in [m.value for m in block.markdown] + [e.label for e in block.expander])


def assistant_messages(at) -> list:
    """The answers, oldest first (the welcome, always the first assistant message, left out)."""
    return [m for m in at.chat_message if m.name == "assistant"][1:]


def best_answer(message) -> str:
    """The bold headline of an answer message."""
    headlines = [m.value for m in message.markdown if m.value.startswith("<b>")]
    assert headlines, f"no answer shown: {shown(message)[:300]!r}"
    headline = headlines[0]
    return html.unescape(headline[len("<b>") : headline.index("</b>")])


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from streamlit.testing.v1 import AppTest

    with pytest.MonkeyPatch.context() as mp:
        # The app builds its own index from seeds/ instead of touching index/. The reader is the
        # default one (models/reader) unless QA_READER is set outside the tests.
        mp.setenv("QA_INDEX_DIR", str(tmp_path_factory.mktemp("index")))
        at = AppTest.from_file(str(APP), default_timeout=180).run()
        assert not at.exception, at.exception
        yield at


@pytest.fixture(scope="module")
def asked(app):
    app.chat_input[0].set_value(MISSILES).run()
    assert not app.exception, app.exception
    return app


@pytest.mark.slow
def test_sidebar_describes_the_corpus(app):
    text = shown(app.sidebar)
    assert "2 articles" in text
    assert all(title in text for title in SEED_TITLES)
    assert app.sidebar.slider[0].value == min(load_settings().top_k, 20)


@pytest.mark.slow
def test_upload_and_remove_are_hidden_unless_edits_are_allowed(app):
    """A chat open to visitors cannot be emptied by one: QA_ALLOW_EDITS is off by default."""
    assert not app.sidebar.file_uploader and not [b for b in app.sidebar.button if b.label in ("Remove", "Add to the articles")]
    assert any("QA_ALLOW_EDITS=1" in c.value for c in app.sidebar.caption)


@pytest.mark.slow
def test_answer_is_shown_with_a_citation(asked):
    message = assistant_messages(asked)[0]
    text = shown(message)
    assert re.search(r"\(\d+% of the evidence\)", text)
    assert any(title in plain(e.label) for e in message.expander for title in SEED_TITLES)
    # Whatever the reader picked is shown in bold and marked inside the cited passage.
    answer = best_answer(message)
    marked = [plain(m.value.split("<mark>")[1].split("</mark>")[0]) for m in message.markdown if "<mark>" in m.value]
    assert answer and answer in marked


@pytest.mark.slow
def test_shipped_reader_answers_22(asked):
    assert "22" in best_answer(assistant_messages(asked)[0])


@pytest.mark.slow
def test_whole_article_toggle_shows_the_cleaned_article_scrolled_to_the_answer(asked):
    toggle = asked.toggle(key="article-1-0-0")
    assert toggle.value is False
    toggle.set_value(True).run()
    frames = [f.proto.srcdoc for f in asked.get("iframe")]
    assert len(frames) == 1, "the whole article is shown in one frame"
    article = frames[0]
    assert html.unescape(re.search(r'<mark id="answer">(.*?)</mark>', article).group(1)) == "22"
    assert "scrollIntoView" in article  # the frame opens at the answer
    text = plain(article)
    assert text.count("Curious crowd. Residents look at a crater") == 1  # the doubled photo caption, once
    assert not any(title in text for title in SEED_TITLES)  # the title line is not body text
    assert "<script" not in html.unescape(re.sub(r"<script>.*?</script>", "", article))
    toggle = asked.toggle(key="article-1-0-0")
    toggle.set_value(False).run()
    assert not asked.get("iframe")


@pytest.mark.slow
def test_the_welcome_names_the_articles_and_offers_questions_they_answer(app):
    welcome = [m for m in app.chat_message if m.name == "assistant"][0]
    text = shown(welcome)
    assert "2 articles" in text
    assert all(title in text for title in SEED_TITLES)
    examples = [b for b in app.button if b.key and b.key.startswith("example-")]
    assert examples, "example questions are offered"
    assert all(b.label.endswith("?") for b in examples)


@pytest.mark.slow
def test_empty_question_asks_for_one(asked):
    asked.chat_input[0].set_value("   ").run()
    assert not asked.exception
    assert "Please type a question." in shown(assistant_messages(asked)[-1])
    assert len([m for m in asked.chat_message if m.name == "user"]) == 1  # not kept in the history


@pytest.mark.slow
def test_history_keeps_every_question(asked):
    asked.chat_input[0].set_value(SOLEIMANI).run()
    asked.chat_input[0].set_value("x" * 10_000).run()  # a pasted essay is shortened, not fatal
    assert not asked.exception
    questions = [shown(m) for m in asked.chat_message if m.name == "user"]
    assert questions[:2] == [MISSILES, SOLEIMANI]
    assert len(questions) == 3 and 0 < len(questions[2]) < 10_000
    assert len(assistant_messages(asked)) == 3


@pytest.mark.slow
def test_clear_conversation_empties_the_history(asked):
    asked.sidebar.button[0].click().run()
    assert not asked.exception
    assert [m.name for m in asked.chat_message] == ["assistant"]  # the welcome alone
    assert asked.session_state["messages"] == []


@pytest.mark.slow
def test_follow_up_is_read_in_context(asked):
    asked.chat_input[0].set_value("Who is the Pentagon spokesman?").run()
    asked.chat_input[0].set_value("Which bases did he say were targeted?").run()
    assert not asked.exception
    message = assistant_messages(asked)[-1]
    assert [c.value for c in message.caption][:1] == ["Read as: Which bases did Jonathan Hoffman say were targeted?"]
    assert "al-Asad" in best_answer(message)


@pytest.mark.slow
def test_disagreeing_sources_are_shown_side_by_side(asked):
    asked.chat_input[0].set_value("How many missiles were fired?").run()
    assert not asked.exception
    text = shown(assistant_messages(asked)[-1])
    assert "The sources disagree" in text
    assert "22 — according to Iraq" in text and "15 — according to Iranian state television" in text


# --- qa.display -------------------------------------------------------------------------------


def test_escape_neutralises_html_and_markdown():
    text = '<script>alert("x")</script> costs $5 and $6, *not* [this](http://x) :smile: & more'
    out = escape(text)
    for active in ("<script>", "$", "*", "[", "](", ":", '"'):
        assert active not in out
    assert html.unescape(out) == text


def test_highlight_marks_exactly_the_offsets():
    text = "Iraq said 22 missiles were fired."
    out = highlight(text, 10, 12)
    assert out.startswith("<div>") and out.endswith("</div>")
    before, rest = out[len("<div>") : -len("</div>")].split("<mark>")
    marked, after = rest.split("</mark>")
    assert (html.unescape(before), html.unescape(marked), html.unescape(after)) == (text[:10], "22", text[12:])


def test_highlight_escapes_inside_and_around_the_mark():
    text = "a <b>bold</b> <script>x</script> end"
    start = text.index("<script>")
    out = highlight(text, start, start + len("<script>x</script>"))
    assert "<script>" not in out and "<b>" not in out
    assert html.unescape(out.split("<mark>")[1].split("</mark>")[0]) == "<script>x</script>"


def test_highlight_keeps_line_breaks_without_newlines():
    text = "Title\r\n\n    Indented line\rlast"
    out = highlight(text, 0, 0)
    assert "\n" not in out and "\r" not in out
    assert out.count("<br>") == 3  # \r\n is one break
    with pytest.raises(ValueError):
        highlight(text, 3, len(text) + 1)
