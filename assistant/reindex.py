"""Embed an index again with another model, from its stored chunks (no source is re-read).

Crash-safe like every write of the store: the new vectors go into a new Chroma collection
and a staging table, and one SQLite transaction then switches the index to them (model,
collection, sentence vectors). A crash before that commit leaves the old index whole (the
next reindex drops the leftovers); after it, the old collection is garbage that the
end of the reindex (or, after a crash, the next one) drops.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from assistant.errors import IndexAccessError
from assistant.manifest import chunk_metadata

if TYPE_CHECKING:
    from assistant.embedding import Embedder
    from assistant.store import Store

#: progress(done, total, what): called as texts are embedded.
Progress = Callable[[int, int, str], None]
BATCH = 256
_STAGING = "sentence_vectors_reindex"


def reindex(store: Store, encoder: Embedder, progress: Progress | None = None) -> int:
    """Embed every stored chunk and sentence with ``encoder`` and switch the index to it;
    returns the number of texts embedded."""
    if store.chroma_url:
        raise IndexAccessError(
            f"`assistant reindex` works on a local index, not on the Chroma server at "
            f"{store.chroma_url}: re-ingest the documents into a new server collection."
        )
    old = store.collection_name
    _ = store.collection  # opened (and checked) before anything is written
    drop_leftovers(store)
    chunk_ids = [r[0] for r in store.db.execute("SELECT chunk_id FROM chunks ORDER BY rowid")]
    sentences = list(_sentence_texts(store))
    total = len(chunk_ids) + len(sentences)
    target = f"chunks-{uuid.uuid4().hex[:12]}"
    store.mark_unclean()
    done = _embed_chunks(store, encoder, chunk_ids, target, lambda n: _tell(progress, n, total))
    _embed_sentences(store, encoder, sentences, lambda n: _tell(progress, done + n, total))
    _switch(store, encoder.name, target)
    store.drop_collection(old)
    return total


def _tell(progress: Progress | None, done: int, total: int) -> None:
    if progress:
        progress(done, total, "texts")


def _embed_chunks(
    store: Store,
    encoder: Embedder,
    chunk_ids: Sequence[str],
    target: str,
    advanced: Callable[[int], None],
) -> int:
    """Embed stored chunks into a new collection; returns how many."""
    collection = store.open_collection(target)
    done = 0
    for i in range(0, len(chunk_ids), BATCH):
        items = store.chunks(chunk_ids[i : i + BATCH])
        collection.upsert(
            ids=[c.chunk_id for c, _ in items],
            embeddings=encoder.encode_documents([c.text for c, _ in items]),
            documents=[c.text for c, _ in items],
            metadatas=[chunk_metadata(c, d) for c, d in items],
        )
        done += len(items)
        advanced(done)
    return done


def _embed_sentences(
    store: Store,
    encoder: Embedder,
    sentences: Sequence[tuple[str, int, int, str]],
    advanced: Callable[[int], None],
) -> None:
    """Embed stored sentences into the staging table, committed batch by batch."""
    for i in range(0, len(sentences), BATCH):
        part = sentences[i : i + BATCH]
        vectors = encoder.encode_documents([text for *_, text in part])
        rows = [
            (d, s, e, v.astype("<f4").tobytes())
            for (d, s, e, _), v in zip(part, vectors, strict=True)
        ]
        with store.db:
            store.db.executemany(f"INSERT OR REPLACE INTO {_STAGING} VALUES (?, ?, ?, ?)", rows)
        advanced(i + len(part))


def drop_leftovers(store: Store) -> None:
    """Drop what an interrupted reindex left: Chroma collections the index does not use,
    and the staging table (then created empty again)."""
    for name in store.collection_names():
        if name != store.collection_name:
            store.drop_collection(name)
    with store.db:
        store.db.execute(f"DROP TABLE IF EXISTS {_STAGING}")
        store.db.execute(f"CREATE TABLE {_STAGING} AS SELECT * FROM sentence_vectors WHERE 0")


def _switch(store: Store, model: str, collection: str) -> None:
    """One transaction: the new sentence vectors, model and collection become the index's."""
    with store.db:
        store.db.execute("BEGIN IMMEDIATE")
        store.db.execute("DELETE FROM sentence_vectors")
        store.db.execute(f"INSERT INTO sentence_vectors SELECT * FROM {_STAGING}")
        store.db.execute(f"DROP TABLE {_STAGING}")
        store.db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [("embedding_model", model), ("collection", collection)],
        )
    store.model_id = model
    store.use_collection(collection)


def _sentence_texts(store: Store) -> Iterator[tuple[str, int, int, str]]:
    """Every stored sentence vector's key and text, cut from a chunk that holds it (a
    sentence no chunk holds is left out: the answerer embeds such sentences when asked)."""
    rows = store.db.execute('SELECT doc_id, start, "end" FROM sentence_vectors ORDER BY doc_id')
    current, chunks, starts = None, [], []
    for doc_id, start, end in rows.fetchall():
        if doc_id != current:
            current = doc_id
            chunks = store.db.execute(
                'SELECT start, "end", text FROM chunks WHERE doc_id = ? ORDER BY start', (doc_id,)
            ).fetchall()
            starts = [c[0] for c in chunks]
        holding = (c for c in chunks[: bisect.bisect_right(starts, start)] if c[1] >= end)
        if (chunk := next(holding, None)) is not None:
            yield doc_id, start, end, chunk[2][start - chunk[0] : end - chunk[0]]
