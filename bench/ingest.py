"""Ingestion throughput, end to end, against the raw encoder on the same chunks, one run.

    .venv/bin/python bench/ingest.py [--copies N]

Writes the xquad-dev German articles as .txt files (N copies with distinct text), ingests
them (load → chunk → embed → Chroma + FTS5 + manifest), then encodes the very same chunk
texts with the bare model; prints chunks/s of both and their ratio, then times a re-ingest.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import german_articles
from tqdm import tqdm

from assistant.config import Settings
from assistant.factory import build_assistant


def write_corpus(folder: Path, copies: int) -> None:
    """The articles as files; copy i prefixes each paragraph so no two files are equal."""
    for i in range(copies):
        for article in german_articles():
            text = article.text if i == 0 else article.text.replace("\n\n", f"\n\n({i}) ")
            (folder / f"{i:03d}-{article.title}.txt").write_text(text, encoding="utf-8")


def main() -> None:
    """Print the throughput table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=1)
    copies = parser.parse_args().copies
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        write_corpus(corpus, copies)
        assistant = build_assistant(Settings(index=Path(tmp) / "index"))
        embedder = assistant.embedder
        embedder.encode_documents(["warm up the model"] * 8)
        bar = tqdm(desc="ingest", unit="file")
        started = time.perf_counter()
        assistant.ingest(
            [corpus],
            lambda done, total, _: (setattr(bar, "total", total), bar.update(done - bar.n)),
        )
        ours = time.perf_counter() - started
        bar.close()
        texts = [r[0] for r in assistant.store.db.execute("SELECT text FROM chunks")]
        started = time.perf_counter()
        embedder.encode_documents(texts)
        raw = time.perf_counter() - started
        started = time.perf_counter()
        report = assistant.ingest([corpus])
        again = time.perf_counter() - started
        assistant.close()
    n = len(texts)
    print(f"{n} chunks from {len(report.unchanged)} files")
    print(f"raw encoder      {n / raw:8.1f} chunks/s  ({raw:.2f} s)")
    print(f"ingest, e2e      {n / ours:8.1f} chunks/s  ({ours:.2f} s)  ratio {raw / ours:.2f}")
    speedup = ours / again
    print(f"re-ingest        {again:8.2f} s ({len(report.unchanged)} files): {speedup:.0f}x faster")


if __name__ == "__main__":
    main()
