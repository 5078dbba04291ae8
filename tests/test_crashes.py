"""`assistant ingest` killed with SIGKILL at random moments: the index still opens, agrees
with itself (repaired at open where needed), answers, keeps what it had, and a re-run
completes.

CI runs 3 kills on 16 files; the slow test runs 24 on 48 (at least 15 must land before the run
ends):
    pytest -m slow tests/test_crashes.py
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import doctor
from assistant.config import Settings
from assistant.factory import build_assistant

TOPICS = ("Zebras", "Kometen", "Vulkane", "Gletscher", "Orchideen", "Leuchttürme")


def write_corpus(folder: Path, version: int, files: int = 48) -> None:
    """Small articles whose text changes with ``version`` (so every run has work to do)."""
    folder.mkdir(exist_ok=True)
    for n in range(files):
        topic = TOPICS[n % len(TOPICS)]
        sentences = [
            f"{topic} Nummer {n} in Fassung {version} wurden im Jahr {1900 + n + i} beobachtet."
            for i in range(8)
        ]
        (folder / f"artikel-{n:02d}.txt").write_text(" ".join(sentences), encoding="utf-8")


def ingest(folder: Path, index: Path) -> subprocess.Popen:
    env = {**os.environ, "ASSISTANT_INDEX": str(index), "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", "ingest", str(folder)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 300) -> float:
    """Seconds until ``path`` exists (the store's marker of its first write)."""
    start = time.monotonic()
    while not path.exists() and process.poll() is None:
        if time.monotonic() - start > timeout:
            raise TimeoutError(path)
        time.sleep(0.01)
    return time.monotonic() - start


def first_ingest(folder: Path, index: Path, embedder) -> float:
    """Build the index in this process; returns the seconds it spent writing (after the last
    texts were embedded), the window a kill should land in."""
    embedded: list[float] = []
    assistant = build_assistant(Settings(index=index), embedder)
    try:
        assistant.ingest([folder], embedded=lambda *_: embedded.append(time.monotonic()))
    finally:
        assistant.close()
    return time.monotonic() - embedded[-1]


def kill_and_check(
    tmp_path: Path, embedder, kills: int, seed: int, files: int = 48
) -> dict[str, int]:
    rng = random.Random(seed)
    folder, index = tmp_path / "docs", tmp_path / "index"
    marker = index / ".unclean"  # appears at a store's first write, goes at its close
    write_corpus(folder, 0, files)
    window = first_ingest(folder, index, embedder)  # in-process: no second model load
    known: set[str] = set()
    figures = {"kills": 0, "repaired_at_open": 0}
    for version in range(1, kills + 1):
        write_corpus(folder, version, files)
        process = ingest(folder, index)
        wait_for(marker, process)
        time.sleep(rng.uniform(0, 0.9 * window))  # kill while it writes
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        figures["kills"] += process.returncode == -signal.SIGKILL
        assistant = build_assistant(Settings(index=index), embedder)
        try:
            # building it opened the index, which checks and repairs
            figures["repaired_at_open"] += bool(assistant.store.repairs)
            assert doctor.check(assistant.store) == []
            docs = {d.doc_id for d in assistant.documents()}
            assert known <= docs, "a document indexed before the kill was lost"
            known = docs
            passages = assistant.search("Wann wurden Zebras beobachtet?")
            assert passages and "Zebras" in passages[0].text
        finally:
            assistant.close()
    assistant = build_assistant(Settings(index=index), embedder)
    try:
        assert not assistant.ingest([folder]).failed  # the re-run completes
        assert doctor.check(assistant.store) == []
        assert len(assistant.documents()) == files
        latest = assistant.search(f"Fassung {kills}", k=3)
        assert f"Fassung {kills}" in latest[0].text
    finally:
        assistant.close()
    return figures


def test_ingest_survives_a_few_kills(tmp_path: Path, embedder):
    figures = kill_and_check(tmp_path, embedder, kills=3, seed=8, files=16)
    print(f"\nkills survived: {figures}")
    assert figures["kills"] >= 2, figures  # a run may finish before its kill comes


@pytest.mark.slow
def test_ingest_survives_twenty_kills(tmp_path: Path, embedder):
    figures = kill_and_check(tmp_path, embedder, kills=24, seed=20)
    print(f"\nkills survived: {figures}")
    assert figures["kills"] >= 15, figures
