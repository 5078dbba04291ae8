"""Answer quality on xquad-dev: our index beside the LangChain tutorial pipeline, one table.

    .venv/bin/python bench/quality.py [--every N] [--model NAME] [--half even|odd]
    ASSISTANT_LEXICON=/nonexistent .venv/bin/python bench/quality.py   # without the lexicon
    PYTHONPATH=. .venv/bin/python bench/quality.py --abstention-only --answerer local --language de

Both are built in this run on the same German articles with the same embedding model (the
default, or ``--model``). The tutorial pipeline is RecursiveCharacterTextSplitter(1000, 200)
+ the same LangChain embeddings + ``Chroma.from_documents`` + ``similarity_search``. Rows:
hit@Nc and MRR@10 per question language; the extractive answer (at most 2 sentences) holding
the gold answer (the tutorial's column: the single sentence of its top 3 passages most
similar to the question); abstention with half of the articles indexed (questions about
them answered, about the rest abstained), once with each half. With ``--answerer local`` the
abstention cells are the local answerer's (its model checks that the quotes answer, before it
translates them; read up to its first translated word, where it has decided), the other
rows stay extractive; ``--abstention-only`` prints those cells alone (``--language``: for
the German or the English questions only).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from common import german_articles, gold_questions
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from assistant.chunking import split_sentences
from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.evaluation import GoldQuestion, hit_rates, mrr_at
from assistant.factory import Assistant, build_assistant, build_embedder
from assistant.types import Answer, Article

BUDGETS = (500, 1000, 2000)
ABSTENTION = "abstention, even half indexed: answered / abstained | odd half indexed"
Ranker = Callable[[str], list[str]]


class Remembering(Embeddings):
    """The model, remembering every vector it made: the answers re-read the same few
    hundred sentences for every question, and the figures do not change."""

    def __init__(self, settings: Settings) -> None:
        self.inner = build_embedder(settings)
        self.name = self.inner.name
        self.seen: dict[tuple[str, str], np.ndarray] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain: passage vectors."""
        return self.encode_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain: a question vector."""
        return self.encode_queries([text])[0].tolist()

    def _remember(self, kind: str, texts: Sequence[str], encode: Callable) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if (kind, t) not in self.seen]
        for text, vector in zip(new, encode(new) if new else [], strict=True):
            self.seen[(kind, text)] = vector
        return np.array([self.seen[(kind, t)] for t in texts]).reshape(len(texts), -1)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors, each computed once."""
        return self._remember("document", texts, self.inner.encode_documents)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Question vectors, each computed once."""
        return self._remember("query", texts, self.inner.encode_queries)


def our_index(
    articles: Sequence[Article], directory: Path, embedder: Embedder, answerer: str = "extractive"
):
    """Our assistant over these articles: extractive answers of at most 2 sentences, or
    another ``answerer`` with the default settings."""
    settings = Settings(index=directory, answer_sentences=2, answerer="extractive")
    if answerer != "extractive":
        settings = Settings(index=directory, answerer=answerer)
    assistant = build_assistant(settings, embedder)
    for article in articles:
        assistant.add_article(article)
    return assistant


def tutorial_index(
    articles: Sequence[Article], directory: Path, embeddings: Embeddings
) -> tuple[Any, Any]:
    """The LangChain tutorial pipeline over these articles: its Chroma store and embeddings."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    docs = splitter.split_documents(
        [Document(a.text, metadata={"title": a.title}) for a in articles]
    )
    return Chroma.from_documents(docs, embeddings, persist_directory=str(directory)), embeddings


def tutorial_ranker(store: Any, embeddings: Any, questions: Sequence[GoldQuestion]) -> Ranker:
    """``similarity_search`` of the tutorial, its question vectors made in one batch."""
    asked = [q.question for q in questions]
    vectors = dict(zip(asked, embeddings.encode_queries(asked).tolist(), strict=True))
    return lambda question: [
        d.page_content for d in store.similarity_search_by_vector(vectors[question], k=10)
    ]


def retrieval_row(rank: Ranker, questions: Sequence[GoldQuestion], label: str) -> list[float]:
    """hit@Nc for each budget, then MRR@10."""
    ranked = [rank(q.question) for q in tqdm(questions, desc=label, leave=False)]
    rates = hit_rates(ranked, questions, BUDGETS)
    return [rates[n] for n in BUDGETS] + [mrr_at(ranked, questions, 10)]


def our_containment(assistant: Assistant, questions: Sequence[GoldQuestion]) -> str:
    """Share of questions whose extractive answer holds the gold answer: all · even / odd
    questions."""
    hits = np.array(
        [
            q.answer in assistant.ask(q.question).text
            for q in tqdm(questions, desc="answers", leave=False)
        ]
    )
    return f"{hits.mean():.3f} · {hits[0::2].mean():.3f} / {hits[1::2].mean():.3f}"


