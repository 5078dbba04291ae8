"""LLM answerers: a LangChain chat model writes the answer from numbered passages.

The model is any ``BaseChatModel``; ``build_chat_model`` makes the configured one (Ollama,
an OpenAI-compatible server, a local transformers model, or a local GGUF on llama.cpp). The
answer streams token by token; when it is complete, ``support.resolve`` turns its text into
an ``Answer``: markers that point at no passage are dropped, the rest renumbered, and each
sentence is scored for support by the passage it cites. If the model cannot be reached, the
fallback (the extractive answerer) answers instead, with a one-line note.

With ``evidence`` (the local answerer), the extractive answer comes first: when it abstains
the model is not asked; otherwise its quotes are shown at once (a ``Quotes`` event) and the
model reads only those sentences (with ``context`` neighbours each), so it starts sooner. An
answer that comes in another language than the question's is asked for once more in the
question's language (``repair``; a small model sometimes copies the German passage).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from assistant import prompts
from assistant.chunking import split_sentences
from assistant.citations import without_markers
from assistant.errors import ConfigError, LLMError, ModelError
from assistant.lexicon import question_language
from assistant.loading import detect_language
from assistant.support import SupportScorer, resolve
from assistant.types import Answer, Answerer, Citation, Event, Passage, Quotes

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)


def answer_messages(
    question: str,
    passages: Sequence[Passage],
    *,
    evidence: bool = False,
    speakers: Sequence[str] = (),
) -> list[BaseMessage]:
    """The messages the model receives: the rules, then the quoted passages and question
    (``evidence``: excerpts, and the question's language named; ``speakers``: per passage,
    who says what it quotes, as the extractive answer attributed it)."""
    from langchain_core.messages import HumanMessage, SystemMessage

    who = [*speakers, *[""] * (len(passages) - len(speakers))]
    titles = [
        f"{p.title}; said by {w}" if w else p.title for p, w in zip(passages, who, strict=True)
    ]
    quoted = [(t, p.text) for t, p in zip(titles, passages, strict=True)]
    if evidence:
        language = prompts.language_name(question_language(question))
        user = _evidence_user(question, quoted, language)
        if any(speakers):
            user += prompts.EVIDENCE_VIEWS.format(language=language)
    else:
        user = prompts.ANSWER_USER.format(
            passages=prompts.format_passages(quoted), question=prompts.question_text(question)
        )
    return [SystemMessage(prompts.ANSWER_SYSTEM), HumanMessage(user)]


def _evidence_user(question: str, passages: Sequence[tuple[str, str]], language: str) -> str:
    return prompts.EVIDENCE_USER.format(
        passages=prompts.format_passages(list(passages)),
        question=prompts.question_text(question),
        language=language,
    )


def excerpts(citations: Sequence[Citation], context: int = 1) -> list[Passage]:
    """Each quoted sentence with ``context`` sentences either side, as a passage of its own
    (offsets still into the document); quotes close together in one passage share one."""
    windows: list[tuple[Passage, int, int]] = []
    for c in citations:
        p = c.passage
        spans = split_sentences(p.text)
        at = next((i for i, s in enumerate(spans) if p.start + s.end > c.quote_start), 0)
        lo = spans[max(at - context, 0)].start if spans else 0
        hi = spans[min(at + context, len(spans) - 1)].end if spans else len(p.text)
        last = windows[-1] if windows else None
        if last and last[0] == p and lo <= last[2]:
            windows[-1] = (p, min(last[1], lo), max(last[2], hi))
        else:
            windows.append((p, lo, hi))
    return [
        replace(p, text=p.text[lo:hi], start=p.start + lo, end=p.start + hi)
        for p, lo, hi in windows
    ]


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
        evidence: Answerer | None = None,
        context: int = 1,
        repair: bool = False,
    ) -> None:
        self._model = model if isinstance(model, LazyModel) else LazyModel(lambda: model)
        self.scorer = scorer
        self.passages_considered = passages_considered
        self.fallback = fallback
        self.errors = errors
        self.evidence = evidence
        self.context = context
        self.repair = repair
        #: Answers asked for again in the question's language (benchmarks count them).
        self.repairs = 0

    def excluding(self, said: Sequence[str]) -> LLMAnswerer:
        """The same answerer: the model writes each answer anew from its passages, so an
        earlier answer is not quoted back as the extractive answerer would."""
        return self

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
        quoted = self.evidence.answer(question, passages) if self.evidence else None
        if quoted is not None:
            if quoted.abstained:  # nothing to write from: the model is not asked
                yield quoted
                return
            yield Quotes(quoted.citations)
        given = (
            excerpts(quoted.citations, self.context)
            if quoted
            else list(passages[: self.passages_considered])
        )
        parts: list[str] = []
        try:
            speakers = _speakers(given, quoted.citations) if quoted else []
            messages = answer_messages(
                question,
                given,
                evidence=quoted is not None,
                speakers=speakers,
            )
            for chunk in self._model.model.stream(messages):
                if chunk.text:
                    parts.append(chunk.text)
                    yield chunk.text
            written = "".join(parts)
            if self.repair:
                written = self._in_language(question, messages, written)
        except self.errors as exc:
            if self.fallback is None:
                raise LLMError(f"The language model failed: {exc}") from exc
            log.warning("The language model failed (%s); answering extractively.", exc)
            fallback = self.fallback.answer(question, passages)
            yield replace(fallback, note=prompts.FALLBACK_NOTE.format(reason=_one_line(exc)))
            return
        answer = resolve(question, written, given, self.scorer)
        yield replace(answer, passages=tuple(passages))  # all retrieved, as the UI lists them

    def _in_language(self, question: str, messages: list[BaseMessage], written: str) -> str:
        """The answer in the question's language: when the model wrote another, it is asked
        once more (not streamed: the finished answer replaces the streamed text); the new
        text is kept only if it is in the question's language."""
        from langchain_core.messages import AIMessage, HumanMessage

        asked = question_language(question)
        if not asked or _language(written) in (None, asked):
            return written
        self.repairs += 1
        again = prompts.REPAIR.format(language=prompts.language_name(asked))
        rewritten = "".join(
            c.text
            for c in self._model.model.stream([*messages, AIMessage(written), HumanMessage(again)])
        )
        return rewritten if _language(rewritten) == asked else written


