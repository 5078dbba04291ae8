"""Builds the real collaborators from Settings, in one place; the CLI, app and tests use it.

``Assistant`` is the facade the entry points talk to: ingest, list, remove, search, ask.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.answering import ExtractiveAnswerer
from assistant.config import Settings
from assistant.embedding import SentenceEmbeddings
from assistant.ingestion import Ingestor, IngestReport, Progress
from assistant.loading import Limits
from assistant.retrieval import HybridSearcher, PassageRetriever
from assistant.store import Store
from assistant.types import Answer, Article, DocumentInfo, Passage


@dataclass
class Assistant:
    """One open index with its model, searcher and answerer."""

    settings: Settings
    embedder: SentenceEmbeddings
    store: Store
    searcher: HybridSearcher
    answerer: ExtractiveAnswerer
    ingestor: Ingestor

    def ingest(self, paths: Iterable[str | Path], progress: Progress | None = None) -> IngestReport:
        """Index files and folders (see ``Ingestor.ingest``)."""
        return self.ingestor.ingest(paths, progress)

    def add_article(self, article: Article) -> IngestReport:
        """Index one loaded article."""
        return self.ingestor.add_article(article)

    def documents(self) -> list[DocumentInfo]:
        """The manifest."""
        return self.store.documents()

    def remove(self, doc_id_or_path: str) -> DocumentInfo:
        """Remove a document by id or source path; returns what was removed."""
        doc = self.store.resolve(doc_id_or_path)
        self.store.remove(doc.doc_id)
        return doc

    def search(self, question: str, k: int | None = None) -> list[Passage]:
        """The best passages for a question."""
        return self.searcher.search(question, k or self.settings.k)

    def ask(self, question: str) -> Answer:
        """A cited answer, or an abstention with the closest passages."""
        return self.answerer.answer(question, self.search(question))

    def retriever(self) -> PassageRetriever:
        """The search as a LangChain retriever."""
        return PassageRetriever(searcher=self.searcher, k=self.settings.k)

    def close(self) -> None:
        """Release the index."""
        self.store.close()


def build_embedder(settings: Settings) -> SentenceEmbeddings:
    """The configured embedding model (loaded lazily, on first use)."""
    return SentenceEmbeddings(
        settings.embedding_model, expected_sha256=settings.expected_sha256(), device=settings.device
    )


def build_assistant(
    settings: Settings | None = None, embedder: SentenceEmbeddings | None = None
) -> Assistant:
    """Open the configured index with the configured model (an embedder may be shared)."""
    settings = settings or Settings()
    embedder = embedder or build_embedder(settings)
    store = Store(
        settings.index, settings.embedding_model, chroma_url=settings.chroma_url, encoder=embedder
    )
    answerer = ExtractiveAnswerer(
        embedder,
        max_sentences=settings.answer_sentences,
        threshold=settings.abstain_threshold,
        crosslingual_threshold=settings.abstain_threshold_crosslingual,
    )
    ingestor = Ingestor(
        store,
        embedder,
        settings.chunk_tokens,
        settings.chunk_overlap,
        limits=Limits(settings.max_file_bytes, settings.max_pdf_pages, settings.max_unzipped_bytes),
    )
    return Assistant(settings, embedder, store, HybridSearcher(store, embedder), answerer, ingestor)
