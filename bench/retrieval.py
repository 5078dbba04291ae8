"""hit@Nc on xquad-dev for the dense, the two lexical and the fused ranking.

    .venv/bin/python bench/retrieval.py

German paragraphs are the corpus; German questions and English questions are asked.
"""

from __future__ import annotations

import tempfile

from common import german_articles, gold_questions
from tqdm import tqdm

from assistant.config import Settings
from assistant.evaluation import hit_rates
from assistant.factory import build_assistant

BUDGETS = (500, 1000, 2000)


def main() -> None:
    """Build a temp index of the German articles and print one table."""
    with tempfile.TemporaryDirectory() as tmp:
        assistant = build_assistant(Settings(index=tmp))
        for article in tqdm(german_articles(), desc="index", unit="article"):
            assistant.add_article(article)
        searcher, store = assistant.searcher, assistant.store
        print(f"{store.chunk_count()} chunks of at most {assistant.settings.chunk_tokens} tokens")
        print(f"{'questions':9} {'ranking':8} " + " ".join(f"hit@{n}c" for n in BUDGETS))
        for language, questions in gold_questions().items():
            vectors = assistant.embedder.encode_queries([q.question for q in questions])
            ranked: dict[str, list[list[str]]] = {}
            for q, vector in tqdm(
                list(zip(questions, vectors, strict=True)), desc=language, leave=False
            ):
                rankings = searcher.rankings(q.question, vector)
                rankings["fused"] = [
                    (p.chunk_id, p.score) for p in searcher.search(q.question, 30, vector)
                ]
                for name, ranking in rankings.items():
                    texts = [p.text for p in store.passages(ranking[:30])]
                    ranked.setdefault(name, []).append(texts)
            for name, texts in ranked.items():
                rates = hit_rates(texts, questions, BUDGETS)
                print(f"{language:9} {name:8} " + " ".join(f"{rates[n]:9.3f}" for n in BUDGETS))
        assistant.close()


if __name__ == "__main__":
    main()
