"""History-aware questions: a follow-up ("And who is he?") is made to stand alone before
retrieval, so that it finds the passages the conversation is about.

Without an LLM, a follow-up (short, or one that refers back with a pronoun) borrows the
previous question's names, or its content words when it names nothing, and the passages are
ranked for it and, at half weight, for the previous question. With an LLM, the model
rewrites the follow-up in the user's language; the rewrite is only used for retrieval and
answering, never shown as the answer.

The turns of a conversation are kept by ``assistant.conversation``, which hands each question
with its history to ``Assistant.stream``; that calls this module's condenser and search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from assistant import prompts
from assistant.retrieval import fuse
from assistant.support import strip_thinking
from assistant.text import OPENING, REFERRING, WORD, content_words, words
from assistant.tuning import RRF_K
from assistant.types import Passage

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.llm import LazyModel


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation: the user's question and the answer's text."""

    question: str
    answer: str


def is_follow_up(question: str, max_content_words: int = 2) -> bool:
    """A question that leans on what came before: it opens with "and", refers back with a
    pronoun, or is too short to stand alone and names nothing."""
    said = words(question)
    short = len(content_words(question)) <= max_content_words and not names(question)
    return bool(said and said[0] in OPENING) or any(w in REFERRING for w in said) or short


def names(question: str) -> list[str]:
    """Capitalised words after the first (names; in German, also nouns)."""
    return list(dict.fromkeys(w for w in WORD.findall(question)[1:] if w[0].isupper()))


def salient_words(question: str) -> list[str]:
    """What a follow-up may refer to: the names in a question, else its content words."""
    return names(question) or content_words(question)


class Condenser(Protocol):
    """Makes a question stand alone, given the conversation before it."""

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """The question as it would be asked without the conversation."""
        ...


class KeywordCondenser:
    """A follow-up gets the previous question's salient words appended."""

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """The question, plus what it most likely refers to."""
        if not history or not is_follow_up(question):
            return question
        borrowed = [w for w in salient_words(history[-1].question) if w not in question]
        return f"{question} ({' '.join(borrowed)})" if borrowed else question


class LLMCondenser:
    """The chat model rewrites a follow-up; if it fails or gives no usable rewrite, the
    keyword condenser does."""

    def __init__(
        self,
        model: BaseChatModel | LazyModel,
        *,
        max_chars: int = 500,
        errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        from assistant.llm import LazyModel

        self._model = model if isinstance(model, LazyModel) else LazyModel(lambda: model)
        self.max_chars = max_chars
        self.errors = errors
        self.fallback = KeywordCondenser()

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """The model's rewrite (first line), or the keyword rewrite if it gives none."""
        if not history:
            return question
        from langchain_core.messages import HumanMessage, SystemMessage

        quoted = prompts.format_history([(t.question, t.answer) for t in history])
        user = prompts.CONDENSE_USER.format(
            history=quoted, question=prompts.question_text(question)
        )
        messages = [SystemMessage(prompts.CONDENSE_SYSTEM), HumanMessage(user)]
        try:
            reply = self._model.model.invoke(messages).text
        except self.errors:
            return self.fallback.condense(question, history)
        rewritten = next(iter(strip_thinking(reply).splitlines()), "").strip()
        if not rewritten or len(rewritten) > self.max_chars:
            return self.fallback.condense(question, history)
        return rewritten


Search = Callable[[str, int], list[Passage]]


def history_search(
    search: Search,
    question: str,
    standalone: str,
    history: Sequence[Turn],
    k: int,
    previous_weight: float = 0.5,
    rrf_k: int = RRF_K,
) -> list[Passage]:
    """Passages for the standalone question; for a follow-up, fused by reciprocal rank with
    those of the previous question at ``previous_weight``."""
    if not history or not is_follow_up(question):
        return search(standalone, k)
    rankings = [(1.0, search(standalone, k)), (previous_weight, search(history[-1].question, k))]
    found: dict[str, Passage] = {}
    for _, ranking in rankings:
        for passage in ranking:
            found.setdefault(passage.chunk_id, passage)
    ids = ((weight, [p.chunk_id for p in ranking]) for weight, ranking in rankings)
    return [replace(found[c], score=score) for c, score in fuse(ids, rrf_k)[:k]]
