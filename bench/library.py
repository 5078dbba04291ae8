"""Ingest cost against library size: the time to ingest one file into a library of N documents.

Each file is one short paragraph; the library is filled with distinct files the same way, and
ingest batches its writes as it does for any folder. The encoder is a word-hash stand-in (no
model), so the figure is the cost of
ingestion's bookkeeping and the stores, which a real model does not change but would hide in
noise. A flat line means a keyed manifest lookup; a line growing with N means a scan per file
(ingest quadratic in the library's size), which this point was written to catch.

    .venv/bin/python bench/library.py            # N = 0, 2000, 8000
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.ingestion import Ingestor
from assistant.store import Store

WORD = re.compile(r"\S+")


class HashEncoder:
    """Unit vectors from word hashes; whitespace tokens (a stand-in model)."""

    max_tokens = 64
    dimension = 16

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in WORD.finditer(text)]

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            digest = hashlib.sha256(text.encode()).digest()
            out[row] = np.frombuffer(digest[: self.dimension], dtype=np.uint8) - 127.5
            out[row] /= np.linalg.norm(out[row]) or 1.0
        return out


def folder(root: Path, name: str, numbers: range) -> Path:
    """A folder of one-paragraph text files, one per number."""
    target = root / name
    target.mkdir()
    for n in numbers:
        (target / f"{n}.txt").write_text(f"Dokument {n} handelt von Nummer {n}. Es ist kurz.")
    return target


def per_file_ms(ingestor: Ingestor, files: Path, count: int) -> float:
    started = time.perf_counter()
    report = ingestor.ingest([files])
    assert len(report.added) == count, report.failed
    return (time.perf_counter() - started) / count * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 2000, 8000])
    parser.add_argument("--probe", type=int, default=200, help="files timed at each size")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = Store(root / "index", "hash", encoder=HashEncoder()).open()
        ingestor = Ingestor(store, store.encoder, sentence_vectors="lazy")
        ingestor.ingest([folder(root, "warm-up", range(20))])  # Chroma's first write is slow
        held, rows = 20, []  # documents indexed, (size, ms per file)
        for size in sorted(args.sizes):
            if size > held:  # the same kind of files, ingested as any folder is
                ingestor.ingest([folder(root, f"fill-{size}", range(10**7 + held, 10**7 + size))])
            probe = folder(root, f"probe-{size}", range(10**8 + size, 10**8 + size + args.probe))
            rows.append((size, per_file_ms(ingestor, probe, args.probe)))
            held = size + args.probe
        store.close()
    print("| documents already indexed | ms per added file | vs empty |")
    print("|---|---|---|")
    for size, ms in rows:
        print(f"| {size} | {ms:.1f} | {ms / rows[0][1]:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
