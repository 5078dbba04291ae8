"""LangChain's standard test suites (``langchain-tests``) for our retriever and embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import (
    EmbeddingsIntegrationTests,
    RetrieversIntegrationTests,
)
from langchain_tests.unit_tests import EmbeddingsUnitTests

from assistant.config import Settings
from assistant.embedding import SentenceEmbeddings
from assistant.factory import build_assistant
from assistant.loading import load_text
from assistant.retrieval import PassageRetriever

# Short articles: enough passages for k=3, quick to embed.
ARTICLES = {
    "zebras": "Zebras live in Namibia. Their stripes confuse biting flies.",
    "visit": "The president visits Moscow in May. Experts expect no breakthrough.",
    "bread": "Sourdough bread needs a starter. It rises slowly overnight.",
    "rivers": "The Danube flows through ten countries. It ends in the Black Sea.",
}
_OPEN: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def searcher(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceEmbeddings):
    """A small real index, opened for the module; the suites construct retrievers over it."""
    directory = tmp_path_factory.mktemp("standard") / "index"
    opened = build_assistant(Settings(index=directory), embedder)
    for name, text in ARTICLES.items():
        opened.add_article(load_text(text, source=f"pasted:{name}", title=name))
    _OPEN["searcher"] = opened.searcher
    yield opened.searcher
    opened.close()


class TestPassageRetriever(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[PassageRetriever]:
        return PassageRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"searcher": _OPEN["searcher"]}

    @property
    def retriever_query_example(self) -> str:
        return "What do experts expect from the visit?"


def _model_params() -> dict[str, Any]:
    settings = Settings(index=Path("unused"))
    return {"model": settings.embedding_model, "expected_sha256": settings.expected_sha256()}


class TestSentenceEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[SentenceEmbeddings]:
        return SentenceEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return _model_params()


class TestSentenceEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[SentenceEmbeddings]:
        return SentenceEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return _model_params()

    @pytest.fixture
    def model(self, embedder: SentenceEmbeddings) -> SentenceEmbeddings:
        """The session's loaded model (the suite would load its own per test)."""
        return embedder
