"""The dense index, the lexical index and the manifest agree: doctor, repairs at open, and a
hypothesis state machine of adds, changes and removals (like Chroma's own
chromadb/test/property/test_embeddings.py).

Most tests here use ``HashEncoder``, a tiny deterministic encoder implementing the Encoder
protocol of assistant.ingestion: what is tested is the stores' agreement, not the model, and
the state machine runs hundreds of writes. One example runs the same checks with the real
model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import get_args, get_type_hints

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from assistant import doctor
from assistant.chunking import chunk_article
from assistant.ingestion import Ingestor
from assistant.lexical import TRIGRAM, WORDS, LexicalIndex
from assistant.loading import load_text
from assistant.store import Store, Version
from assistant.types import Problem

WORD = re.compile(r"\S+")


class HashEncoder:
    """Deterministic unit vectors from word hashes; whitespace tokens (a stand-in model)."""

    max_tokens = 12
    dimension = 16

    def __init__(self, salt: str = "") -> None:
        self.salt = salt

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in WORD.finditer(text)]

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.split():
                digest = hashlib.sha256((self.salt + word).encode()).digest()
                out[row] += np.frombuffer(digest[: self.dimension], dtype=np.uint8) - 127.5
            out[row] /= np.linalg.norm(out[row]) or 1.0
        return out


def article(name: str, words: int, marker: str):
    """A pasted article of ``words`` filler words around a unique marker word."""
    body = " ".join(f"wort{i % 7}." if i % 5 == 4 else f"wort{i % 7}" for i in range(words))
    return load_text(f"{marker} {body} {marker}", source=f"/docs/{name}", title=name)


def index(store: Store, encoder: HashEncoder, art) -> None:
    chunks = chunk_article(art, encoder.token_spans, encoder.max_tokens, 3)
    store.replace_many([Version(art, chunks, encoder.encode_documents([c.text for c in chunks]))])


def behind_the_triggers(directory: Path, index: LexicalIndex) -> None:
    """Remove one chunk's row from a lexical index behind the triggers' back, through a
    connection of its own (as another program, or a damaged page, would)."""
    db = sqlite3.connect(directory / "manifest.sqlite")
    with db:
        db.execute(
            f"INSERT INTO {index.table}({index.table}, rowid, text) SELECT 'delete', rowid, text"
            " FROM chunks LIMIT 1"
        )
    db.close()


@pytest.fixture
def store(tmp_path: Path):
    opened = Store(tmp_path / "index", "hash", encoder=HashEncoder()).open()
    yield opened
    opened.close()


def test_a_healthy_index_has_no_problems(store: Store):
    index(store, store.encoder, article("a", 40, "alpha"))
    assert doctor.check(store) == []
    assert doctor.repair(store) == []


def test_dense_entries_without_a_document_are_deleted_at_open(tmp_path: Path):
    store = Store(tmp_path / "ix", "hash", encoder=HashEncoder()).open()
    art = article("a", 40, "alpha")
    index(store, store.encoder, art)
    orphan = article("ghost", 10, "ghost")
    chunks = chunk_article(orphan, store.encoder.token_spans, 12, 3)
    doc = store.documents()[0]
    vectors = store.encoder.encode_documents([c.text for c in chunks])
    store.upsert_dense([(c, doc) for c in chunks], vectors)
    assert {p.kind for p in store.disagreements()} == {"orphan_dense"}
    store.close()
    reopened = Store(tmp_path / "ix", "hash", encoder=HashEncoder()).open()
    assert reopened.disagreements() == []
    assert [(r.kind, r.count, r.done) for r in reopened.repairs] == [
        ("deleted_orphans", len(chunks), True)
    ]
    reopened.close()


def test_missing_dense_entries_are_reported_then_repaired(tmp_path: Path):
    store = Store(tmp_path / "ix", "hash").open()  # no encoder: it can only report
    index(store, HashEncoder(), article("a", 40, "alpha"))
    store.delete_dense(set(list(store.dense_ids())[:2]))
    store.close()
    store = Store(tmp_path / "ix", "hash").open()
    assert [(r.kind, r.count, r.done) for r in store.repairs] == [("reembedded", 2, False)]
    assert "assistant doctor --repair" in str(store.repairs[0])  # it says how to repair
    store.encoder = HashEncoder()
    assert [p.kind for p in doctor.check(store)] == ["missing_dense"] * 2
    assert [(r.kind, r.count, r.done) for r in doctor.repair(store)] == [("reembedded", 2, True)]
    assert doctor.check(store) == []
    store.close()


def test_a_broken_lexical_index_is_rebuilt(store: Store):
    index(store, store.encoder, article("a", 40, "alpha"))
    behind_the_triggers(store.directory, WORDS)
    assert [(p.kind, p.ids) for p in doctor.check(store)] == [("lexical", ("fts_words",))]
    assert [r.kind for r in doctor.repair(store)] == ["relexed"]
    assert doctor.check(store) == []
    assert {i for i, _ in store.lexical('"alpha"', 10, WORDS)}


CRASHING_WRITER = """
import os, signal, sys
sys.path.insert(0, sys.argv[2])
from test_consistency import HashEncoder, article, index
from assistant.store import Store
store = Store(sys.argv[1], "hash", encoder=HashEncoder()).open()
for n in range(30):
    index(store, store.encoder, article(f"d{n}", 400, f"m{n}"))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_dense_index_truncated_by_a_crash_is_moved_aside_and_rebuilt(tmp_path: Path):
    # A writer dies by SIGKILL after writing past Chroma's sync threshold (1000 vectors, so
    # HNSW files are on disk); then its segment files are cut short, as a crash mid-flush
    # would. Chroma's loader can die of a segfault on such files: opening must survive it.
    here = str(Path(__file__).parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([here, *sys.path])}
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, str(tmp_path / "ix"), here], env=env
    )
    assert crashed.returncode == -signal.SIGKILL
    segments = list((tmp_path / "ix" / "chroma").glob("*/*.bin"))
    assert segments, "Chroma wrote no HNSW segment files"
    for segment in segments:
        with segment.open("r+b") as handle:
            handle.truncate(100)
    reopened = Store(tmp_path / "ix", "hash", encoder=HashEncoder()).open()
    assert len(reopened.documents()) == 30
    assert len(reopened.dense_ids()) == reopened.chunk_count() > 1000
    assert reopened.repairs[0].kind == "moved_aside"
    assert reopened.disagreements() == []
    assert list((tmp_path / "ix").glob("chroma.broken-*"))
    reopened.close()


