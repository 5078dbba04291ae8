"""The chat page: ask about the indexed articles; every answer cites the sentences it quotes."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import streamlit as st

from assistant.chat import Turn as ChatTurn
from assistant.errors import AssistantError
from assistant.factory import Assistant
from assistant.llm import Event, Quotes
from assistant.preferences import record_feedback
from assistant.types import Answer, Citation
from pages.common import (
    get_assistant,
    highlight_html,
    index_lock,
    load_settings,
    md,
    passage_html,
    show_error,
    show_text,
)

CLOSEST_SHOWN = 3
MAX_TURNS = 6  # earlier turns no longer help a follow-up
# Markdown's special characters: a streamed token is shown as text, never as a link or image.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


@dataclass(frozen=True)
class Turn:
    """A question and its answer in this session's conversation."""

    id: str
    answer: Answer


def unsupported_flag(answer: Answer, citation: Citation) -> str | None:
    """The warning for a citation carried by a sentence the support check marked unsupported."""
    flagged = {n for i in answer.unsupported for n in answer.statements[i].citations}
    if citation.n in flagged:
        return "the support check found a statement citing this not backed by the passage"
    return None


def show_unsupported(answer: Answer) -> None:
    """The written sentences that no cited passage supports, listed under the answer."""
    for i in answer.unsupported:
        st.warning(f"Not supported by its sources: {md(answer.statements[i].text)}", icon="⚠️")


def show_answer(answer: Answer, dates: dict[str, str | None]) -> None:
    """The answer with its [n] markers, then its cited passages (or the closest ones)."""
    if answer.rewritten:  # the user sees what was searched and answered
        st.caption(f"Answered as: {md(answer.rewritten)}")
    show_text(answer.text)
    if answer.note:
        st.html(f'<div style="color:#b45309">{html.escape(answer.note)}</div>')
    show_unsupported(answer)
    if answer.abstained:
        if answer.passages:
            with st.expander("Closest passages", expanded=True):
                for p in answer.passages[:CLOSEST_SHOWN]:
                    st.html(passage_html("", p, html.escape(p.text), dates.get(p.doc_id)))
        return
    with st.expander("Sources", expanded=True):
        for c in answer.citations:
            p = c.passage
            body = highlight_html(p.text, c.quote_start - p.start, c.quote_end - p.start)
            flag = unsupported_flag(answer, c)
            st.html(passage_html(f"[{c.n}]", p, body, dates.get(p.doc_id), flag))


def escape_markdown(tokens: Iterable[str]) -> Iterator[str]:
    """The tokens with Markdown's special characters escaped (st.write_stream renders Markdown)."""
    for token in tokens:
        yield _MARKDOWN_SPECIAL.sub(r"\\\1", token)


def show_evidence(quotes: Quotes) -> None:
    """The sentences the model is writing from, shown while it writes."""
    st.caption("Writing the answer from these sentences…")
    for c in quotes.citations:
        p = c.passage
        body = highlight_html(p.text, c.quote_start - p.start, c.quote_end - p.start)
        st.html(passage_html(f"[{c.n}]", p, body))


def settle(events: Iterable[Event]) -> Answer:
    """The Answer at the end of ``Assistant.stream``: the evidence and an LLM's text stream
    first (escaped), then make way for the cited rendering; an extractive answer comes at
    once."""
    stream = iter(events)
    first = next(stream)
    if isinstance(first, Answer):
        return first
    final: list[Answer] = []

    def tokens() -> Iterator[str]:
        if isinstance(first, str):
            yield first
        for event in stream:
            if isinstance(event, Answer):
                final.append(event)
            elif isinstance(event, str):
                yield event

    spot = st.empty()
    with spot.container():
        if isinstance(first, Quotes):
            show_evidence(first)
        st.write_stream(escape_markdown(tokens()))
    spot.empty()
    return final[-1]


def feedback(turn: Turn, assistant: Assistant) -> None:
    """👍/👎 under an answer, stored with its question and sources when clicked."""
    key = f"feedback-{turn.id}"

    def store() -> None:
        score = st.session_state.get(key)
        if score is not None:
            record_feedback(
                assistant.store.directory, turn.answer, int(score), assistant.settings.answerer
            )

    st.feedback("thumbs", key=key, on_change=store)


def ask(
    assistant: Assistant, question: str, history: list[Turn], dates: dict[str, str | None]
) -> None:
    """Show the question, then the answer or the error that prevented it."""
    with st.chat_message("user"):
        show_text(question)
    with st.chat_message("assistant"):
        try:
            with index_lock(assistant.store.directory):
                past = [ChatTurn(t.answer.question, t.answer.text) for t in history]
                answer = settle(assistant.stream(question, past[-MAX_TURNS:]))
        except AssistantError as exc:
            show_error(exc)
            return
        show_answer(answer, dates)
        turn = Turn(uuid.uuid4().hex, answer)
        feedback(turn, assistant)
    history.append(turn)


def main() -> None:
    """The page."""
    st.title("Article Assistant")
    settings = load_settings()
    assistant = get_assistant(settings)
    with index_lock(assistant.store.directory):
        docs, chunks = assistant.documents(), assistant.store.chunk_count()
    st.caption(
        f"{len(docs)} document{'s' * (len(docs) != 1)} · {chunks} chunks · "
        f"answerer {settings.answerer} · embedding model {assistant.embedder.name}"
    )
    if not docs:
        st.info(
            f"The index is empty: add articles on the Library page, or put them in "
            f"{settings.corpus} and reload."
        )
    dates = {d.doc_id: d.date for d in docs}
    history: list[Turn] = st.session_state.setdefault("history", [])
    st.sidebar.button("New conversation", on_click=history.clear, icon=":material/add_comment:")
    for turn in history:
        with st.chat_message("user"):
            show_text(turn.answer.question)
        with st.chat_message("assistant"):
            show_answer(turn.answer, dates)
            feedback(turn, assistant)
    if question := st.chat_input("Ask about your articles"):
        ask(assistant, question, history, dates)


if __name__ == "__main__":  # Streamlit runs a page as __main__; tests import helpers
    main()
