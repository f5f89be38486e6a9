"""Chat over the articles: `streamlit run app.py`. UI only; the `qa` library does the work."""

from __future__ import annotations

import logging
import threading

import streamlit as st

from qa.answering.conversation import Turn
from qa.answering.examples import example_questions
from qa.answering.pipeline import EmptyQuestion, Pipeline
from qa.display import article_view, collapse, escape, evidence_label, highlight, passage_name, text_block
from qa.ingest.chunking import body_lines
from qa.schema import Answer, Citation, Response
from qa.settings import load_settings, quiet_model_loading
from qa.ingest.sources import Source
from qa.store.collection import add_articles, remove_articles

log = logging.getLogger(__name__)

st.set_page_config(page_title="article-qa", page_icon="📰", layout="centered")
st.title("Ask the articles")


@st.cache_resource(show_spinner=False)
def shared() -> dict:
    """What every session shares: the pipeline, once loaded, and the lock its loading holds. Not the
    pipeline itself cached: a cached function's elements (the progress bar) would be replayed."""
    return {"lock": threading.Lock()}


def loaded_pipeline() -> Pipeline:
    """The pipeline, with a progress bar naming each step while the first visitor waits for the models
    (a page that stays blank for seconds looks broken)."""
    holder = shared()
    with holder["lock"]:
        if "pipeline" not in holder:
            box = st.empty()
            bar = box.progress(0.0, text="Starting…")
            done = iter(range(1, LOAD_STEPS + 1))

            def step(what: str) -> None:
                bar.progress(next(done, LOAD_STEPS) / (LOAD_STEPS + 1), text=f"{what}…")

            quiet_model_loading()
            holder["pipeline"] = Pipeline.load(load_settings(), step=step)
            box.empty()
    return holder["pipeline"]


LOAD_STEPS = 3  # Pipeline.load's steps


@st.cache_data(show_spinner="Finding example questions…", max_entries=4)
def welcome_facts(_pipeline: Pipeline, location: str, generation: int) -> tuple[list[str], list[str]]:
    """The newest titles and example questions the collection answers; found again only when the
    collection has changed (every rerun of the page would otherwise list a large archive's ids)."""
    store = _pipeline.store
    newest = [store.article(article_id).title for article_id in reversed(store.article_ids()[-WELCOME_TITLES:])]
    return newest, example_questions(_pipeline)


@st.cache_resource(show_spinner=False)
def upload_embedder():
    """Uploads are embedded with their own copy: the pipeline's may be answering in another session."""
    from qa.embedding.embedder import Embedder

    return Embedder.from_settings(load_settings())


def html(markup: str) -> None:
    """Only for markup built by qa.display, which escapes every piece of text it is given."""
    st.markdown(markup, unsafe_allow_html=True)


def passage_label(title: str, passage_index: int) -> str:
    # Labels are Markdown too: a title with "$" or "*" must not turn into maths or italics.
    return escape(passage_name(title, passage_index))


def show_citation(pipeline: Pipeline, citation: Citation, key: str) -> None:
    with st.expander(passage_label(citation.title, citation.passage_index)):
        html(highlight(citation.passage, citation.passage_start, citation.passage_end))
        try:
            article = pipeline.store.article(citation.article_id)
        except KeyError:
            return  # removed since this answer was given
        if citation.end > len(article.text):
            return
        if st.toggle("Show the whole article", key=key):
            show_article(article, citation)


ARTICLE_STYLE = (
    "<style>body{font-family:'Source Sans Pro',sans-serif;font-size:15px;line-height:1.55;color:#31333f;margin:0 4px}"
    "mark{background:#ffe08a;padding:0 2px}</style>"
)
# Scripts in st.markdown do not run; an iframe runs its own, so the article opens at the answer. Every
# character of the article is an entity (qa.display.escape): nothing in it can run.
SCROLL_TO_ANSWER = "<script>document.getElementById('answer')?.scrollIntoView({block: 'center'});</script>"


def show_article(article, citation: Citation) -> None:
    """The cleaned article (as it was indexed: no doubled captions), scrolled to the answer."""
    lines = [[(w.text, w.start) for w in line] for line in body_lines(article)]
    st.iframe(ARTICLE_STYLE + article_view(lines, citation.start, citation.end) + SCROLL_TO_ANSWER, height=360)


