"""What the benchmarks share: the xquad-dev slice as articles and gold questions."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from assistant.evaluation import GoldQuestion, squad_articles, squad_questions
from assistant.loading import load_text
from assistant.types import Article

# beside the clone (CI), or beside the folder of worktrees (a worktree of /work/main)
_ROOT = Path(__file__).resolve().parent.parent
XQUAD = (
    next(
        (
            p
            for p in (_ROOT.parent, _ROOT.parent.parent)
            if (p / "shared" / "data" / "xquad-dev").is_dir()
        ),
        _ROOT.parent,
    )
    / "shared"
    / "data"
    / "xquad-dev"
)


def require_xquad() -> Path:
    """The data set's folder, or exit with a message saying where it is expected."""
    if not (XQUAD / "xquad-dev.de.json").is_file():
        sys.exit(f"xquad-dev not found at {XQUAD}: the benchmarks need ../shared/data/xquad-dev")
    return XQUAD


def german_articles() -> list[Article]:
    """The German paragraphs, one article per title."""
    return [
        load_text(a.text, source=f"xquad-dev/{a.title}", title=a.title)
        for a in squad_articles(require_xquad() / "xquad-dev.de.json")
    ]


def gold_questions() -> dict[str, list[GoldQuestion]]:
    """German questions, and English questions over the same German paragraphs."""
    data = require_xquad()
    return {
        "de": squad_questions(data / "xquad-dev.de.json"),
        "en": squad_questions(data / "xquad-dev.de.json", data / "xquad-dev.en.json"),
    }


def halves(questions: Sequence[GoldQuestion]) -> dict[str, list[int]]:
    """Positions of the questions whose article is at an even / odd position (0-based):
    tune on the even half, report both."""
    order = {a.title: i for i, a in enumerate(german_articles())}
    return {
        name: [i for i, q in enumerate(questions) if order[q.title] % 2 == parity]
        for name, parity in (("even", 0), ("odd", 1))
    }
