"""The library parts behind the app's pages: fetching pages, saving uploads, preferences,
feedback, and the chat page's streaming path (with a fake token stream: no LLM runs here)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import streamlit as st
from hypothesis import given
from hypothesis import strategies as strats
from streamlit.testing.v1 import AppTest

from assistant.errors import ConfigError, LoadError, UnsupportedFileError
from assistant.fetching import fetch_url
from assistant.preferences import (
    is_secret,
    load_preferences,
    overrides,
    read_feedback,
    record_feedback,
    save_preferences,
)
from assistant.types import Answer, Citation, Passage
from assistant.uploads import check_upload, safe_filename
from pages.chat import escape_markdown

PAGE = (
    "<html><head><title>Llama parade</title></head><body><article><h1>Llama parade</h1>"
    "<p>The llama parade of Quillacollo is held every October, and it draws large crowds "
    "from the whole valley.</p><p>The parade starts at the old stone bridge and ends at the "
    "market square, where the llamas are given apples by the children.</p></article>"
    "</body></html>"
)
ROUTES: dict[str, tuple[int, str, bytes, dict[str, str]]] = {
    "/article": (200, "text/html; charset=utf-8", PAGE.encode(), {}),
    "/plain": (200, "text/plain; charset=utf-8", b"Plain words about llamas.", {}),
    "/image": (200, "image/png", b"\x89PNG....", {}),
    "/big": (200, "text/html", b"x" * 5000, {}),
    "/to-file": (302, "text/html", b"", {"Location": "file:///etc/passwd"}),
    "/to-article": (301, "text/html", b"", {"Location": "/article"}),
}


class Handler(BaseHTTPRequestHandler):
    """Serves ROUTES; /slow answers after a second; anything else is a 404."""

    def do_GET(self) -> None:  # the http.server interface
        if self.path == "/slow":
            time.sleep(1.0)
        status, kind, body, headers = ROUTES.get(self.path, (404, "text/plain", b"no", {}))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A web server on a free loopback port; its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_fetch_url_extracts_the_article_of_a_page(server: str) -> None:
    article = fetch_url(f"{server}/to-article", allow_private=True)
    assert article.title == "Llama parade"
    assert "old stone bridge" in article.text
    assert article.source == article.url == f"{server}/article"


def test_fetch_url_takes_plain_text_as_it_is(server: str) -> None:
    assert fetch_url(f"{server}/plain", allow_private=True).text == "Plain words about llamas."


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http:// and https://"),
        ("ftp://example.org/x", "only http:// and https://"),
        ("javascript:alert(1)", "only http:// and https://"),
        ("/to-file", "only http:// and https://|file:///etc/passwd' is not allowed"),
        ("/missing", "answered 404"),
        ("/image", "serves 'image/png', not a web page: download the file"),
        ("/big", "larger than 1,000 bytes"),
        ("/slow", "did not arrive within 0.3 s"),
    ],
)
def test_fetch_url_refuses_with_a_reason(server: str, url: str, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        fetch_url(
            server + url if url.startswith("/") else url,
            timeout=0.3,
            max_bytes=1000,
            allow_private=True,
        )


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.txt", "report.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\me\\Notes 2024.MD", "Notes_2024.md"),
        (".hidden.txt", "hidden.txt"),
        ("<script>.html", "script_.html"),
        ("", "upload"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


@given(strats.text())
def test_a_safe_filename_never_leaves_its_folder(name: str) -> None:
    safe = safe_filename(name)
    assert safe and "/" not in safe and "\\" not in safe and not safe.startswith(".")
    assert len(safe.encode()) <= 120


def test_check_upload_refuses_wrong_types_and_sizes() -> None:
    with pytest.raises(UnsupportedFileError, match="cannot be read"):
        check_upload("tool.exe", b"MZ")
    with pytest.raises(LoadError, match="over the limit of 10"):
        check_upload("big.txt", b"x" * 11, max_bytes=10)
    assert check_upload("a/b.txt", b"hi") == "b.txt"


def test_preferences_round_trip_without_secrets(tmp_path: Path) -> None:
    save_preferences(tmp_path, {"k": 5, "answerer": "extractive", "openai_api_key": "sk-1"})
    prefs = load_preferences(tmp_path)
    assert prefs == {"k": 5, "answerer": "extractive"}
    assert "sk-1" not in (tmp_path / "ui-settings.json").read_text()
    known = ["k", "answerer", "index", "llm_model", "llm_api_key"]
    assert overrides({**prefs, "index": "/x", "llm_model": "m", "llm_api_key": "s"}, known) == {
        "k": 5,
        "answerer": "extractive",
        "llm_model": "m",
    }


@pytest.mark.parametrize(
    ("name", "secret"),
    [("openai_api_key", True), ("hf_token", True), ("admin_password", True),
     ("chunk_tokens", False), ("llm_model", False), ("k", False)],
)  # fmt: skip
def test_is_secret(name: str, secret: bool) -> None:
    assert is_secret(name) is secret


def test_broken_preferences_say_how_to_fix(tmp_path: Path) -> None:
    (tmp_path / "ui-settings.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="delete the file"):
        load_preferences(tmp_path)
    assert load_preferences(tmp_path / "none") == {}


def test_feedback_lines_accumulate(tmp_path: Path) -> None:
    answer = Answer("Why?", "Because [1].")
    record_feedback(tmp_path, answer, 1, "extractive")
    record_feedback(tmp_path, answer, 0, "extractive")
    assert [(e["score"], e["question"]) for e in read_feedback(tmp_path)] == [
        (1, "Why?"),
        (0, "Why?"),
    ]


STREAMING_PAGE = """
from pages.chat import settle
from assistant.types import Answer