def answer_line(answer: Answer, strong: bool) -> str:
    text = escape(collapse(answer.text))
    source = f" — according to {escape(collapse(answer.attribution))}" if answer.attribution else ""
    return f"{'<b>' + text + '</b>' if strong else text}{source} ({evidence_label(answer.share)})"


def show_answer(pipeline: Pipeline, response: Response, message_no: int) -> None:
    side_by_side = response.disagreement
    if side_by_side:
        st.markdown("The sources disagree:")
    others = [a for a in response.answers if a not in side_by_side]
    for answer_no, answer in enumerate([*side_by_side, *others] if side_by_side else response.answers):
        if answer_no == (len(side_by_side) or 1):
            st.markdown("Other possible answers:")
        html(answer_line(answer, strong=answer_no == 0 or answer in side_by_side))
        for cite_no, citation in enumerate((answer.citation, *answer.also_in)):
            show_citation(pipeline, citation, key=f"article-{message_no}-{answer_no}-{cite_no}")


def show_abstention(response: Response) -> None:
    st.markdown("I couldn't find this in the articles.")
    if response.passages:
        st.caption("The closest passages:")
    for hit in response.passages[:3]:
        with st.expander(passage_label(hit.title, hit.passage.index)):
            html(text_block(hit.passage.text))


def show_response(pipeline: Pipeline, response: Response, message_no: int) -> None:
    with st.chat_message("assistant"):
        if response.interpreted:
            st.caption(f"Read as: {escape(response.interpreted)}")
        if response.abstained or not response.answers:
            show_abstention(response)
        else:
            show_answer(pipeline, response, message_no)


def show_welcome(pipeline: Pipeline) -> None:
    """What the collection holds and what to ask it, before the first question."""
    store = pipeline.store
    newest, examples = welcome_facts(pipeline, store.location, store.generation())
    with st.chat_message("assistant"):
        count = store.article_count()
        st.markdown(f"I answer questions from **{count:,} article{'s' if count != 1 else ''}**, quoting the "
                    "passage each answer comes from so you can check it.")
        if newest:
            html("Newest: " + "; ".join(f"<i>{escape(collapse(t))}</i>" for t in newest))
        if examples:
            st.markdown("Try asking:")
            for number, example in enumerate(examples):
                st.button(example, key=f"example-{number}", on_click=st.session_state.__setitem__, args=("asked", example))


WELCOME_TITLES = 3


def show_question(question: str) -> None:
    with st.chat_message("user"):
        html(text_block(question))


def sidebar(pipeline: Pipeline) -> int:
    """Corpus facts and controls; returns the top-k to ask with."""
    settings, store = pipeline.settings, pipeline.store
    with st.sidebar:
        st.header("Articles")
        html(f"Collection: <code>{escape(store.location)}</code>")
        count = store.article_count()
        st.markdown(f"{count:,} articles, {store.passage_count():,} passages")
        with st.expander("Titles"):
            html("".join(f"<div>• {escape(e.title)}</div>" for e in store.entries(limit=TITLES_SHOWN)))
            if count > TITLES_SHOWN:
                st.caption(f"The first {TITLES_SHOWN} of {count:,}; `python -m qa list` lists them all.")
        top_k = st.slider("Passages to read (top-k)", 1, 20, min(max(settings.top_k, 1), 20))
        st.button("Clear conversation", on_click=st.session_state["messages"].clear)
        if settings.allow_edits:  # off by default: a chat open to visitors must not be emptied by one
            manage_articles(pipeline)
        else:
            st.caption("Articles are added and removed with `python -m qa add` / `remove` "
                       "(or here, when the chat is started with QA_ALLOW_EDITS=1).")
    return top_k


UPLOAD_TYPES = ["txt", "md", "html", "htm", "jsonl"]
TITLES_SHOWN = 200


def show_report(messages: list[tuple[str, str]]) -> None:
    for level, text in messages:
        getattr(st, level)(escape(text))


def after_change(report) -> None:
    """Keep the report for the next run and rerun: the store reads the change at once."""
    st.session_state["collection_messages"] = report.messages()
    st.rerun()


