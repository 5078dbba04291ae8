"""The index on disk: Chroma (dense) + one SQLite file (manifest, chunks, FTS5), kept in step.

Layout of an index directory::

    index/
      chroma/          Chroma PersistentClient: one collection of chunk embeddings (cosine)
      manifest.sqlite  documents, chunks (text + offsets), FTS5 word and trigram indexes, meta
      .lock            held (flock) by the one process that owns the directory

SQLite is the record of truth: a document is indexed once its SQLite transaction commits,
and Chroma is written inside that transaction's window, so a crash leaves at worst dense
entries that SQLite does not know (found by ``disagreements``).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assistant.errors import IndexLockedError, ModelMismatchError, NotFoundError
from assistant.types import Article, Chunk, DocumentInfo, Passage

if TYPE_CHECKING:
    import numpy as np

LexicalIndex = Literal["words", "trigram"]
#: Sentence spans (document offsets) of one article and their unit vectors, row by row.
SentenceVectors = tuple[Sequence[tuple[int, int]], "np.ndarray"]
COLLECTION = "chunks"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
    author TEXT, date TEXT, url TEXT, language TEXT,
    content_hash TEXT NOT NULL, chunks INTEGER NOT NULL, added_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, page INTEGER, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS sentence_vectors (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (doc_id, start, "end")) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS fts_words USING fts5(
    text, content='chunks', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS fts_trigram USING fts5(
    text, content='chunks', content_rowid='rowid', tokenize='trigram');
CREATE VIRTUAL TABLE IF NOT EXISTS fts_words_vocab USING fts5vocab(fts_words, 'row');
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO fts_words(rowid, text) VALUES (new.rowid, new.text);
    INSERT INTO fts_trigram(rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO fts_words(fts_words, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO fts_trigram(fts_trigram, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
"""

