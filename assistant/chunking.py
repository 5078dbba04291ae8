"""Article → Chunks: sentence-aware, sized in tokens of the embedding model's tokenizer.

Pure functions. Every chunk satisfies ``article.text[chunk.start:chunk.end] == chunk.text``;
chunks follow the article in order and together cover all of its non-blank text. A chunk
never holds more tokens than ``max_tokens`` (the model would silently ignore the rest), nor
more characters than ``max_chars`` (a tokenizer counts a 20 MB word as one unknown token).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.text import ABBREVIATIONS, BOILERPLATE_AFTER, CAPITAL
from assistant.types import Article, Chunk

#: Maps a text to the character spans of its tokens (no special tokens).
TokenSpans = Callable[[str], Sequence[tuple[int, int]]]

_END = re.compile(r"[.!?…]+[\"'»«“”‘’)\]]*(?=\s)|\n")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_NEXT_STARTS_SENTENCE = re.compile(rf"\s*[\"'„“«»(\[]?[{CAPITAL}0-9]")
# The word before a full stop, with the abbreviation's own earlier parts ("z. B", "e.g").
_WORD_BEFORE_DOT = re.compile(r"(?:^|(?<=[\s(\[„“\"'«»]))((?:\w{1,3}\.\s?)*\w+)\.$")
_LINE_END = re.compile(r"[.!?…:;\"'»«“”‘’)\]]$")
# A line this long that stops without punctuation was wrapped (a PDF line), not a heading.
WRAPPED_LINE_CHARS = 50


@dataclass(frozen=True)
class Span:
    """A half-open character span ``[start, end)`` of a text."""

    start: int
    end: int


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of ``text[start:end]``, trimmed of surrounding whitespace, in order."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    begin = start
    for match in _END.finditer(text, start, end):
        cut = match.end()
        if match.group() == "\n":
            if not _is_line_boundary(text, match.start(), end):
                continue
        elif not _is_boundary(text, begin, cut, end):
            continue
        _append_trimmed(spans, text, begin, cut)
        begin = cut
    _append_trimmed(spans, text, begin, end)
    return spans


#: Shorter sentences are not quoted as answers (headings, stray words).
MIN_QUOTED_CHARS = 12


def quoted_sentences(chunk: Chunk) -> list[tuple[int, int]]:
    """Document spans of the chunk's sentences that an extractive answer may quote."""
    return [
        (chunk.start + s.start, chunk.start + s.end)
        for s in split_sentences(chunk.text)
        if s.end - s.start >= MIN_QUOTED_CHARS
    ]


def _is_boundary(text: str, begin: int, cut: int, end: int) -> bool:
    if BOILERPLATE_AFTER.match(text, cut, end):
        return True
    if not _NEXT_STARTS_SENTENCE.match(text, cut, end):
        return False
    before = text[max(begin, cut - 16) : cut].rstrip("\"'»«“”‘’)]")
    if not before.endswith("."):
        return True
    word = _WORD_BEFORE_DOT.search(before)
    if word is None:
        return True
    token = re.sub(r"\s", "", word.group(1)).lower()
    short = len(token) == 1 or (token.isdigit() and len(token) <= 2)  # initials, ordinals
    return not (short or token in ABBREVIATIONS)


def _is_line_boundary(text: str, newline: int, end: int) -> bool:
    """A line break ends a sentence unless it wraps one: a long line that stops without
    punctuation, or any line followed by one in lower case, goes on in the next line."""
    line = text[text.rfind("\n", 0, newline) + 1 : newline].rstrip()
    rest = text[newline + 1 : end]
    following = rest.lstrip(" \t")
    if not line or not following or following.startswith("\n") or _LINE_END.search(line):
        return True
    if line.endswith("-") or following[0].islower():
        return False
    return len(line) < WRAPPED_LINE_CHARS


