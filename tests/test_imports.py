"""Importing the package is cheap: no torch, no model, no chromadb, no network."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "sentence_transformers", "transformers", "chromadb", "streamlit")


def test_import_assistant_loads_nothing_heavy():
    code = (
        "import sys, assistant, assistant.cli, assistant.config;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_help_runs_without_loading_the_model():
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert all(c in done.stdout for c in ("ingest", "list", "remove", "search", "ask"))
