"""The dense index in a directory: Chroma's PersistentClient, owned by one process.

Opening checks it: after a crash (the ``.unclean`` marker a write leaves until a clean close)
the collection is first loaded in a child process, since Chroma's HNSW loader can die of a
segmentation fault on truncated files; a dense index Chroma cannot read is moved aside, and
the store refills it from its stored chunks.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.dense import chunk_metadata
from assistant.types import Chunk, DocumentInfo, Repair

if TYPE_CHECKING:
    import numpy as np

COLLECTION = "chunks"

_PROBE = """
import sys
from assistant.chroma_embedded import EmbeddedChroma, probe
dense = EmbeddedChroma(sys.argv[1], sys.argv[2])
dense.connect()
probe(dense.collection)
"""


def _broken_errors() -> tuple[type[BaseException], ...]:
    from chromadb.errors import ChromaError

    # What Chroma raises over unreadable segments: its own errors, or Rust panics and
    # SQLite errors surfacing as these.
    return (ChromaError, RuntimeError, sqlite3.DatabaseError, OSError, KeyError, ValueError)


def probe(collection: Any) -> None:
    """Make Chroma load its vector index: counting alone does not read the HNSW files."""
    if collection.count():
        vector = collection.get(limit=1, include=["embeddings"])["embeddings"][0]
        collection.query(query_embeddings=[vector], n_results=1, include=[])


def probe_in_child(path: Path, collection: str = COLLECTION) -> str | None:
    """Why Chroma cannot read the dense index at ``path``, or None when it can."""
    if not path.exists():
        return None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path), collection],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode == 0:
        return None
    last = (done.stderr.strip().splitlines() or [""])[-1]
    return f"Chroma's loader exited with code {done.returncode}: {last[:200]}"


def _move_aside(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    if path.exists():
        path.rename(target)
    return target


class EmbeddedChroma:
    """A Chroma collection in ``path`` (cosine space), read and written by this process."""

    def __init__(self, path: Path | str, name: str = COLLECTION) -> None:
        self.path = Path(path)
        self.name = name
        self.where = str(self.path.parent)
        self._client: Any = None
        self.collection: Any = None

    @property
    def unclean_marker(self) -> Path:
        """Present while Chroma may hold unflushed writes: the owner died if found at open."""
        return self.path.parent / ".unclean"

    def connect(self) -> None:
        """Open the client and the collection, without checks."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self._client = chromadb.PersistentClient(
            path=str(self.path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        self.collection = self.get_collection(self.name)

    def open(self) -> list[Repair]:
        """Connect; a dense index Chroma cannot read is moved aside (and opened empty)."""
        unclean = self.unclean_marker.exists()
        failure = probe_in_child(self.path, self.name) if unclean else None
        if failure is None:
            try:
                self.connect()
                probe(self.collection)
            except _broken_errors() as exc:
                failure = f"{type(exc).__name__}: {exc}"
                self._disconnect()
        if failure is None:
            return []
        moved = _move_aside(self.path)
        self.connect()
        message = (
            f"the dense index could not be read ({failure}); it was moved to {moved.name} "
            "and is rebuilt from the stored chunks"
        )
        return [Repair("moved_aside", 1, message)]

    def close(self) -> None:
        """Release the client; a clean close clears the unclean marker."""
        if self._client is not None:
            self._disconnect()
            self.unclean_marker.unlink(missing_ok=True)

    def _disconnect(self) -> None:
        self._client.close()
        self._client = self.collection = None

    def begin_write(self) -> None:
        """Note that Chroma may now hold unflushed writes (cleared by a clean close)."""
        if not self.unclean_marker.exists():
            self.unclean_marker.touch()

    def generation(self) -> str | None:
        """None: only this process writes."""
        return None

    def bump(self) -> str | None:
        """None: no other process reads."""
        return None

    # -- collections (a reindex writes a new one, then switches) ----------------------------

    def get_collection(self, name: str) -> Any:
        """A collection by name (created if new)."""
        return self._client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )

    def collection_names(self) -> list[str]:
        """Every collection in the directory."""
        return [c.name for c in self._client.list_collections()]

    def beside(self, name: str) -> EmbeddedChroma:
        """Another collection of the same client (a reindex's target)."""
        other = EmbeddedChroma(self.path, name)
        other._client, other.collection = self._client, self.get_collection(name)
        return other

    def use(self, name: str) -> None:
        """Serve from this collection from now on."""
        self.name, self.collection = name, self.get_collection(name)

    def drop(self, name: str) -> None:
        """Delete a collection that no longer holds the index's vectors."""
        self._client.delete_collection(name)

    # -- vectors --------------------------------------------------------------------------

    def count(self) -> int:
        """Number of vectors."""
        return int(self.collection.count())

    def ids(self) -> set[str]:
        """Every chunk id."""
        return set(self.collection.get(include=[])["ids"])

    def _batches(self, n: int) -> list[slice]:
        size = self._client.get_max_batch_size()
        return [slice(i, i + size) for i in range(0, n, size)]

    def upsert(self, items: Sequence[tuple[Chunk, DocumentInfo]], vectors: np.ndarray) -> None:
        """Write chunk vectors, each with its text and its document's entry."""
        for part in self._batches(len(items)):
            batch = items[part]
            self.collection.upsert(
                ids=[c.chunk_id for c, _ in batch],
                embeddings=vectors[part],
                documents=[c.text for c, _ in batch],
                metadatas=[chunk_metadata(c, d) for c, d in batch],
            )

    def delete(self, chunk_ids: Collection[str]) -> None:
        """Delete chunk vectors."""
        ids = sorted(chunk_ids)
        for part in self._batches(len(ids)):
            self.collection.delete(ids=ids[part])

    def nearest(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest chunks: (chunk id, cosine similarity), best first."""
        return nearest(self.collection, vector, k)

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
        """Stored (text, vector) by chunk id."""
        return stored_vectors(self.collection, chunk_ids)

    def langchain(self, embeddings: Any) -> Any:
        """This collection as a LangChain vector store (benchmarks compare against it)."""
        from langchain_chroma import Chroma

        return Chroma(client=self._client, collection_name=self.name, embedding_function=embeddings)


def nearest(collection: Any, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
    """The ``k`` nearest entries of a Chroma collection: (id, cosine similarity)."""
    # no count() first: it costs as much as the query, and Chroma returns fewer (or none)
    # when the collection holds fewer than k
    result = collection.query(
        query_embeddings=[[float(x) for x in vector]], n_results=k, include=["distances"]
    )
    return [(i, 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]


def stored_vectors(collection: Any, chunk_ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
    """(text, vector) of entries of a Chroma collection by id."""
    import numpy as np

    if not chunk_ids:
        return {}
    got = collection.get(ids=list(chunk_ids), include=["embeddings", "documents"])
    return {
        i: (text, np.asarray(vector, dtype=np.float32))
        for i, text, vector in zip(got["ids"], got["documents"], got["embeddings"], strict=True)
    }