def test_a_model_whose_weights_changed_is_detected_and_reembedded(tmp_path: Path):
    store = Store(tmp_path / "ix", "hash", encoder=HashEncoder()).open()
    index(store, store.encoder, article("a", 40, "alpha"))
    store.encoder = HashEncoder(salt="other weights")
    problems = doctor.check(store)
    assert problems and {p.kind for p in problems} == {"model_drift"}
    assert [(r.kind, r.count) for r in doctor.repair(store)] == [
        ("reembedded", store.chunk_count())
    ]
    assert doctor.check(store) == []
    store.close()


# -- the state machine -----------------------------------------------------------------------


class StoresAgree(RuleBasedStateMachine):
    """Random adds, changes and removals; after each step the three stores agree and search
    finds exactly the live documents."""

    documents = Bundle("documents")

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(__import__("tempfile").mkdtemp())
        self.encoder = HashEncoder()
        self.store = Store(self.directory, "hash", encoder=self.encoder).open()
        self.ingestor = Ingestor(self.store, self.encoder, chunk_tokens=12, chunk_overlap=3)
        self.live: dict[str, str] = {}  # name → marker
        self.version = 0

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _write(self, name: str, words: int) -> None:
        self.version += 1
        marker = f"marker{self.version}"
        self.ingestor.add_article(article(name, words, marker))
        self.live[name] = marker

    @rule(
        target=documents, name=st.text("abcdefgh", min_size=1, max_size=6), words=st.integers(1, 60)
    )
    def add(self, name: str, words: int) -> str:
        self._write(name, words)
        return name

    @rule(name=documents, words=st.integers(1, 60))
    def change(self, name: str, words: int) -> None:
        self._write(name, words)

    @rule(name=consumes(documents))
    def remove(self, name: str) -> None:
        if name in self.live:
            self.store.remove(self.store.resolve(f"/docs/{name}").doc_id)
            del self.live[name]

    @rule()
    def reopen(self) -> None:
        self.store.close()
        self.store = Store(self.directory, "hash", encoder=self.encoder).open()
        self.ingestor = Ingestor(self.store, self.encoder, chunk_tokens=12, chunk_overlap=3)

    @invariant()
    def stores_agree(self) -> None:
        assert self.store.disagreements() == []
        assert {d.title for d in self.store.documents()} == set(self.live)

    @invariant()
    def search_finds_exactly_the_live_documents(self) -> None:
        for name, marker in self.live.items():
            hits = self.store.passages(self.store.lexical(f'"{marker}"', 50, WORDS))
            assert {p.title for p in hits} == {name}
        for old in range(1, self.version + 1):
            if f"marker{old}" not in self.live.values():
                assert self.store.lexical(f'"marker{old}"', 50, WORDS) == []
        chunks = self.store.chunks(sorted(self.store.dense_ids()))
        vectors = self.encoder.encode_documents([c.text for c, _ in chunks])
        for (_, doc), vector in zip(chunks[:5], vectors, strict=False):
            best = self.store.dense(vector, 1)[0][0]
            # the stand-in encoder is a bag of words: chunks of the same words tie exactly
            same = {
                c.chunk_id for (c, _), v in zip(chunks, vectors, strict=True) if v @ vector > 0.9999
            }
            assert best in same
            assert doc.title in self.live


