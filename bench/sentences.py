"""Where sentence vectors come from, compared in one run: what the user waits for at ingest
and when asking, and the quality of the retrieval and of the answers on xquad-dev.

    .venv/bin/python bench/sentences.py                 # all three modes, all questions
    .venv/bin/python bench/sentences.py --every 4       # a quick look

Modes (``ASSISTANT_SENTENCE_VECTORS``):

- pooled: every sentence of every chunk is embedded once at ingest, and a chunk's vector is
  the length-weighted mean of its sentences' vectors (one encoder pass over the text);
- ingest: chunks and quotable sentences embedded apart at ingest (about twice the text);
- lazy: chunks only at ingest; the answerer embeds a sentence when a question first reads
  it, and keeps its vector in SQLite (so the first questions wait for it).

The 12 German xquad-dev articles are indexed once per mode (in turn, so the same load falls
on each); German and English questions are asked twice (first pass: what a user waits for,
lazy encodings included; second pass: everything kept). Halves are the even and the odd
questions (nothing here was tuned on either).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import german_articles, gold_questions
from tqdm import tqdm

from assistant.config import Settings
from assistant.evaluation import hit_rates
from assistant.factory import Assistant, build_assistant, build_embedder

MODES = ("pooled", "ingest", "lazy")


def index(mode: str, directory: Path, embedder) -> tuple[Assistant, float]:
    """Our index of the articles in this mode, and the seconds its ingest took."""
    assistant = build_assistant(Settings(index=directory, sentence_vectors=mode), embedder)
    articles = german_articles()
    started = time.perf_counter()
    for article in tqdm(articles, desc=f"ingest ({mode})", unit="article", leave=False):
        assistant.add_article(article)
    return assistant, time.perf_counter() - started


def ask_all(assistant: Assistant, questions, label: str) -> tuple[list[bool], list[float]]:
    """Whether each answer holds the gold answer, and the seconds each ask took."""
    held, took = [], []
    for q in tqdm(questions, desc=label, leave=False):
        started = time.perf_counter()
        answer = assistant.ask(q.question)
        took.append(time.perf_counter() - started)
        held.append(q.answer in answer.text)
    return held, took


def halves(values: list[bool]) -> str:
    """Mean over the even and over the odd questions."""
    even, odd = values[0::2], values[1::2]
    return f"{sum(even) / len(even):.3f} / {sum(odd) / len(odd):.3f}"


def measure(mode: str, tmp: Path, embedder, every: int) -> list[str]:
    """Rows of one mode: per question language, retrieval, answers and waits."""
    assistant, ingest_s = index(mode, tmp / mode, embedder)
    rows = []
    for language, questions in gold_questions().items():
        questions = questions[::every]
        ranked = [
            [p.text for p in assistant.search(q.question, 30)]
            for q in tqdm(questions, desc=f"search {language}", leave=False)
        ]
        pairs = zip(ranked, questions, strict=True)
        hits = [hit_rates([r], [q], (1000,))[1000] == 1.0 for r, q in pairs]
        held, first = ask_all(assistant, questions, f"ask {language} ({mode})")
        _, again = ask_all(assistant, questions, f"ask again {language} ({mode})")
        ms = sorted(s * 1000 for s in first)
        rows.append(
            f"| {mode} | {ingest_s:.1f} | {language} | {halves(hits)}"
            f" | {halves(held)} | {statistics.median(ms):.0f} / {ms[int(0.95 * len(ms))]:.0f}"
            f" / {sum(first):.1f} s | {statistics.median(again) * 1000:.0f} |"
        )
    stored = assistant.store.sentence_count()
    rows.append(f"| {mode} | | (sentence vectors stored at the end: {stored}) | | | | |")
    assistant.close()
    return rows


def main() -> None:
    """Index in each mode, ask, print one table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--every", type=int, default=1, help="ask every n-th question only")
    parser.add_argument("--mode", action="append", choices=MODES, help="default: all")
    args = parser.parse_args()
    embedder = build_embedder(Settings())
    embedder.encode_documents(["warm up the model"] * 8)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.mode or MODES:
            rows += measure(mode, Path(tmp), embedder, args.every)
    print(
        "| mode | ingest s | questions | hit@1000c even / odd | answer holds the gold even / odd"
        " | first ask p50 / p95 ms / all | ask again p50 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
