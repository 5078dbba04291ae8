"""What every page shares: the one Assistant per process, its lock, settings, HTML helpers.

Document text is never read as Markdown or HTML: it goes through ``html.escape`` into
``st.html`` (which, unlike ``st.markdown``, turns no ``![x](url)`` into an image).
"""

from __future__ import annotations

import hmac
import html
import re
import threading
import time
from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from assistant.config import Settings
from assistant.errors import AssistantError, ModelMismatchError
from assistant.factory import Assistant, build_assistant, reconfigured, reindex_index
from assistant.preferences import load_preferences, overrides, sends_secret
from assistant.types import Passage

# Markdown's special characters (and Streamlit's :color[...] and $math$ directives).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_md(text: str) -> str:
    """The text with Markdown's special characters escaped (line breaks kept)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def md(text: object) -> str:
    """Outside text (a file name, an error, a server's words, an LLM sentence) made safe for
    an element that renders Markdown: special characters escaped, on one line."""
    return escape_md(" ".join(str(text).split()))


def show_error(text: object) -> None:
    """An error holding outside text, shown as written."""
    st.error(md(text))


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
        keyed = sends_secret(base, Settings.model_fields)
        saved = overrides(load_preferences(base.index), Settings.model_fields, key_from_env=keyed)
        return Settings(**saved) if saved else base
    except ValidationError as exc:
        st.error(
            "A setting is invalid: fix the ASSISTANT_* environment variable, or the saved "
            f"choice on the Settings page (or delete ui-settings.json in the index):\n\n{exc}"
        )
    except AssistantError as exc:
        show_error(exc)
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises


def get_assistant(settings: Settings) -> Assistant:
    """The shared Assistant, answering with these settings; indexes the corpus on first start."""
    try:
        base = open_assistant(settings, settings.index.resolve(), settings.embedding_model)
        with index_lock(base.store.directory):
            if not base.documents() and settings.corpus.exists():
                index_corpus(base)
    except ModelMismatchError as exc:
        st.error(str(exc))
        offer_reindex(settings, exc)
        st.stop()
    except AssistantError as exc:
        show_error(exc)
        st.stop()
    assistant = base if base.settings == settings else reconfigured(base, settings)
    if settings.answerer == "local":
        model = (settings.llm_model, settings.cache_dir, settings.llm_threads, settings.llm_context)
        warming(assistant.answerer, model)
    return assistant


@st.cache_resource(show_spinner=False)
def warming(_answerer: object, model: tuple[object, ...]) -> threading.Thread:
    """The local model loading in the background, once per model and process: the page
    stays usable (the quotes need no model), and the first question's translation does not
    wait the seconds it takes to load."""
    thread = threading.Thread(target=getattr(_answerer, "warm", lambda: None), daemon=True)
    thread.start()
    return thread


def index_corpus(assistant: Assistant) -> None:
    """Index the configured corpus folder, with a progress bar and any per-file failures."""
    corpus = assistant.settings.corpus
    with st.status(f"Indexing the articles in {md(corpus)} …", expanded=True) as status:
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


def offer_reindex(settings: Settings, mismatch: ModelMismatchError) -> None:
    """A button that embeds the index again with the configured model, with progress."""
    if not is_admin(settings):
        return
    label = f"Embed the index again with {mismatch.configured}"
    if not st.button(label, key="reindex", type="primary"):
        return
    with st.status("Embedding the stored chunks again…", expanded=True) as status:
        bar = st.progress(0.0, text="Loading the embedding model…")

        def progress(done: int, total: int, _what: str) -> None:
            bar.progress(done / total, text=f"{done} of {total} chunks and sentences")

        with index_lock(settings.index.resolve()):
            count = reindex_index(settings, progress=progress)
        status.update(label=f"Embedded {count} chunks and sentences", state="complete")
    st.rerun()


def is_admin(settings: Settings, what: str = "Changing the library and the settings") -> bool:
    """Whether this session may use an admin page (asks for the password when one is set;
    says that the page is open to everyone when none is)."""
    if settings.admin_password is None:
        st.caption(
            "This page is open to everyone who can reach the app: set "
            "ASSISTANT_ADMIN_PASSWORD to require a password."
        )
        return True
    if st.session_state.get("admin"):
        return True
    st.info(f"{what} needs the admin password.")
    given = st.text_input("Admin password", type="password", key="admin_password_input")
    if given:
        if not attempts().allowed():
            st.error(
                "Too many wrong passwords: wait a minute and try again (attempts are limited "
                "for every visitor together)."
            )
            return False
        secret = settings.admin_password.get_secret_value()
        if hmac.compare_digest(given.encode(), secret.encode()):
            st.session_state["admin"] = True
            st.rerun()
        attempts().failed()
        st.error("That is not the admin password (ASSISTANT_ADMIN_PASSWORD): try again.")
    return False


class Attempts:
    """Wrong admin passwords, counted for the whole process: after ``limit`` of them within
    ``window`` seconds, every attempt is refused until the window has passed."""

    def __init__(self, limit: int = 5, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._failures: list[float] = []
        self._lock = threading.Lock()

    def allowed(self) -> bool:
        """Whether an attempt may be checked now."""
        with self._lock:
            now = time.monotonic()
            self._failures = [t for t in self._failures if now - t < self.window]
            return len(self._failures) < self.limit

    def failed(self) -> None:
        """Count a wrong password."""
        with self._lock:
            self._failures.append(time.monotonic())


@st.cache_resource
def attempts() -> Attempts:
    """The process's one count of wrong admin passwords."""
    return Attempts()
