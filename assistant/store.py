"""The index: Chroma (dense) + SQLite (manifest, chunks, FTS5), kept in step.

Embedded mode (the default), one index directory::

    index/
      chroma/          Chroma PersistentClient: one collection of chunk embeddings (cosine)
      manifest.sqlite  documents, chunks (text + offsets), FTS5 word and trigram indexes, meta
      .lock            held (flock) by the one process that owns the directory

SQLite is the record of truth: a document is indexed once its SQLite transaction commits.
New dense entries are written before that commit and old ones deleted after it, so a crash
at any moment leaves at worst dense entries the manifest does not know; opening the index
deletes them, and a dense index Chroma cannot read is moved aside and rebuilt from the
stored chunks (see ``assistant.doctor``).

Server mode (``chroma_url``): a Chroma server is the record of truth, shared by many
processes. Every chunk's Chroma metadata carries its document's manifest entry, so each
process keeps the manifest and FTS5 indexes in an in-memory SQLite cache, rebuilt from the
collection whenever the collection's ``generation`` (a token every write changes) moves.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass, replace
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar
from urllib.parse import urlsplit

from assistant.errors import (
    IndexAccessError,
    IndexLockedError,
    IndexWriteError,
    ModelMismatchError,
    NotFoundError,
)
from assistant.manifest import (
    DOCUMENT_FIELDS,
    PASSAGE_SQL,
    SCHEMA,
    chunk_metadata,
    latest_versions,
)
from assistant.types import Article, Chunk, DocumentInfo, Passage, Problem, Repair

if TYPE_CHECKING:
    import numpy as np

    from assistant.embedding import Embedder

LexicalIndex = Literal["words", "trigram"]
#: Sentence spans (document offsets) of one article and their unit vectors, row by row.
SentenceVectors = tuple[Sequence[tuple[int, int]], "np.ndarray"]
COLLECTION = "chunks"
log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


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


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    """Run a Store method under the store's lock (one SQLite connection serves all threads)."""

    @wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0]._lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return run


@dataclass(frozen=True)
class Version:
    """One version of an article as written: its chunks, their vectors, sentence vectors."""

    article: Article
    chunks: Sequence[Chunk]
    vectors: np.ndarray
    sentences: SentenceVectors | None = None


def _lock(directory: Path) -> int:
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise IndexLockedError(directory) from None
    return fd


