"""Store every ranking of every xquad-dev question once per index, then fuse offline.

    .venv/bin/python bench/rankings.py dump OUT.pkl [--tokens N] [--overlap N] [--chars N]

    .venv/bin/python bench/rankings.py eval OUT.pkl

``dump`` indexes the German articles (temp index, the given chunking) and stores, per
question, the searcher's rankings (dense, words, trigram), its lexical coverage and the
translations the lexicon found, with every chunk's text, document and position; ``eval``
fuses stored rankings the way ``retrieval.Fusion`` does and prints hit@1000c per question
language and half (even: tuning, odd: held out), so fusion variants cost no re-indexing.
It prints hit@1000c twice: with the gold needle (the answer with up to 30 characters either
side, the target's measure), and with the needle clipped to the sentences that hold the
answer (a diagnostic: a passage starting at the answer's own sentence holds the answer but
not a needle that runs into the sentence before it).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
from dataclasses import dataclass, field

from common import german_articles, gold_questions

from assistant.chunking import split_sentences
from assistant.config import Settings
from assistant.factory import build_assistant
from assistant.metrics import hit_at_chars
from assistant.retrieval import Fusion, fuse
from assistant.tuning import CHUNK_CHARS

BUDGET = 1000


@dataclass
class Question:
    """One question's stored rankings."""

    language: str
    index: int
    text: str
    needle: str
    vector: list[float]
    coverage: float
    translations: dict[str, list[str]]
    rankings: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Dump:
    """An index's chunks (id → text, doc, start, title) and the questions' rankings."""

    chunks: dict[str, tuple[str, str, int, str]]
    questions: list[Question]


def dump(path: str, tokens: int, overlap: int, chars: int) -> None:
    """Index the articles with this chunking and store every question's rankings."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            index=tmp, chunk_tokens=tokens, chunk_overlap=overlap, chunk_chars=chars
        )
        assistant = build_assistant(settings)
        for article in german_articles():
            assistant.add_article(article)
        store, searcher = assistant.store, assistant.searcher
        ids = store.chunk_ids()
        chunks = {c.chunk_id: (c.text, c.doc_id, c.start, d.title) for c, d in store.chunks(ids)}
        questions = []
        for language, gold in gold_questions().items():
            vectors = assistant.embedder.encode_queries([q.question for q in gold])
            for i, (q, vector) in enumerate(zip(gold, vectors, strict=True)):
                terms = searcher._terms(q.question)
                found = searcher.rankings(q.question, vector)
                questions.append(
                    Question(
                        language,
                        i,
                        q.question,
                        q.needle,
                        vector.tolist(),
                        searcher._coverage(terms),
                        terms[1],
                        {name: [c for c, _ in r] for name, r in found.items()},
                    )
                )
        assistant.close()
    with open(path, "wb") as out:
        pickle.dump(Dump(chunks, questions), out)
    print(f"{len(chunks)} chunks, {len(questions)} questions -> {path}", file=sys.stderr)


def load(path: str) -> Dump:
    """A stored dump."""
    with open(path, "rb") as f:
        return pickle.load(f)


def fused(q: Question, fusion: Fusion, extra: dict[str, float] | None = None) -> list[str]:
    """The question's fused ranking: the searcher's weights, plus ``extra`` rankings."""
    weights = fusion.weights(q.coverage) | (extra or {})
    return [c for c, _ in fuse(((weights[n], q.rankings[n]) for n in weights), fusion.rrf_k)]


def clipped(needle: str, answer: str) -> str:
    """The needle cut to the sentences that hold (the first occurrence of) the answer."""
    at = needle.find(answer)
    spans = [s for s in split_sentences(needle) if s.end > at and s.start < at + len(answer)]
    return needle[spans[0].start : spans[-1].end] if at >= 0 and spans else needle


def table(
    data: Dump, rank, needles: dict[tuple[str, int], str] | None = None
) -> dict[tuple[str, int], float]:
    """hit@1000c per (language, half) of a ranking function Question → chunk ids, with the
    questions' needles or the given ones (by language and question index)."""
    hits: dict[tuple[str, int], list[bool]] = {}
    for q in data.questions:
        texts = [data.chunks[c][0] for c in rank(q)[:10]]
        needle = needles[(q.language, q.index)] if needles else q.needle
        hits.setdefault((q.language, q.index % 2), []).append(hit_at_chars(texts, needle, BUDGET))
    return {key: sum(v) / len(v) for key, v in sorted(hits.items())}


def line(label: str, rates: dict[tuple[str, int], float]) -> str:
    """A table row: de even / odd, en even / odd."""
    cells = " | ".join(f"{rates[(lang, h)]:.3f}" for lang in ("de", "en") for h in (0, 1))
    return f"| {label} | {cells} |"


def evaluate(path: str) -> None:
    """Print the stored rankings alone and fused."""
    data = load(path)
    print("| ranking | de even | de odd | en even | en odd |")
    print("|---|---|---|---|---|")
    for name in data.questions[0].rankings:
        print(line(name, table(data, lambda q, n=name: q.rankings[n])))
    print(line("fused", table(data, lambda q: fused(q, Fusion()))))
    gold = {(lang, i): q for lang, qs in gold_questions().items() for i, q in enumerate(qs)}
    needles = {key: clipped(q.needle, q.answer) for key, q in gold.items()}
    print(
        line(
            "fused, needle clipped to its sentences",
            table(data, lambda q: fused(q, Fusion()), needles),
        )
    )


def main() -> None:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out")
    d.add_argument("--tokens", type=int, default=254)
    d.add_argument("--overlap", type=int, default=64)
    d.add_argument("--chars", type=int, default=CHUNK_CHARS)
    e = sub.add_parser("eval")
    e.add_argument("dump")
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out, args.tokens, args.overlap, args.chars)
    else:
        evaluate(args.dump)


if __name__ == "__main__":
    main()
