"""The dense index's contract, and the record every chunk vector carries.

Two implementations: ``assistant.chroma_embedded.EmbeddedChroma`` (a directory one process
owns) and ``assistant.chroma_server.ChromaServer`` (a server many processes share). Every
chunk's Chroma metadata carries its document's manifest entry, so the manifest and the
lexical indexes can be rebuilt from the dense index alone (server mode's cache does so).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from assistant.manifest import DOCUMENT_FIELDS
from assistant.types import Chunk, DocumentInfo, Repair

if TYPE_CHECKING:
    import numpy as np

#: (chunk id, Chroma metadata) of one stored vector.
Record = tuple[str, dict[str, Any]]


class DenseIndex(Protocol):
    """Chunk vectors by chunk id, each with its chunk's text and manifest entry."""

    #: where it lives, for messages
    where: str

    def open(self) -> list[Repair]:
        """Connect and check; returns what had to be repaired to open it."""
        ...

    def close(self) -> None:
        """Release the client."""
        ...

    def count(self) -> int:
        """Number of vectors."""
        ...

    def ids(self) -> set[str]:
        """Every chunk id."""
        ...

    def upsert(self, items: Sequence[tuple[Chunk, DocumentInfo]], vectors: np.ndarray) -> None:
        """Write chunk vectors, each with its text and its document's entry."""
        ...

    def delete(self, chunk_ids: Collection[str]) -> None:
        """Delete chunk vectors (unknown ids are ignored)."""
        ...

    def nearest(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest chunks: (chunk id, cosine similarity), best first."""
        ...

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
        """Stored (text, vector) by chunk id (unknown ids are absent)."""
        ...

    def begin_write(self) -> None:
        """Called before a write: an embedded index notes that it may hold unflushed data."""
        ...

    def generation(self) -> str | None:
        """A token every write by any process changes (None: only this process writes)."""
        ...

    def bump(self) -> str | None:
        """After a write: a new generation token for readers in other processes (None: none)."""
        ...


def chunk_metadata(chunk: Chunk, doc: DocumentInfo) -> dict[str, str | int]:
    """Chroma metadata of a chunk: its offsets and its document's entry (None values left out)."""
    meta = {name: getattr(doc, name) for name in DOCUMENT_FIELDS}
    meta |= {"start": chunk.start, "end": chunk.end, "page": chunk.page}
    return {k: v for k, v in meta.items() if v is not None}


def document_of(meta: dict[str, Any]) -> DocumentInfo:
    """The document entry a chunk's metadata carries."""
    values: list[Any] = [meta.get(name) for name in DOCUMENT_FIELDS]
    return DocumentInfo(*values)


def chunk_of(text: str, meta: dict[str, Any]) -> Chunk:
    """The chunk a stored text and its metadata describe."""
    return Chunk(meta["doc_id"], text, meta["start"], meta["end"], meta.get("page"))


def latest_versions(
    records: Iterable[Record],
) -> tuple[dict[str, tuple[DocumentInfo, list[Record]]], set[str]]:
    """Each document's newest complete version (its entry and records); the other ids (stale).

    A version is complete when all the chunks its entry counts are present; a write that died
    half-way leaves an incomplete newer version, and the older complete one is kept.
    """
    versions: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    stale: set[str] = set()
    for chunk_id, meta in records:
        meta = meta or {}
        if "content_hash" in meta and "doc_id" in meta:
            versions[meta["doc_id"]][meta["content_hash"]].append((chunk_id, meta))
        else:
            stale.add(chunk_id)
    latest = {}
    for doc_id, by_hash in versions.items():
        ranked = sorted(
            by_hash.values(),
            key=lambda rs: (len(rs) == rs[0][1]["chunks"], rs[0][1]["added_at"]),
            reverse=True,
        )
        latest[doc_id] = (document_of(ranked[0][0][1]), ranked[0])
        stale.update(chunk_id for rest in ranked[1:] for chunk_id, _ in rest)
    return latest, stale
