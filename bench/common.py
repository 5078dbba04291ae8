"""What the benchmarks share: the xquad-dev slice as articles and gold questions."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from assistant.evaluation import GoldQuestion, squad_articles, squad_questions
from assistant.loading import load_text
from assistant.types import Article

# The benchmarks measure the extractive answerer unless they choose another (bench/local_llm.py):
# the default `auto` would pick the local model wherever the `local` extra is installed.
os.environ.setdefault("ASSISTANT_ANSWERER", "extractive")

_ROOT = Path(__file__).resolve().parent.parent
#: ../shared/data/xquad-dev beside a clone; ../../shared/... from a worktree in wt/NAME
XQUAD = next(
    (p for p in (r / "shared" / "data" / "xquad-dev" for r in _ROOT.parents[:2]) if p.is_dir()),
    _ROOT.parent / "shared" / "data" / "xquad-dev",
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
