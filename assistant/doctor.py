"""Checks and repairs of an index: the dense index, the lexical index and the manifest agree.

``open_checked`` runs when a store first opens its embedded Chroma: a dense index Chroma
cannot read is moved aside and rebuilt from the stored chunks, and entries an interrupted
write left behind are deleted. ``check`` and ``repair`` back `assistant doctor [--repair]`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.types import Problem, Repair

if TYPE_CHECKING:
    from assistant.store import Store

log = logging.getLogger(__name__)
#: Least cosine between a stored vector and the same text embedded now by the same model.
SAME_MODEL = 0.999
_SAMPLE = 3
_BATCH = 256


def _broken_errors() -> tuple[type[BaseException], ...]:
    from chromadb.errors import ChromaError

    # What Chroma raises over unreadable segments: its own errors, or Rust panics and
    # SQLite errors surfacing as these.
    return (ChromaError, RuntimeError, sqlite3.DatabaseError, OSError, KeyError, ValueError)


def open_checked(store: Store) -> None:
    """Open the embedded Chroma; rebuild it if unreadable and drop what no document owns."""
    unclean = store.unclean_marker.exists()
    failure = probe_in_child(store.directory / "chroma", store.collection_name) if unclean else None
    if failure is None:
        try:
            store.open_dense()
            _probe(store.collection)
        except _broken_errors() as exc:
            failure = f"{type(exc).__name__}: {exc}"
            store.close_dense()
    if failure is not None:
        moved = _move_aside(store.directory / "chroma")
        store.open_dense()
        message = (
            f"the dense index could not be read ({failure}); it was moved to {moved.name} "
            "and is rebuilt from the stored chunks"
        )
        store.repairs.append(Repair("moved_aside", 1, message))
    if store.collection.count() != store.chunk_count():
        store.repairs += reconcile(store)
    for line in store.repairs:
        log.warning("%s: %s", store.where, line)


def _probe(collection: Any) -> None:
    """Make Chroma load its vector index: counting alone does not read the HNSW files."""
    if collection.count():
        vector = collection.get(limit=1, include=["embeddings"])["embeddings"][0]
        collection.query(query_embeddings=[vector], n_results=1, include=[])


_PROBE = """
import sys, chromadb
from chromadb.config import Settings
from assistant.doctor import _probe
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
_probe(client.get_or_create_collection(
    sys.argv[2], embedding_function=None, configuration={"hnsw": {"space": "cosine"}}))
"""


def probe_in_child(path: Path, collection: str = "chunks") -> str | None:
    """Why Chroma cannot read the dense index at ``path``, or None when it can.

    After a crash the files may be truncated, and Chroma's HNSW loader can then die with a
    segmentation fault instead of raising: a child process takes that risk, not this one.
    """
    if not path.exists():
        return None
    import subprocess
    import sys

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


def reconcile(store: Store) -> list[Repair]:
    """Delete dense entries no document owns; re-embed stored chunks the dense index lacks."""
    manifest = {r[0] for r in store.db.execute("SELECT chunk_id FROM chunks")}
    dense = store.dense_ids()
    done = []
    if orphans := dense - manifest:
        store.delete_dense(orphans)
        message = f"deleted {len(orphans)} dense entries that no document owns"
        done.append(Repair("deleted_orphans", len(orphans), message))
    if missing := manifest - dense:
        if store.encoder is None:
            message = (
                f"{len(missing)} chunks are missing from the dense index: run "
                "`assistant doctor --repair` to embed them again"
            )
            done.append(Repair("reembedded", len(missing), message, done=False))
        else:
            reembed(store, sorted(missing))
            message = f"embedded {len(missing)} stored chunks the dense index lacked"
            done.append(Repair("reembedded", len(missing), message))
    return done


def reembed(store: Store, chunk_ids: Sequence[str]) -> None:
    """Embed stored chunks again and write them to the dense index."""
    assert store.encoder is not None
    for i in range(0, len(chunk_ids), _BATCH):
        items = store.chunks(chunk_ids[i : i + _BATCH])
        vectors = store.encoder.encode_documents([chunk.text for chunk, _ in items])
        store.upsert_dense(items, vectors)


def model_drift(store: Store) -> list[Problem]:
    """Stored vectors the configured model no longer reproduces (its weights changed)."""
    if store.encoder is None:
        return []
    rows = store.db.execute(
        "SELECT chunk_id FROM chunks ORDER BY chunk_id LIMIT ?", (_SAMPLE,)
    ).fetchall()
    if not rows:
        return []
    got = store.collection.get(ids=[r[0] for r in rows], include=["embeddings", "documents"])
    now = store.encoder.encode_documents(got["documents"])
    problems = []
    for chunk_id, stored, fresh in zip(got["ids"], got["embeddings"], now, strict=True):
        cosine = float(np.dot(stored, fresh) / (np.linalg.norm(stored) * np.linalg.norm(fresh)))
        if cosine < SAME_MODEL:
            message = (
                f"chunk {chunk_id}: the model {store.model_id!r} embeds it differently now "
                f"(cosine {cosine:.4f}): its weights changed since the index was built"
            )
            problems.append(Problem("model_drift", (chunk_id,), message))
    return problems


def check(store: Store) -> list[Problem]:
    """Everything that disagrees: the three stores, and the model against its vectors."""
    return store.disagreements() + model_drift(store)


def repair(store: Store) -> list[Repair]:
    """Repair what ``check`` finds, by the kind of each problem; returns what was done."""
    problems = check(store)
    kinds = {p.kind for p in problems}
    done = []
    if "lexical" in kinds:
        store.rebuild_lexical()
        tables = sum(len(p.ids) for p in problems if p.kind == "lexical")
        done.append(Repair("relexed", tables, "rebuilt the lexical indexes from the stored chunks"))
    if "model_drift" in kinds:
        ids = [r[0] for r in store.db.execute("SELECT chunk_id FROM chunks")]
        reembed(store, ids)
        message = f"embedded all {len(ids)} chunks again with the configured model"
        done.append(Repair("reembedded", len(ids), message))
    if kinds & {"orphan_dense", "missing_dense"}:
        done += reconcile(store)
    done += [
        Repair("reingest", 1, f"{p}: re-ingest that document's file to complete it", done=False)
        for p in problems
        if p.kind == "chunk_count"
    ]
    return done
