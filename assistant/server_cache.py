"""Server mode's local cache: the manifest and lexical indexes of a Chroma server's collection.

Chroma has no BM25, so each process keeps the chunks' text in SQLite for FTS5, filled from
the collection (every chunk's metadata carries its document's entry). The cache is a file
that remembers the generation it last caught up with: a process that joins again fetches
nothing when no one wrote since, and otherwise reads the collection's metadata (no texts, no
vectors), compares each document's entry and chunk ids with its own, and fetches the texts
of the documents that changed only. Cache files sit under the cache directory, one per
process at a time (a lock), keyed by the server and collection. A process whose file is
empty or older than another process's copies that one first (a consistent snapshot); one
with nothing to copy reads the collection in pages while it indexes the pages before, and
the other processes of the machine that join meanwhile wait for it, then copy its file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from assistant.chroma_server import ChromaServer
from assistant.dense import Record, chunk_of, latest_versions
from assistant.errors import IndexAccessError
from assistant.manifest import Manifest
from assistant.types import DocumentInfo, content_id

log = logging.getLogger(__name__)

#: progress(done, total, what): called as the cache catches up.
Progress = Callable[[int, int, str], None]
#: How far writers' clocks may lag this process's (hosts that share a server keep NTP time,
#: well within this): a catch-up also reads what was written this long before the previous
#: one began.
CLOCK_MARGIN_S = 120.0
#: A joining process with an empty cache indexes the chunks it reads in steps of this many
#: while it reads the next ones: each step costs an FTS5 flush, so steps of one page (5,000)
#: cost 23% more CPU than one step at the end (100k chunks: 10.9 s against 8.8 s).
INDEX_EVERY = 20_000
#: How long a process with an empty cache waits for another process of the machine that
#: fills one for the same server (then copies it) before it fills its own beside it.
BUILD_WAIT_S = 600.0


def claim_cache_file(folder: Path, server: str) -> tuple[Path, int]:
    """A cache file for this server no other process holds, and its lock's descriptor."""
    folder.mkdir(parents=True, exist_ok=True)
    key = content_id(server)
    for n in range(64):
        fd = os.open(folder / f"{key}-{n}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return folder / f"{key}-{n}.sqlite", fd
    raise IndexAccessError(f"64 processes hold the server caches in {folder}: close some.")


def newest_sibling(path: Path) -> tuple[Path, float] | None:
    """Another process's cache file for the same server, the one that caught up last, and
    when (None: there is none to read)."""
    best: tuple[Path, float] | None = None
    for other in path.parent.glob(f"{path.name.rsplit('-', 1)[0]}-*.sqlite"):
        if other == path:
            continue
        try:
            db = sqlite3.connect(f"{other.resolve().as_uri()}?mode=ro", uri=True)
            try:
                row = db.execute("SELECT value FROM meta WHERE key = 'stamp'").fetchone()
            finally:
                db.close()
        except sqlite3.Error:  # being made, or not a cache: not one to copy
            continue
        if row and (best is None or float(row[0]) > best[1]):
            best = (other, float(row[0]))
    return best


class ServerCache:
    """Keeps a Manifest in step with a Chroma server's collection."""

    def __init__(
        self,
        manifest: Manifest,
        server: ChromaServer,
        progress: Progress | None = None,
        *,
        path: Path | None = None,
    ) -> None:
        self.manifest = manifest
        self.server = server
        self.progress = progress
        #: the cache file, until the first catch-up looked at the other processes' files
        self.path = path
        #: Chroma entries of no document's latest complete version (an interrupted write's)
        self.stale: set[str] = set()
        #: chunk texts the last catch-up fetched from the server
        self.fetched = 0
        #: while this process fills an empty cache: tells the processes that wait for it
        self._note: Callable[[int, int], object] | None = None

    def start_from_sibling(self, path: Path) -> Path | None:
        """Before the first catch-up: when another process on this machine caught up with
        the server later than this cache file did (or this one is empty), copy its file, so
        that this process only catches up from there (copying 100k chunks' indexes costs
        seconds; building them, tens). Returns the file copied."""
        newest = newest_sibling(path)
        mine = self.manifest.meta("stamp")
        if newest is None or (mine is not None and float(mine) >= newest[1]):
            return None
        try:
            self.manifest.copy_from(newest[0], self._told("copy another process's cache"))
        except sqlite3.Error as exc:  # a damaged file: catch up without it (nothing copied)
            log.warning("%s not copied (%s): catching up from the server", newest[0], exc)
            return None
        return newest[0]

    @property
    def synced(self) -> str | None:
        """The generation the cache last caught up with."""
        return self.manifest.meta("synced")

    def catch_up(self) -> int:
        """Bring the cache to the collection's current generation; returns how many chunk
        texts were fetched. The first time, start from another process's newer cache file;
        an empty cache with none to copy is filled by one process of the machine at a time
        (the others wait, then copy its file)."""
        if self.path is None:
            return self._catch_up()
        path, self.path = self.path, None
        if self.start_from_sibling(path) or self.manifest.meta("stamp") is not None:
            return self._catch_up()
        with self._building(path):
            self.start_from_sibling(path)  # another process filled one meanwhile
            return self._catch_up()

    @contextmanager
    def _building(self, path: Path) -> Iterator[None]:
        """Hold the machine's lock on filling a cache of this server, waiting (up to
        ``BUILD_WAIT_S``) while another process holds it; its progress is shown meanwhile
        (it writes "done total" into the lock file)."""
        key = path.name.rsplit("-", 1)[0]
        fd = os.open(path.with_name(f"{key}.build"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._wait_for(fd)
            self._note = lambda done, total: os.pwrite(
                fd, f"{done} {total}\n".ljust(40).encode(), 0
            )
            yield
        finally:
            self._note = None
            os.close(fd)  # and the lock with it

    def _wait_for(self, fd: int) -> None:
        told = self._told("wait: another process reads and indexes the server's chunks")
        deadline = time.monotonic() + BUILD_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return  # build beside it
            if told and len(note := os.pread(fd, 40, 0).split()) == 2 and note[1].isdigit():
                told(int(note[0]), int(note[1]))
            time.sleep(0.2)

    def _catch_up(self) -> int:
        generation = self.server.generation()  # read before the records: a write moves it
        if self.manifest.meta("collection_id") != self.server.identity:
            self._forget()
        elif generation == self.synced:
            self.fetched = 0
            return 0
        started = time.time()
        have = self.manifest.versions()
        if not have:
            return self._fill(generation, started)
        suspects = self._suspects(have)
        if suspects is not None:  # only the documents that may have changed
            records = self.server.records_of(doc_ids=suspects)
        else:  # so much changed that reading all the metadata costs less
            records, _ = self.server.records(self._told("read the server's index"))
            suspects = set(have)
        latest, stale = latest_versions(records)
        wanted = {d: (doc, frozenset(i for i, _ in recs)) for d, (doc, recs) in latest.items()}
        changed = [doc_id for doc_id, version in wanted.items() if have.get(doc_id) != version]
        ids = [i for doc_id in changed for i, _ in latest[doc_id][1]]
        texts = self.server.texts(ids, self._told("fetch changed chunks"))
        many = 4 * len(ids) > self.manifest.chunk_count() + len(ids)
        with self.manifest.transaction():
            for doc_id in (suspects - set(wanted)) & set(have) | set(changed):
                self.manifest.delete_document(doc_id)
            lexical = self._told("build the lexical indexes")
            with self.manifest.bulk(lexical) if many else nullcontext():
                self._insert(changed, latest, texts)
            self.manifest.put_meta({"synced": str(generation), "stamp": str(started)})
        self.stale, self.fetched = stale, len(ids)
        return len(ids)

    def _fill(self, generation: str | None, started: float) -> int:
        """An empty cache: every chunk's metadata and text, page by page, indexed as the next
        pages are read (reading and indexing 100k chunks one after the other took 46 s,
        docs/benchmarks.md); then each document's latest complete version is kept."""
        told = self._told("read and index the server's chunks")
        total, done, pending = self.server.count(), 0, 0
        records, ids = list[Record](), dict[str, str]()
        with (
            self.manifest.unshared(),
            self.manifest.transaction(),
            self.manifest.bulk() as index_new,
        ):
            if told:
                told(0, total)
            for page, texts in self.server.pages(texts=True):
                chunks = []
                for (chunk_id, meta), text in zip(page, texts, strict=True):
                    if meta and "doc_id" in meta and "content_hash" in meta:
                        chunk = chunk_of(text, meta)
                        chunks.append(chunk)
                        ids[chunk_id] = chunk.chunk_id
                self.manifest.insert_chunks(chunks)
                records += page
                done, pending = done + len(page), pending + len(chunks)
                if pending >= INDEX_EVERY:
                    pending -= index_new(None)
                if told:
                    told(done, max(total, done))
                if self._note:
                    self._note(done, max(total, done))
            index_new(self._told("index the last chunks read"))
            latest, stale = latest_versions(records)
            self.manifest.delete_chunks(ids[i] for i in stale if i in ids)
            self.manifest.insert_documents(doc for doc, _ in latest.values())
            self.manifest.put_meta({"synced": str(generation), "stamp": str(started)})
        self.stale, self.fetched = stale, done
        return done

    def _suspects(self, have: dict[str, tuple[DocumentInfo, frozenset[str]]]) -> set[str] | None:
        """Documents that may differ from the cache: those with chunk ids that came or went
        (from the ids alone, which cost a tenth of reading the metadata), and those written
        since the last catch-up (a change of title or date keeps the chunk ids). None when
        they hold more than a quarter of the chunks: reading all the metadata costs less."""
        told = self._told("compare with the server's index")
        if told:
            told(0, 1)
        cached = {chunk_id: doc_id for doc_id, (_, ids) in have.items() for chunk_id in ids}
        on_server = self.server.ids()
        suspects = {cached[i] for i in cached.keys() - on_server}
        since = float(self.manifest.meta("stamp") or 0) - CLOCK_MARGIN_S
        asked = (on_server - cached.keys()) | self.server.ids_written(since)
        if 4 * len(asked) > len(on_server):
            return None
        suspects |= {m["doc_id"] for _, m in self.server.records_of(asked) if "doc_id" in (m or {})}
        if told:
            told(1, 1)
        return suspects

    def _insert(self, changed: list[str], latest: dict, texts: dict[str, str]) -> None:
        told = self._told("index the documents")
        for n, doc_id in enumerate(changed, 1):
            doc, records = latest[doc_id]
            chunks = [chunk_of(texts[i], meta) for i, meta in records if i in texts]
            self.manifest.insert(doc, chunks)
            if told and (n % 100 == 0 or n == len(changed)):
                told(n, len(changed))

    def _forget(self) -> None:
        """Another collection than the cache's: start from empty."""
        with self.manifest.transaction():
            for doc in self.manifest.documents():
                self.manifest.delete_document(doc.doc_id)
            self.manifest.put_meta({"collection_id": self.server.identity, "synced": ""})

    def wrote(self, before: str | None, token: str | None) -> None:
        """After this process's write: if no one else wrote since the cache last caught up,
        the cache now equals the collection at the new generation."""
        if token is not None and before == self.synced:
            self.manifest.set_meta(synced=token)

    def _told(self, what: str) -> Callable[[int, int], None] | None:
        progress = self.progress
        if progress is None:
            return None
        return lambda done, total: progress(done, total, what)
