"""hit@Nc on xquad-dev for the dense, the two lexical and the fused ranking.

    .venv/bin/python bench/retrieval.py
    ASSISTANT_LEXICON=/nonexistent .venv/bin/python bench/retrieval.py   # without the lexicon

German paragraphs are the corpus; German questions and English questions are asked. The
last two columns are hit@1000c for the questions of the even and the odd articles.
"""

from __future__ import annotations

import tempfile

from common import german_articles, gold_questions, halves
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
        lexicon = assistant.searcher.lexicon
        used = lexicon.path if lexicon and lexicon.available else "none"
        print(f"model {assistant.embedder.name}; lexicon {used}")
        columns = [f"hit@{n}c" for n in BUDGETS] + ["even@1000", "odd@1000"]
        print(f"{'questions':9} {'ranking':8} " + " ".join(f"{c:>9}" for c in columns))
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
            split = halves(questions)
            for name, texts in ranked.items():
                rates = hit_rates(texts, questions, BUDGETS)
                cells = [rates[n] for n in BUDGETS] + [
                    hit_rates([texts[i] for i in part], [questions[i] for i in part], [1000])[1000]
                    for part in split.values()
                ]
                print(f"{language:9} {name:8} " + " ".join(f"{x:9.3f}" for x in cells))
        assistant.close()


if __name__ == "__main__":
    main()
