"""Answer quality on xquad-dev: our index beside the LangChain tutorial pipeline, one table.

    .venv/bin/python bench/quality.py [--limit N]

Both are built in this run on the same German articles with the same embedding model. The
tutorial pipeline is RecursiveCharacterTextSplitter(1000, 200) + HuggingFaceEmbeddings +
``Chroma.from_documents`` + ``similarity_search``. Rows: hit@Nc and MRR@10 per question
language; the extractive answer (at most 2 sentences) holding the gold answer (the tutorial's
column: the single sentence of its top 3 passages most similar to the question); abstention
with half of the articles indexed (questions about them answered, about the rest abstained),
once with each half.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from common import german_articles, gold_questions
from tqdm import tqdm

from assistant.chunking import split_sentences
from assistant.config import Settings
from assistant.embedding import SentenceEmbeddings, resolve_model_path
from assistant.evaluation import GoldQuestion, hit_rates, mrr_at
from assistant.factory import Assistant, build_assistant, build_embedder
from assistant.types import Article

BUDGETS = (500, 1000, 2000)
Ranker = Callable[[str], list[str]]


def our_index(articles: Sequence[Article], directory: Path, embedder: SentenceEmbeddings):
    """Our assistant over these articles, answers of at most 2 sentences."""
    assistant = build_assistant(Settings(index=directory, answer_sentences=2), embedder)
    for article in articles:
        assistant.add_article(article)
    return assistant


def tutorial_index(articles: Sequence[Article], directory: Path) -> Ranker:
    """The LangChain tutorial pipeline over these articles, as a ranking function."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    docs = splitter.split_documents(
        [Document(a.text, metadata={"title": a.title}) for a in articles]
    )
    embeddings = HuggingFaceEmbeddings(model_name=resolve_model_path(Settings().embedding_model))
    store = Chroma.from_documents(docs, embeddings, persist_directory=str(directory))
    return lambda question: [d.page_content for d in store.similarity_search(question, k=10)]


def retrieval_row(rank: Ranker, questions: Sequence[GoldQuestion], label: str) -> list[float]:
    """hit@Nc for each budget, then MRR@10."""
    ranked = [rank(q.question) for q in tqdm(questions, desc=label, leave=False)]
    rates = hit_rates(ranked, questions, BUDGETS)
    return [rates[n] for n in BUDGETS] + [mrr_at(ranked, questions, 10)]


def our_containment(assistant: Assistant, questions: Sequence[GoldQuestion]) -> float:
    """Share of questions whose extractive answer holds the gold answer."""
    hits = [
        q.answer in assistant.ask(q.question).text
        for q in tqdm(questions, desc="answers", leave=False)
    ]
    return float(np.mean(hits))


def top_sentence_containment(
    rank: Ranker, embedder: SentenceEmbeddings, questions: Sequence[GoldQuestion]
) -> float:
    """The simple baseline: the one sentence of the top 3 passages nearest the question."""
    hits = []
    for q in tqdm(questions, desc="top sentence", leave=False):
        texts = rank(q.question)[:3]
        sentences = [t[s.start : s.end] for t in texts for s in split_sentences(t)]
        scores = embedder.encode_documents(sentences) @ embedder.encode_queries([q.question])[0]
        hits.append(q.answer in sentences[int(np.argmax(scores))])
    return float(np.mean(hits))


def abstention(
    articles: Sequence[Article], questions: Sequence[GoldQuestion], embedder, keep: int
) -> tuple[float, float]:
    """Index every other article (``keep``: 0 or 1); accuracy answered / abstained."""
    indexed = {a.title for a in articles[keep::2]}
    with tempfile.TemporaryDirectory() as tmp:
        assistant = our_index(articles[keep::2], Path(tmp), embedder)
        answered, abstained = [], []
        for q in tqdm(questions, desc=f"abstention {keep}", leave=False):
            did_abstain = assistant.ask(q.question).abstained
            (answered if q.title in indexed else abstained).append(did_abstain != (q.title in indexed))
        assistant.close()
    return float(np.mean(answered)), float(np.mean(abstained))


def main() -> None:
    """Build both pipelines, measure, print one markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="use only every n-th question (quick runs)")
    args = parser.parse_args()
    articles = german_articles()
    embedder = build_embedder(Settings())
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        ours = our_index(articles, Path(tmp) / "ours", embedder)
        theirs = tutorial_index(articles, Path(tmp) / "tutorial")
        rank_ours: Ranker = lambda q: [p.text for p in ours.search(q, 10)]  # noqa: E731
        for language, questions in gold_questions().items():
            questions = questions[:: args.limit or 1]
            for name, rank in (("tutorial", theirs), ("ours", rank_ours)):
                figures = retrieval_row(rank, questions, f"{language} {name}")
                cells = " | ".join(f"{x:.3f}" for x in figures)
                rows.append((language, name, cells))
            rows.append((language, "tutorial", f"answer holds gold: {top_sentence_containment(theirs, embedder, questions):.3f}"))
            rows.append((language, "ours", f"answer holds gold: {our_containment(ours, questions):.3f}"))
            for keep in (0, 1):
                ok, no = abstention(articles, questions, embedder, keep)
                rows.append((language, "ours", f"abstention, half {keep} indexed: answered {ok:.3f} / abstained {no:.3f}"))
        ours.close()
    print("| questions | pipeline | " + " | ".join(f"hit@{n}c" for n in BUDGETS) + " | MRR@10 |")
    print("|---|---|---|---|---|---|")
    for language, name, cells in rows:
        print(f"| {language} | {name} | {cells} |")


if __name__ == "__main__":
    main()
