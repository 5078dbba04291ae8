"""The SQLite side of the index: documents, chunks, lexical indexes, sentence vectors, meta.

One connection serves every thread of the process, under ``Manifest.lock``. In embedded
mode the file is the index's record of truth; in server mode it is this process's cache of
the Chroma server's collection (``assistant.server_cache``).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.lexical import LEXICAL, OLD_TRIGGERS, VOCABULARY, LexicalIndex
from assistant.types import Article, Chunk, DocumentInfo, Passage

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

DOCUMENT_FIELDS = tuple(f.name for f in fields(DocumentInfo))
#: Sentence spans (document offsets) of one article and their unit vectors, row by row.
SentenceVectors = tuple[Sequence[tuple[int, int]], "np.ndarray"]
STAGING = "sentence_vectors_reindex"
#: told(done, total) as a long step goes
Told = Callable[[int, int], None]
#: The lexical indexes' buffer of pending terms while many rows are indexed at once: FTS5
#: writes a segment whenever the buffer fills and merges segments as they pile up; at 64 MiB
#: (SQLite's default: 1 MiB) building the indexes of 100k chunks costs 9.3 CPU-s instead of
#: 16.2 (the same index content, so the same rankings; docs/benchmarks.md). Restored after.
BULK_HASHSIZE = 64 * 1024 * 1024
DEFAULT_HASHSIZE = 1024 * 1024
#: Pages per step when another manifest file is copied (64 MiB of 4 KiB pages).
COPY_PAGES = 16384

TABLES = """
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
-- every question asks for the documents' languages: 0.3 ms, not 1.9, at 15k documents
CREATE INDEX IF NOT EXISTS documents_language ON documents(language);
CREATE TABLE IF NOT EXISTS sentence_vectors (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (doc_id, start, "end")) WITHOUT ROWID;
"""

_PASSAGES = """
SELECT c.chunk_id, c.doc_id, d.title, d.source, c.text, c.start, c."end", c.page, d.language
FROM chunks c JOIN documents d USING (doc_id) WHERE c.chunk_id IN ({marks})
"""
_DOCUMENTS = f"SELECT {', '.join(DOCUMENT_FIELDS)} FROM documents"


@dataclass(frozen=True)
class Version:
    """One version of an article as written: its chunks, their vectors, sentence vectors."""

    article: Article
    chunks: Sequence[Chunk]
    vectors: np.ndarray
    sentences: SentenceVectors | None = None


def _parts(ids: Sequence[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(ids), size):
        yield list(ids[i : i + size])


class Manifest:
    """Documents, chunks (text + offsets), lexical indexes and sentence vectors in SQLite."""

    def __init__(self, path: Path | str) -> None:
        self.lock = threading.RLock()
        self.db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self.in_file = path != ":memory:"
        if self.in_file:
            self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self._create()

    def _create(self) -> None:
        """The tables, and every registered lexical index (a new one filled from the chunks)."""
        present = set(self.table_names())
        self.db.executescript(TABLES)
        self.db.executescript("".join(f"DROP TRIGGER IF EXISTS {t};" for t in OLD_TRIGGERS))
        self.db.executescript("".join(index.schema() for index in LEXICAL))
        new = [index for index in LEXICAL if index.table not in present]
        if "chunks" in present and new:
            self.rebuild_lexical(new)

    def copy_from(self, path: Path, progress: Told | None = None) -> None:
        """Replace this file's content by a consistent snapshot of another manifest file,
        read only while its owner may go on writing (a write there restarts the copy).
        ``progress``: pages copied."""

        def told(status: int, remaining: int, total: int) -> None:
            if progress:
                progress(total - remaining, total)

        with self.lock:
            source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                source.backup(self.db, pages=COPY_PAGES, progress=told)
            finally:
                source.close()
            self._create()  # a file of an older version gains what this one adds

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.db.close()

    @contextmanager
    def unshared(self) -> Iterator[None]:
        """While no other process reads the file (a cache filled from empty): a rollback
        journal instead of the WAL, so a big transaction writes its pages once, not to the
        WAL and then again into the file (100k chunks: 0.8-1.5 CPU-s less of 9-10)."""
        if self.in_file:
            self.db.execute("PRAGMA journal_mode = DELETE")  # stays WAL while others read
        try:
            yield
        finally:
            if self.in_file:
                self.db.execute("PRAGMA journal_mode = WAL")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (taken at once, so concurrent writers queue)."""
        with self.lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            yield

    # -- meta ---------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A value of the meta table (embedding_model, collection, synced, …)."""
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, **values: str) -> None:
        """Set meta values, committed."""
        with self.transaction():
            self.put_meta(values)

    def put_meta(self, values: dict[str, str]) -> None:
        """Set meta values in the caller's transaction."""
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    def table_names(self) -> list[str]:
        """Every table of the file (tests check that leftovers are gone)."""
        with self.lock:
            return [r[0] for r in self.db.execute("SELECT name FROM sqlite_master")]

    # -- documents ----------------------------------------------------------------------

    def documents(self) -> list[DocumentInfo]:
        """Every document, in the order they were added."""
        with self.lock:
            rows = self.db.execute(f"{_DOCUMENTS} ORDER BY added_at, source").fetchall()
        return [DocumentInfo(*row) for row in rows]

    def languages(self) -> set[str | None]:
        """The documents' languages (None: not told)."""
        with self.lock:
            return {r[0] for r in self.db.execute("SELECT DISTINCT language FROM documents")}

    def find(self, condition: str, *values: str) -> DocumentInfo | None:
        """The first document matching an SQL condition on its fields, if any."""
        with self.lock:
            row = self.db.execute(f"{_DOCUMENTS} WHERE {condition}", values).fetchone()
        return DocumentInfo(*row) if row else None

    def chunk_ids(self, doc_id: str | None = None) -> list[str]:
        """Chunk ids of one document, or of all, in insertion order."""
        with self.lock:
            if doc_id is None:
                rows = self.db.execute("SELECT chunk_id FROM chunks ORDER BY rowid")
            else:
                rows = self.db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))
            return [r[0] for r in rows]

    def chunk_count(self) -> int:
        """Number of chunks."""
        with self.lock:
            return int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def chunks(self, chunk_ids: Sequence[str]) -> list[tuple[Chunk, DocumentInfo]]:
        """Chunks with their documents' entries (unknown ids are skipped)."""
        fields_ = ", ".join(f"d.{f}" for f in DOCUMENT_FIELDS)
        out = []
        with self.lock:
            for part in _parts(chunk_ids):
                marks = ",".join("?" * len(part))
                rows = self.db.execute(
                    f'SELECT c.doc_id, c.text, c.start, c."end", c.page, {fields_} FROM chunks c'
                    f" JOIN documents d USING (doc_id) WHERE c.chunk_id IN ({marks})",
                    part,
                )
                out += [(Chunk(*row[:5]), DocumentInfo(*row[5:])) for row in rows]
        return out

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's chunks, in text order."""
        with self.lock:
            rows = self.db.execute(
                'SELECT doc_id, text, start, "end", page FROM chunks WHERE doc_id = ?'
                " ORDER BY start",
                (doc_id,),
            ).fetchall()
        return [Chunk(*row) for row in rows]

    def versions(self) -> dict[str, tuple[DocumentInfo, frozenset[str]]]:
        """Each document's entry and chunk ids (what a server cache compares)."""
        with self.lock:
            ids: dict[str, set[str]] = {}
            for doc_id, chunk_id in self.db.execute("SELECT doc_id, chunk_id FROM chunks"):
                ids.setdefault(doc_id, set()).add(chunk_id)
            return {d.doc_id: (d, frozenset(ids.get(d.doc_id, ()))) for d in self.documents()}

    def passages(self, scored: Sequence[tuple[str, float]]) -> list[Passage]:
        """Passages for (chunk id, score) pairs, in the given order; unknown ids are skipped."""
        if not scored:
            return []
        ids = [i for i, _ in scored]
        with self.lock:
            rows = self.db.execute(_PASSAGES.format(marks=",".join("?" * len(ids))), ids)
            by_id = {row[0]: row for row in rows}
        out = []
        for chunk_id, score in scored:
            if chunk_id in by_id:
                _, doc_id, title, source, text, start, end, page, language = by_id[chunk_id]
                passage = Passage(chunk_id, doc_id, title, source, text, start, end, score)
                out.append(replace(passage, page=page, language=language))
        return out

    def document_text(self, doc_id: str) -> str:
        """A document's text rebuilt from its chunks, at its offsets (the blanks between
        chunks, which end sentences, become line breaks); empty when it is unknown."""
        rows = [(c.text, c.start, c.end) for c in self.document_chunks(doc_id)]
        out = ["\n"] * max((end for _, _, end in rows), default=0)
        for text, start, end in rows:
            out[start:end] = text
        return "".join(out)

    # -- writing ------------------------------------------------------------------------

    def write_version(self, version: Version, now: str) -> DocumentInfo:
        """Replace a document's rows by this version (in the caller's transaction)."""
        article, chunks = version.article, version.chunks
        doc = DocumentInfo(
            article.doc_id, article.source, article.title, article.author, article.date,
            article.url, article.language, article.content_hash, len(chunks), now,
        )  # fmt: skip
        self.delete_document(article.doc_id)
        self.insert(doc, chunks)
        if version.sentences is not None:
            spans, matrix = version.sentences
            self.db.executemany(
                'INSERT OR REPLACE INTO sentence_vectors (doc_id, start, "end", vector)'
                " VALUES (?, ?, ?, ?)",
                [(article.doc_id, s, e, row.astype("<f4").tobytes())
                 for (s, e), row in zip(spans, matrix, strict=True)],
            )  # fmt: skip
        return doc

    def insert(self, doc: DocumentInfo, chunks: Iterable[Chunk]) -> None:
        """Insert a document's entry and chunks (in the caller's transaction)."""
        self.db.execute(
            f"INSERT INTO documents VALUES ({','.join('?' * len(DOCUMENT_FIELDS))})", astuple(doc)
        )
        self.db.executemany(
            'INSERT INTO chunks (chunk_id, doc_id, start, "end", page, text)'
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(c.chunk_id, c.doc_id, c.start, c.end, c.page, c.text) for c in chunks],
        )

    def insert_chunks(self, chunks: Sequence[Chunk]) -> None:
        """Insert chunks whose documents' entries come later in the caller's transaction
        (the reference is checked at its commit)."""
        self.db.execute("PRAGMA defer_foreign_keys = ON")  # back off at the commit
        self.db.executemany(
            'INSERT INTO chunks (chunk_id, doc_id, start, "end", page, text)'
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(c.chunk_id, c.doc_id, c.start, c.end, c.page, c.text) for c in chunks],
        )

    def insert_documents(self, docs: Iterable[DocumentInfo]) -> None:
        """Insert documents' entries (in the caller's transaction)."""
        marks = ",".join("?" * len(DOCUMENT_FIELDS))
        self.db.executemany(f"INSERT INTO documents VALUES ({marks})", map(astuple, docs))

    def delete_chunks(self, chunk_ids: Iterable[str]) -> None:
        """Delete chunks by id (in the caller's transaction)."""
        self.db.executemany("DELETE FROM chunks WHERE chunk_id = ?", ((i,) for i in chunk_ids))

    @contextmanager
    def bulk(self, progress: Told | None = None) -> Iterator[Callable[[Told | None], int]]:
        """Inserts (in the caller's transaction) that the lexical indexes take in many rows
        at a time, not row by row through the triggers (3.6x faster: 6,700 chunks 2.5 s
        against 9.2 s; docs/benchmarks.md). Yields a function that indexes the rows inserted
        since its last call (a caller that streams calls it after each page; returns how many
        rows); the rest are indexed at the end. Rows inserted here must not be deleted before
        they are indexed. ``progress``: indexes done at the end."""
        for index in LEXICAL:
            self.db.execute(f"DROP TRIGGER IF EXISTS {index.table}_ai")
        hashsize(self.db, BULK_HASHSIZE)
        mark = self._last_rowid()

        def index_new(progress: Told | None) -> int:
            nonlocal mark
            last = self._last_rowid()
            for n, index in enumerate(LEXICAL):
                if progress:
                    progress(n, len(LEXICAL))
                self.db.execute(index.insert_rows(), (mark, last))
            if progress:
                progress(len(LEXICAL), len(LEXICAL))
            added, mark = last - mark, last
            return added

        yield index_new
        index_new(progress)
        hashsize(self.db, None)
        for index in LEXICAL:
            self.db.execute(index.insert_trigger())

    def _last_rowid(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(rowid), 0) FROM chunks").fetchone()[0])

    def delete_document(self, doc_id: str) -> None:
        """Delete a document with its chunks and sentence vectors (in the caller's transaction)."""
        self.db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    # -- lexical ------------------------------------------------------------------------

    def lexical(self, match: str, k: int, index: LexicalIndex) -> list[tuple[str, float]]:
        """BM25 ranking of an FTS5 MATCH expression: (chunk id, score), best first."""
        if not match:
            return []
        with self.lock:
            rows = self.db.execute(index.ranking(), (match, k)).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def coverage(self, words: Sequence[str]) -> float:
        """Share of the words that occur in the indexed text (0 when there are none)."""
        if not words:
            return 0.0
        with self.lock:
            sql = VOCABULARY.vocabulary_lookup(len(words))
            found = self.db.execute(sql, list(words)).fetchone()[0]
        return float(found) / len(words)

    def term_rows(self, terms: Sequence[str], index: LexicalIndex) -> dict[str, int]:
        """About how many chunks each query term (a word or phrase) matches, read from the
        word index's vocabulary (a lookup, not a search): for an index of whole words, the
        fewest chunks any of its words is in; for an index that matches inside words
        (trigram), the chunks holding a word that starts with it (counting the trigram
        index's own vocabulary would read the long lists of common trigrams: slower than
        the search). A term no word starts with counts 0, though it may match inside a
        compound: asking for such terms cost as much as the rest of the search (measured)."""
        with self.lock:
            return {
                term: min((self._word_rows(w, index.inside_words) for w in _words(term)), default=0)
                for term in terms
            }

    def _word_rows(self, word: str, prefix: bool) -> int:
        table = f"{VOCABULARY.table}_vocab"
        if not prefix:
            sql, args = f"SELECT doc FROM {table} WHERE term = ?", [word]
        else:
            sql = f"SELECT sum(doc) FROM {table} WHERE term >= ? AND term < ?"
            args = [word, word + "\U0010ffff"]
        row = self.db.execute(sql, args).fetchone()
        return int(row[0] or 0) if row else 0

    def rebuild_lexical(self, indexes: Sequence[LexicalIndex] = LEXICAL) -> None:
        """Rebuild lexical indexes from the chunks."""
        with self.transaction():
            hashsize(self.db, BULK_HASHSIZE, indexes)
            for index in indexes:
                self.db.execute(index.rebuild())
            hashsize(self.db, None, indexes)

    def lexical_problems(self) -> list[tuple[LexicalIndex, str]]:
        """Each lexical index that disagrees with the chunks, with SQLite's reason."""
        out = []
        with self.lock:
            for index in LEXICAL:
                try:
                    with self.db:
                        self.db.execute(index.integrity_check())
                except sqlite3.DatabaseError as exc:
                    out.append((index, str(exc)))
        return out

    def miscounted(self) -> list[str]:
        """Documents whose entry counts another number of chunks than are stored."""
        with self.lock:
            rows = self.db.execute(
                "SELECT d.doc_id FROM documents d LEFT JOIN chunks c USING (doc_id)"
                " GROUP BY d.doc_id HAVING count(c.rowid) != d.chunks"
            ).fetchall()
        return [r[0] for r in rows]

    # -- sentence vectors ---------------------------------------------------------------

    def sentence_vectors(self, keys: Sequence[tuple[str, int, int]]) -> dict[tuple, np.ndarray]:
        """Stored unit vectors of sentences, by (doc id, start, end); unknown keys are absent."""
        import numpy as np

        found: dict[tuple, np.ndarray] = {}
        with self.lock:
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

    def keep_sentence_vectors(self, vectors: Mapping[tuple[str, int, int], np.ndarray]) -> None:
        """Store sentence vectors the answerer encoded when asked, by (doc id, start, end),
        so the next question reading them encodes nothing; a document removed meanwhile
        gets none. A failed write only costs the next question the encoding again."""
        rows = [(d, s, e, v.astype("<f4").tobytes(), d) for (d, s, e), v in vectors.items()]
        try:
            with self.transaction():
                self.db.executemany(
                    'INSERT OR IGNORE INTO sentence_vectors (doc_id, start, "end", vector)'
                    " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM documents WHERE doc_id = ?)",
                    rows,
                )
        except sqlite3.OperationalError as exc:  # a full or read-only disk: answer anyway
            log.warning("sentence vectors not kept (%s)", exc)

    def document_sentences(self, doc_id: str) -> SentenceVectors:
        """A document's stored sentence spans and vectors, in text order."""
        import numpy as np

        with self.lock:
            rows = self.db.execute(
                'SELECT start, "end", vector FROM sentence_vectors WHERE doc_id = ? ORDER BY start',
                (doc_id,),
            ).fetchall()
        spans = [(s, e) for s, e, _ in rows]
        return spans, np.array([np.frombuffer(b, dtype="<f4") for _, _, b in rows])

    def sentence_count(self) -> int:
        """Number of stored sentence vectors."""
        with self.lock:
            return int(self.db.execute("SELECT count(*) FROM sentence_vectors").fetchone()[0])

    def sentence_keys(self) -> list[tuple[str, int, int]]:
        """Every stored sentence vector's key, by document."""
        with self.lock:
            rows = self.db.execute(
                'SELECT doc_id, start, "end" FROM sentence_vectors ORDER BY doc_id'
            )
            return [(d, s, e) for d, s, e in rows]

    # -- reindex: sentence vectors staged beside the live ones --------------------------

    def reset_staging(self) -> None:
        """An empty staging table for a reindex's sentence vectors."""
        with self.lock, self.db:
            self.db.execute(f"DROP TABLE IF EXISTS {STAGING}")
            self.db.execute(f"CREATE TABLE {STAGING} AS SELECT * FROM sentence_vectors WHERE 0")

    def stage_sentences(self, rows: Sequence[tuple[str, int, int, bytes]]) -> None:
        """Add (doc id, start, end, vector bytes) rows to the staging table (committed)."""
        with self.lock, self.db:
            self.db.executemany(f"INSERT OR REPLACE INTO {STAGING} VALUES (?, ?, ?, ?)", rows)

    def switch(self, model: str, collection: str) -> None:
        """One transaction: the staged sentence vectors, the model and the collection
        become the index's."""
        with self.transaction():
            self.db.execute("DELETE FROM sentence_vectors")
            self.db.execute(f"INSERT INTO sentence_vectors SELECT * FROM {STAGING}")
            self.db.execute(f"DROP TABLE {STAGING}")
            self.put_meta({"embedding_model": model, "collection": collection})


def hashsize(
    db: sqlite3.Connection, size: int | None, indexes: Sequence[LexicalIndex] = LEXICAL
) -> None:
    """Set the lexical indexes' buffer of pending terms (None: SQLite's default, 1 MiB)."""
    for index in indexes:
        t, value = index.table, DEFAULT_HASHSIZE if size is None else size
        db.execute(f"INSERT INTO {t}({t}, rank) VALUES ('hashsize', ?)", (value,))


def _words(term: str) -> list[str]:
    """A query term's words as the word index stores them (unicode61, no diacritics)."""
    decomposed = unicodedata.normalize("NFKD", term.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", plain)
