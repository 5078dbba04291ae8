"""Citation markers, in one place: ``[n]`` found, numbered, renumbered and dropped.

A leaf module (it imports nothing of the assistant but the value types). The extractive
answerer writes markers, ``support`` checks a model's markers against the passages it was
given, the metrics read them back, and the chat page links them to their sources.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.types import Passage

#: One citation marker, ``[n]``; the group is the number.
MARKER = re.compile(r"\[(\d+)\]")
#: A marker with the spaces before it (what is removed or replaced with the marker).
_SPACED_MARKER = re.compile(r"\s*" + MARKER.pattern)
#: Markers in a row, with the spaces before each (``Foo. [1] [2] Bar.``).
MARKER_RUN = re.compile(r"(?:\s*\[\d+\])+")
#: A statement of an answer and the markers closing it: the text up to a run of markers.
STATEMENT = re.compile(r"(.*?)(" + MARKER_RUN.pattern + ")", re.DOTALL)


def marker(n: int) -> str:
    """The marker for citation ``n``."""
    return f"[{n}]"


def numbers(text: str, start: int = 0, end: int | None = None) -> list[int]:
    """The citation numbers of the markers in ``text[start:end]``, in order."""
    return [int(n) for n in MARKER.findall(text, start, len(text) if end is None else end)]


def without_markers(text: str) -> str:
    """The text with its markers removed and its spaces collapsed."""
    return " ".join(MARKER.sub(" ", text).split())


def link_markers(text: str, link: Callable[[int, str], str]) -> str:
    """The text with each marker replaced by ``link(n, marker)`` (e.g. a link to its source)."""
    return MARKER.sub(lambda match: link(int(match.group(1)), match.group(0)), text)


def parse_citations(text: str, passages: Sequence[Passage]) -> tuple[str, list[int]]:
    """Keep only markers ``[n]`` that point at a given passage (1-based) and renumber them
    in order of first use; returns the new text and, per new number, the passage index."""
    order: list[int] = []

    def renumber(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        if not 0 <= index < len(passages):
            # keep the neighbours apart: no glued words, no new marker made of the rest
            before, after = text[match.start() - 1 : match.start()], text[match.end() :][:1]
            apart = (before.strip() and after.isalnum()) or (before.isalnum() and after == "]")
            return " " if apart else ""
        if index not in order:
            order.append(index)
        return f" [{order.index(index) + 1}]"

    return _SPACED_MARKER.sub(renumber, text).strip(), order
