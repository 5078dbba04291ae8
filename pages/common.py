"""What every page shares: the one Assistant per process, its lock, settings, HTML helpers.

Document text is never read as Markdown or HTML: it goes through ``html.escape`` into
``st.html`` (which, unlike ``st.markdown``, turns no ``![x](url)`` into an image).
"""

from __future__ import annotations

import hmac
import html
import threading
from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.factory import Assistant, build_assistant, reconfigured
from assistant.preferences import load_preferences, overrides
from assistant.types import Passage


def highlight_html(text: str, start: int, end: int) -> str:
    """The text, escaped, with ``text[start:end]`` wrapped in ``<mark>``."""
    return highlight_spans(text, [(start, end)])


def highlight_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """The text, escaped, with each (non-overlapping) span wrapped in ``<mark>``."""
    out, at = [], 0
    for start, end in sorted(spans):
        start = max(start, at)
        out += [html.escape(text[at:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
        at = max(at, end)
    return "".join(out) + html.escape(text[at:])


def source_name(source: str) -> str:
    """What a reader needs of a source: a file's name (not the server's path), a URL whole."""
    if "://" in source or source.startswith("pasted:"):
        return source
    return Path(source).name


def passage_html(
    label: str,
    passage: Passage,
    body: str,
    date: str | None = None,
    flag: str | None = None,
    anchor: str | None = None,
) -> str:
    """A passage's heading (label, title, source, date, page) above its already-escaped body;
    ``anchor`` is the element id the answer's markers link to."""
    page = f", p. {passage.page}" if passage.page is not None else ""
    when = f" · {html.escape(date)}" if date else ""
    warning = f'<div style="color:#b45309">⚠ {html.escape(flag)}</div>' if flag else ""
    element_id = f' id="{html.escape(anchor)}"' if anchor else ""
    return (
        f"<div{element_id}><strong>{html.escape(f'{label} {passage.title}'.strip())}</strong> · "
        f"<code>{html.escape(source_name(passage.source))}</code>{page}{when}{warning}"
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


# The sessions of all browsers share the Assistant; its SQLite connection and Chroma client
# are not safe to use from two threads at once, so every use holds this lock.
@st.cache_resource
def index_lock(index: Path) -> threading.RLock:
    """The lock that serialises the use of one index by this process's sessions."""
    return threading.RLock()


def load_settings() -> Settings:
    """The environment's settings with the app's saved choices applied; stops on an error."""
    try:
        base = Settings()
        saved = overrides(load_preferences(base.index), Settings.model_fields)
        return Settings(**saved) if saved else base
    except ValidationError as exc:
        st.error(
            "A setting is invalid: fix the ASSISTANT_* environment variable, or the saved "
            f"choice on the Settings page (or delete ui-settings.json in the index):\n\n{exc}"
        )
    except AssistantError as exc:
        st.error(str(exc))
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises


def get_assistant(settings: Settings) -> Assistant:
    """The shared Assistant, answering with these settings; indexes the corpus on first start."""
    try:
        base = open_assistant(settings, settings.index.resolve(), settings.embedding_model)
        with index_lock(base.store.directory):
            if not base.documents() and settings.corpus.exists():
                index_corpus(base)
    except AssistantError as exc:
        st.error(str(exc))
        st.stop()
    return base if base.settings == settings else reconfigured(base, settings)


def index_corpus(assistant: Assistant) -> None:
    """Index the configured corpus folder, with a progress bar and any per-file failures."""
    corpus = assistant.settings.corpus
    with st.status(f"Indexing the articles in {corpus} …", expanded=True) as status:
        bar = st.progress(0.0, text="Loading the embedding model…")

        # reading is quick, embedding is most of the wait: the bar ends when it is done
        def progress(done: int, total: int, _name: str) -> None:
            bar.progress(0.2 * done / total, text=f"Read {done} of {total} files")

        def embedded(done: int, total: int, _what: str) -> None:
            bar.progress(0.2 + 0.8 * done / total, text=f"Embedded {done} of {total} texts")

        report = assistant.ingest([corpus], progress=progress, embedded=embedded)
        for failure in report.failed:
            st.text(f"Not indexed: {failure.path}: {failure.error}")
        status.update(
            label=f"Indexed {len(report.added)} of {len(report.added) + len(report.failed)} files",
            state="complete",
            expanded=bool(report.failed),
        )


def is_admin(settings: Settings) -> bool:
    """Whether this session may change the library and settings (asks for the password)."""
    if settings.admin_password is None or st.session_state.get("admin"):
        return True
    st.info("Changing the library and the settings needs the admin password.")
    given = st.text_input("Admin password", type="password", key="admin_password_input")
    if given:
        secret = settings.admin_password.get_secret_value()
        if hmac.compare_digest(given.encode(), secret.encode()):
            st.session_state["admin"] = True
            st.rerun()
        st.error("That is not the admin password (ASSISTANT_ADMIN_PASSWORD): try again.")
    return False
