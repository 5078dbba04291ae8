"""The chat page: ask about the indexed articles; every answer cites the sentences it quotes.

A view only: the factory builds the Assistant, this file renders what it returns. Document
text is never read as Markdown or HTML: it goes through ``html.escape`` into ``st.html``
(which, unlike ``st.markdown``, turns no ``![x](url)`` into an image).
"""

from __future__ import annotations

import html
from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.factory import Assistant, build_assistant
from assistant.types import Answer, Passage

CLOSEST_SHOWN = 3


def highlight_html(text: str, start: int, end: int) -> str:
    """The text, escaped, with ``text[start:end]`` wrapped in ``<mark>``."""
    before, quote, after = (html.escape(s) for s in (text[:start], text[start:end], text[end:]))
    return f"{before}<mark>{quote}</mark>{after}"


def passage_html(label: str, passage: Passage, body: str) -> str:
    """A passage's heading (label, title, source, page) above its already-escaped body."""
    page = f", p. {passage.page}" if passage.page is not None else ""
    return (
        f"<div><strong>{html.escape(f'{label} {passage.title}'.strip())}</strong> · "
        f"<code>{html.escape(passage.source)}</code>{page}"
        f'<blockquote style="white-space: pre-wrap">{body}</blockquote></div>'
    )


def show_text(text: str) -> None:
    """Plain text, shown as written (no Markdown, no HTML)."""
    st.html(f'<div style="white-space: pre-wrap">{html.escape(text)}</div>')


# One Assistant per process and index: the index directory admits one owner (a lock), and
# the model is heavy. Other settings ride along unhashed; a cleared entry releases the lock.
@st.cache_resource(show_spinner="Opening the index…", on_release=Assistant.close)
def open_assistant(_settings: Settings, index: Path, model: str) -> Assistant:
    """The Assistant for this index and embedding model."""
    return build_assistant(_settings)


def index_corpus(assistant: Assistant) -> None:
    """Index the configured corpus folder, with a progress bar and any per-file failures."""
    corpus = assistant.settings.corpus
    with st.status(f"Indexing the articles in {corpus} …", expanded=True) as status:
        bar = st.progress(0.0, text="Loading the embedding model…")

        def progress(done: int, total: int, _name: str) -> None:
            bar.progress(done / total, text=f"{done} of {total} files")

        report = assistant.ingest([corpus], progress=progress)
        for failure in report.failed:
            st.text(f"Not indexed: {failure.path}: {failure.error}")
        status.update(
            label=f"Indexed {len(report.added)} of {len(report.added) + len(report.failed)} files",
            state="complete",
            expanded=bool(report.failed),
        )


def show_answer(answer: Answer) -> None:
    """The answer with its [n] markers, then its cited passages (or the closest ones)."""
    show_text(answer.text)
    if answer.abstained:
        if answer.passages:
            with st.expander("Closest passages", expanded=True):
                for passage in answer.passages[:CLOSEST_SHOWN]:
                    st.html(passage_html("", passage, html.escape(passage.text)))
        return
    with st.expander("Sources", expanded=True):
        for c in answer.citations:
            p = c.passage
            body = highlight_html(p.text, c.quote_start - p.start, c.quote_end - p.start)
            st.html(passage_html(f"[{c.n}]", p, body))


def ask(assistant: Assistant, question: str, history: list[Answer]) -> None:
    """Show the question, then the answer or the error that prevented it."""
    with st.chat_message("user"):
        show_text(question)
    with st.chat_message("assistant"):
        try:
            answer = assistant.ask(question)
        except AssistantError as exc:
            st.error(str(exc))
            return
        show_answer(answer)
    history.append(answer)


def main() -> None:
    """The page."""
    st.set_page_config(page_title="Article Assistant")
    st.title("Article Assistant")
    try:
        settings = Settings()
        assistant = open_assistant(settings, settings.index.resolve(), settings.embedding_model)
        if not assistant.documents() and settings.corpus.exists():
            index_corpus(assistant)
        docs, chunks = len(assistant.documents()), assistant.store.chunk_count()
    except ValidationError as exc:
        st.error(f"A setting from the environment (ASSISTANT_*) is invalid; fix it:\n\n{exc}")
        st.stop()
    except AssistantError as exc:
        st.error(str(exc))
        st.stop()
    st.caption(
        f"{docs} document{'s' * (docs != 1)} · {chunks} chunks · "
        f"embedding model {assistant.embedder.name}"
    )
    if not docs:
        st.info(
            f"The index is empty: put articles in {settings.corpus} and reload, "
            "or add them with `assistant ingest PATH`."
        )

    history: list[Answer] = st.session_state.setdefault("history", [])
    st.sidebar.button("New conversation", on_click=history.clear)
    for answer in history:
        with st.chat_message("user"):
            show_text(answer.question)
        with st.chat_message("assistant"):
            show_answer(answer)
    if question := st.chat_input("Ask about your articles"):
        ask(assistant, question, history)


if __name__ == "__main__":  # Streamlit runs the page as __main__; tests import helpers
    main()
