"""A written answer's text → Answer: markers checked and renumbered, each sentence mapped to
the passage it cites and scored for support, unsupported sentences marked.

Support of a statement by a passage sentence mixes embedding similarity with word overlap
(the share of the statement's content words the sentence holds, spelling-tolerant), as the
extractive answerer scores relevance. A statement is supported when its best cited sentence
scores at least the threshold. When the model cites nothing, each statement gets the passage
that supports it best, if any does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from assistant import prompts
from assistant.answering import Sentence, candidate_sentences
from assistant.chunking import split_sentences
from assistant.citations import MARKER_RUN, marker, numbers, parse_citations, without_markers
from assistant.loading import detect_language
from assistant.overlap import word_overlap
from assistant.text import content_words, fold
from assistant.tuning import SUPPORT_LEXICAL_WEIGHT, SUPPORT_VECTORS_CACHE
from assistant.types import Answer, Citation, Passage, Statement

if TYPE_CHECKING:
    from assistant.embedding import Embedder

_THINKING = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)


@dataclass(frozen=True)
class Span:
    """A statement's span in the answer text and the citation numbers it carries."""

    start: int
    end: int
    numbers: tuple[int, ...]


def strip_thinking(text: str) -> str:
    """The answer without a reasoning model's ``<think>`` block."""
    return _THINKING.sub("", text).strip()


def statement_spans(text: str) -> list[Span]:
    """Sentences of an answer with their markers; markers that open a sentence (``Foo.
    [1] Bar.``) belong to the sentence before, and a sentence of markers only joins it."""
    spans: list[Span] = []
    for sentence in split_sentences(text):
        start = sentence.start
        lead = MARKER_RUN.match(text, start)
        if spans and lead and lead.end() > start:
            last = spans[-1]
            moved = tuple(numbers(text, start, lead.end()))
            spans[-1] = Span(last.start, lead.end(), _unique(last.numbers + moved))
            start = lead.end()
            while start < sentence.end and text[start].isspace():
                start += 1
        if start >= sentence.end:
            continue
        cited = tuple(numbers(text, start, sentence.end))
        spans.append(Span(start, sentence.end, _unique(cited)))
    return spans


def _unique(numbers: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(numbers))


def plain(text: str) -> str:
    """A statement without its markers."""
    return without_markers(text)


class SupportScorer:
    """Support (about 0..1) of statements by passage sentences, and the threshold each pair
    must reach: scores run lower when the statement and the passage differ in language."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        threshold: float = 0.35,
        crosslingual_threshold: float = 0.15,
        lexical_weight: float = SUPPORT_LEXICAL_WEIGHT,
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.crosslingual_threshold = crosslingual_threshold
        self.lexical_weight = lexical_weight
        self.cache_size = SUPPORT_VECTORS_CACHE
        self._cache: dict[str, np.ndarray] = {}

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Passage sentences' vectors, kept: the same passages come back turn after turn."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if len(self._cache) + len(missing) > self.cache_size:
            self._cache.clear()
            missing = list(dict.fromkeys(texts))
        if missing:
            self._cache.update(zip(missing, self.embedder.encode_documents(missing), strict=True))
        return np.stack([self._cache[t] for t in texts])

    def limits(self, statements: Sequence[str], sentences: Sequence[Sentence]) -> np.ndarray:
        """The threshold each (statement, sentence) pair's support must reach."""
        languages = [detect_language(s) for s in statements]
        rows = [[self._limit(lang, s.passage.language) for s in sentences] for lang in languages]
        return np.array(rows, dtype=float).reshape(len(statements), len(sentences))

    def _limit(self, statement_language: str | None, passage_language: str | None) -> float:
        same = passage_language is None or statement_language == passage_language
        return self.threshold if same else self.crosslingual_threshold

    def scores(self, statements: Sequence[str], sentences: Sequence[Sentence]) -> np.ndarray:
        """A (statements × sentences) matrix of support."""
        if not statements or not sentences:
            return np.zeros((len(statements), len(sentences)))
        a = self.embedder.encode_documents(list(statements))
        b = self._vectors([s.text for s in sentences])
        dense = np.clip(a @ b.T, 0.0, 1.0)
        lexical = np.array(
            [
                [word_overlap([fold(w) for w in content_words(st)], s.text) for s in sentences]
                for st in statements
            ]
        )
        w = self.lexical_weight
        return (1 - w) * dense + w * lexical