_PASSAGE_SQL = """
SELECT c.chunk_id, c.doc_id, d.title, d.source, c.text, c.start, c."end", c.page, d.language
FROM chunks c JOIN documents d USING (doc_id) WHERE c.chunk_id IN ({marks})
"""


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
    """One index directory, owned by this process until ``close``."""

    def __init__(self, directory: str | Path, model_id: str) -> None:
        self.directory = Path(directory).resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock(self.directory)
        self.model_id = model_id
        self._client: Any = None
        self._collection: Any = None
        self._dense_count: int | None = None
        self.db = sqlite3.connect(self.directory / "manifest.sqlite", check_same_thread=False)
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.executescript(_SCHEMA)
        self._check_model()

    def _check_model(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'embedding_model'").fetchone()
        if row is None:
            with self.db:
                self.db.execute("INSERT INTO meta VALUES ('embedding_model', ?)", (self.model_id,))
        elif row[0] != self.model_id:
            self.close()
            raise ModelMismatchError(self.directory, row[0], self.model_id)

    @property
    def collection(self) -> Any:
        """The Chroma collection (opened on first use; chromadb is a heavy import)."""
        if self._collection is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            self._client = chromadb.PersistentClient(
                path=str(self.directory / "chroma"),
                settings=ChromaSettings(anonymized_telemetry=False),
            )
            self._collection = self._client.get_or_create_collection(
                COLLECTION, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        return self._collection

    def close(self) -> None:
        """Release Chroma, SQLite and the directory lock."""
        if self._client is not None:
            self._client.close()
            self._client = self._collection = None
        self.db.close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the manifest -------------------------------------------------------------------

    def documents(self) -> list[DocumentInfo]:
        """Every indexed document, in the order they were added."""
        rows = self.db.execute(
            "SELECT doc_id, source, title, author, date, url, language, content_hash, chunks,"
            " added_at FROM documents ORDER BY added_at, source"
        ).fetchall()
        return [DocumentInfo(*row) for row in rows]

    def document(self, doc_id: str) -> DocumentInfo | None:
        """The manifest entry of one document, if indexed."""
        return next((d for d in self.documents() if d.doc_id == doc_id), None)

    def resolve(self, doc_id_or_path: str) -> DocumentInfo:
        """Find a document by its id or by its source path."""
        source = str(Path(doc_id_or_path).expanduser().resolve())
        for doc in self.documents():
            if doc_id_or_path in (doc.doc_id, doc.source) or doc.source == source:
                return doc
        raise NotFoundError(
            f"No indexed document has the id or path {doc_id_or_path!r}: "
            "`assistant list` shows what is indexed."
        )

    def is_current(self, article: Article) -> bool:
        """Whether this exact version of the article is already indexed."""
        row = self.db.execute(
            "SELECT content_hash FROM documents WHERE doc_id = ?", (article.doc_id,)
        ).fetchone()
        return row is not None and row[0] == article.content_hash

    def chunk_count(self) -> int:
        """Number of chunks in the manifest."""
        return int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    # -- writing ------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            yield

    def replace(
        self,
        article: Article,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        sentences: SentenceVectors | None = None,
    ) -> None:
        """Index this version of the article in place of any older one."""
        self.replace_many([Version(article, chunks, vectors, sentences)])

    def replace_many(self, versions: Sequence[Version]) -> None:
        """Index several articles in one transaction and one dense write (ingest batches)."""
        import numpy as np

        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._transaction():
            stale: set[str] = set()
            for v in versions:
                stale |= self._chunk_ids(v.article.doc_id) - {c.chunk_id for c in v.chunks}
                self._write_rows(v, now)
            self._dense_delete(stale)
            chunks = [c for v in versions for c in v.chunks]
            if chunks:
                self._dense_upsert(chunks, np.concatenate([v.vectors for v in versions]))

    def _write_rows(self, version: Version, now: str) -> None:
        article, chunks = version.article, version.chunks
        self.db.execute("DELETE FROM documents WHERE doc_id = ?", (article.doc_id,))
        self.db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (article.doc_id, article.source, article.title, article.author, article.date,
             article.url, article.language, article.content_hash, len(chunks), now),
        )  # fmt: skip
        self.db.executemany(
            'INSERT INTO chunks (chunk_id, doc_id, start, "end", page, text)'
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(c.chunk_id, c.doc_id, c.start, c.end, c.page, c.text) for c in chunks],
        )
        if version.sentences is not None:
            spans, matrix = version.sentences
            self.db.executemany(
                'INSERT OR REPLACE INTO sentence_vectors (doc_id, start, "end", vector)'
                " VALUES (?, ?, ?, ?)",
                [(article.doc_id, s, e, row.astype("<f4").tobytes())
                 for (s, e), row in zip(spans, matrix, strict=True)],
            )  # fmt: skip

    def remove(self, doc_id: str) -> None:
        """Delete a document from the manifest, the lexical and the dense index."""
        with self._transaction():
            old = self._chunk_ids(doc_id)
            self.db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            self._dense_delete(old)

    def _chunk_ids(self, doc_id: str) -> set[str]:
        rows = self.db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))
        return {r[0] for r in rows}

    def _batches(self, n: int) -> Iterator[slice]:
        _ = self.collection  # opens the client
        size = self._client.get_max_batch_size()
        for i in range(0, n, size):
            yield slice(i, i + size)

    def _dense_upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        self._dense_count = None
        for part in self._batches(len(chunks)):
            batch = chunks[part]
            self.collection.upsert(
                ids=[c.chunk_id for c in batch],
                embeddings=vectors[part],
                documents=[c.text for c in batch],
                metadatas=[_metadata(c) for c in batch],
            )

    def _dense_delete(self, chunk_ids: set[str]) -> None:
        ids = sorted(chunk_ids)
        self._dense_count = None
        for part in self._batches(len(ids)):
            self.collection.delete(ids=ids[part])

    # -- reading ------------------------------------------------------------------------

    def dense(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """Nearest chunks to a query vector: (chunk id, cosine similarity), best first."""
        if self._dense_count is None:  # Chroma's count() costs a query of its own
            self._dense_count = int(self.collection.count())
        count = self._dense_count
        if count == 0:
            return []
        result = self.collection.query(
            query_embeddings=[[float(x) for x in vector]],
            n_results=min(k, count),
            include=["distances"],
        )
        return [(i, 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def lexical(self, match: str, k: int, index: LexicalIndex) -> list[tuple[str, float]]:
        """BM25 ranking of an FTS5 MATCH expression: (chunk id, score), best first."""
        if not match:
            return []
        table = f"fts_{index}"
        rows = self.db.execute(
            f"SELECT c.chunk_id, -bm25({table}) FROM {table} JOIN chunks c"
            f" ON c.rowid = {table}.rowid WHERE {table} MATCH ? ORDER BY bm25({table})"
            " LIMIT ?",
            (match, k),
        ).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def lexical_coverage(self, words: Sequence[str]) -> float:
        """Share of the words that occur in the indexed text (0 when there are none)."""
        if not words:
            return 0.0
        marks = ",".join("?" * len(words))
        found = self.db.execute(
            f"SELECT count(*) FROM fts_words_vocab WHERE term IN ({marks})", list(words)
        ).fetchone()[0]
        return found / len(words)

    def passages(self, scored: Sequence[tuple[str, float]]) -> list[Passage]:
        """Passages for (chunk id, score) pairs, in the given order; unknown ids are skipped."""
        if not scored:
            return []
        ids = [i for i, _ in scored]
        rows = self.db.execute(_PASSAGE_SQL.format(marks=",".join("?" * len(ids))), ids)
        by_id = {row[0]: row for row in rows}
        out = []
        for chunk_id, score in scored:
            if chunk_id in by_id:
                _, doc_id, title, source, text, start, end, page, language = by_id[chunk_id]
                passage = Passage(chunk_id, doc_id, title, source, text, start, end, score)
                out.append(replace(passage, page=page, language=language))
        return out

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

    def disagreements(self) -> list[str]:
        """What the dense index, the lexical index and the manifest disagree on (empty: none)."""
        manifest = {r[0] for r in self.db.execute("SELECT chunk_id FROM chunks")}
        dense = set(self.collection.get(include=[])["ids"])
        problems = [f"chunk {i} is in Chroma but not in the manifest" for i in dense - manifest]
        problems += [f"chunk {i} is in the manifest but not in Chroma" for i in manifest - dense]
        for table in ("fts_words", "fts_trigram"):
            try:
                self.db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
            except sqlite3.DatabaseError as exc:
                problems.append(f"the lexical index {table} disagrees with the chunks ({exc})")
        counted = self.db.execute(
            "SELECT d.doc_id FROM documents d LEFT JOIN chunks c USING (doc_id)"
            " GROUP BY d.doc_id HAVING count(c.rowid) != d.chunks"
        ).fetchall()
        problems += [f"document {r[0]} has a wrong chunk count" for r in counted]
        return sorted(problems)


def _metadata(chunk: Chunk) -> dict[str, str | int]:
    meta: dict[str, str | int] = {"doc_id": chunk.doc_id, "start": chunk.start, "end": chunk.end}
    if chunk.page is not None:
        meta["page"] = chunk.page
    return meta
