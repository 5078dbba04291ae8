"""The chat page: ask about the indexed articles; every answer cites the sentences it quotes."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import streamlit as st

from assistant.errors import AssistantError
from assistant.factory import Assistant
from assistant.preferences import record_feedback
from assistant.types import Answer, Citation
from pages.common import (
    get_assistant,
    highlight_html,
    index_lock,
    load_settings,
    passage_html,
    show_text,
)

CLOSEST_SHOWN = 3
# Markdown's special characters: a streamed token is shown as text, never as a link or image.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


@dataclass(frozen=True)
class Turn:
    """A question and its answer in this session's conversation."""

    id: str
    answer: Answer


def unsupported_flag(citation: Citation) -> str | None:
    """The warning for a cited sentence that the support check marked unsupported."""
    if getattr(citation, "supported", True) is False:
        return "the support check found this statement not backed by the passage"
    return None


def show_answer(answer: Answer, dates: dict[str, str | None]) -> None:
    """The answer with its [n] markers, then its cited passages (or the closest ones)."""
    show_text(answer.text)
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
            st.html(passage_html(f"[{c.n}]", p, body, dates.get(p.doc_id), unsupported_flag(c)))


def escape_markdown(tokens: Iterable[str]) -> Iterator[str]:
    """The tokens with Markdown's special characters escaped (st.write_stream renders Markdown)."""
    for token in tokens:
        yield _MARKDOWN_SPECIAL.sub(r"\\\1", token)


def settle(result: object) -> Answer:
    """The Answer of ``assistant.ask``: at once, or streamed first when it is a token stream.

    A streaming result is an iterable of text tokens whose ``answer`` attribute holds the
    cited Answer once the tokens are exhausted (the LLM answerers' contract).
    """
    if isinstance(result, Answer):
        return result
    spot = st.empty()
    with spot.container():
        st.write_stream(escape_markdown(result))  # type: ignore[arg-type]
    spot.empty()  # replaced by the cited rendering below
    answer: Answer = result.answer  # type: ignore[attr-defined]
    return answer


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
                answer = settle(assistant.ask(question))
        except AssistantError as exc:
            st.error(str(exc))
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
