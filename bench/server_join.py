"""A second process joining a shared Chroma server: seconds until it can answer, by size.

    .venv/bin/python bench/server_join.py                  # 10k and 100k chunks
    .venv/bin/python bench/server_join.py --sizes 2000     # a quick look

For each size a fresh `chroma run` gets a collection of that many chunks: the xquad-dev
German articles cut into chunks of real length (about 1,000 characters), replicated as
distinct documents, each chunk with its document's manifest entry as every write stores it,
and a random unit vector of the model's dimension in place of an embedding (what is measured
is reading, not embedding; Chroma's cost does not depend on the values). Then, each in a
fresh process that opens the store the way `assistant` does (``Store.open``) and answers one
dense and one lexical query:

- cold: a process with no cache: it reads every chunk's metadata and text and builds its
  lexical indexes (what every process did on every start before the cache was kept);
- beside: another process on this machine holds its cache (it joined before, it is still
  running), and this process has none: it copies the other's file and catches up from there;
- again: the same cache, nothing written since (the common case: a restart);
- changed: after another writer replaced ``--change`` of the documents and removed as many:
  the cache fetches the changed documents' chunks only;
- together: two processes start at once on a machine with no cache: one fills a cache, the
  other waits for it (showing its counts), then copies its file.

The machine may be shared: compare the rows of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import german_articles
from tqdm import tqdm

from assistant.chroma_server import ChromaServer
from assistant.chunking import chunk_article
from assistant.server_cache import CLOCK_MARGIN_S
from assistant.types import Article, Chunk, DocumentInfo

MODEL = "multilingual-e5-small"
DIMENSION = 384
CHROMA = Path(sys.executable).parent / "chroma"
#: Whitespace words per chunk: about the default 254 model tokens of German text.
WORDS = 180


def words(text: str) -> list[tuple[int, int]]:
    """Whitespace token spans (a stand-in for the model's tokenizer: only lengths matter)."""
    spans, start = [], None
    for i, ch in enumerate(text + " "):
        if ch.isspace():
            if start is not None:
                spans.append((start, i))
                start = None
        elif start is None:
            start = i
    return spans


def base() -> list[tuple[Article, list[Chunk]]]:
    """The German articles, chunked."""
    return [
        (a, chunk_article(a, words, WORDS, WORDS // 4, max_chars=2000)) for a in german_articles()
    ]


def copy_of(article: Article, chunks: list[Chunk], i: int, stamp: str):
    """Copy ``i`` of an article as a document of its own: its entry and chunks."""
    twin = replace(article, source=f"{article.source}#copy{i}")
    moved = [Chunk(twin.doc_id, c.text, c.start, c.end, c.page) for c in chunks]
    doc = DocumentInfo(
        twin.doc_id, twin.source, twin.title, None, None, None, "de",
        twin.content_hash, len(moved), stamp,
    )  # fmt: skip
    return doc, moved


def vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    """Random unit vectors of the model's dimension."""
    out = rng.standard_normal((n, DIMENSION)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def fill(server: ChromaServer, size: int) -> list[tuple[DocumentInfo, list[Chunk]]]:
    """Write about ``size`` chunks of replicated documents; returns the documents."""
    rng, articles = np.random.default_rng(0), base()
    per_copy = sum(len(c) for _, c in articles)
    docs = [
        copy_of(a, c, i, "2026-01-01T00:00:00+00:00")
        for i in range(max(1, round(size / per_copy)))
        for a, c in articles
    ]
    bar = tqdm(total=sum(len(c) for _, c in docs), desc=f"fill the server ({size})", unit="chunk")
    batch: list[tuple[Chunk, DocumentInfo]] = []
    for doc, chunks in docs:
        batch += [(c, doc) for c in chunks]
        if len(batch) >= 2000 or doc is docs[-1][0]:
            server.upsert(batch, vectors(len(batch), rng))
            bar.update(len(batch))
            batch = []
    bar.close()
    server.bump()
    return docs


def change(server: ChromaServer, docs: list, share: float) -> int:
    """Another writer: of the documents, ``share`` get a new text, as many a new title only
    (the same chunk ids), as many are removed. Returns the chunks written."""
    rng = np.random.default_rng(1)
    n = max(1, round(len(docs) * share))
    later = "2026-02-01T00:00:00+00:00"
    written = 0
    for doc, chunks in docs[:n]:
        edited = [replace(c, text=c.text + " (geändert)") for c in chunks]
        new = replace(doc, content_hash=doc.content_hash[::-1], added_at=later)
        server.upsert([(c, new) for c in edited], vectors(len(edited), rng))
        server.delete({c.chunk_id for c in chunks})
        written += len(edited)
    for doc, chunks in docs[n : 2 * n]:
        new = replace(doc, title=f"{doc.title} (neu)", content_hash=doc.content_hash[1:] + "0")
        server.upsert([(c, new) for c in chunks], vectors(len(chunks), rng))
        written += len(chunks)
    for _, chunks in docs[2 * n : 3 * n]:
        server.delete({c.chunk_id for c in chunks})
    server.bump()
    return written


def join(url: str, cache: Path, processes: int = 1) -> dict:
    """In fresh processes started at once: open the store, answer one dense and one lexical
    query. The first process's result; the others' under "others"."""
    command = [sys.executable, __file__, "--join", url, "--cache", str(cache)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    pipe = subprocess.PIPE
    started = [
        subprocess.Popen(command, stdout=pipe, stderr=pipe, text=True, env=env)
        for _ in range(processes)
    ]
    results = []
    for process in started:
        out, err = process.communicate()
        if process.returncode:
            sys.exit(err)
        sys.stderr.write(err[-2000:])
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results[0] | {"others": results[1:]}


def hold(url: str, cache: Path) -> subprocess.Popen:
    """Another process that opens the store and keeps its cache file until told to stop."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--hold", url, "--cache", str(cache)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline().strip() == "open"
    return process


def holding(url: str, cache: Path) -> None:
    """The holding process: open, say so, wait for stdin to close."""
    from assistant.store import Store

    with Store(cache / "unused", MODEL, chroma_url=url, cache_dir=cache).open():
        print("open", flush=True)
        sys.stdin.read()


def joined(url: str, cache: Path) -> None:
    """The joining process: time to ready, the phases, and what it fetched."""
    started = time.perf_counter()
    from assistant.lexical import WORDS as WORD_INDEX
    from assistant.store import Store

    phases: dict[str, float] = {}
    bars: dict[str, tqdm] = {}

    def progress(done: int, total: int, what: str) -> None:
        phases.setdefault(what, time.perf_counter() - started)
        bar = bars.setdefault(what, tqdm(total=total, desc=what, unit="chunk", leave=False))
        bar.total = total
        bar.update(done - bar.n)

    store = Store(cache / "unused", MODEL, chroma_url=url, cache_dir=cache, progress=progress)
    store.open()
    opened = time.perf_counter() - started
    query = vectors(1, np.random.default_rng(2))[0]
    hits = store.dense(query, 8), store.lexical('"Regierung"', 8, WORD_INDEX)
    ready = time.perf_counter() - started
    assert hits[0] and hits[1], "the joined store found nothing"
    result = {"ready_s": ready, "open_s": opened, "phases": phases, "chunks": store.chunk_count()}
    result["cpu_s"] = time.process_time()
    store.close()
    print(json.dumps(result))


def serve(path: Path) -> tuple[subprocess.Popen, str]:
    """`chroma run` on a free loopback port; the process and its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).close()
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("the Chroma server did not start within 60 s")


def measure(size: int, share: float) -> dict:
    """One size: fill a fresh server, then the three joins."""
    with tempfile.TemporaryDirectory() as tmp:
        process, url = serve(Path(tmp) / "server")
        try:
            server = ChromaServer(url, MODEL)
            server.open()
            docs = fill(server, size)
            # A catch-up rereads what was written within its clock margin before the last
            # one: let the fill grow older than that, as a library's bulk usually is.
            for _ in tqdm(range(int(CLOCK_MARGIN_S) + 5), desc="let the fill age", unit="s"):
                time.sleep(1)
            cache = Path(tmp) / "cache"
            row = {"chunks": server.count(), "cold": join(url, cache)}
            other = hold(url, cache)  # takes the cold join's file
            try:
                row["beside"] = join(url, cache)
            finally:
                other.communicate("")
            row["again"] = join(url, cache)
            row["changed_chunks"] = change(server, docs, share)
            row["changed"] = join(url, cache)
            if row["changed"]["chunks"] != server.count():  # the cache holds what the server does
                sys.exit(
                    f"the joined cache holds {row['changed']['chunks']} chunks, "
                    f"the server {server.count()}"
                )
            row["together"] = join(url, Path(tmp) / "fresh", processes=2)
            server.close()
            return row
        finally:
            process.terminate()
            process.wait(timeout=60)


def main() -> None:
    """Measure each size; print one JSON line per size and a table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--change", type=float, default=0.01, help="share of documents changed")
    parser.add_argument("--join", help=argparse.SUPPRESS)
    parser.add_argument("--hold", help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.join:
        return joined(args.join, args.cache)
    if args.hold:
        return holding(args.hold, args.cache)
    if not CHROMA.exists():
        sys.exit(f"the chroma command is not installed beside {sys.executable}")
    rows = []
    for size in args.sizes:
        rows.append(measure(size, args.change))
        print(json.dumps(rows[-1]), flush=True)
    print(
        "| chunks | cold: ready s (ms/chunk) | beside another: ready s | again s "
        "| after a change s (chunks changed) | two at once, no cache: ready s |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        per = 1000 * r["cold"]["ready_s"] / r["chunks"]
        print(
            f"| {r['chunks']:,} | {r['cold']['ready_s']:.2f} ({per:.3f}) | "
            f"{r['beside']['ready_s']:.2f} | {r['again']['ready_s']:.2f} | "
            f"{r['changed']['ready_s']:.2f} ({r['changed_chunks']}) | "
            f"{' and '.join(format(j['ready_s'], '.2f') for j in together(r))} |"
        )
    for r in rows:
        for join_ in ("cold", "beside", "again", "changed"):
            print(f"{r['chunks']:,} {join_}: {phases(r[join_])}")
        for n, result in enumerate(together(r), 1):
            print(f"{r['chunks']:,} together, process {n}: {phases(result)}")


def together(row: dict) -> list[dict]:
    """The results of the processes that joined at once."""
    return [row["together"], *row["together"]["others"]]


def phases(result: dict) -> str:
    """Each phase's seconds (from its first progress report to the next phase's, the last
    to the store being open), and the CPU seconds of the whole join."""
    starts = sorted(result["phases"].items(), key=lambda item: item[1])
    ends = [t for _, t in starts[1:]] + [result["open_s"]] * bool(starts)
    parts = [f"{what} {end - start:.2f} s" for (what, start), end in zip(starts, ends, strict=True)]
    first = starts[0][1] if starts else result["open_s"]
    return "; ".join([f"before {first:.2f} s", *parts, f"CPU {result['cpu_s']:.2f} s"])


if __name__ == "__main__":
    main()
