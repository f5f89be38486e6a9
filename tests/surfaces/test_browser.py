"""The chat in a real browser: `streamlit run app.py` as a server, driven by headless Chromium.

Playwright's own browser download needs its CDN, which CI cannot reach, so the browser is Debian's
`chromium` package (scripts/test.sh installs it when it is missing). Without it this test fails
rather than skips: a browser test that quietly never runs proves nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOT = ARTIFACTS / "browser-chat.png"
MISSILES = "How many missiles did Iraq say were fired?"
# The article the answer comes from; its title (first line) is what the citation shows.
CITED_TITLE = (REPO / "seeds" / "004_b4b330c42fa68dce.txt").read_text(encoding="utf-8").splitlines()[0].strip()
START_TIMEOUT_S = 120
FIRST_ANSWER_TIMEOUT_MS = 120_000  # the first page load also loads the models and indexes the seeds

pytestmark = pytest.mark.slow


def chromium_path() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        pytest.fail(
            "Debian's chromium is not installed (no `chromium` on PATH, no /usr/bin/chromium). "
            "`bash scripts/test.sh` installs it (apt-get install -y --no-install-recommends chromium); "
            "Playwright's own browser download is not used."
        )
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200 and reply.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app served by Streamlit on a free port, with its own index folder (index/ is untouched)."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    # Edits on: the remove confirmation is tested too (off by default, a public chat hides them).
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_INDEX_DIR": str(tmp_path_factory.mktemp("index")), "QA_ALLOW_EDITS": "1"}
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true", "--server.port", str(port), "--browser.gatherUsageStats", "false",
    ]
    with open(log_path, "wb") as log:  # a file, not a pipe: a full pipe would stall the server
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not healthy(f"http://127.0.0.1:{port}/_stcore/health"):
            if proc.poll() is not None or time.monotonic() > deadline:
                state = f"exited with {proc.returncode}" if proc.poll() is not None else f"not healthy after {START_TIMEOUT_S} s"
                pytest.fail(f"streamlit {state}; its output:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 1400})
        finally:
            browser.close()


def test_question_in_the_browser_shows_answer_and_citation(server, page):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.goto(server)
        chat_input = page.get_by_test_id("stChatInputTextArea")
        expect(chat_input).to_be_visible(timeout=FIRST_ANSWER_TIMEOUT_MS)  # shown once the models are loaded
        expect(page.get_by_test_id("stAppDeployButton")).to_have_count(0)  # .streamlit/config.toml: toolbarMode
        chat_input.fill(MISSILES)
        chat_input.press("Enter")

        user = page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id("stChatMessageAvatarUser"))
        expect(user.get_by_text(MISSILES)).to_be_visible(timeout=FIRST_ANSWER_TIMEOUT_MS)
        # the welcome, then the answer
        assistant = page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id("stChatMessageAvatarAssistant")).nth(1)
        expect(assistant).to_be_visible(timeout=FIRST_ANSWER_TIMEOUT_MS)
        # The best answer comes first, in bold ("<b>22</b> … (NN% of the evidence)"): the bold span holds
        # exactly the answer text. The rest of the line (attribution, share of the evidence) is left to change.
        best = assistant.locator("b").first
        expect(best).to_have_text("22", timeout=FIRST_ANSWER_TIMEOUT_MS)
        expect(best).to_be_visible()

        # The best answer's first citation: an expander titled "<article title> — passage N".
        citation = assistant.get_by_test_id("stExpander").first
        expect(citation).to_contain_text(CITED_TITLE)
        expect(citation.get_by_text(CITED_TITLE)).to_be_visible()
        citation.locator("summary").click()
        mark = citation.locator("mark")
        expect(mark).to_have_text("22")  # the cited passage highlights the answer span
        mark.scroll_into_view_if_needed()
        # The expander opens with an animation: wait until it has stopped growing (same height at two
        # polls) with the highlight inside it, so the screenshot shows the cited passage whole.
        page.wait_for_function(
            """m => { const d = m.closest('details'), r = m.getBoundingClientRect(), box = d.getBoundingClientRect();
                      const still = d.dataset.lastHeight === String(box.height);
                      d.dataset.lastHeight = String(box.height);
                      return still && r.height > 0 && r.top >= box.top && r.bottom <= box.bottom; }""",
            arg=mark.element_handle(),
            polling=250,
            timeout=10_000,
        )
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    except BaseException:
        try:  # what the page looked like when it failed, next to where the good screenshot goes
            page.screenshot(path=str(ARTIFACTS / "browser-chat-failed.png"), full_page=True)
        except Exception:
            pass
        raise


ANSWER_TIMEOUT_MS = 60_000
SUPREME_LEADER, SLAP = "Who is Iran's Supreme Leader?", "What did he call the missile attack?"
OUT_OF_CORPUS = "Who won the football World Cup in 1998?"


def ask(page, question: str, answers_before: int):
    """Type `question`; the new assistant message once it has appeared."""
    from playwright.sync_api import expect

    chat_input = page.get_by_test_id("stChatInputTextArea")
    chat_input.fill(question)
    chat_input.press("Enter")
    reply = assistants(page).nth(answers_before + 1)  # +1: the welcome
    expect(reply).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    return reply


def assistants(page):
    return page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id("stChatMessageAvatarAssistant"))


def answers_worth_showing(page) -> None:
    """What no screenshot may show: an answer at 0% of the evidence, a span with a bracket or quote
    left open or closed alone, one passage cited twice for one answer."""
    text = page.get_by_test_id("stMainBlockContainer").inner_text()
    assert "(0% of the evidence)" not in text
    for line in page.get_by_test_id("stMainBlockContainer").locator("b").all_inner_texts():
        for opener, closer in ("()", "[]", "“”"):
            assert line.count(opener) == line.count(closer), line
        assert line.count('"') % 2 == 0, line
    for message in assistants(page).all():
        labels = message.get_by_test_id("stExpander").locator("summary").all_inner_texts()
        cited = [label for label in labels if "passage" in label]
        assert len(cited) == len(set(cited)) or "The closest passages" in message.inner_text(), cited


def test_first_screen_follow_up_alternatives_and_abstention(server, page):
    """A new visitor's session: the welcome with example questions (one is clicked), an answer with
    alternatives, a follow-up read in context, an abstention, and removing an article asks first.
    Screenshots of each are saved in test-artifacts/ for people to look at."""
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    visitor = page.context.browser.new_page(viewport={"width": 1280, "height": 1400})
    try:
        visitor.goto(server)
        welcome = assistants(visitor).first
        expect(welcome).to_contain_text("I answer questions from 2 articles", timeout=FIRST_ANSWER_TIMEOUT_MS)
        examples = welcome.get_by_test_id("stButton")
        expect(examples.first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        assert all(label.strip().endswith("?") for label in examples.all_inner_texts())
        visitor.screenshot(path=str(ARTIFACTS / "browser-welcome.png"), full_page=True)

        example = examples.first.inner_text().strip()
        examples.first.click()
        first = assistants(visitor).nth(1)
        expect(first.locator("b").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)  # answered, not declined
        expect(visitor.get_by_test_id("stChatMessage").filter(has_text=example).first).to_be_visible()

        alternatives = ask(visitor, "What did Iranian state television say?", 1)
        expect(alternatives).to_contain_text("Other possible answers:", timeout=ANSWER_TIMEOUT_MS)
        expect(alternatives.locator("b").first).to_contain_text("American terrorists")
        expect(alternatives).to_contain_text("Other possible answers:Iran had fired 15 missiles")
        answers_worth_showing(visitor)
        alternatives.scroll_into_view_if_needed()
        visitor.screenshot(path=str(ARTIFACTS / "browser-alternatives.png"), full_page=True)

        ask(visitor, SUPREME_LEADER, 2)
        follow_up = ask(visitor, SLAP, 3)
        expect(follow_up).to_contain_text("Read as: What did Ali Khamenei call the missile attack?", timeout=ANSWER_TIMEOUT_MS)
        expect(follow_up.locator("b").first).to_contain_text("slap on the face")
        answers_worth_showing(visitor)
        visitor.screenshot(path=str(ARTIFACTS / "browser-follow-up.png"), full_page=True)

        declined = ask(visitor, OUT_OF_CORPUS, 4)
        expect(declined).to_contain_text("I couldn't find this in the articles.", timeout=ANSWER_TIMEOUT_MS)
        expect(declined.locator("b")).to_have_count(0)  # no scored answer under an abstention
        answers_worth_showing(visitor)
        visitor.screenshot(path=str(ARTIFACTS / "browser-abstention.png"), full_page=True)

        # Removing asks first; the seed articles are not offered at all.
        sidebar = visitor.get_by_test_id("stSidebar")
        note = REPO / "test-artifacts" / "browser-note.txt"
        note.write_text("A note to remove\nThe harbour reopened on Monday after the storm.\n", encoding="utf-8")
        sidebar.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(note))
        sidebar.get_by_role("button", name="Add to the articles").click()
        expect(sidebar).to_contain_text("3 articles", timeout=ANSWER_TIMEOUT_MS)
        sidebar.get_by_role("combobox").click()
        options = visitor.get_by_role("option")
        expect(options).to_have_count(1)  # the note; not the two seeds
        options.first.click()
        # Each click reruns the page: wait for what it shows before the next click, or a click can land
        # on the buttons of the run before.
        question = sidebar.get_by_text("Remove this article from the collection for everyone using it?")
        running = visitor.get_by_test_id("stStatusWidget")
        sidebar.get_by_role("button", name="Remove", exact=True).click()
        expect(question).to_be_visible()
        expect(running).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
        sidebar.get_by_role("button", name="Cancel").click()
        expect(question).to_have_count(0)
        expect(sidebar).to_contain_text("3 articles")
        expect(running).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
        sidebar.get_by_role("button", name="Remove", exact=True).click()
        expect(question).to_be_visible()
        expect(running).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
        # A click on a button Streamlit is still re-drawing (a stale copy from the run before) can be
        # dropped; a person clicks again, and so does the test, a bounded number of times.
        confirm = sidebar.get_by_role("button", name="Yes, remove it")
        for _ in range(3):
            if confirm.count():
                confirm.click()
            try:
                expect(sidebar).to_contain_text("2 articles", timeout=15_000)
                break
            except AssertionError:
                continue
        expect(sidebar).to_contain_text("2 articles")
    except BaseException:
        try:
            visitor.screenshot(path=str(ARTIFACTS / "browser-session-failed.png"), full_page=True)
        except Exception:
            pass
        raise
    finally:
        visitor.close()


def listening_addresses(port: int) -> set[str]:
    """The local addresses TCP sockets listen on at `port` (from /proc/net/tcp and tcp6; no traffic sent)."""
    import ipaddress

    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(str(ipaddress.ip_address(raw)))
    return found


@pytest.mark.slow
def test_the_chat_listens_on_loopback_only(server):
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("no /proc/net/tcp to read listening sockets from on this system")
    port = int(server.rsplit(":", 1)[1])
    assert listening_addresses(port) == {"127.0.0.1"}
