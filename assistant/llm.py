"""LLM answerers: a LangChain chat model writes the answer from numbered passages.

The model is any ``BaseChatModel``; ``build_chat_model`` makes the configured one (Ollama,
an OpenAI-compatible server, or a local transformers model). The answer streams token by
token; when it is complete, ``support.resolve`` turns its text into an ``Answer``: markers
that point at no passage are dropped, the rest renumbered, and each sentence is scored for
support by the passage it cites. If the model cannot be reached, the fallback (the
extractive answerer) answers instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from assistant import prompts
from assistant.errors import ConfigError, LLMError, ModelError
from assistant.support import SupportScorer, resolve
from assistant.types import Answer, Passage

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

#: What a stream yields: text as it is written, then the finished Answer (last).
Event = str | Answer


class Answerer(Protocol):
    """Anything that answers a question from passages."""

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        """A cited answer, or an abstention."""
        ...


def answer_stream(answerer: Any, question: str, passages: Sequence[Passage]) -> Iterator[Event]:
    """The answerer's stream if it has one; otherwise just its answer."""
    if hasattr(answerer, "stream"):
        yield from answerer.stream(question, passages)
    else:
        yield answerer.answer(question, passages)


def answer_messages(question: str, passages: Sequence[Passage]) -> list[BaseMessage]:
    """The messages the model receives: the rules, then the quoted passages and question."""
    from langchain_core.messages import HumanMessage, SystemMessage

    quoted = prompts.format_passages([(p.title, p.text) for p in passages])
    user = prompts.ANSWER_USER.format(passages=quoted, question=prompts.question_text(question))
    return [SystemMessage(prompts.ANSWER_SYSTEM), HumanMessage(user)]


class LazyModel:
    """A chat model built on first use (a local model should not load for `assistant list`)."""

    def __init__(self, build: Callable[[], BaseChatModel]) -> None:
        self._build = build

    @cached_property
    def model(self) -> BaseChatModel:
        """The chat model, built once."""
        return self._build()


class LLMAnswerer:
    """Answers with a chat model, citing the numbered passages; falls back when it fails."""

    def __init__(
        self,
        model: BaseChatModel | LazyModel,
        scorer: SupportScorer,
        *,
        passages_considered: int = 5,
        fallback: Answerer | None = None,
        errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        self._model = model if isinstance(model, LazyModel) else LazyModel(lambda: model)
        self.scorer = scorer
        self.passages_considered = passages_considered
        self.fallback = fallback
        self.errors = errors

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        """The finished answer (the stream's last event)."""
        *_, last = self.stream(question, passages)
        assert isinstance(last, Answer)
        return last

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[Event]:
        """Text as the model writes it, then the Answer with its citations resolved."""
        if not passages:
            yield Answer(question, prompts.ABSTAIN_NO_PASSAGES, abstained=True)
            return
        given = list(passages[: self.passages_considered])
        parts: list[str] = []
        try:
            for chunk in self._model.model.stream(answer_messages(question, given)):
                if chunk.text:
                    parts.append(chunk.text)
                    yield chunk.text
        except self.errors as exc:
            if self.fallback is None:
                raise LLMError(f"The language model failed: {exc}") from exc
            log.warning("The language model failed (%s); answering extractively.", exc)
            yield self.fallback.answer(question, passages)
            return
        answer = resolve(question, "".join(parts), given, self.scorer)
        yield replace(answer, passages=tuple(passages))  # all retrieved, as the UI lists them


def transport_errors(kind: str) -> tuple[type[BaseException], ...]:
    """The errors that mean the model's server cannot be reached or refused the request."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    if kind in ("ollama", "openai"):
        import httpx

        errors.append(httpx.HTTPError)
    if kind == "ollama":
        import ollama

        errors.append(ollama.ResponseError)
    if kind == "openai":
        import openai

        errors.append(openai.APIError)
    return tuple(errors)


def build_chat_model(
    kind: str,
    model: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    temperature: float = 0.0,
    timeout: float = 120.0,
    max_tokens: int = 512,
) -> BaseChatModel:
    """The configured LangChain chat model (``kind``: ollama, openai or huggingface)."""
    require_model(kind, model)
    if kind == "ollama":
        return _ollama(model, base_url, temperature, timeout, max_tokens)
    if kind == "openai":
        return _openai(model, base_url, api_key, temperature, timeout, max_tokens)
    if kind == "huggingface":
        return _huggingface(model, temperature, max_tokens)
    raise ConfigError(f"Unknown answerer {kind!r}: use extractive, ollama, openai or huggingface.")


def require_model(kind: str, model: str) -> None:
    """Refuse an LLM answerer without a model, saying how to name one."""
    if not model:
        raise ConfigError(
            f"ASSISTANT_ANSWERER={kind} needs a model: set ASSISTANT_LLM_MODEL (for example "
            f"{_EXAMPLES.get(kind, 'a model name')})."
        )


_EXAMPLES = {
    "ollama": "llama3.1:8b",
    "openai": "gpt-4o-mini, or the model name your server serves",
    "huggingface": "a local model directory",
}


def _ollama(
    model: str, base_url: str | None, temperature: float, timeout: float, max_tokens: int
) -> BaseChatModel:
    from langchain_ollama import ChatOllama

    return ChatOllama(
        model=model,
        base_url=base_url,
        temperature=temperature,
        num_predict=max_tokens,
        client_kwargs={"timeout": timeout},
    )


def _openai(
    model: str,
    base_url: str | None,
    api_key: str | None,
    temperature: float,
    timeout: float,
    max_tokens: int,
) -> BaseChatModel:
    import openai
    from langchain_openai import ChatOpenAI

    # a local OpenAI-compatible server (vLLM, llama.cpp, LM Studio) wants no key and has no
    # Responses API
    key = api_key or ("not-needed" if base_url else None)
    try:
        return ChatOpenAI(
            model=model,
            base_url=base_url,
            api_key=key,  # type: ignore[arg-type]
            temperature=temperature,
            timeout=timeout,
            max_completion_tokens=max_tokens,
            max_retries=1,
            use_responses_api=False if base_url else None,
        )
    except openai.OpenAIError as exc:
        raise ConfigError(
            f"Cannot set up the OpenAI answerer ({exc}). Set ASSISTANT_LLM_API_KEY, or "
            "ASSISTANT_LLM_BASE_URL for an OpenAI-compatible server."
        ) from None


def _huggingface(model: str, temperature: float, max_tokens: int) -> BaseChatModel:
    from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline

    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {}
    try:
        llm = HuggingFacePipeline.from_model_id(
            model_id=model,
            task="text-generation",
            pipeline_kwargs={"max_new_tokens": max_tokens, "return_full_text": False} | sampling,
        )
    except OSError as exc:
        raise ModelError(
            f"Cannot load the chat model {model!r} ({exc}). Set ASSISTANT_LLM_MODEL to a local "
            "transformers model directory (or a hub name, with internet access)."
        ) from exc
    return ChatHuggingFace(llm=llm)
