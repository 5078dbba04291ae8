"""Builds the real collaborators from Settings, in one place; the CLI, app and tests use it.

``Assistant`` is the facade the entry points talk to: ingest, list, remove, search, ask.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.answering import ExtractiveAnswerer
from assistant.chat import Condenser, KeywordCondenser, LLMCondenser, Turn, history_search
from assistant.config import Settings
from assistant.embedding import SentenceEmbeddings
from assistant.ingestion import Ingestor, IngestReport, Progress
from assistant.loading import Limits
from assistant.retrieval import HybridSearcher, PassageRetriever
from assistant.store import Store
from assistant.types import Answer, Article, DocumentInfo, Passage

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.llm import Answerer, Event


@dataclass
class Assistant:
    """One open index with its model, searcher and answerer."""

    settings: Settings
    embedder: SentenceEmbeddings
    store: Store
    searcher: HybridSearcher
    answerer: Answerer
    ingestor: Ingestor
    condenser: Condenser = field(default_factory=KeywordCondenser)

    def ingest(
        self,
        paths: Iterable[str | Path],
        progress: Progress | None = None,
        embedded: Progress | None = None,
    ) -> IngestReport:
        """Index files and folders (see ``Ingestor.ingest``: files read, texts embedded)."""
        return self.ingestor.ingest(paths, progress, embedded)

    def add_article(self, article: Article, embedded: Progress | None = None) -> IngestReport:
        """Index one loaded article."""
        return self.ingestor.add_article(article, embedded)

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

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        """A cited answer, or an abstention with the closest passages (``history``: the
        conversation so far, for follow-up questions)."""
        *_, last = self.stream(question, history)
        assert isinstance(last, Answer)
        return last

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Event]:
        """The answer's text as it is written (LLM answerers), then the finished Answer."""
        from assistant.llm import answer_stream

        standalone = self.condenser.condense(question, history) if history else question
        passages = history_search(self.search, question, standalone, history, self.settings.k)
        for event in answer_stream(self.answerer, standalone, passages):
            yield replace(event, question=question) if isinstance(event, Answer) else event

    def retriever(self) -> PassageRetriever:
        """The search as a LangChain retriever."""
        return PassageRetriever(searcher=self.searcher, k=self.settings.k)

    def close(self) -> None:
        """Release the index."""
        self.store.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    if settings.answerer != "extractive":  # before the index is opened (and locked)
        from assistant.llm import require_model

        require_model(settings.answerer, settings.llm_model)
    embedder = embedder or build_embedder(settings)
    store = Store(
        settings.index, settings.embedding_model, chroma_url=settings.chroma_url, encoder=embedder
    )
    answerer, condenser = build_answerer(settings, embedder, store)
    ingestor = Ingestor(
        store,
        embedder,
        settings.chunk_tokens,
        settings.chunk_overlap,
        sentence_vectors=settings.sentence_vectors,
        limits=Limits(settings.max_file_bytes, settings.max_pdf_pages, settings.max_unzipped_bytes),
    )
    searcher = HybridSearcher(store, embedder)
    return Assistant(settings, embedder, store, searcher, answerer, ingestor, condenser)


def build_answerer(
    settings: Settings, embedder: SentenceEmbeddings, store: Store
) -> tuple[Answerer, Condenser]:
    """The configured answerer (the extractive one is also the LLM's fallback) and the
    condenser that makes follow-up questions standalone."""
    extractive = ExtractiveAnswerer(
        embedder,
        max_sentences=settings.answer_sentences,
        threshold=settings.abstain_threshold,
        crosslingual_threshold=settings.abstain_threshold_crosslingual,
        sentence_vectors=store.sentence_vectors,
    )
    if settings.answerer == "extractive":
        return extractive, KeywordCondenser()
    return build_llm(settings, embedder, fallback=extractive)


def reconfigured(assistant: Assistant, settings: Settings) -> Assistant:
    """The same open index and model, answering with other settings (answerer, k, thresholds)."""
    answerer, condenser = build_answerer(settings, assistant.embedder, assistant.store)
    return replace(assistant, settings=settings, answerer=answerer, condenser=condenser)


def build_llm(
    settings: Settings, embedder: SentenceEmbeddings, fallback: Answerer | None = None
) -> tuple[Answerer, Condenser]:
    """The configured LLM answerer (built lazily, on first question) and its condenser."""
    from assistant.llm import (
        LazyModel,
        LLMAnswerer,
        build_chat_model,
        transport_errors,
    )
    from assistant.support import SupportScorer

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None

    def chat_model() -> BaseChatModel:
        return build_chat_model(
            settings.answerer,
            settings.llm_model,
            base_url=settings.llm_base_url,
            api_key=key,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout,
            max_tokens=settings.llm_max_tokens,
        )

    model = LazyModel(chat_model)
    scorer = SupportScorer(
        embedder,
        threshold=settings.support_threshold,
        crosslingual_threshold=settings.support_threshold_crosslingual,
    )
    errors = transport_errors(settings.answerer)
    answerer = LLMAnswerer(model, scorer, fallback=fallback, errors=errors)
    return answerer, LLMCondenser(model, errors=errors)