# the events of Assistant.stream for an LLM answerer: text as written, then the Answer
# (stands in for an LLM answerer: none can run in the tests)
EVENTS = [
    "Tokens ", "![x](http://127.0.0.1:9/x.png)", " arrive [1].",
    Answer("q", "Tokens ![x](http://127.0.0.1:9/x.png) arrive [1]."),
]

import streamlit as st
st.session_state["settled"] = settle(EVENTS).text
"""


def test_a_token_stream_is_written_escaped_then_settles_to_its_answer() -> None:
    at = AppTest.from_string(STREAMING_PAGE, default_timeout=30).run()
    assert not at.exception, at.exception
    assert at.session_state["settled"] == "Tokens ![x](http://127.0.0.1:9/x.png) arrive [1]."
    assert not at.markdown  # the streamed text made way for the cited rendering


def test_streamed_tokens_reach_markdown_escaped() -> None:
    tokens = ["![x](http://h/x.png)", " *a* ", "<b>"]
    assert "".join(escape_markdown(tokens)) == r"\!\[x\]\(http\://h/x\.png\) \*a\* \<b\>"


def test_the_library_adds_a_web_page_and_lists_a_bad_address(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_CORPUS", str(tmp_path / "no-corpus"))
    monkeypatch.delenv("ASSISTANT_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("ASSISTANT_ALLOW_PRIVATE_URLS", "true")  # the test server is loopback
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.switch_page("pages/library.py").run()
    try:
        address = next(t for t in at.text_input if t.label.startswith("Web address"))
        address.set_value(f"{server}/article")
        next(b for b in at.button if b.label == "Fetch and add").click().run()
        assert not at.exception, at.exception
        assert list(at.dataframe[0].value["title"]) == ["Llama parade"]
        assert list(at.dataframe[0].value["source"]) == [f"{server}/article"]

        address = next(t for t in at.text_input if t.label.startswith("Web address"))
        address.set_value("file:///etc/passwd")
        next(b for b in at.button if b.label == "Fetch and add").click().run()
        assert r"file\:///etc/passwd: only http\:// and https\://" in at.error[0].value
    finally:
        st.cache_resource.clear()


EVIDENCE_PAGE = """
from pages.chat import settle
from assistant.types import Quotes
from assistant.types import Answer, Citation, Passage

# the local answerer's events: the evidence first, then tokens, then the Answer
p = Passage("c", "d", "T <b>", "t.txt", "Zebras leben in Namibia.", 0, 24, 1.0)
quote = Citation(1, p, p.text, 0, 24)
EVENTS = [Quotes((quote,)), "Zebras live ", "in Namibia [1].", Answer("q", "Z [1].", (quote,))]

import streamlit as st
st.session_state["settled"] = settle(EVENTS)
"""


def test_the_evidence_shows_first_then_makes_way_for_the_answer() -> None:
    at = AppTest.from_string(EVIDENCE_PAGE, default_timeout=30).run()
    assert not at.exception, at.exception
    assert at.session_state["settled"].text == "Z [1]."
    assert not at.markdown and not at.html  # evidence and tokens gave way to the rendering


def _citation(n: int, passage_start: int) -> Citation:
    passage = Passage(
        f"c{passage_start}",
        "d",
        "T",
        "/srv/x/a.txt",
        "Aa. Bb.",
        passage_start,
        passage_start + 7,
        1.0,
    )
    return Citation(n, passage, "Aa.", passage_start, passage_start + 3)


def test_sources_are_grouped_by_passage_and_a_long_list_folds_after_the_first() -> None:
    from pages.chat import fold_sources, source_groups

    answer = Answer("q", "x [1] y [2] z [3] w [4] v [5]", tuple(
        _citation(n, start) for n, start in [(1, 0), (2, 0), (3, 10), (4, 20), (5, 30)]
    ))  # fmt: skip
    groups = source_groups(answer)
    assert [[c.n for c in g] for g in groups] == [[1, 2], [3], [4], [5]]
    shown, folded = fold_sources(groups)
    assert ([g[0].n for g in shown], [g[0].n for g in folded]) == ([1], [3, 4, 5])
    assert fold_sources(groups[:3]) == (groups[:3], [])


def test_source_name_hides_the_server_path() -> None:
    from pages.common import source_name

    assert source_name("/srv/index/uploads/report.pdf") == "report.pdf"
    assert source_name("https://example.org/a/b.html") == "https://example.org/a/b.html"
