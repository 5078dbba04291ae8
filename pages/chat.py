"""The chat page: ask about the indexed articles; every answer cites the sentences it quotes."""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from dataclasses import replace

import streamlit as st

from assistant.citations import link_markers
from assistant.config import Settings
from assistant.conversation import Conversation, Exchange
from assistant.errors import AssistantError
from assistant.factory import Assistant
from assistant.preferences import record_feedback
from assistant.types import Answer, Citation, Event, Quotes
from pages.common import (
    escape_md,
    get_assistant,
    highlight_html,
    highlight_spans,
    index_lock,
    load_settings,
    md,
    passage_html,
    show_error,
    show_text,
)

CLOSEST_SHOWN = 3
SOURCES_OPEN = 3  # a longer list shows the first source and folds the rest away


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


def source_groups(answer: Answer) -> list[list[Citation]]:
    """The citations grouped by passage (a passage is listed once), in marker order."""
    groups: dict[tuple[str, int, int], list[Citation]] = {}
    for c in sorted(answer.citations, key=lambda c: c.n):
        groups.setdefault((c.passage.doc_id, c.passage.start, c.passage.end), []).append(c)
    return list(groups.values())


def fold_sources(
    groups: list[list[Citation]],
) -> tuple[list[list[Citation]], list[list[Citation]]]:
    """(shown open, folded away): a long list opens with the source cited first only."""
    cut = len(groups) if len(groups) <= SOURCES_OPEN else 1
    return groups[:cut], groups[cut:]


def linked_answer_html(answer: Answer, anchors: dict[int, str]) -> str:
    """The answer's text, escaped, each known ``[n]`` a link to its source below."""

    def link(n: int, marker: str) -> str:
        anchor = anchors.get(n)
        return f'<a href="#{anchor}">{marker}</a>' if anchor else marker

    body = link_markers(html.escape(answer.text), link)
    return f'<div style="white-space: pre-wrap">{body}</div>'


def source_html(answer: Answer, group: list[Citation], anchor: str, date: str | None) -> str:
    """One passage with every sentence the answer quotes from it marked."""
    p = group[0].passage
    spans = [(c.quote_start - p.start, c.quote_end - p.start) for c in group]
    flag = next((f for c in group if (f := unsupported_flag(answer, c))), None)
    label = " ".join(f"[{c.n}]" for c in group)
    return passage_html(label, p, highlight_spans(p.text, spans), date, flag, anchor)


def show_answer(answer: Answer, dates: dict[str, str | None], turn_id: str = "") -> None:
    """The answer with its [n] markers linked to its sources below (or the closest ones)."""
    if answer.rewritten:  # the user sees what was searched and answered
        st.caption(f"Answered as: {md(answer.rewritten)}")
    if answer.abstained:
        show_text(answer.text)
        show_note(answer)
        show_unsupported(answer)
        if answer.passages:
            with st.expander("Closest passages", expanded=True):
                for p in answer.passages[:CLOSEST_SHOWN]:
                    st.html(passage_html("", p, html.escape(p.text), dates.get(p.doc_id)))
        return
    groups = source_groups(answer)
    anchors = {c.n: f"source-{turn_id}-{g[0].n}" for g in groups for c in g}
    st.html(linked_answer_html(answer, anchors))
    show_note(answer)
    show_unsupported(answer)
    shown, rest = fold_sources(groups)
    with st.expander("Sources", expanded=True):
        for g in shown:
            date = dates.get(g[0].passage.doc_id)
            st.html(source_html(answer, g, anchors[g[0].n], date))
    if rest:
        with st.expander(f"{len(rest)} more sources", expanded=False):
            for g in rest:
                date = dates.get(g[0].passage.doc_id)
                st.html(source_html(answer, g, anchors[g[0].n], date))


def show_note(answer: Answer) -> None:
    """One line for the reader, e.g. why the LLM did not answer (the quotes answer instead)."""
    if answer.note:
        st.html(f'<div style="color:#b45309">{html.escape(answer.note)}</div>')


def escape_markdown(tokens: Iterable[str]) -> Iterator[str]:
    """The tokens with Markdown's special characters escaped (st.write_stream renders Markdown):
    a streamed token is shown as text, never as a link or image."""
    for token in tokens:
        yield escape_md(token)


def show_evidence(quotes: Quotes) -> None:
    """The sentences the model answers from, shown while it checks, translates or writes."""
    st.caption("Answering from these sentences…")
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


def feedback(turn: Exchange, assistant: Assistant) -> None:
    """👍/👎 under an answer, stored with its question and sources when clicked."""
    key = f"feedback-{turn.id}"

    def store() -> None:
        score = st.session_state.get(key)
        if score is not None and turn.answer is not None:
            record_feedback(
                assistant.store.directory, turn.answer, int(score), assistant.settings.answerer
            )

    st.feedback("thumbs", key=key, on_change=store)


def answer_turn(
    conversation: Conversation, turn: Exchange, assistant: Assistant, dates: dict[str, str | None]
) -> None:
    """Write the answer to ``turn``, kept in the conversation as soon as it is asked: a
    question sent meanwhile interrupts this run, and the next run answers both in order."""
    try:
        with st.spinner("Writing the answer…"), index_lock(assistant.store.directory):
            answer = settle(conversation.answer(turn))
    except AssistantError as exc:
        conversation.drop(turn)
        show_error(exc)
        return
    show_answer(answer, dates, turn.id)
    feedback(replace(turn, answer=answer), assistant)


def answerer_name(settings: Settings) -> str:
    """The answerer as the caption names it: the local one with its style (``auto`` may have
    chosen it: the reader should know that the English lines are the model's translations)."""
    if settings.answerer == "local" and settings.llm_style == "translate":
        return "local (translating the quotes)"
    return settings.answerer


def main() -> None:
    """The page."""
    st.title("Article Assistant")
    settings = load_settings()
    assistant = get_assistant(settings)
    with index_lock(assistant.store.directory):
        docs, chunks = assistant.documents(), assistant.store.chunk_count()
    st.caption(
        f"{len(docs)} document{'s' * (len(docs) != 1)} · {chunks} chunks · "
        f"answerer {answerer_name(settings)} · embedding model {assistant.embedder.name}"
    )
    if not docs:
        st.info(
            f"The index is empty: add articles on the Library page, or put them in "
            f"{settings.corpus} and reload."
        )
    dates = {d.doc_id: d.date for d in docs}
    history: list[Exchange] = st.session_state.setdefault("history", [])
    conversation = Conversation(assistant, exchanges=history)
    st.sidebar.button("New conversation", on_click=history.clear, icon=":material/add_comment:")
    if question := st.chat_input("Ask about your articles"):
        conversation.add(question)
    for turn in list(history):
        with st.chat_message("user"):
            show_text(turn.question)
        with st.chat_message("assistant"):
            if turn.answer is None:
                answer_turn(conversation, turn, assistant, dates)
            else:
                show_answer(turn.answer, dates, turn.id)
                feedback(turn, assistant)


if __name__ == "__main__":  # Streamlit runs a page as __main__; tests import helpers
    main()