def manage_articles(pipeline: Pipeline) -> None:
    """Upload and remove articles (qa.store.collection does the work: checks, duplicates, the transaction)."""
    show_report(st.session_state.pop("collection_messages", []))
    st.subheader("Your articles")
    round_no = st.session_state.setdefault("upload_round", 0)  # a new key empties the uploader after an add
    uploads = st.file_uploader(
        "Add articles (.txt, .md, .html, .jsonl)", type=UPLOAD_TYPES, accept_multiple_files=True, key=f"uploads-{round_no}"
    )
    if st.button("Add to the articles", disabled=not uploads):
        with st.spinner("Checking and indexing the new articles…"):
            # Strict: a handful of uploads goes in whole or not at all, and the refusal says why.
            sources = [Source.upload(f.name, f.getvalue()) for f in uploads]
            report = add_articles(pipeline.settings, sources, pipeline.store, upload_embedder(), strict=True)
        # Added or refused, the uploader starts empty: a refused file left in it looks accepted.
        st.session_state["upload_round"] = round_no + 1
        after_change(report)
    seeds = seed_files(pipeline)
    titles = {e.id: e.title for e in pipeline.store.entries(limit=TITLES_SHOWN) if e.origin not in seeds}
    choice = st.selectbox(
        "Remove an article", list(titles), index=None, placeholder="Choose an article",
        format_func=lambda article_id: collapse(titles.get(article_id, article_id)),
        help="The seed articles the chat starts with cannot be removed here.",
    )
    if choice is not None:
        st.caption(escape(collapse(titles[choice])))  # the whole title: the box cuts long ones
    if st.session_state.get("removing") != choice:
        st.session_state.pop("removing", None)
    if "removing" not in st.session_state:
        st.button("Remove", disabled=choice is None, on_click=ask_to_remove, args=(choice,))
        return
    st.warning("Remove this article from the collection for everyone using it?")
    yes, no = st.columns(2)
    # Keys new for every confirmation: a browser re-sends the last click of a button that comes back
    # under the same key, so an earlier "Cancel" would cancel the next confirmation too.
    asked = st.session_state["removal_round"]
    no.button("Cancel", key=f"cancel-{asked}", on_click=st.session_state.pop, args=("removing", None))
    if yes.button("Yes, remove it", type="primary", key=f"confirm-{asked}"):
        del st.session_state["removing"]
        with st.spinner("Removing the article…"):
            report = remove_articles(pipeline.settings, [choice], pipeline.store)
        after_change(report)


def ask_to_remove(article_id: str) -> None:
    st.session_state["removing"] = article_id
    st.session_state["removal_round"] = st.session_state.get("removal_round", 0) + 1


def seed_files(pipeline: Pipeline) -> set[str]:
    """File names of the seed articles (what their `origin` says): the chat does not remove those."""
    folder = pipeline.settings.seeds_dir
    return {p.name for p in folder.iterdir()} if str(folder) not in ("", ".") and folder.is_dir() else set()


def conversation(messages: list[dict]) -> list[Turn]:
    """Earlier turns, so a follow-up ("Which bases did he say were targeted?") is read in context."""
    return [Turn.of(m["response"]) for m in messages if m["role"] == "assistant"]


def main() -> None:
    try:
        pipeline = loaded_pipeline()
    except Exception as err:  # a missing corpus folder or reader: say so instead of a traceback
        log.exception("could not load the pipeline")
        st.error(f"Could not load the pipeline: {err}")
        st.stop()
    messages: list[dict] = st.session_state.setdefault("messages", [])
    top_k = sidebar(pipeline)

    show_welcome(pipeline)  # the conversation's first message, kept above it
    for message_no, message in enumerate(messages):
        if message["role"] == "user":
            show_question(message["question"])
        else:
            show_response(pipeline, message["response"], message_no)

    question = st.chat_input("Ask about the articles") or st.session_state.pop("asked", None)  # typed, or an example
    if question is None:
        return
    try:
        with st.spinner("Reading the articles…"):
            response = pipeline.ask(question, top_k=top_k, history=conversation(messages))
    except EmptyQuestion as err:
        # Not kept in the history: the reminder is only useful right now.
        with st.chat_message("assistant"):
            st.markdown(str(err))
        return
    except Exception:  # the visitor gets a short message; the traceback goes to the server log
        log.exception("could not answer %r", question)
        with st.chat_message("assistant"):
            st.error("Something went wrong while answering. Please try again; the details are in the server log.")
        return
    # The pipeline may shorten a pasted essay; show and keep the question it actually answered.
    messages.append({"role": "user", "question": response.question})
    show_question(response.question)
    messages.append({"role": "assistant", "response": response})
    show_response(pipeline, response, len(messages) - 1)


main()