def top_sentence_containment(
    rank: Ranker, embedder: Embedder, questions: Sequence[GoldQuestion]
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
    articles: Sequence[Article],
    questions: Sequence[GoldQuestion],
    embedder,
    keep: int,
    answerer: str = "extractive",
) -> tuple[float, float]:
    """Index every other article (``keep``: 0 or 1); accuracy answered / abstained."""
    indexed = {a.title for a in articles[keep::2]}
    with tempfile.TemporaryDirectory() as tmp:
        assistant = our_index(articles[keep::2], Path(tmp), embedder, answerer)
        answered, abstained = [], []
        for q in tqdm(questions, desc=f"abstention {keep}", leave=False):
            did_abstain = declines(assistant, q.question)
            (answered if q.title in indexed else abstained).append(
                did_abstain != (q.title in indexed)
            )
        assistant.close()
    return float(np.mean(answered)), float(np.mean(abstained))


def declines(assistant: Assistant, question: str) -> bool:
    """Whether the assistant abstains: its answer's verdict, read from the stream up to the
    first word a model writes (it has decided by then; the rest is not waited for)."""
    for event in assistant.stream(question):
        if isinstance(event, Answer):
            return event.abstained
        if isinstance(event, str):
            return False
    raise AssertionError("the stream ended without an answer")


def main() -> None:
    """Build both pipelines, measure, print one markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=1, help="use every n-th question only")
    parser.add_argument("--model", help="embedding model (default: the default)")
    parser.add_argument(
        "--half",
        choices=("even", "odd", "all"),
        default="all",
        help="questions 0, 2, 4, ... (the tuning half) or 1, 3, 5, ... (held out)",
    )
    parser.add_argument("--ours-only", action="store_true", help="skip the tutorial pipeline")
    parser.add_argument(
        "--answerer",
        choices=("extractive", "local"),
        default="extractive",
        help="whose abstention is measured (the other rows are the extractive answerer's)",
    )
    parser.add_argument("--abstention-only", action="store_true", help="the abstention cells")
    parser.add_argument("--language", choices=("de", "en"), help="one question language only")
    args = parser.parse_args()
    first = {"even": 0, "odd": 1, "all": 0}[args.half]
    step = 1 if args.half == "all" else 2
    articles = german_articles()
    embedder = Remembering(Settings(embedding_model=args.model) if args.model else Settings())
    if args.abstention_only:
        print(f"| questions ({args.half}, {args.answerer}) | {ABSTENTION} |\n|---|---|---|")
        for language, questions in gold_questions().items():
            if args.language and not language.startswith(args.language):
                continue
            questions = questions[first::step][:: args.every]
            cells = [abstention(articles, questions, embedder, k, args.answerer) for k in (0, 1)]
            print(
                f"| {language} | " + " | ".join(f"{ok:.3f} / {no:.3f}" for ok, no in cells) + " |"
            )
        return
    retrieval, answers = [], []
    with tempfile.TemporaryDirectory() as tmp:
        ours = our_index(articles, Path(tmp) / "ours", embedder)
        if not args.ours_only:
            chroma, embeddings = tutorial_index(articles, Path(tmp) / "tutorial", embedder)
        for language, questions in gold_questions().items():
            questions = questions[first::step][:: args.every]
            embedder.encode_queries([q.question for q in questions])
            rankers = [("ours", _texts(ours))]
            if not args.ours_only:
                theirs = tutorial_ranker(chroma, embeddings, questions)
                rankers.insert(0, ("tutorial", theirs))
            for name, rank in rankers:
                cells = retrieval_row(rank, questions, f"{language} {name}")
                retrieval.append(
                    f"| {language} | {name} | " + " | ".join(f"{x:.3f}" for x in cells) + " |"
                )
            simple = (
                float("nan")
                if args.ours_only
                else top_sentence_containment(theirs, embedder, questions)
            )
            held = our_containment(ours, questions)
            halves = [
                abstention(articles, questions, embedder, keep, args.answerer) for keep in (0, 1)
            ]
            answers.append(
                f"| {language} | {simple:.3f} | {held} | "
                + " | ".join(f"{ok:.3f} / {no:.3f}" for ok, no in halves)
                + " |"
            )
        ours.close()
    print("| questions | pipeline | " + " | ".join(f"hit@{n}c" for n in BUDGETS) + " | MRR@10 |")
    print("|---|---|---|---|---|---|")
    print("\n".join(retrieval))
    print()
    answer = "our answer (all · even / odd questions)"
    print(f"| questions | top sentence (tutorial) | {answer} | {ABSTENTION} ({args.answerer}) |")
    print("|---|---|---|---|---|")
    print("\n".join(answers))


def _texts(assistant: Assistant) -> Ranker:
    return lambda question: [p.text for p in assistant.search(question, 10)]


if __name__ == "__main__":
    main()
