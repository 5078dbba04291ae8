"""History-aware questions with the real model and the corpus: a follow-up finds the passage
the conversation is about, with keywords (no LLM) or an LLM's rewrite (a local server that
speaks the OpenAI protocol stands in for the LLM), and `assistant chat` holds a conversation
read from stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fake_llm_server import FakeLLMServer

from assistant import prompts
from assistant.chat import KeywordCondenser, Turn, is_follow_up
from assistant.config import Settings
from assistant.conversation import HISTORY_TURNS, Conversation
from assistant.errors import AssistantError
from assistant.factory import build_assistant
from assistant.types import Answer, Event

ROOT = Path(__file__).resolve().parent.parent
INTRO = "Fjodor Lukjanow, Chefredakteur"
FIRST = "What does Lukjanow expect from the visit?"


@pytest.mark.parametrize(
    ("question", "follow_up"),
    [
        ("And who is he?", True),
        ("Und wer ist er?", True),
        ("What did he say?", True),
        ("Why?", True),
        ("Wer ist Lepsibaev?", False),  # short, but names someone
        ("What does Lukjanow expect from the visit?", False),
        ("Was erwarten Experten von dem Besuch?", False),
    ],
)
def test_is_follow_up(question: str, follow_up: bool) -> None:
    assert is_follow_up(question) == follow_up


@pytest.mark.parametrize(
    ("question", "history", "standalone"),
    [
        ("And who is he?", [FIRST], "And who is he? (Lukjanow)"),
        ("Und er?", ["Was sagt Lepsibaev über Kasan?"], "Und er? (Lepsibaev Kasan)"),
        ("Why?", ["what do experts expect?"], "Why? (experts expect)"),
        ("Wer ist Lepsibaev?", [FIRST], "Wer ist Lepsibaev?"),
        ("And who is he?", [], "And who is he?"),
    ],
)  # fmt: skip
def test_keyword_condenser(question: str, history: list[str], standalone: str) -> None:
    turns = [Turn(q, "…") for q in history]
    assert KeywordCondenser().condense(question, turns) == standalone


def test_a_follow_up_retrieves_the_passage_the_conversation_is_about(index: Path, embedder):
    with build_assistant(Settings(index=index), embedder) as assistant:
        alone = assistant.ask("And who is he?")
        conversation = Conversation(assistant, max_turns=1)
        first = conversation.ask(FIRST)
        followed = conversation.ask("And who is he?")
    assert INTRO in first.text
    assert INTRO not in alone.passages[0].text  # without the history, "he" is anyone
    assert INTRO in followed.passages[0].text
    assert followed.question == "And who is he?"
    # the answer already quoted the intro: the follow-up does not quote it again
    assert not {c.quote for c in followed.citations} & {c.quote for c in first.citations}
    assert conversation.history == [Turn(FIRST, first.text), Turn("And who is he?", followed.text)]


def test_an_llm_rewrites_the_follow_up_for_retrieval_only(index: Path, embedder):
    rewritten = "Wer ist Fjodor Lukjanow?"

    def reply(body: dict[str, Any]) -> str:
        if body["messages"][0]["content"] == prompts.CONDENSE_SYSTEM:
            return rewritten
        return "Er ist Chefredakteur der Zeitschrift „Russland“ im Magazin „Global Affairs“ [1]."

    server = FakeLLMServer(reply)
    settings = Settings(
        index=index, answerer="openai", llm_model="m", llm_base_url=server.url + "/v1"
    )
    try:
        with build_assistant(settings, embedder) as assistant:
            history = [Turn("Was erwartet Lukjanow?", "Keine Durchbrüche [1].")]
            *tokens, answer = assistant.stream("Und wer ist er?", history)
    finally:
        server.close()
    condense, answering = server.requests
    assert "Was erwartet Lukjanow?" in condense["messages"][1]["content"]
    assert "Last question: Und wer ist er?" in condense["messages"][1]["content"]
    assert answering["messages"][1]["content"].endswith(f"Question: {rewritten}")
    assert INTRO in answering["messages"][1]["content"].split("</passage>")[0]
    # the rewrite is not shown: the stream is the answer's text, and the answer's question
    # is the user's
    assert isinstance(answer, Answer) and answer.question == "Und wer ist er?"
    assert rewritten not in "".join(tokens) and answer.text.startswith("Er ist Chefredakteur")
    assert not answer.unsupported


def test_assistant_chat_reads_a_conversation_from_stdin(index: Path):
    stdin = f"{FIRST}\n\nAnd who is he?\nexit\nWer ist Lepsibaev?\n"
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "chat", "--json"],
        input=stdin, capture_output=True, text=True, timeout=300,
        env={**os.environ, "ASSISTANT_INDEX": str(index)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())  # none after exit
    assert (first["question"], second["question"]) == (FIRST, "And who is he?")
    quoted = {c["quote"] for c in first["citations"]}
    assert any(q.startswith(INTRO) for q in quoted)
    assert not quoted & {c["quote"] for c in second["citations"]}  # no repeats in a follow-up


class RecordingAsker:
    """Stands in for the Assistant to see which history each question is asked with (the
    conversation's own bookkeeping; the real assistant is asked in the tests above)."""

    def __init__(self) -> None:
        self.histories: list[list[Turn]] = []

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Event]:
        self.histories.append(list(history))
        if question == "fail":
            raise AssistantError("the index is busy: try again")
        yield f"{question}!"
        yield Answer(question, f"answer to {question}")


def test_a_conversation_asks_with_the_last_answered_turns_and_drops_a_failed_question() -> None:
    asker = RecordingAsker()
    conversation = Conversation(asker, max_turns=2)
    for question in ("one", "two", "three"):
        conversation.ask(question)
    pending = conversation.add("four")  # asked, not answered yet (the page's state mid-run)
    with pytest.raises(AssistantError):
        conversation.ask("fail")
    assert list(conversation.answer(pending)) == ["four!", Answer("four", "answer to four")]
    assert asker.histories == [
        [],
        [Turn("one", "answer to one")],
        [Turn("one", "answer to one"), Turn("two", "answer to two")],
        [Turn("two", "answer to two"), Turn("three", "answer to three")],  # "four" unanswered
        [Turn("two", "answer to two"), Turn("three", "answer to three")],  # before "fail"
    ]
    assert [e.question for e in conversation.exchanges] == ["one", "two", "three", "four"]
    assert conversation.history[-1] == Turn("four", "answer to four")
    assert HISTORY_TURNS == 3 and Conversation(asker).max_turns == HISTORY_TURNS
