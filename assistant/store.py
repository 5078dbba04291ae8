"""The index: a dense index (Chroma) and a manifest (SQLite), kept in step.

Embedded mode (the default), one index directory::

    index/
      chroma/          Chroma PersistentClient: one collection of chunk embeddings (cosine)
      manifest.sqlite  documents, chunks (text + offsets), lexical indexes, sentence vectors, meta
      .lock            held (flock) by the one process that owns the directory

SQLite is the record of truth: a document is indexed once its SQLite transaction commits.
New dense entries are written before that commit and old ones deleted after it, so a crash
at any moment leaves at worst dense entries the manifest does not know; ``open`` deletes
them, and a dense index Chroma cannot read is moved aside and refilled from the stored
chunks (``assistant.chroma_embedded``).

Server mode (``chroma_url``): a Chroma server is the record of truth, shared by many
processes, and the manifest is this process's cache of it (``assistant.server_cache``),
brought up to date whenever another process has written.

The two sides: ``assistant.dense.DenseIndex`` (``EmbeddedChroma`` or ``ChromaServer``) and
``assistant.manifest.Manifest``. This class keeps only the write order across them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from assistant.chroma_embedded import COLLECTION, EmbeddedChroma
from assistant.chroma_server import ChromaServer
from assistant.dense import DenseIndex
from assistant.errors import (
    IndexAccessError,
    IndexLockedError,
    IndexWriteError,
    ModelMismatchError,
    NotFoundError,
)
from assistant.lexical import LexicalIndex
from assistant.manifest import Manifest, SentenceVectors, Version
from assistant.server_cache import Progress, ServerCache, claim_cache_file
from assistant.types import Article, Chunk, DocumentInfo, Passage, Problem, Repair

if TYPE_CHECKING:
    import numpy as np

    from assistant.embedding import Embedder

__all__ = ["SentenceVectors", "Store", "Version"]

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
#: Chunks embedded again per batch when the dense index lacks them.
REEMBED_BATCH = 256


def _writes(method: Callable[P, R]) -> Callable[P, R]:
    """A Store write whose disk fails (full, over a quota, I/O error) raises an
    IndexWriteError that says what to do; the transaction has kept the old state."""

    @wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        from chromadb.errors import ChromaError

        try:
            return method(*args, **kwargs)
        except (sqlite3.OperationalError, OSError, ChromaError) as exc:
            raise IndexWriteError(args[0].directory, exc) from exc  # type: ignore[attr-defined]

    return run


def _lock(path: Path, directory: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise IndexLockedError(directory) from None
    return fd


class Store:
    """One index: a directory owned by this process, or a shared Chroma server.

    Constructing it opens the manifest only (cheap: ``assistant list`` needs no more);
    ``open()`` opens and checks the dense index, which every search and write needs.
    """

    def __init__(
        self,
        directory: str | Path,
        model_id: str,
        *,
        chroma_url: str | None = None,
        encoder: Embedder | None = None,
        any_model: bool = False,
        cache_dir: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.model_id = model_id
        self.chroma_url = chroma_url
        #: re-embeds stored chunks when the dense index must be refilled (None: report only)
        self.encoder = encoder
        self.progress = progress
        self.directory = Path(directory).resolve()
        #: what opening the index found and repaired, for `assistant doctor` to show
        self.repairs: list[Repair] = []
        self._open = False
        self.cache: ServerCache | None = None
        self.dense_index: DenseIndex
        self._lock_fd = -1
        if chroma_url:
            self._server_sides(chroma_url, cache_dir)
        else:
            self._local_sides(any_model)

    def _local_sides(self, any_model: bool) -> None:
        """The directory's manifest (locked: one process owns it) and embedded Chroma."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock(self.directory / ".lock", self.directory)
        self.manifest = Manifest(self.directory / "manifest.sqlite")
        name = self.manifest.meta("collection") or COLLECTION
        self.dense_index = EmbeddedChroma(self.directory / "chroma", name)
        self._check_model(any_model)

    def _server_sides(self, url: str, cache_dir: Path | None) -> None:
        """The server, and a cache file of its manifest (in memory without a cache_dir)."""
        server = ChromaServer(url, self.model_id)
        path: Path | None = None
        if cache_dir is not None:
            path, self._lock_fd = claim_cache_file(cache_dir / "server", url)
        self.manifest = Manifest(path or ":memory:")
        self.dense_index = server
        self.cache = ServerCache(self.manifest, server, self.progress, path=path)

    @property
    def where(self) -> str:
        """The index's location, for messages."""
        return self.dense_index.where

    def _check_model(self, any_model: bool) -> None:
        """Record the model of a new index; refuse another one (``any_model``: open it
        anyway, to embed it again: ``assistant.reindex``)."""
        if (built_with := self.manifest.meta("embedding_model")) is None:
            self.manifest.set_meta(embedding_model=self.model_id)
        elif built_with != self.model_id and not any_model:
            self.close()
            raise ModelMismatchError(self.directory, built_with, self.model_id)

    def meta(self, key: str) -> str | None:
        """A value of the manifest's meta table (embedding_model, collection)."""
        return self.manifest.meta(key)

    def open(self) -> Store:
        """Open and check the dense index (once): a local one is repaired (see the module
        docstring), a server's cache catches up with it. ``repairs`` tells what was done."""
        with self.manifest.lock:
            if self._open:
                return self
            try:
                self.repairs += self.dense_index.open()
            except (IndexAccessError, ModelMismatchError):
                self.close()
                raise
            self._open = True
            if self.cache is not None:  # the server is the record of truth: follow it
                self.cache.catch_up()
            elif self.dense_index.count() != self.manifest.chunk_count():
                self.repairs += self.reconcile()
            for line in self.repairs:
                log.warning("%s: %s", self.where, line)
        return self

    def _dense(self) -> DenseIndex:
        if not self._open:
            raise IndexAccessError(
                f"The index at {self.where} is not open: call Store.open() before searching "
                "or writing (a bug in the caller)."
            )
        return self.dense_index

    def close(self) -> None:
        """Release Chroma, SQLite and the lock."""
        with self.manifest.lock:
            self.dense_index.close()
            self._open = False
            self.manifest.close()
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fresh(self) -> None:
        """In server mode, bring the cache up to the collection's current generation."""
        if self.cache is not None:
            self._dense()
            self.cache.catch_up()

    # -- the manifest -------------------------------------------------------------------

    def documents(self) -> list[DocumentInfo]:
        """Every indexed document, in the order they were added."""
        with self.manifest.lock:
            self._fresh()
            return self.manifest.documents()

    def languages(self) -> set[str | None]:
        """The languages of the indexed documents (None: not told)."""
        with self.manifest.lock:
            self._fresh()
            return self.manifest.languages()

    def document(self, doc_id: str) -> DocumentInfo | None:
        """The manifest entry of one document, if indexed (a keyed lookup: ingest calls it
        once per file, so a scan would make ingest quadratic in the library's size)."""
        with self.manifest.lock:
            self._fresh()
            return self.manifest.find("doc_id = ?", doc_id)

    def resolve(self, doc_id_or_path: str) -> DocumentInfo:
        """Find a document by its id or by its source path."""
        source = str(Path(doc_id_or_path).expanduser().resolve())
        with self.manifest.lock:
            self._fresh()
            found = self.manifest.find(
                "doc_id = ? OR source = ? OR source = ?", doc_id_or_path, doc_id_or_path, source
            )
        if found is not None:
            return found
        raise NotFoundError(
            f"No indexed document has the id or path {doc_id_or_path!r}: "
            "`assistant list` shows what is indexed."
        )

    def is_current(self, article: Article) -> bool:
        """Whether this exact version of the article is already indexed."""
        found = self.document(article.doc_id)
        return found is not None and found.content_hash == article.content_hash

    def chunk_count(self) -> int:
        """Number of chunks in the manifest."""
        return self.manifest.chunk_count()

    def chunks(self, chunk_ids: Sequence[str]) -> list[tuple[Chunk, DocumentInfo]]:
        """Stored chunks with their documents' manifest entries (unknown ids are skipped)."""
        return self.manifest.chunks(chunk_ids)

    def passages(self, scored: Sequence[tuple[str, float]]) -> list[Passage]:
        """Passages for (chunk id, score) pairs, in the given order; unknown ids are skipped."""
        return self.manifest.passages(scored)

    def document_text(self, doc_id: str) -> str:
        """A document's text rebuilt from its chunks (see ``Manifest.document_text``)."""
        return self.manifest.document_text(doc_id)

    def sentence_vectors(self, keys: Sequence[tuple[str, int, int]]) -> dict[tuple, np.ndarray]:
        """Stored unit vectors of sentences, by (doc id, start, end); unknown keys are absent."""
        return self.manifest.sentence_vectors(keys)

    def keep_sentence_vectors(self, vectors: Mapping[tuple[str, int, int], np.ndarray]) -> None:
        """Store sentence vectors the answerer encoded when asked (lazy mode), so the next
        question reading them encodes nothing (see ``Manifest.keep_sentence_vectors``)."""
        self.manifest.keep_sentence_vectors(vectors)

    def chunk_ids(self) -> list[str]:
        """Every chunk id in the manifest, in insertion order."""
        return self.manifest.chunk_ids()

    def sentence_count(self) -> int:
        """Number of stored sentence vectors."""
        return self.manifest.sentence_count()

    def stored_version(self, article: Article) -> Version:
        """An indexed article's stored version read back: its chunks, their vectors and its
        sentence vectors (benchmarks replicate it without embedding again)."""
        import numpy as np

        with self.manifest.lock:
            chunks = self.manifest.document_chunks(article.doc_id)
            stored = self._dense().vectors([c.chunk_id for c in chunks])
            vectors = np.array([stored[c.chunk_id][1] for c in chunks], dtype=np.float32)
            sentences = self.manifest.document_sentences(article.doc_id)
        return Version(article, chunks, vectors, sentences)

    # -- writing: dense before the manifest commits, old dense entries after it ----------

    @_writes
    def replace_many(self, versions: Sequence[Version]) -> None:
        """Index several articles in one transaction and one dense write (ingest batches)."""
        import numpy as np

        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.manifest.lock:
            dense = self._dense()
            dense.begin_write()
            self._fresh()
            before = self.cache.synced if self.cache else None
            old: set[str] = set()
            items: list[tuple[Chunk, DocumentInfo]] = []
            with self.manifest.transaction():
                for v in versions:
                    keep = {c.chunk_id for c in v.chunks}
                    old |= set(self.manifest.chunk_ids(v.article.doc_id)) - keep
                    doc = self.manifest.write_version(v, now)
                    items += [(c, doc) for c in v.chunks]
                if items:
                    dense.upsert(items, np.concatenate([v.vectors for v in versions]))
            # Old entries go only after the commit: a crash before it keeps the old version.
            dense.delete(old)
            self._wrote(before)

    @_writes
    def remove(self, doc_id: str) -> None:
        """Delete a document from the manifest, the lexical and the dense index."""
        with self.manifest.lock:
            dense = self._dense()
            dense.begin_write()
            self._fresh()
            before = self.cache.synced if self.cache else None
            with self.manifest.transaction():
                old = self.manifest.chunk_ids(doc_id)
                self.manifest.delete_document(doc_id)
            dense.delete(old)
            self._wrote(before)

    def _wrote(self, before: str | None) -> None:
        token = self.dense_index.bump()
        if self.cache is not None:
            self.cache.wrote(before, token)

    def upsert_dense(
        self, items: Sequence[tuple[Chunk, DocumentInfo]], vectors: np.ndarray
    ) -> None:
        """Write chunk vectors to the dense index, each with its document's manifest entry."""
        with self.manifest.lock:
            self._dense().upsert(items, vectors)

    def delete_dense(self, chunk_ids: set[str]) -> None:
        """Delete chunk vectors from the dense index."""
        with self.manifest.lock:
            self._dense().delete(chunk_ids)

    def rebuild_lexical(self) -> None:
        """Rebuild every lexical index from the chunks table."""
        self.manifest.rebuild_lexical()

    # -- repairs ------------------------------------------------------------------------

    def reconcile(self) -> list[Repair]:
        """Delete dense entries no document owns; embed stored chunks the dense index lacks
        (or, without an encoder, say how to)."""
        with self.manifest.lock:
            manifest, dense = set(self.manifest.chunk_ids()), self._dense().ids()
            done = []
            if orphans := dense - manifest:
                self.delete_dense(orphans)
                message = f"deleted {len(orphans)} dense entries that no document owns"
                done.append(Repair("deleted_orphans", len(orphans), message))
            if missing := manifest - dense:
                if self.encoder is None:
                    message = (
                        f"{len(missing)} chunks are missing from the dense index: run "
                        "`assistant doctor --repair` to embed them again"
                    )
                    done.append(Repair("reembedded", len(missing), message, done=False))
                else:
                    self.reembed(sorted(missing))
                    message = f"embedded {len(missing)} stored chunks the dense index lacked"
                    done.append(Repair("reembedded", len(missing), message))
            return done

    def reembed(self, chunk_ids: Sequence[str] | None = None) -> int:
        """Embed stored chunks again (all when None) and write them to the dense index;
        returns how many."""
        if self.encoder is None:
            raise IndexAccessError("Embedding chunks again needs the model: give an encoder.")
        ids = self.manifest.chunk_ids() if chunk_ids is None else list(chunk_ids)
        for i in range(0, len(ids), REEMBED_BATCH):
            items = self.manifest.chunks(ids[i : i + REEMBED_BATCH])
            self.upsert_dense(items, self.encoder.encode_documents([c.text for c, _ in items]))
            if self.progress:
                self.progress(min(i + REEMBED_BATCH, len(ids)), len(ids), "embed chunks again")
        return len(ids)

    # -- reading ------------------------------------------------------------------------

    def dense(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """Nearest chunks to a query vector: (chunk id, cosine similarity), best first."""
        with self.manifest.lock:
            return self._dense().nearest(vector, k)

    def dense_ids(self) -> set[str]:
        """Every chunk id in the dense index."""
        with self.manifest.lock:
            return self._dense().ids()

    def stored_vectors(self, chunk_ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
        """Stored (text, vector) of chunks in the dense index, by id."""
        with self.manifest.lock:
            return self._dense().vectors(chunk_ids)

    def lexical(self, match: str, k: int, index: LexicalIndex) -> list[tuple[str, float]]:
        """BM25 ranking of an FTS5 MATCH expression in one lexical index: (chunk id, score)."""
        with self.manifest.lock:
            self._fresh()
            return self.manifest.lexical(match, k, index)

    def lexical_coverage(self, words: Sequence[str]) -> float:
        """Share of the words that occur in the indexed text (0 when there are none)."""
        with self.manifest.lock:
            self._fresh()
            return self.manifest.coverage(words)

    def term_rows(self, terms: Sequence[str], index: LexicalIndex) -> dict[str, int]:
        """About how many chunks each query term matches in an index (see
        ``Manifest.term_rows``): a lookup in the word vocabulary, not a search."""
        with self.manifest.lock:
            self._fresh()
            return self.manifest.term_rows(terms, index)

    def disagreements(self) -> list[Problem]:
        """What the dense index, the lexical indexes and the manifest disagree on."""
        with self.manifest.lock:
            self._fresh()
            manifest, dense = set(self.manifest.chunk_ids()), self.dense_ids()
            problems = [
                Problem("orphan_dense", (i,), f"chunk {i} is in Chroma but not in the manifest")
                for i in sorted(dense - manifest)
            ]
            problems += [
                Problem("missing_dense", (i,), f"chunk {i} is in the manifest but not in Chroma")
                for i in sorted(manifest - dense)
            ]
            problems += [
                Problem("lexical", (index.table,),
                        f"the lexical index {index.table} disagrees with the chunks ({why})")
                for index, why in self.manifest.lexical_problems()
            ]  # fmt: skip
            problems += [
                Problem("chunk_count", (d,), f"document {d} has a wrong chunk count")
                for d in self.manifest.miscounted()
            ]
            return sorted(problems, key=str)
