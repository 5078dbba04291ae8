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

With ``translate`` (the local answerer's default style), the model writes nothing of its own:
the extractive answer's quotes that are not in the question's language are translated into
it, one sentence per request, and each translation is checked against its quote (every
number kept, the question's language, half of its words in the quote through the dictionary)
before it stands for the quote in the answer; a quote whose translation fails the check is
shown as it is. The answer keeps the extractive answer's citations (verbatim, with offsets)
and its attribution by name. With ``check``, the model is first asked whether the quotes
answer the question (in any language, translated or not), and the answer abstains when its
odds of yes are below ``check``.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from assistant import prompts
from assistant.answering import Sentence, balanced, line, reported
from assistant.chunking import split_sentences
from assistant.citations import marker, without_markers
from assistant.errors import ConfigError, LLMError, ModelError
from assistant.lexicon import Lexicon, question_language, translations, word_groups
from assistant.loading import detect_language
from assistant.metrics import cardinals
from assistant.overlap import coverage
from assistant.support import SupportScorer, resolve
from assistant.text import QUOTE_MARKS, content_words, fold, words
from assistant.tuning import TRANSLATION_COVERAGE
from assistant.types import Answer, Answerer, Citation, Event, Passage, Quotes, Statement

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


def translation_messages(sentence: str, language: str | None) -> list[BaseMessage]:
    """The messages asking for one quoted sentence in ``language`` (the sentence as data)."""
    from langchain_core.messages import HumanMessage, SystemMessage

    system = prompts.TRANSLATE_SYSTEM.format(language=prompts.language_name(language))
    return [
        SystemMessage(system),
        HumanMessage(prompts.TRANSLATE_USER.format(sentence=prompts.question_text(sentence))),
    ]


def check_messages(question: str, quotes: Sequence[str], language: str | None) -> list[BaseMessage]:
    """The messages asking whether the quotes answer the question (quotes and question as
    data), under the translation's system message (one prefix for the model to read)."""
    from langchain_core.messages import HumanMessage, SystemMessage

    system = prompts.TRANSLATE_SYSTEM.format(language=prompts.language_name(language))
    sentences = "\n".join(f"[{n}] {prompts.question_text(q)}" for n, q in enumerate(quotes, 1))
    user = prompts.CHECK_USER.format(sentences=sentences, question=prompts.question_text(question))
    return [SystemMessage(system), HumanMessage(user)]


def yes_share(reply: BaseMessage) -> float | None:
    """The odds of yes against no in the reply's first token (its ``logprobs``, as llama.cpp
    and OpenAI-compatible servers give them); None when the reply has none."""
    logprobs = (reply.response_metadata.get("logprobs") or {}).get("content") or []
    if not logprobs:
        return None
    said = {"yes": 0.0, "no": 0.0}
    for option in logprobs[0].get("top_logprobs") or [logprobs[0]]:
        word = str(option.get("token", "")).strip().lower()
        if word in said:
            said[word] += math.exp(float(option["logprob"]))
    total = said["yes"] + said["no"]
    return said["yes"] / total if total else None


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
#: A thousands separator followed by a space, as a small model writes "1, 345, 596".
_SPACED_THOUSANDS = re.compile(r"(?<=\d)([.,])\s(?=\d{3}\b)")
_TAGS = re.compile(r"</?\s*passage[^>]*>", re.IGNORECASE)
#: A small model's announcement before its translation ("Here is the English translation:").
#: Or a short clause naming the translation before a quoted one ("In this case, the
#: translation would be: "…").
_ANNOUNCED = re.compile(
    r"^(?:(?:here(?: is|'s)\s+)?(?:(?:the|a)\s+)?(?:\w+\s+)?translation"
    r"(?:\s+(?:in|into)\s+\w+)?\s*:\s*"
    r"|[^:\"“„]{0,40}\btranslation\b[^:\"“„]{0,30}:\s*(?=[\"“„]))",
    re.IGNORECASE,
)


def digits(text: str) -> list[str]:
    """The numbers a text writes in digits, separators removed ("1.500", "1, 500" → "1500"),
    in their compatibility form: "km²" writes the 2 of "km2", "5½" the 5, 1 and 2 of "51/2"."""
    text = _SPACED_THOUSANDS.sub(r"\1", unicodedata.normalize("NFKC", text))
    return [re.sub(r"[.,]", "", n) for n in _NUMBER.findall(text)]


def keeps_numbers(translation: str, quote: str, language: str | None = None) -> bool:
    """Whether the translation (in ``language``) writes every number of the quote, in
    digits or as a number word two to twelve ("5 Millionen" → "five million"): a wrong
    date, count or amount is the worst a translation can do."""
    spelled = cardinals(language)
    written = digits(translation) + [spelled[w] for w in words(translation) if w in spelled]
    return all(n in written for n in digits(quote))


def carried(translation: str, quote: str, language: str | None, lexicon: Lexicon) -> float | None:
    """The share of the translation's content words that the quote (in ``language``)
    holds, spelled alike, as one of the dictionary's translations or as a part of a
    compound ("plague outbreak" in „Pestausbruch“); None when the dictionary does not
    translate the translation's language into the quote's."""
    words = content_words(translation)
    found = translations(translation, words, lexicon, {language})
    if not found:
        return None
    groups = [[fold(f) for f in g] for g in word_groups(words, found)]
    return float(coverage(groups, [quote], True, parts=True)[0])


def cleaned(translation: str) -> str:
    """A model's translation as one plain line: no delimiters, markers, announcement ("Here
    is the English translation:") or wrapping quotes."""
    text = " ".join(without_markers(_TAGS.sub(" ", translation)).split())
    return _ANNOUNCED.sub("", text).strip(QUOTE_MARKS + " ")


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
    """A chat model built on first use (a local model should not load for `assistant list`);
    a question asked while it is being warmed waits for that build rather than starting its
    own."""

    def __init__(self, build: Callable[[], BaseChatModel]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._built: BaseChatModel | None = None

    @property
    def built(self) -> bool:
        """Whether the chat model has been built (a local one: its file found and verified;
        it is read into memory on its first use, or by ``LLMAnswerer.warm``)."""
        return self._built is not None

    @property
    def model(self) -> BaseChatModel:
        """The chat model, built once (by whichever thread asks first)."""
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built


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
        translate: bool = False,
        lexicon: Lexicon | None = None,
        check: float = 0.0,
    ) -> None:
        self._model = model if isinstance(model, LazyModel) else LazyModel(lambda: model)
        self.scorer = scorer
        self.passages_considered = passages_considered
        self.fallback = fallback
        self.errors = errors
        self.evidence = evidence
        self.context = context
        self.repair = repair
        self.translate = translate
        self.lexicon = lexicon
        #: Before the quotes stand (and are translated), the model is asked whether they
        #: answer the question; below this share of yes (against no) the answer abstains (0:
        #: not asked).
        self.check = check
        #: Answers asked for again in the question's language (benchmarks count them).
        self.repairs = 0

    def warm(self) -> None:
        """Build the model and load it into memory now (a local model: assembled, verified
        and read, a few seconds), so that the first question does not wait for it. A failure
        is logged and left for the first question, which falls back with its note."""
        try:
            model = self._model.model
            getattr(model, "load", lambda: None)()
        except Exception as exc:  # any failure: the question's own attempt reports it
            log.warning("The language model could not be loaded ahead (%s).", _one_line(exc))

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
            if self.translate:
                yield from self._translated(question, quoted, passages)
                return
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

    def _translated(
        self, question: str, quoted: Answer, passages: Sequence[Passage]
    ) -> Iterator[Event]:
        """The quoted answer with each quote in another language than the question's
        translated (streamed line by line); a translation that fails its check leaves the
        quote as it was. No quote to translate: the quoted answer itself. Either way, with
        ``check``, only once the model finds that the quotes answer the question."""
        asked = question_language(question)
        foreign = {
            c.n for c in quoted.citations if asked and c.passage.language not in (None, asked)
        }
        attributed = any(c.speaker for c in quoted.citations)
        translated: dict[int, str] = {}
        try:
            if self.check and self._declines(question, quoted, asked):
                yield Answer(
                    question,
                    prompts.ABSTAIN,
                    abstained=True,
                    passages=tuple(passages),
                    note=prompts.CHECKED_NOTE,
                )
                return
            if not foreign:  # checked, and nothing to translate: the quotes answer
                yield replace(quoted, passages=tuple(passages))
                return
            for c in quoted.citations:
                if c.n > 1:
                    yield "\n" if attributed else " "
                if c.n not in foreign:
                    yield f"{_shown(c, attributed)} {marker(c.n)}"
                    continue
                head = f"{c.speaker}: " if c.speaker else ""
                words: list[str] = []
                # a quote already ends before a closing „…“, so der Experte."
                source = reported(c.quote, c.speaker) if c.speaker else c.quote
                for chunk in self._model.model.stream(translation_messages(source, asked)):
                    if chunk.text:  # the speaker's name comes with the model's first word
                        yield chunk.text if words else head + chunk.text
                        words.append(chunk.text)
                translated[c.n] = cleaned("".join(words))
                yield f" {marker(c.n)}"
        except self.errors as exc:
            if self.fallback is None:
                raise LLMError(f"The language model failed: {exc}") from exc
            log.warning("The language model failed (%s); answering extractively.", exc)
            yield replace(
                quoted,
                passages=tuple(passages),
                note=prompts.FALLBACK_NOTE.format(reason=_one_line(exc)),
            )
            return
        yield self._checked(quoted, translated, asked, passages)

    def _declines(self, question: str, quoted: Answer, asked: str | None) -> bool:
        """Whether the model finds that the quotes do not answer the question (its share
        of yes under ``check``; a reply without odds declines nothing)."""
        messages = check_messages(question, [c.quote for c in quoted.citations], asked)
        reply = self._model.model.bind(logprobs=True, top_logprobs=10, max_tokens=1).invoke(
            messages
        )
        share = yes_share(reply)
        return share is not None and share < self.check

    def _checked(
        self,
        quoted: Answer,
        translated: dict[int, str],
        asked: str | None,
        passages: Sequence[Passage],
    ) -> Answer:
        """The answer: each translation that keeps its quote's numbers, is in the asked
        language and says what its quote says stands for the quote; the others leave the
        quote as it was. What it says: at least ``TRANSLATION_COVERAGE`` of its content
        words are in the quote, spelled alike or as the dictionary translates them (where
        the dictionary knows both languages; elsewhere, the support scorer's verdict)."""
        candidates = {
            n: t
            for n, t in translated.items()
            if t
            and keeps_numbers(t, quoted.citations[n - 1].quote, asked)
            and language_of(t) in (None, asked)
        }
        support: dict[int, float] = {}
        if candidates:
            cited = [quoted.citations[n - 1] for n in candidates]
            sentences = [Sentence(c.passage, 0, c.quote, c.quote_start, c.quote_end) for c in cited]
            texts = list(candidates.values())
            pairs = range(len(texts))
            scores = self.scorer.scores(texts, sentences)[pairs, pairs]
            limits = self.scorer.limits(texts, sentences)[pairs, pairs]
            for n, c, t, score, limit in zip(candidates, cited, texts, scores, limits, strict=True):
                share = (
                    carried(t, c.quote, c.passage.language, self.lexicon) if self.lexicon else None
                )
                if (score >= limit) if share is None else (share >= TRANSLATION_COVERAGE):
                    support[n] = float(score)
        attributed = any(c.speaker for c in quoted.citations)
        text, statements, citations = "", [], []
        for c in quoted.citations:
            if text:
                text += "\n" if attributed else " "
            if c.n not in support:
                text += f"{_shown(c, attributed)} {marker(c.n)}"
                citations.append(c)
                continue
            start = len(text)
            head = f"{c.speaker}: " if c.speaker else ""
            text += f"{head}{candidates[c.n]} {marker(c.n)}"
            statement = Statement(text[start:], start, len(text), (c.n,), support[c.n], True)
            statements.append(statement)
            citations.append(replace(c, support=support[c.n]))
        return replace(
            quoted,
            text=text,
            citations=tuple(citations),
            statements=tuple(statements),
            passages=tuple(passages),
        )

    def _in_language(self, question: str, messages: list[BaseMessage], written: str) -> str:
        """The answer in the question's language: when the model wrote another, it is asked
        once more (not streamed: the finished answer replaces the streamed text); the new
        text is kept only if it is in the question's language."""
        from langchain_core.messages import AIMessage, HumanMessage

        asked = question_language(question)
        if not asked or language_of(written) in (None, asked):
            return written
        self.repairs += 1
        again = prompts.REPAIR.format(language=prompts.language_name(asked))
        rewritten = "".join(
            c.text
            for c in self._model.model.stream([*messages, AIMessage(written), HumanMessage(again)])
        )
        return rewritten if language_of(rewritten) == asked else written


def _shown(citation: Citation, attributed: bool) -> str:
    """A quote as the extractive answer shows it (with its speaker in a round of views)."""
    return line(citation, citation.quote) if attributed else balanced(citation.quote)


def language_of(text: str) -> str | None:
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
