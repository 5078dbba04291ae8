"""LangChain's standard test suites (``langchain-tests``) for our retriever and embeddings."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import (
    EmbeddingsIntegrationTests,
    RetrieversIntegrationTests,
)
from langchain_tests.unit_tests import EmbeddingsUnitTests

from assistant.config import Settings
from assistant.e5 import E5_NAME, E5Embeddings
from assistant.embedding import Embedder
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
def searcher(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder):
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


class _DefaultModel:
    """The default embedder's class and parameters, for both of LangChain's suites."""

    @property
    def embeddings_class(self) -> type[E5Embeddings]:
        return E5Embeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"name": E5_NAME}


class TestDefaultEmbeddingsUnit(_DefaultModel, EmbeddingsUnitTests):
    """Construction without loading anything (the class is lazy)."""


class TestDefaultEmbeddings(_DefaultModel, EmbeddingsIntegrationTests):
    @pytest.fixture
    def model(self, embedder: Embedder) -> Embedder:
        """The session's loaded model (the suite would load its own per test)."""
        return embedder