def _append_trimmed(spans: list[Span], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append(Span(start, end))


def _units(
    text: str, token_spans: TokenSpans, max_tokens: int, max_chars: int | None = None
) -> list[tuple[Span, int]]:
    """Sentences with their token counts; a sentence longer than ``max_tokens`` (or
    ``max_chars``) is cut into pieces that fit. A whole sentence is counted from the text's
    tokens (sentences end at whitespace, which no token crosses); only a cut piece is
    tokenized again on its own."""
    spans = list(token_spans(text))
    starts = [s for s, _ in spans]
    units: list[tuple[Span, int]] = []
    for sentence in split_sentences(text):
        if max_chars is not None and sentence.end - sentence.start > max_chars:
            units.extend(_char_units(text, sentence, token_spans, max_tokens, max_chars))
            continue
        first = bisect.bisect_left(starts, sentence.start)
        last = bisect.bisect_left(starts, sentence.end)
        if last - first <= max_tokens:
            units.append((sentence, last - first))
        else:
            pieces = _cut(text, spans[first:last], token_spans, max_tokens)
            units.extend((p, len(token_spans(text[p.start : p.end]))) for p in pieces)
    return units


def _char_units(
    text: str, sentence: Span, token_spans: TokenSpans, max_tokens: int, max_chars: int
) -> list[tuple[Span, int]]:
    """A sentence over ``max_chars`` cut into pieces of at most that many characters (at the
    last space when there is one), each tokenized on its own and cut again by tokens."""
    units: list[tuple[Span, int]] = []
    start = sentence.start
    while start < sentence.end:
        end = min(start + max_chars, sentence.end)
        if end < sentence.end and (space := text.rfind(" ", start + 1, end)) > start:
            end = space
        piece = text[start:end]
        spans = [(start + a, start + b) for a, b in token_spans(piece)]
        if len(spans) <= max_tokens:
            _append_unit(units, text, Span(start, end), len(spans))
        else:
            for p in _cut(text, spans, token_spans, max_tokens):
                units.append((p, len(token_spans(text[p.start : p.end]))))
        start = end
    return units


def _append_unit(units: list[tuple[Span, int]], text: str, span: Span, count: int) -> None:
    trimmed: list[Span] = []
    _append_trimmed(trimmed, text, span.start, span.end)
    units.extend((t, count) for t in trimmed)


def _cut(
    text: str, spans: Sequence[tuple[int, int]], token_spans: TokenSpans, max_tokens: int
) -> list[Span]:
    """Cut a long run of tokens into pieces of at most ``max_tokens`` tokens, preferring
    cuts between words; a piece is re-tokenized on its own, since a word cut in two may
    take more tokens than it did whole."""
    pieces: list[Span] = []
    i = 0
    while i < len(spans):
        j = min(i + max_tokens, len(spans))
        if j < len(spans):
            j = next((b for b in range(j, i, -1) if spans[b][0] > spans[b - 1][1]), j)
        while j - i > 1 and len(token_spans(text[spans[i][0] : spans[j - 1][1]])) > max_tokens:
            j -= 1
        _append_trimmed(pieces, text, spans[i][0], spans[j - 1][1])
        i = j
    return pieces


def chunk_article(
    article: Article,
    token_spans: TokenSpans,
    max_tokens: int,
    overlap_tokens: int = 0,
    *,
    paragraphs: bool = True,
    max_chars: int | None = None,
    target_chars: int | None = None,
) -> list[Chunk]:
    """Cut an article into chunks of whole sentences of at most ``max_tokens`` tokens (and
    ``max_chars`` characters, when given).

    With ``target_chars``, a chunk gathers sentences up to that many characters only; a
    single longer sentence is still one chunk (cut only at ``max_chars``).

    Neighbouring chunks share up to ``overlap_tokens`` tokens of whole trailing sentences.
    With ``paragraphs``, a chunk ends at a blank line (a paragraph is one topic) and the
    next one starts after it without overlap.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    text = article.text
    counted = _units(text, token_spans, max_tokens, max_chars)
    units, counts = [u for u, _ in counted], [n for _, n in counted]
    chars = min(target_chars or len(text), max_chars or len(text))
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, used = i, 0
        while j < len(units) and (
            j == i or (used + counts[j] <= max_tokens and units[j].end - units[i].start <= chars)
        ):
            if j > i and paragraphs and _BLANK_LINE.search(text, units[j - 1].end, units[j].start):
                break
            used += counts[j]
            j += 1
        start, end = units[i].start, units[j - 1].end
        chunks.append(Chunk(article.doc_id, text[start:end], start, end, article.page_at(start)))
        if j == len(units):
            break
        starts_paragraph = paragraphs and _BLANK_LINE.search(text, units[j - 1].end, units[j].start)
        if starts_paragraph:
            i = j
        else:
            i = _next_start(i, j, counts, overlap_tokens, max_tokens, units, chars)
    return chunks


def _next_start(
    i: int, j: int, counts: list[int], overlap: int, max_tokens: int, units: list[Span], chars: int
) -> int:
    """First unit of the next chunk: step back over trailing units that fit the overlap and
    still leave room for unit ``j`` (in tokens and characters), so every chunk reaches past
    the one before it."""
    k, shared = j, 0
    while (
        k - 1 > i
        and shared + counts[k - 1] <= min(overlap, max_tokens - counts[j])
        and units[j].end - units[k - 1].start <= chars
    ):
        k -= 1
        shared += counts[k]
    return k