def _language(text: str) -> str | None:
    """The language of an answer's words (markers removed); None for too few words to tell
    (an answer that is only a name or a number is in every language)."""
    plain = without_markers(text)
    return detect_language(plain) if len(re.findall(r"[^\W\d_]{2,}", plain)) >= 3 else None


def _speakers(given: Sequence[Passage], citations: Sequence[Citation]) -> list[str]:
    """Per excerpt, the persons its quoted sentences are attributed to (comma-separated)."""
    return [
        ", ".join(
            dict.fromkeys(
                c.speaker
                for c in citations
                if c.speaker and g.doc_id == c.passage.doc_id and g.start <= c.quote_start < g.end
            )
        )
        for g in given
    ]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def transport_errors(kind: str) -> tuple[type[BaseException], ...]:
    """The errors that mean the model's server cannot be reached or refused the request
    (local: the model file is missing or refused, generation crashed or timed out)."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    if kind == "local":
        errors += [ModelError, LLMError]
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
    raise ConfigError(
        f"Unknown answerer {kind!r}: use extractive, local, ollama, openai or huggingface."
    )


def build_local_model(
    model: str,
    *,
    cache: Path,
    sha256: str | None = None,
    threads: int = 2,
    context: int = 4096,
    temperature: float = 0.0,
    timeout: float = 120.0,
    max_tokens: int = 512,
) -> BaseChatModel:
    """A local GGUF (``model``, or the verified default when empty) on llama.cpp."""
    from assistant.local_model import ChatLlamaCpp, Runtime, model_path

    runtime = Runtime(model_path(model, cache, sha256), context, threads)
    return ChatLlamaCpp(
        runtime=runtime, max_tokens=max_tokens, temperature=temperature, timeout=timeout
    )


def require_model(kind: str, model: str) -> None:
    """Refuse an LLM answerer without a model, saying how to name one (``local`` has a
    default)."""
    if not model and kind != "local":
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
