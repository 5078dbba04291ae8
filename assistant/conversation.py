"""One conversation, for the CLI and the chat page alike: its exchanges in order (a question,
then its Answer), and the window of answered turns each question is asked with.

The question's path: a view (``cli``, ``pages/chat.py``) → ``Conversation`` (the history) →
``Assistant.stream`` (``factory``) → ``chat`` (a follow-up made standalone, searched with the
previous question) → ``retrieval`` → ``answering`` or ``llm`` (→ ``support`` → ``citations``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from assistant.chat import Turn
from assistant.errors import AssistantError
from assistant.types import Answer, Event

#: Answered turns a question is asked with: a follow-up leans on the last one, and the
#: extractive answerer does not quote again what these quoted (docs/llm.md, Conversations).
HISTORY_TURNS = 3


class Asker(Protocol):
    """What a conversation asks: the assistant (``factory.Assistant``)."""

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Event]:
        """The answer's text as it is written, then the Answer."""
        ...


@dataclass(frozen=True)
class Exchange:
    """A question of a conversation and its Answer (None until answered), with an id a view
    keys its widgets by."""

    question: str
    answer: Answer | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


class Conversation:
    """One conversation: its exchanges in order; each question is asked with the last
    ``max_turns`` answered turns before it. The CLI and the chat page both keep one."""

    def __init__(
        self,
        assistant: Asker,
        max_turns: int = HISTORY_TURNS,
        exchanges: list[Exchange] | None = None,
    ) -> None:
        self.assistant = assistant
        self.max_turns = max_turns
        #: The exchanges, in order (a view may hand in a list it keeps across reruns).
        self.exchanges = [] if exchanges is None else exchanges

    @property
    def history(self) -> list[Turn]:
        """Every answered turn, in order."""
        return [Turn(e.question, e.answer.text) for e in self.exchanges if e.answer]

    def context(self, exchange: Exchange) -> list[Turn]:
        """The answered turns before ``exchange`` that its question is asked with."""
        before = self.exchanges[: self.exchanges.index(exchange)]
        turns = [Turn(e.question, e.answer.text) for e in before if e.answer]
        return turns[-self.max_turns :]

    def add(self, question: str) -> Exchange:
        """A new question, not answered yet."""
        exchange = Exchange(question)
        self.exchanges.append(exchange)
        return exchange

    def answer(self, exchange: Exchange) -> Iterator[Event]:
        """Text as it is written, then the Answer, which the exchange keeps; a question that
        fails with an error is dropped from the conversation."""
        try:
            for event in self.assistant.stream(exchange.question, self.context(exchange)):
                if isinstance(event, Answer):
                    at = self.exchanges.index(exchange)
                    self.exchanges[at] = replace(exchange, answer=event)
                yield event
        except AssistantError:
            self.drop(exchange)
            raise

    def drop(self, exchange: Exchange) -> None:
        """Forget a question (one that failed); gone already (a view cleared the
        conversation): nothing to do."""
        if exchange in self.exchanges:
            self.exchanges.remove(exchange)

    def stream(self, question: str) -> Iterator[Event]:
        """The next question: text as it is written, then the Answer."""
        yield from self.answer(self.add(question))

    def ask(self, question: str) -> Answer:
        """The finished answer to the next question."""
        *_, last = self.stream(question)
        assert isinstance(last, Answer)
        return last