StoresAgree.TestCase.settings = settings(
    max_examples=10,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStoresAgree = StoresAgree.TestCase


def test_the_stores_agree_with_the_real_model(assistant, tmp_path: Path):
    """One fixed run of the state machine's steps with the real model."""
    texts = {
        "zebra": "Zebras tanzen nachts in Namibia. Sie sind gestreift.",
        "comet": "A comet passed the earth on Tuesday. Astronomers watched it closely.",
    }
    for name, text in texts.items():
        assistant.add_article(load_text(text, source=f"/docs/{name}", title=name))
    assistant.add_article(load_text("Zebras schlafen tagsüber.", source="/docs/zebra"))
    assistant.remove("/docs/comet")
    assert doctor.check(assistant.store) == []
    assert [d.source for d in assistant.documents()] == ["/docs/zebra"]
    assert {p.source for p in assistant.search("comet astronomers")} <= {"/docs/zebra"}
    assert assistant.search("Wann schlafen Zebras?")[0].text == "Zebras schlafen tagsüber."


def test_the_doctor_command_reports_then_repairs(
    tmp_path: Path, embedder, corpus_dir: Path, capsys
):
    from assistant.cli import main
    from assistant.config import Settings
    from assistant.factory import build_assistant

    built = build_assistant(Settings(index=tmp_path / "ix"), embedder)
    built.ingest([corpus_dir])
    built.store.delete_dense(set(sorted(built.store.dense_ids())[:2]))
    behind_the_triggers(built.store.directory, TRIGRAM)
    built.close()

    assert main(["doctor", "--index", str(tmp_path / "ix"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    repaired, problems = report["repaired"], report["problems"]
    assert [(r["kind"], r["count"], r["done"]) for r in repaired] == [("reembedded", 2, True)]
    assert "embedded 2" in repaired[0]["message"]  # the line says what was done
    assert [(p["kind"], p["ids"]) for p in problems] == [("lexical", ["fts_trigram"])]
    assert "fts_trigram" in problems[0]["message"]  # and names what disagrees
    assert main(["doctor", "--index", str(tmp_path / "ix"), "--repair"]) == 0
    out = capsys.readouterr().out.splitlines()
    repaired_lines = [line for line in out if line.startswith("repaired: ")]
    assert any("lexical" in line for line in repaired_lines)  # names what it rebuilt
    assert out[-1].startswith("0 problems")


def test_every_kind_of_problem_has_a_repair():
    kinds = set(get_args(get_type_hints(Problem)["kind"]))
    assert {kind for served, _ in doctor.REPAIRS for kind in served} == kinds
