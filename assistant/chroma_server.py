"""The dense index on a Chroma server (``chroma run``), shared by many processes.

The server is the record of truth. Its collection's metadata holds the embedding model and
a ``generation`` token that every write changes, so a process knows when its local cache of
the manifest (``assistant.server_cache``) must catch up.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from assistant.chroma_embedded import COLLECTION, nearest, stored_vectors
from assistant.dense import Record, chunk_metadata
from assistant.errors import IndexAccessError, ModelMismatchError
from assistant.types import Chunk, DocumentInfo, Repair

if TYPE_CHECKING:
    import numpy as np

#: Entries read per request when the whole collection is read.
PAGE = 5000
#: Pages read at once while the reader works on earlier ones (the server answers each on
#: its own thread: 100k chunks read in 10 s with two, 12 s with one, on 2 busy cores).
READERS = 2


class ChromaServer:
    """The ``chunks`` collection of a Chroma server at ``url``."""

    def __init__(self, url: str, model_id: str) -> None:
        parts = urlsplit(url)
        if not parts.hostname or parts.scheme not in ("http", "https"):
            raise IndexAccessError(
                f"ASSISTANT_CHROMA_URL={url!r} is not a server address: give one like "
                "http://127.0.0.1:8000 (start the server with `chroma run`)."
            )
        self.where = url
        self.model_id = model_id
        self._parts = parts
        self._client: Any = None
        self.collection: Any = None

    def open(self) -> list[Repair]:
        """Connect (creating the collection if new) and check its model."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        url = self._parts
        try:
            self._client = chromadb.HttpClient(
                host=url.hostname or "",
                port=url.port or (443 if url.scheme == "https" else 80),
                ssl=url.scheme == "https",
                settings=ChromaSettings(anonymized_telemetry=False),
            )
            self.collection = self._client.get_or_create_collection(
                COLLECTION,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": self.model_id, "generation": uuid.uuid4().hex},
            )
        except (ValueError, OSError) as exc:  # chromadb wraps connection failures in these
            raise IndexAccessError(
                f"Cannot reach the Chroma server at {self.where} ({exc}): start it with "
                "`chroma run --path DIR --host HOST --port PORT`, or unset ASSISTANT_CHROMA_URL "
                "to use a local index."
            ) from None
        built_with = (self.collection.metadata or {}).get("embedding_model")
        if built_with != self.model_id:
            self.close()
            raise ModelMismatchError(self.where, str(built_with), self.model_id)
        return []

    def close(self) -> None:
        """Release the client."""
        if self._client is not None:
            self._client.close()
            self._client = self.collection = None

    @property
    def identity(self) -> str:
        """The collection's id: a collection deleted and made again has another."""
        return str(self.collection.id)

    # -- generations ----------------------------------------------------------------------

    def begin_write(self) -> None:
        """Nothing to note: the server keeps its own files safe."""

    def generation(self) -> str | None:
        """The collection's current generation token."""
        metadata = self._client.get_collection(COLLECTION).metadata or {}
        return str(metadata.get("generation", ""))

    def bump(self) -> str | None:
        """Mark a write, so other processes catch up; returns the new token."""
        token = uuid.uuid4().hex
        self.collection.modify(metadata={"embedding_model": self.model_id, "generation": token})
        return token

    # -- reading the whole collection, in pages -------------------------------------------

    def records(
        self, progress: Callable[[int, int], None] | None = None, *, texts: bool = False
    ) -> tuple[list[Record], dict[str, str]]:
        """Every (chunk id, metadata), without vectors; with ``texts``, every text by id too
        (reading both costs about what reading the metadata alone does)."""
        total, out, text = self.count(), list[Record](), dict[str, str]()
        include = ["metadatas", "documents"] if texts else ["metadatas"]
        while True:
            got = self.collection.get(include=include, limit=PAGE, offset=len(out))
            out += zip(got["ids"], got["metadatas"], strict=True)
            if texts:
                text.update(zip(got["ids"], got["documents"], strict=True))
            if progress:
                progress(len(out), max(total, len(out)))
            if len(got["ids"]) < PAGE:
                return out, text

    def pages(self, *, texts: bool = False) -> Iterator[tuple[list[Record], list[str]]]:
        """The whole collection page by page: (records, their texts when ``texts``), read
        ahead on ``READERS`` threads while the caller works on the pages before (the HTTP
        wait and SQLite both release the GIL)."""
        include = ["metadatas", "documents"] if texts else ["metadatas"]

        def page(offset: int) -> tuple[list[Record], list[str]]:
            got = self.collection.get(include=include, limit=PAGE, offset=offset)
            records = list(zip(got["ids"], got["metadatas"], strict=True))
            return records, list(got["documents"]) if texts else []

        with ThreadPoolExecutor(READERS, thread_name_prefix="chroma-read") as pool:
            offsets = itertools.count(0, PAGE)
            ahead = deque(pool.submit(page, next(offsets)) for _ in range(READERS + 1))
            try:
                while True:
                    records, text = ahead.popleft().result()
                    yield records, text
                    if len(records) < PAGE:
                        return
                    ahead.append(pool.submit(page, next(offsets)))
            finally:
                for future in ahead:
                    future.cancel()

    def ids_written(self, since: float) -> set[str]:
        """Ids of the chunks written at or after ``since`` (seconds since the epoch, the
        writer's clock); chunks written before stamps were kept are never among them."""
        got = self.collection.get(where={"written": {"$gte": since}}, include=[])
        return set(got["ids"])

    def records_of(
        self, chunk_ids: Collection[str] = (), doc_ids: Collection[str] = ()
    ) -> list[Record]:
        """(chunk id, metadata) of these chunks, and of every chunk of these documents."""
        out, ids, docs = list[Record](), sorted(chunk_ids), sorted(doc_ids)
        for i in range(0, len(ids), PAGE):
            got = self.collection.get(ids=ids[i : i + PAGE], include=["metadatas"])
            out += zip(got["ids"], got["metadatas"], strict=True)
        for i in range(0, len(docs), 500):
            where = {"doc_id": {"$in": docs[i : i + 500]}}
            got = self.collection.get(where=where, include=["metadatas"])
            out += zip(got["ids"], got["metadatas"], strict=True)
        return out

    def texts(
        self, chunk_ids: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> dict[str, str]:
        """The stored texts of these chunks, by id."""
        out: dict[str, str] = {}
        for i in range(0, len(chunk_ids), PAGE):
            got = self.collection.get(ids=list(chunk_ids[i : i + PAGE]), include=["documents"])
            out.update(zip(got["ids"], got["documents"], strict=True))
            if progress:
                progress(len(out), len(chunk_ids))
        return out

    # -- vectors --------------------------------------------------------------------------

    def count(self) -> int:
        """Number of vectors."""
        return int(self.collection.count())

    def ids(self) -> set[str]:
        """Every chunk id."""
        return set(self.collection.get(include=[])["ids"])

    def upsert(self, items: Sequence[tuple[Chunk, DocumentInfo]], vectors: np.ndarray) -> None:
        """Write chunk vectors, each with its text, its document's entry and the time of the
        write (a joining cache asks for what was written since it last caught up)."""
        size, now = self._client.get_max_batch_size(), time.time()
        for i in range(0, len(items), size):
            batch = items[i : i + size]
            self.collection.upsert(
                ids=[c.chunk_id for c, _ in batch],
                embeddings=vectors[i : i + size],
                documents=[c.text for c, _ in batch],
                metadatas=[chunk_metadata(c, d) | {"written": now} for c, d in batch],
            )

    def delete(self, chunk_ids: Collection[str]) -> None:
        """Delete chunk vectors."""
        ids = sorted(chunk_ids)
        size = self._client.get_max_batch_size()
        for i in range(0, len(ids), size):
            self.collection.delete(ids=ids[i : i + size])

    def nearest(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest chunks: (chunk id, cosine similarity), best first."""
        return nearest(self.collection, vector, k)

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
        """Stored (text, vector) by chunk id."""
        return stored_vectors(self.collection, chunk_ids)
