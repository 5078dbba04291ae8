"""Typed, frozen value objects that travel between the pipeline's steps.

Article (loading) → Chunk (chunking) → Passage (retrieval) → Citation/Answer (answering).
The JSON shapes the CLI prints are defined here, once (``as_dict``), and the one seam every
answerer fills (``Answerer``: ``answer`` and ``stream``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol


def content_id(*parts: object, length: int = 16) -> str:
    """A short, stable id derived from the given parts (the same parts give the same id)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return digest[:length]


@dataclass(frozen=True)
class Page:
    """A page of a paged document: its number (1-based) and its span in the article text."""

    number: int
    start: int
    end: int


@dataclass(frozen=True)
class Article:
    """A loaded document: its extracted text and what is known about it."""

    source: str
    text: str
    title: str
    author: str | None = None
    date: str | None = None
    url: str | None = None
    language: str | None = None
    pages: tuple[Page, ...] = ()

    @property
    def content_hash(self) -> str:
        """Hash of the text and metadata: it changes exactly when the stored version must."""
        return content_id(
            self.text, self.title, self.author, self.date, self.url, self.language, length=64
        )

    @property
    def doc_id(self) -> str:
        """A document's identity is its source: a changed file replaces its old version."""
        return content_id(self.source)

    def page_at(self, offset: int) -> int | None:
        """The page number that holds the character at ``offset``, if the document has pages."""
        for page in self.pages:
            if page.start <= offset < page.end:
                return page.number
        return self.pages[-1].number if self.pages else None


@dataclass(frozen=True)
class Chunk:
    """A span of an article's text: ``article.text[start:end] == text``."""

    doc_id: str
    text: str
    start: int
    end: int
    page: int | None = None

    @property
    def chunk_id(self) -> str:
        """Id from content: the same text at the same place of the same document."""
        return content_id(self.doc_id, self.start, self.end, self.text)


@dataclass(frozen=True)
class DocumentInfo:
    """What the manifest records about an indexed document."""

    doc_id: str
    source: str
    title: str
    author: str | None
    date: str | None
    url: str | None
    language: str | None
    content_hash: str
    chunks: int
    added_at: str

    def as_dict(self) -> dict[str, object]:
        """The JSON shape the CLI prints (`assistant list --json`)."""
        return {
            "id": self.doc_id, "title": self.title, "source": self.source,
            "language": self.language, "chunks": self.chunks, "author": self.author,
            "date": self.date, "added_at": self.added_at,
        }  # fmt: skip


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its document's title and source, and a relevance score."""

    chunk_id: str
    doc_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    score: float
    page: int | None = None
    language: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of a passage (`assistant search --json`; a Citation's and the
        retriever's metadata are this shape too)."""
        return {
            "doc_id": self.doc_id, "title": self.title, "source": self.source, "text": self.text,
            "start": self.start, "end": self.end, "page": self.page, "score": round(self.score, 6),
        }  # fmt: skip


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer: the passage and the exact sentence quoted from it."""

    n: int
    passage: Passage
    quote: str
    quote_start: int
    quote_end: int
    #: How well the quoted sentence supports the statements citing it (0..1); None: quoted.
    support: float | None = None
    #: Who says the quoted sentence, when the answer attributes it (a round of views).
    speaker: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON shape the CLI prints (``support`` only for written answers)."""
        passage = {k: v for k, v in self.passage.as_dict().items() if k != "score"}
        support = {} if self.support is None else {"support": round(self.support, 4)}
        quote = {"quote": self.quote, "quote_start": self.quote_start, "quote_end": self.quote_end}
        return {"n": self.n} | passage | quote | support


@dataclass(frozen=True)
class Statement:
    """A sentence of a written answer: its span in the answer text, the citation numbers it
    carries, and how well its best cited passage sentence supports it (0..1)."""

    text: str
    start: int
    end: int
    citations: tuple[int, ...]
    support: float
    supported: bool

    def as_dict(self) -> dict[str, object]:
        """The JSON shape the CLI prints."""
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "citations": list(self.citations),
            "support": round(self.support, 4),
            "supported": self.supported,
        }


@dataclass(frozen=True)
class Answer:
    """An answer whose statements carry ``[n]`` markers that point into ``citations``."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    passages: tuple[Passage, ...] = field(default=())
    #: A written (LLM) answer's sentences with their support; empty for quoted answers,
    #: whose every sentence is a quote.
    statements: tuple[Statement, ...] = ()
    #: One line for the reader, e.g. why the LLM did not answer (the quotes answer instead).
    note: str = ""
    #: The follow-up as it was searched and answered, when the conversation rewrote it.
    rewritten: str | None = None

    @property
    def unsupported(self) -> tuple[int, ...]:
        """Indexes into ``statements`` of the sentences no cited passage supports."""
        return tuple(i for i, s in enumerate(self.statements) if not s.supported)

    def as_dict(self) -> dict[str, object]:
        """The JSON shape the CLI prints (``statements`` only for written answers)."""
        out: dict[str, object] = {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.as_dict() for c in self.citations],
        }
        if self.statements:
            out["statements"] = [s.as_dict() for s in self.statements]
        if self.note:
            out["note"] = self.note
        if self.rewritten:
            out["rewritten"] = self.rewritten
        return out


@dataclass(frozen=True)
class Quotes:
    """The evidence an answer is being written from, shown before the model's first token."""

    citations: tuple[Citation, ...]


#: What a stream yields: maybe the evidence, text as it is written, then the Answer (last).
Event = str | Quotes | Answer


class Answerer(Protocol):
    """Passages → Answer: the extractive answerer and the LLM answerers fill this seam."""

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        """A cited answer, or an abstention."""
        ...

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[Event]:
        """The answer's text as it is written (if it is written), then the Answer."""
        ...

    def excluding(self, said: Sequence[str]) -> Answerer:
        """The answerer for a follow-up: one that does not repeat these earlier answers."""
        ...


@dataclass(frozen=True)
class Problem:
    """One way the index's stores disagree: what kind, which ids, and a line for people."""

    kind: Literal["orphan_dense", "missing_dense", "lexical", "chunk_count", "model_drift"]
    ids: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, object]:
        """The JSON shape `assistant doctor --json` prints."""
        return {"kind": self.kind, "ids": list(self.ids), "message": self.message}


@dataclass(frozen=True)
class Repair:
    """One repair made (or, with ``done=False``, one that needs the user): kind, count, line."""

    kind: Literal["moved_aside", "deleted_orphans", "reembedded", "relexed", "reingest"]
    count: int
    message: str
    done: bool = True

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, object]:
        """The JSON shape `assistant doctor --json` prints."""
        return {"kind": self.kind, "count": self.count, "done": self.done, "message": self.message}
