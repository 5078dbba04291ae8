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

from assistant.chroma_embedded import EmbeddedChroma
from assistant.errors import IndexAccessError
from assistant.manifest import Manifest

if TYPE_CHECKING:
    from assistant.embedding import Embedder
    from assistant.store import Store

#: progress(done, total, what): called as texts are embedded.
Progress = Callable[[int, int, str], None]
BATCH = 256


def reindex(store: Store, encoder: Embedder, progress: Progress | None = None) -> int:
    """Embed every stored chunk and sentence with ``encoder`` and switch the index to it;
    returns the number of texts embedded."""
    dense = store.dense_index
    if not isinstance(dense, EmbeddedChroma):
        raise IndexAccessError(
            f"`assistant reindex` works on a local index, not on the Chroma server at "
            f"{store.where}: re-ingest the documents into a new server collection."
        )
    store.open()  # opened (and checked) before anything is written
    old = dense.name
    drop_leftovers(store, dense)
    chunk_ids = store.chunk_ids()
    sentences = list(_sentence_texts(store.manifest))
    total = len(chunk_ids) + len(sentences)
    target = dense.beside(f"chunks-{uuid.uuid4().hex[:12]}")
    dense.begin_write()
    done = _embed_chunks(store, encoder, chunk_ids, target, lambda n: _tell(progress, n, total))
    _embed_sentences(store.manifest, encoder, sentences, lambda n: _tell(progress, done + n, total))
    store.manifest.switch(encoder.name, target.name)
    store.model_id = encoder.name
    dense.use(target.name)
    dense.drop(old)
    return total


def _tell(progress: Progress | None, done: int, total: int) -> None:
    if progress:
        progress(done, total, "texts")


def _embed_chunks(
    store: Store,
    encoder: Embedder,
    chunk_ids: Sequence[str],
    target: EmbeddedChroma,
    advanced: Callable[[int], None],
) -> int:
    """Embed stored chunks into a new collection; returns how many."""
    done = 0
    for i in range(0, len(chunk_ids), BATCH):
        items = store.chunks(chunk_ids[i : i + BATCH])
        target.upsert(items, encoder.encode_documents([c.text for c, _ in items]))
        done += len(items)
        advanced(done)
    return done


def _embed_sentences(
    manifest: Manifest,
    encoder: Embedder,
    sentences: Sequence[tuple[str, int, int, str]],
    advanced: Callable[[int], None],
) -> None:
    """Embed stored sentences into the staging table, committed batch by batch."""
    for i in range(0, len(sentences), BATCH):
        part = sentences[i : i + BATCH]
        vectors = encoder.encode_documents([text for *_, text in part])
        manifest.stage_sentences(
            [
                (d, s, e, v.astype("<f4").tobytes())
                for (d, s, e, _), v in zip(part, vectors, strict=True)
            ]
        )
        advanced(i + len(part))


def drop_leftovers(store: Store, dense: EmbeddedChroma) -> None:
    """Drop what an interrupted reindex left: Chroma collections the index does not use,
    and the staging table (then created empty again)."""
    for name in dense.collection_names():
        if name != dense.name:
            dense.drop(name)
    store.manifest.reset_staging()


def _sentence_texts(manifest: Manifest) -> Iterator[tuple[str, int, int, str]]:
    """Every stored sentence vector's key and text, cut from a chunk that holds it (a
    sentence no chunk holds is left out: the answerer embeds such sentences when asked)."""
    current, chunks, starts = None, [], []
    for doc_id, start, end in manifest.sentence_keys():
        if doc_id != current:
            current = doc_id
            chunks = manifest.document_chunks(doc_id)
            starts = [c.start for c in chunks]
        holding = (c for c in chunks[: bisect.bisect_right(starts, start)] if c.end >= end)
        if (chunk := next(holding, None)) is not None:
            yield doc_id, start, end, chunk.text[start - chunk.start : end - chunk.start]
