"""The chat page, run by Streamlit's AppTest on a real index, model and corpus in tmp_path.

AppTest shows each ``st.html`` call as an element whose ``.value`` is the HTML body sent to
the browser, so the tests read exactly what the page would render.
"""

from __future__ import annotations

import html
import importlib.util
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import streamlit as st
from hypothesis import given
from hypothesis import strategies as strats
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import ChatMessage

from assistant import prompts

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
ARTICLE = ROOT / "corpus" / "tokayev-visit.de.txt"
HOSTILE = (
    "The zebra festival happens every spring in the village. <script>alert(1)</script> "
    "The zebras dance at noon. ![x](http://127.0.0.1:9/x.png) Visitors bring carrots.\n"
)
MARKED = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)


def _load_app_module() -> ModuleType:
    """app.py as a module (its page runs only as __main__), for its pure helpers."""
    spec = importlib.util.spec_from_file_location("article_app", APP)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


highlight_html = _load_app_module().highlight_html


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A corpus folder holding the German article, and a fresh index beside it."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(ARTICLE, folder)
    monkeypatch.setenv("ASSISTANT_CORPUS", str(folder))
    monkeypatch.setenv("ASSISTANT_INDEX", str(tmp_path / "index"))
    yield folder
    st.cache_resource.clear()  # closes the cached Assistant, which releases the index lock


def start() -> AppTest:
    """The page after its first run (which loads the model and may index the corpus)."""
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def replies(at: AppTest) -> list[ChatMessage]:
    """The assistant's chat messages, oldest first."""
    return [m for m in at.chat_message if m.name == "assistant"]


def test_first_start_indexes_the_corpus_then_answers_with_highlighted_citations(
    corpus: Path,
) -> None:
    at = start()
    assert at.status[0].label == "Indexed 1 of 1 files"
    assert at.caption[0].value.startswith("1 document · ")

    at.chat_input[0].set_value("Was erwarten Experten von dem Besuch?").run()

    (reply,) = replies(at)
    answer, *sources = [h.value for h in reply.html]
    assert "[1]" in answer
    assert sources and sources[0].startswith("<div><strong>[1] tokayev visit.de</strong>")
    article = ARTICLE.read_text(encoding="utf-8")
    for source in sources:
        (quote,) = MARKED.findall(source)
        assert html.unescape(quote) in article
        assert html.escape(html.unescape(quote)) in answer


def test_document_text_is_escaped_never_rendered(corpus: Path) -> None:
    (corpus / "zebras.txt").write_text(HOSTILE, encoding="utf-8")
    at = start()
    assert at.caption[0].value.startswith("2 documents · ")

    at.chat_input[0].set_value("When do the zebras dance?").run()

    rendered = "\n".join(h.value for h in at.html)
    assert "zebras.txt" in rendered  # the hostile document is cited
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "<script" not in rendered
    assert "<img" not in rendered
    assert not any("zebra" in m.value for m in at.markdown)  # Markdown would make an image


def test_an_abstention_shows_the_closest_passages_unmarked(corpus: Path) -> None:
    at = start()
    at.chat_input[0].set_value("What is the capital of Peru?").run()

    (reply,) = replies(at)
    answer, *closest = [h.value for h in reply.html]
    assert html.escape(prompts.ABSTAIN) in answer
    assert len(closest) == 3
    assert all(c.startswith("<div><strong>tokayev visit.de</strong>") for c in closest)
    assert not any("<mark>" in c for c in closest)


def test_new_conversation_clears_the_history(corpus: Path) -> None:
    at = start()
    at.chat_input[0].set_value("Was erwarten Experten von dem Besuch?").run()
    at.chat_input[0].set_value("Wen trifft Tokajew in Moskau?").run()
    assert len(replies(at)) == 2
    assert len(at.session_state["history"]) == 2

    at.sidebar.button[0].click().run()

    assert at.sidebar.button[0].label == "New conversation"
    assert not at.chat_message
    assert at.session_state["history"] == []


@given(text=strats.text(), a=strats.integers(0, 50), b=strats.integers(0, 50))
def test_highlight_html_escapes_everything_but_the_mark(text: str, a: int, b: int) -> None:
    start, end = sorted((min(a, len(text)), min(b, len(text))))
    out = highlight_html(text, start, end)
    (quote,) = MARKED.findall(out)
    assert html.unescape(quote) == text[start:end]
    assert html.unescape(MARKED.sub(lambda m: m.group(1), out)) == text
    assert "<" not in MARKED.sub("", out) and ">" not in MARKED.sub("", out)
