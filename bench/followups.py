"""Follow-up retrieval on xquad-dev: the previous question's ranking fused in, RRF k 5 or 60.

    .venv/bin/python bench/followups.py [--every N]

Each question asked right after the question before it about the same article becomes a
follow-up two ways: "And <question>" (it still names what it asks about), and the same with
its names (capitalised words after the first) replaced by a pronoun, so that only the
conversation says what it is about. Retrieval runs as ``Assistant.stream`` does it (the
keyword condenser, then ``chat.history_search``), with the follow-up fusion's k at 5 (the
hybrid search's, now the only constant) and at 60 (what follow-ups used before); "alone"
searches the follow-up without the conversation. hit@1000c per question language and half
(even / odd follow-ups, as bench/retrieval.py splits questions).
"""

from __future__ import annotations

import argparse
import re
import tempfile
from itertools import pairwise

from common import german_articles, gold_questions

from assistant.chat import KeywordCondenser, Turn, history_search
from assistant.config import Settings
from assistant.evaluation import GoldQuestion, hit_rates
from assistant.factory import build_assistant

BUDGET = 1000
PRONOUN = {"de": "es", "en": "it"}
OPENING = {"de": "Und", "en": "And"}


def follow_up(question: str, language: str, anonymous: bool) -> str:
    """The question as a follow-up: "And …", and with ``anonymous`` its names as a pronoun."""
    first, _, rest = question.partition(" ")
    if anonymous:
        rest = re.sub(r"\b[A-ZÀ-ÖØ-Þ][\w-]*(?:\s+[A-ZÀ-ÖØ-Þ][\w-]*)*", PRONOUN[language], rest)
    return f"{OPENING[language]} {first[:1].lower()}{first[1:]} {rest}"


def pairs(questions: list[GoldQuestion]) -> list[tuple[GoldQuestion, GoldQuestion]]:
    """(previous question, question) for every question after the first of its article."""
    return [(a, b) for a, b in pairwise(questions) if a.title == b.title]


def main() -> None:
    """Index the German articles, ask every follow-up three ways, print one table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--every", type=int, default=1, help="use every Nth pair")
    args = parser.parse_args()
    condenser = KeywordCondenser()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        assistant = build_assistant(Settings(index=tmp))
        for article in german_articles():
            assistant.add_article(article)
        k = assistant.settings.k
        for language, questions in gold_questions().items():
            chosen = pairs(questions)[:: args.every]
            for anonymous in (False, True):
                ranked: dict[str, list[list[str]]] = {"alone": [], "k=5": [], "k=60": []}
                for before, q in chosen:
                    asked = follow_up(q.question, language, anonymous)
                    history = [Turn(before.question, "")]
                    standalone = condenser.condense(asked, history)
                    ranked["alone"].append([p.text for p in assistant.search(asked, k)])
                    for name, rrf_k in (("k=5", 5), ("k=60", 60)):
                        found = history_search(
                            assistant.search, asked, standalone, history, k, rrf_k=rrf_k
                        )
                        ranked[name].append([p.text for p in found])
                for half in (0, 1):
                    subset = list(range(half, len(chosen), 2))
                    gold = [chosen[i][1] for i in subset]
                    cells = [
                        f"{hit_rates([texts[i] for i in subset], gold, [BUDGET])[BUDGET]:.3f}"
                        for texts in ranked.values()
                    ]
                    form = "names as a pronoun" if anonymous else "And + question"
                    half_name = ("even", "odd")[half]
                    rows.append(f"| {language} | {form} | {half_name} | {len(gold)} | "
                                + " | ".join(cells) + " |")  # fmt: skip
        assistant.close()
    print(f"| questions | follow-up | half | n | alone | k=5 | k=60 |  (hit@{BUDGET}c)")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