class Store:
    """One index: a directory owned by this process, or a shared Chroma server."""

    def __init__(
        self,
        directory: str | Path,
        model_id: str,
        *,
        chroma_url: str | None = None,
        encoder: Embedder | None = None,
        any_model: bool = False,
    ) -> None:
        self._lock = threading.RLock()
        self.model_id = model_id
        self.chroma_url = chroma_url
        #: re-embeds stored chunks when the dense index must be rebuilt (None: report only)
        self.encoder = encoder
        self.directory = Path(directory).resolve()
        self._client: Any = None
        self._collection: Any = None
        self._synced: str | None = None
        #: what opening the index found and repaired, for `assistant doctor` to show
        self.repairs: list[Repair] = []
        #: server mode: Chroma entries of no document's latest complete version
        self.stale: set[str] = set()
        self._lock_fd = -1
        if chroma_url:
            self.db = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_fd = _lock(self.directory)
            self.db = sqlite3.connect(self.directory / "manifest.sqlite", check_same_thread=False)
            self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.executescript(SCHEMA)
        if chroma_url:
            _ = self.collection  # checks the model and fills the cache
        else:
            self._check_model(any_model)

    @property
    def where(self) -> str:
        """The index's location, for messages."""
        return self.chroma_url or str(self.directory)

    def _check_model(self, any_model: bool) -> None:
        """Record the model of a new index; refuse another one (``any_model``: open it
        anyway, to embed it again: ``assistant.reindex``)."""
        if (built_with := self.meta("embedding_model")) is None:
            with self.db:
                self.db.execute("INSERT INTO meta VALUES ('embedding_model', ?)", (self.model_id,))
        elif built_with != self.model_id and not any_model:
            self.close()
            raise ModelMismatchError(self.directory, built_with, self.model_id)

    def meta(self, key: str) -> str | None:
        """A value of the index's meta table (embedding_model, collection)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def collection_name(self) -> str:
        """The Chroma collection of the current vectors (a reindex writes a new one)."""
        return self.meta("collection") or COLLECTION

    @property
    def collection(self) -> Any:
        """The Chroma collection (opened and checked on first use; chromadb is a heavy import)."""
        with self._lock:
            if self._collection is None:
                if self.chroma_url:
                    self._open_server()
                else:
                    from assistant.doctor import open_checked

                    open_checked(self)
            return self._collection

    def open_dense(self) -> None:
        """Open the embedded Chroma collection (``assistant.doctor`` checks it)."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self._client = chromadb.PersistentClient(
            path=str(self.directory / "chroma"),
            settings=ChromaSettings(anonymized_telemetry=False),
        )
        self._collection = self.open_collection(self.collection_name)

    def open_collection(self, name: str) -> Any:
        """A Chroma collection of the open client by name (created if new)."""
        return self._client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )

    def collection_names(self) -> list[str]:
        """Every collection of the embedded Chroma."""
        _ = self.collection
        return [c.name for c in self._client.list_collections()]

    def use_collection(self, name: str) -> None:
        """Serve the dense index from this collection from now on."""
        self._collection = self.open_collection(name)

    def drop_collection(self, name: str) -> None:
        """Delete a collection that no longer holds the index's vectors."""
        self._client.delete_collection(name)

    @property
    def unclean_marker(self) -> Path:
        """Present while Chroma may hold unflushed writes: the owner died if found at open."""
        return self.directory / ".unclean"

    def mark_unclean(self) -> None:
        """Note that Chroma may now hold unflushed writes (cleared by a clean close)."""
        if not self.chroma_url and self._lock_fd >= 0 and not self.unclean_marker.exists():
            self.unclean_marker.touch()

    def close_dense(self) -> None:
        """Release the Chroma client."""
        if self._client is not None:
            self._client.close()
            self._client = self._collection = None

    def _open_server(self) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        assert self.chroma_url
        url = urlsplit(self.chroma_url)
        if not url.hostname or url.scheme not in ("http", "https"):
            raise IndexAccessError(
                f"ASSISTANT_CHROMA_URL={self.chroma_url!r} is not a server address: give "
                "one like http://127.0.0.1:8000 (start the server with `chroma run`)."
            )
        try:
            self._client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 80),
                ssl=url.scheme == "https",
                settings=ChromaSettings(anonymized_telemetry=False),
            )
            self._collection = self._client.get_or_create_collection(
                COLLECTION,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": self.model_id, "generation": "new"},
            )
        except (ValueError, OSError) as exc:  # chromadb wraps connection failures in these
            raise IndexAccessError(
                f"Cannot reach the Chroma server at {self.chroma_url} ({exc}): start it with "
                "`chroma run --path DIR --host HOST --port PORT`, or unset ASSISTANT_CHROMA_URL "
                "to use a local index."
            ) from None
        built_with = (self._collection.metadata or {}).get("embedding_model")
        if built_with != self.model_id:
            self.close()
            raise ModelMismatchError(self.chroma_url, str(built_with), self.model_id)
        self._sync()

    def close(self) -> None:
        """Release Chroma, SQLite and the directory lock."""
        with self._lock:
            self.close_dense()
            self.db.close()
            if self._lock_fd >= 0:
                self.unclean_marker.unlink(missing_ok=True)
                os.close(self._lock_fd)
                self._lock_fd = -1

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- server mode: the local cache ------------------------------------------------------

    def _generation(self) -> str:
        metadata = self._client.get_collection(COLLECTION).metadata or {}
        return str(metadata.get("generation", ""))

    def _fresh(self) -> None:
        """In server mode, bring the local cache up to the collection's current generation."""
        if self.chroma_url:
            _ = self.collection
            if self._generation() != self._synced:
                self._sync()

    def _sync(self) -> None:
        generation = self._generation()  # read before the records: a later write moves it
        records = self.dense_records()
        documents, chunks, self.stale = latest_versions(records)
        with self._transaction():
            self.db.execute("DELETE FROM documents")
            self.db.executemany(
                f"INSERT INTO documents VALUES ({','.join('?' * len(DOCUMENT_FIELDS))})",
                [astuple(d) for d in documents],
            )
            self._insert_chunks(chunks)
        self._synced = generation

    def _bump(self, before: str | None) -> None:
        """Mark a write in the collection, so other processes re-sync their caches."""
        if not self.chroma_url:
            return
        token = uuid.uuid4().hex
        self._collection.modify(metadata={"embedding_model": self.model_id, "generation": token})
        if before == self._synced:  # nobody else wrote since our last sync: our cache is it
            self._synced = token

    def dense_records(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Every (chunk id, text, metadata) in Chroma, read in pages."""
        out: list[tuple[str, str, dict[str, Any]]] = []
        page = 1000
        while True:
            got = self.collection.get(
                include=["documents", "metadatas"], limit=page, offset=len(out)
            )
            out += zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            if len(got["ids"]) < page:
                return out

    # -- the manifest -------------------------------------------------------------------

    @_locked
    def documents(self) -> list[DocumentInfo]:
        """Every indexed document, in the order they were added."""
        self._fresh()
        rows = self.db.execute(
            f"SELECT {', '.join(DOCUMENT_FIELDS)} FROM documents ORDER BY added_at, source"
        ).fetchall()
        return [DocumentInfo(*row) for row in rows]

    @_locked
    def languages(self) -> set[str | None]:
        """The languages of the indexed documents (None: not told)."""
        self._fresh()
        return {row[0] for row in self.db.execute("SELECT DISTINCT language FROM documents")}

    @_locked
    def document(self, doc_id: str) -> DocumentInfo | None:
        """The manifest entry of one document, if indexed (a keyed lookup: ingest calls it
        once per file, so a scan would make ingest quadratic in the library's size)."""
        return self._document_where("doc_id = ?", doc_id)

    def _document_where(self, condition: str, *values: str) -> DocumentInfo | None:
        self._fresh()
        row = self.db.execute(
            f"SELECT {', '.join(DOCUMENT_FIELDS)} FROM documents WHERE {condition}", values
        ).fetchone()
        return DocumentInfo(*row) if row else None

    @_locked
    def resolve(self, doc_id_or_path: str) -> DocumentInfo:
        """Find a document by its id or by its source path."""
        source = str(Path(doc_id_or_path).expanduser().resolve())
        found = self._document_where(
            "doc_id = ? OR source = ? OR source = ?", doc_id_or_path, doc_id_or_path, source
        )
        if found is not None:
            return found
        raise NotFoundError(
            f"No indexed document has the id or path {doc_id_or_path!r}: "
            "`assistant list` shows what is indexed."
        )

    @_locked
    def is_current(self, article: Article) -> bool:
        """Whether this exact version of the article is already indexed."""
        self._fresh()
        row = self.db.execute(
            "SELECT content_hash FROM documents WHERE doc_id = ?", (article.doc_id,)
        ).fetchone()
        return row is not None and row[0] == article.content_hash

    @_locked
    def chunk_count(self) -> int:
        """Number of chunks in the manifest."""
        return int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    @_locked
    def chunks(self, chunk_ids: Sequence[str]) -> list[tuple[Chunk, DocumentInfo]]:
        """Stored chunks with their documents' manifest entries (unknown ids are skipped)."""
        fields = ", ".join(f"d.{f}" for f in DOCUMENT_FIELDS)
        out = []
        for i in range(0, len(chunk_ids), 500):
            part = list(chunk_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            rows = self.db.execute(
                f'SELECT c.doc_id, c.text, c.start, c."end", c.page, {fields} FROM chunks c'
                f" JOIN documents d USING (doc_id) WHERE c.chunk_id IN ({marks})",
                part,
            )
            out += [(Chunk(*row[:5]), DocumentInfo(*row[5:])) for row in rows]
        return out

    # -- writing ------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            yield

    def _insert_chunks(self, chunks: Sequence[Chunk]) -> None:
        self.db.executemany(
            'INSERT INTO chunks (chunk_id, doc_id, start, "end", page, text)'
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(c.chunk_id, c.doc_id, c.start, c.end, c.page, c.text) for c in chunks],
        )

    @_writes
    @_locked
    def replace_many(self, versions: Sequence[Version]) -> None:
        """Index several articles in one transaction and one dense write (ingest batches)."""
        import numpy as np

        now = datetime.now(UTC).isoformat(timespec="seconds")
        _ = self.collection  # opened and checked before the manifest changes
        self.mark_unclean()
        self._fresh()
        before = self._synced
        old: set[str] = set()
        items: list[tuple[Chunk, DocumentInfo]] = []
        with self._transaction():
            for v in versions:
                old |= self._chunk_ids(v.article.doc_id) - {c.chunk_id for c in v.chunks}
                doc = self._write_rows(v, now)
                items += [(c, doc) for c in v.chunks]
            if items:
                self.upsert_dense(items, np.concatenate([v.vectors for v in versions]))
        # Old entries go only after the commit: a crash before it keeps the old version whole.
        self.delete_dense(old)
        self._bump(before)

    def _write_rows(self, version: Version, now: str) -> DocumentInfo:
        article, chunks = version.article, version.chunks
        doc = DocumentInfo(
            article.doc_id, article.source, article.title, article.author, article.date,
            article.url, article.language, article.content_hash, len(chunks), now,
        )  # fmt: skip
        self.db.execute("DELETE FROM documents WHERE doc_id = ?", (article.doc_id,))
        self.db.execute(
            f"INSERT INTO documents VALUES ({','.join('?' * len(DOCUMENT_FIELDS))})",
            astuple(doc),
        )
        self._insert_chunks(chunks)
        if version.sentences is not None:
            spans, matrix = version.sentences
            self.db.executemany(
                'INSERT OR REPLACE INTO sentence_vectors (doc_id, start, "end", vector)'
                " VALUES (?, ?, ?, ?)",
                [(article.doc_id, s, e, row.astype("<f4").tobytes())
                 for (s, e), row in zip(spans, matrix, strict=True)],
            )  # fmt: skip
        return doc

    @_writes
    @_locked
    def remove(self, doc_id: str) -> None:
        """Delete a document from the manifest, the lexical and the dense index."""
        _ = self.collection  # opened and checked before the manifest changes
        self.mark_unclean()
        self._fresh()
        before = self._synced
        with self._transaction():
            old = self._chunk_ids(doc_id)
            self.db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        self.delete_dense(old)
        self._bump(before)

    def _chunk_ids(self, doc_id: str) -> set[str]:
        rows = self.db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))
        return {r[0] for r in rows}

    def _batches(self, n: int) -> Iterator[slice]:
        _ = self.collection  # opens the client
        size = self._client.get_max_batch_size()
        for i in range(0, n, size):
            yield slice(i, i + size)

    @_locked
    def upsert_dense(self, items: Sequence[tuple[Chunk, DocumentInfo]], vectors: Any) -> None:
        """Write chunk vectors to Chroma, each with its document's manifest entry."""
        for part in self._batches(len(items)):
            batch = items[part]
            self.collection.upsert(
                ids=[c.chunk_id for c, _ in batch],
                embeddings=vectors[part],
                documents=[c.text for c, _ in batch],
                metadatas=[chunk_metadata(c, d) for c, d in batch],
            )

    @_locked
    def delete_dense(self, chunk_ids: set[str]) -> None:
        """Delete chunk vectors from Chroma."""
        ids = sorted(chunk_ids)
        for part in self._batches(len(ids)):
            self.collection.delete(ids=ids[part])

    @_locked
    def rebuild_lexical(self) -> None:
        """Rebuild both FTS5 indexes from the chunks table."""
        with self._transaction():
            for table in ("fts_words", "fts_trigram"):
                self.db.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")

    # -- reading ------------------------------------------------------------------------

    @_locked
    def dense(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """Nearest chunks to a query vector: (chunk id, cosine similarity), best first."""
        # no count() first: it costs as much as the query, and Chroma returns fewer (or
        # none) when the collection holds fewer than k
        result = self.collection.query(
            query_embeddings=[[float(x) for x in vector]], n_results=k, include=["distances"]
        )
        return [(i, 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    @_locked
    def dense_ids(self) -> set[str]:
        """Every chunk id in Chroma."""
        return set(self.collection.get(include=[])["ids"])

    @_locked
    def lexical(self, match: str, k: int, index: LexicalIndex) -> list[tuple[str, float]]:
        """BM25 ranking of an FTS5 MATCH expression: (chunk id, score), best first."""
        if not match:
            return []
        self._fresh()
        table = f"fts_{index}"
        # rank in the FTS table alone, score each row once, then join only the best k
        # (joining first looked up every matching chunk: 2-3x slower at 100k chunks)
        rows = self.db.execute(
            f"SELECT c.chunk_id, -r.score FROM (SELECT rowid, bm25({table}) AS score"
            f" FROM {table} WHERE {table} MATCH ? ORDER BY score LIMIT ?) r"
            " JOIN chunks c ON c.rowid = r.rowid ORDER BY r.score",
            (match, k),
        ).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    @_locked
    def term_rows(self, terms: Sequence[str], index: LexicalIndex) -> dict[str, int]:
        """About how many chunks each query term (a word or phrase) matches, read from the
        word index's vocabulary (a lookup, not a search): for the word index, the fewest
        chunks any of its words is in; for the trigram index, which matches inside words,
        the chunks holding a word that starts with it (counting the trigram index's own
        vocabulary would read the long lists of common trigrams: slower than the search).
        A trigram term no word starts with counts 0, though it may match inside a compound:
        asking for such terms cost as much as the rest of the search (measured)."""
        self._fresh()
        prefix = index == "trigram"
        return {
            term: min((self._word_rows(w, prefix=prefix) for w in _words(term)), default=0)
            for term in terms
        }

    def _word_rows(self, word: str, *, prefix: bool) -> int:
        if not prefix:
            sql, args = "SELECT doc FROM fts_words_vocab WHERE term = ?", [word]
        else:
            sql = "SELECT sum(doc) FROM fts_words_vocab WHERE term >= ? AND term < ?"
            args = [word, word + "\U0010ffff"]
        row = self.db.execute(sql, args).fetchone()
        return int(row[0] or 0) if row else 0

    @_locked
    def lexical_coverage(self, words: Sequence[str]) -> float:
        """Share of the words that occur in the indexed text (0 when there are none)."""
        if not words:
            return 0.0
        self._fresh()
        marks = ",".join("?" * len(words))
        found = self.db.execute(
            f"SELECT count(*) FROM fts_words_vocab WHERE term IN ({marks})", list(words)
        ).fetchone()[0]
        return found / len(words)

    @_locked
    def passages(self, scored: Sequence[tuple[str, float]]) -> list[Passage]:
        """Passages for (chunk id, score) pairs, in the given order; unknown ids are skipped."""
        if not scored:
            return []
        ids = [i for i, _ in scored]
        rows = self.db.execute(PASSAGE_SQL.format(marks=",".join("?" * len(ids))), ids)
        by_id = {row[0]: row for row in rows}
        out = []
        for chunk_id, score in scored:
            if chunk_id in by_id:
                _, doc_id, title, source, text, start, end, page, language = by_id[chunk_id]
                passage = Passage(chunk_id, doc_id, title, source, text, start, end, score)
                out.append(replace(passage, page=page, language=language))
        return out

    @_locked
    def document_text(self, doc_id: str) -> str:
        """A document's text rebuilt from its chunks, at its offsets (the blanks between
        chunks, which end sentences, become line breaks); empty when it is unknown."""
        rows = self.db.execute(
            'SELECT text, start, "end" FROM chunks WHERE doc_id = ? ORDER BY start', (doc_id,)
        ).fetchall()
        out = ["\n"] * max((end for _, _, end in rows), default=0)
        for text, start, end in rows:
            out[start:end] = text
        return "".join(out)

    @_locked
    def sentence_vectors(self, keys: Sequence[tuple[str, int, int]]) -> dict[tuple, np.ndarray]:
        """Stored unit vectors of sentences, by (doc id, start, end); unknown keys are absent."""
        import numpy as np

        found: dict[tuple, np.ndarray] = {}
        for doc_id in {k[0] for k in keys}:
            spans = [(s, e) for d, s, e in keys if d == doc_id]
            marks = ",".join("(?, ?)" for _ in spans)
            rows = self.db.execute(
                f'SELECT start, "end", vector FROM sentence_vectors WHERE doc_id = ?'
                f' AND (start, "end") IN (VALUES {marks})',
                [doc_id, *(x for span in spans for x in span)],
            )
            for start, end, blob in rows:
                found[(doc_id, start, end)] = np.frombuffer(blob, dtype="<f4")
        return found

    @_locked
    def keep_sentence_vectors(self, vectors: Mapping[tuple[str, int, int], np.ndarray]) -> None:
        """Store sentence vectors the answerer encoded when asked, by (doc id, start, end),
        so the next question reading them encodes nothing; a document removed meanwhile
        gets none. A failed write only costs the next question the encoding again."""
        rows = [(d, s, e, v.astype("<f4").tobytes(), d) for (d, s, e), v in vectors.items()]
        try:
            with self.db:
                self.db.executemany(
                    'INSERT OR IGNORE INTO sentence_vectors (doc_id, start, "end", vector)'
                    " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM documents WHERE doc_id = ?)",
                    rows,
                )
        except sqlite3.OperationalError as exc:  # a full or read-only disk: answer anyway
            log.warning("sentence vectors not kept (%s)", exc)

    @_locked
    def disagreements(self) -> list[Problem]:
        """What the dense index, the lexical index and the manifest disagree on (empty: none)."""
        self._fresh()
        manifest = {r[0] for r in self.db.execute("SELECT chunk_id FROM chunks")}
        dense = self.dense_ids()
        problems = [
            Problem("orphan_dense", (i,), f"chunk {i} is in Chroma but not in the manifest")
            for i in sorted(dense - manifest)
        ]
        problems += [
            Problem("missing_dense", (i,), f"chunk {i} is in the manifest but not in Chroma")
            for i in sorted(manifest - dense)
        ]
        for table in ("fts_words", "fts_trigram"):
            try:
                with self.db:  # rank 1: compare the index with the chunks, not only itself
                    self.db.execute(
                        f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)"
                    )
            except sqlite3.DatabaseError as exc:
                message = f"the lexical index {table} disagrees with the chunks ({exc})"
                problems.append(Problem("lexical", (table,), message))
        counted = self.db.execute(
            "SELECT d.doc_id FROM documents d LEFT JOIN chunks c USING (doc_id)"
            " GROUP BY d.doc_id HAVING count(c.rowid) != d.chunks"
        ).fetchall()
        problems += [
            Problem("chunk_count", (r[0],), f"document {r[0]} has a wrong chunk count")
            for r in counted
        ]
        return sorted(problems, key=str)


def _words(term: str) -> list[str]:
    """A query term's words as the word index stores them (unicode61, no diacritics)."""
    import re
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", term.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", plain)
