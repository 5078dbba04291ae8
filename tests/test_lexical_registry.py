"""The lexical index registry: one entry makes an index (schema, triggers, rebuild, check and
ranking), an index added to an existing store is filled from its chunks, and a store made
before the registry (one trigger pair for all indexes) is migrated without double entries."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import assistant.manifest
from assistant.lexical import LEXICAL, WORDS, LexicalIndex
from assistant.manifest import Manifest
from assistant.types import Chunk, DocumentInfo

PORTER = LexicalIndex("porter", "porter unicode61")


@contextmanager
def connected(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection of its own (another program's), committed and closed at the end."""
    db = sqlite3.connect(path)
    try:
        with db:
            yield db
    finally:
        db.close()


def add(manifest: Manifest, name: str, text: str) -> None:
    doc = DocumentInfo(name, f"/docs/{name}", name, None, None, None, "en", name, 1, "2026")
    with manifest.transaction():
        manifest.insert(doc, [Chunk(name, text, 0, len(text))])


def test_an_index_added_to_the_registry_is_filled_and_kept(tmp_path: Path, monkeypatch):
    path = tmp_path / "manifest.sqlite"
    before = Manifest(path)
    add(before, "a", "The riders were jumping fences")
    before.close()
    monkeypatch.setattr(assistant.manifest, "LEXICAL", (*LEXICAL, PORTER))
    after = Manifest(path)  # the new index is made and filled from the stored chunks
    add(after, "b", "A rider jumps")
    found = {chunk_id for chunk_id, _ in after.lexical('"jump"', 10, PORTER)}
    assert len(found) == 2  # porter stems: jumping, jumps
    assert after.lexical('"jump"', 10, WORDS) == []
    assert after.lexical_problems() == []
    after.close()


def test_a_store_from_before_the_registry_is_migrated(tmp_path: Path):
    path = tmp_path / "manifest.sqlite"
    Manifest(path).close()
    with connected(path) as db:  # the old layout: one trigger pair for every index
        for index in LEXICAL:
            db.execute(f"DROP TRIGGER {index.table}_ai")
            db.execute(f"DROP TRIGGER {index.table}_ad")
        tables = [index.table for index in LEXICAL]
        inserts = "".join(
            f"INSERT INTO {t}(rowid, text) VALUES (new.rowid, new.text);" for t in tables
        )
        db.execute(f"CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN {inserts} END")
        db.execute(
            "INSERT INTO documents VALUES"
            " ('a', '/docs/a', 'a', NULL, NULL, NULL, 'en', 'a', 1, '2')"
        )
        db.execute(
            'INSERT INTO chunks (chunk_id, doc_id, start, "end", text)'
            " VALUES ('c', 'a', 0, 21, 'Zebras dance at night')"
        )
    migrated = Manifest(path)
    add(migrated, "b", "Zebras sleep by day")  # indexed once, not by both trigger sets
    assert migrated.lexical_problems() == []
    assert len(migrated.lexical('"zebras"', 10, WORDS)) == 2
    migrated.close()


@pytest.mark.parametrize("index", LEXICAL, ids=lambda i: i.name)
def test_a_damaged_index_is_found_and_rebuilt(tmp_path: Path, index: LexicalIndex):
    manifest = Manifest(tmp_path / "manifest.sqlite")
    add(manifest, "a", "Kometen ziehen vorbei")
    with connected(tmp_path / "manifest.sqlite") as db:  # behind the triggers' back
        db.execute(
            f"INSERT INTO {index.table}({index.table}, rowid, text)"
            " SELECT 'delete', rowid, text FROM chunks"
        )
    assert [i for i, _ in manifest.lexical_problems()] == [index]
    manifest.rebuild_lexical()
    assert manifest.lexical_problems() == []
    manifest.close()