def passage_sentences(passages: Sequence[Passage]) -> list[Sentence]:
    """Every sentence of each passage (a passage too short to split counts as one)."""
    out: list[Sentence] = []
    for rank, passage in enumerate(passages):
        found = candidate_sentences([passage])
        if not found:
            found = [Sentence(passage, 0, passage.text, passage.start, passage.end)]
        out.extend(Sentence(s.passage, rank, s.text, s.start, s.end) for s in found)
    return out


def resolve(question: str, raw: str, passages: Sequence[Passage], scorer: SupportScorer) -> Answer:
    """The Answer for a model's text: valid citations only, statements scored and marked."""
    text, order = parse_citations(strip_thinking(raw), passages)
    spans = statement_spans(text)
    if not spans:
        return Answer(question, prompts.ABSTAIN, abstained=True, passages=tuple(passages))
    sentences = passage_sentences(passages)
    statement_texts = [plain(text[s.start : s.end]) for s in spans]
    scores = scorer.scores(statement_texts, sentences)
    margins = scores - scorer.limits(statement_texts, sentences)
    if not order:
        attached = _attach(text, spans, margins, sentences)
        if attached is not None:
            return resolve(question, attached, passages, scorer)
    cited = [[j for j, s in enumerate(sentences) if s.rank == index] for index in order]
    statements = tuple(
        _statement(text, span, scores[i], margins[i], cited) for i, span in enumerate(spans)
    )
    citations = tuple(
        _citation(n, scores, margins, spans, sentences, cited) for n in range(1, len(order) + 1)
    )
    return Answer(
        question,
        text,
        citations,
        abstained=not citations,
        passages=tuple(passages),
        statements=statements,
    )


def _statement(
    text: str, span: Span, scores: np.ndarray, margins: np.ndarray, cited: list[list[int]]
) -> Statement:
    """A statement's support is that of its best cited sentence (by margin over threshold)."""
    columns = [j for n in span.numbers for j in cited[n - 1]]
    best = max(columns, key=lambda j: margins[j], default=None)
    return Statement(
        text[span.start : span.end], span.start, span.end, span.numbers,
        support=0.0 if best is None else float(scores[best]),
        supported=best is not None and bool(margins[best] >= 0),
    )  # fmt: skip


def _citation(
    n: int,
    scores: np.ndarray,
    margins: np.ndarray,
    spans: Sequence[Span],
    sentences: Sequence[Sentence],
    cited: list[list[int]],
) -> Citation:
    """Citation ``n`` quotes its passage's sentence that best supports a statement citing it."""
    rows = [i for i, span in enumerate(spans) if n in span.numbers] or list(range(len(spans)))
    columns = cited[n - 1]
    block = margins[np.ix_(rows, columns)]
    i, j = np.unravel_index(int(block.argmax()), block.shape)
    best = sentences[columns[j]]
    support = float(scores[rows[i], columns[j]])
    return Citation(n, best.passage, best.text, best.start, best.end, support)


def _attach(
    text: str, spans: list[Span], margins: np.ndarray, sentences: Sequence[Sentence]
) -> str | None:
    """The text with each statement followed by a marker for the passage that supports it
    best, where one does (``[rank + 1]``); None when none does."""
    out, last, attached = [], 0, False
    for i, span in enumerate(spans):
        out.append(text[last : span.end])
        last = span.end
        if margins.shape[1] and margins[i].max() >= 0:
            out.append(" " + marker(sentences[int(margins[i].argmax())].rank + 1))
            attached = True
    return "".join(out) + text[last:] if attached else None
