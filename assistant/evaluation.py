"""Measuring answer quality: SQuAD-format data sets and the hit@Nc retrieval metric.

hit@Nc: rank the passages for a question, concatenate them in rank order, cut at N
characters; a hit when the gold answer appears there with up to 25 characters of its own
context from the gold paragraph on either side (so the same number elsewhere does not count).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CONTEXT_CHARS = 25


@dataclass(frozen=True)
class SquadArticle:
    """One SQuAD article: its title and its paragraphs joined by blank lines."""

    title: str
    text: str


@dataclass(frozen=True)
class GoldQuestion:
    """A question with its gold answer and the evidence around it in its paragraph."""

    id: str
    question: str
    answer: str
    needle: str
    title: str


def read_squad(path: str | Path) -> list[dict]:
    """The ``data`` list of a SQuAD v1.1 JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["data"]


def squad_articles(path: str | Path) -> list[SquadArticle]:
    """One article per title, paragraphs joined by blank lines."""
    return [
        SquadArticle(a["title"], "\n\n".join(p["context"].strip() for p in a["paragraphs"]))
        for a in read_squad(path)
    ]


def squad_questions(
    path: str | Path, questions_from: str | Path | None = None
) -> list[GoldQuestion]:
    """Gold questions of a SQuAD file; with ``questions_from``, the question text is taken
    from that parallel file (same ids), e.g. English questions over German paragraphs."""
    asked = {}
    if questions_from is not None:
        asked = {
            qa["id"]: qa["question"]
            for a in read_squad(questions_from)
            for p in a["paragraphs"]
            for qa in p["qas"]
        }
    out = []
    for article in read_squad(path):
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                gold = qa["answers"][0]
                needle = evidence(paragraph["context"], gold["answer_start"], gold["text"])
                question = asked.get(qa["id"], qa["question"])
                out.append(GoldQuestion(qa["id"], question, gold["text"], needle, article["title"]))
    return out


def evidence(context: str, start: int, answer: str, margin: int = CONTEXT_CHARS) -> str:
    """The answer with up to ``margin`` characters of its paragraph on either side."""
    return context[max(0, start - margin) : start + len(answer) + margin].strip()


def hit_at_chars(texts: Sequence[str], needle: str, budget: int) -> bool:
    """Whether ``needle`` lies within the first ``budget`` characters of the ranked texts."""
    return needle in "\n".join(texts)[:budget]


def hit_rates(
    ranked: Sequence[Sequence[str]], questions: Sequence[GoldQuestion], budgets: Sequence[int]
) -> dict[int, float]:
    """hit@Nc for each budget N: ``ranked[i]`` holds question i's passage texts, best first."""
    return {
        n: sum(hit_at_chars(texts, q.needle, n) for texts, q in zip(ranked, questions, strict=True))
        / max(len(questions), 1)
        for n in budgets
    }


def reciprocal_rank(texts: Sequence[str], needle: str, depth: int = 10) -> float:
    """1/rank of the first of the top ``depth`` texts that holds ``needle`` (0 if none)."""
    return next((1.0 / r for r, t in enumerate(texts[:depth], 1) if needle in t), 0.0)


def mrr_at(
    ranked: Sequence[Sequence[str]], questions: Sequence[GoldQuestion], depth: int = 10
) -> float:
    """Mean reciprocal rank of the first passage holding the gold evidence (MRR@depth)."""
    ranks = [reciprocal_rank(t, q.needle, depth) for t, q in zip(ranked, questions, strict=True)]
    return sum(ranks) / max(len(ranks), 1)
