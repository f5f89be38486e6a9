"""Chat over the articles: `streamlit run app.py`. UI only; the `qa` library does the work."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from qa.answering import EmptyQuestion, Pipeline
from qa.config import load_settings, quiet_model_loading
from qa.display import collapse, escape, highlight, text_block
from qa.schema import Citation, Response

log = logging.getLogger(__name__)

st.set_page_config(page_title="article-qa", page_icon="📰", layout="centered")
st.title("Ask the articles")


@st.cache_resource(show_spinner="Loading models and indexing articles…")
def load_pipeline() -> Pipeline:
    quiet_model_loading()
    return Pipeline.load(load_settings())


def html(markup: str) -> None:
    """Only for markup built by qa.display, which escapes every piece of text it is given."""
    st.markdown(markup, unsafe_allow_html=True)


def passage_label(title: str, passage_index: int) -> str:
    # Labels are Markdown too: a title with "$" or "*" must not turn into maths or italics.
    return f"{escape(collapse(title))} — passage {passage_index + 1}"


def show_citation(pipeline: Pipeline, citation: Citation, key: str) -> None:
    with st.expander(passage_label(citation.title, citation.passage_index)):
        html(highlight(citation.passage, citation.passage_start, citation.passage_end))
        article = pipeline.index.articles.get(citation.article_id)
        if article is None or citation.end > len(article.text):
            return  # the corpus changed since this answer was given
        if st.toggle("Show the whole article", key=key):
            html(highlight(article.text, citation.start, citation.end))


def show_answer(pipeline: Pipeline, response: Response, message_no: int) -> None:
    best = response.answers[0]
    html(f"<b>{escape(collapse(best.text))}</b> ({best.score:.0%} confidence)")
    for answer_no, answer in enumerate(response.answers):
        if answer_no == 1:
            st.markdown("Other possible answers:")
        if answer_no > 0:
            html(f"{escape(collapse(answer.text))} ({answer.score:.0%})")
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
        if response.abstained or not response.answers:
            show_abstention(response)
        else:
            show_answer(pipeline, response, message_no)


def show_question(question: str) -> None:
    with st.chat_message("user"):
        html(text_block(question))


def sidebar(pipeline: Pipeline) -> int:
    """Corpus facts and controls; returns the top-k to ask with."""
    settings, index = pipeline.settings, pipeline.index
    with st.sidebar:
        st.header("Articles")
        html(f"Folder: <code>{escape(str(settings.corpus_dir))}</code>")
        st.markdown(f"{index.manifest['articles']} articles, {index.manifest['passages']} passages")
        for skipped in pipeline.skipped:
            name = Path(skipped.path).name
            reason = skipped.reason.removeprefix(f"{name}: ")
            st.warning(f"Skipped {escape(name)}: {escape(reason)}")
        with st.expander("Titles"):
            html("".join(f"<div>• {escape(a.title)}</div>" for a in index.articles.values()))
        top_k = st.slider("Passages to read (top-k)", 1, 20, min(max(settings.top_k, 1), 20))
        st.button("Clear conversation", on_click=st.session_state["messages"].clear)
    return top_k


def main() -> None:
    try:
        pipeline = load_pipeline()
    except Exception as err:  # a missing corpus folder or reader: say so instead of a traceback
        log.exception("could not load the pipeline")
        st.error(f"Could not load the pipeline: {err}")
        st.stop()
    messages: list[dict] = st.session_state.setdefault("messages", [])
    top_k = sidebar(pipeline)

    for message_no, message in enumerate(messages):
        if message["role"] == "user":
            show_question(message["question"])
        else:
            show_response(pipeline, message["response"], message_no)

    question = st.chat_input("Ask about the articles")
    if question is None:
        return
    try:
        with st.spinner("Reading the articles…"):
            response = pipeline.ask(question, top_k=top_k)
    except EmptyQuestion as err:
        # Not kept in the history: the reminder is only useful right now.
        with st.chat_message("assistant"):
            st.markdown(str(err))
        return
    # The pipeline may shorten a pasted essay; show and keep the question it actually answered.
    messages.append({"role": "user", "question": response.question})
    show_question(response.question)
    messages.append({"role": "assistant", "response": response})
    show_response(pipeline, response, len(messages) - 1)


main()
