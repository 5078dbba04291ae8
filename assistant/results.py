"""The results of an evaluation run: per-question results and the report (a leaf module, so
that running, reporting and plotting depend on it and not on each other)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.datasets import EvalQuestion


@dataclass(frozen=True)
class CitationCheck:
    """One citation of an answer and whether it supports a reference."""

    n: int
    source: str
    quote: str
    supported: bool


@dataclass(frozen=True)
class RetrievedPassage:
    """A retrieved passage as the report shows it."""

    rank: int
    source: str
    start: int
    end: int
    score: float
    relevant: bool
    text: str


@dataclass(frozen=True)
class QuestionResult:
    """What happened to one question, its scores (NaN where one does not apply) and why it
    failed, if it did."""

    question: EvalQuestion
    answer: str
    abstained: bool
    citations: tuple[CitationCheck, ...]
    retrieved: tuple[RetrievedPassage, ...]
    scores: Mapping[str, float]
    reasons: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """Whether anything went wrong for this question."""
        return bool(self.reasons)


@dataclass(frozen=True)
class EvalReport:
    """A finished run: metrics, per-question results (failures first) and the files written."""

    metrics: dict[str, float]
    results: tuple[QuestionResult, ...]
    out_dir: Path
    plots: list[Path]
    markdown: str
    info: dict[str, Any] = field(default_factory=dict)
    comparison: dict[str, tuple[float, float]] = field(default_factory=dict)
