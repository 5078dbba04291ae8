"""Files → index: load, skip what is current, chunk, embed in large batches, write.

A file that fails to load is reported (path + reason) and skipped; the others go on, and
nothing already indexed is touched by a failure. Loading runs in a worker process within a
time and memory ``Budget`` (see ``isolation``) and outside ``lock``: only the checks and
writes against the store hold it, so questions are answered while a slow file is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from assistant.chunking import chunk_article, quoted_sentences, split_sentences
from assistant.errors import LoadError
from assistant.isolation import Budget, run_limited
from assistant.loading import Limits, discover, load_file
from assistant.store import Store, Version
from assistant.tuning import CHUNK_CHARS
from assistant.types import Article, Chunk

if TYPE_CHECKING:
    import numpy as np

    from assistant.embedding import Embedder

#: progress(done, total, what): called as work advances (files read, or texts embedded).
Progress = Callable[[int, int, str], None]
SentenceMode = Literal["lazy", "ingest", "pooled"]
#: ``what`` of the embedding progress: chunks and quotable sentences, in length order.
EMBEDDING = "embedding"


@dataclass(frozen=True)
class Failure:
    """A file that could not be indexed, and why."""

    path: str
    error: str


@dataclass
class IngestReport:
    """What an ingest did, per document source."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    chunks: int = 0

    def merge(self, other: IngestReport) -> None:
        """Add another report's outcomes to this one."""
        for name in ("added", "updated", "unchanged", "removed", "failed"):
            getattr(self, name).extend(getattr(other, name))
        self.chunks += other.chunks

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of `assistant ingest --json`."""
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "failed": [{"path": f.path, "error": f.error} for f in self.failed],
        }


@dataclass
class Ingestor:
    """Brings files into a store through an encoder, in batches of chunks."""

    store: Store
    encoder: Embedder
    chunk_tokens: int = 254
    chunk_overlap: int = 64
    batch_chunks: int = 256
    #: texts per encoder call: the unit of the embedding progress
    embed_slice: int = 32
    #: lazy: sentences encoded when a question first reads them; ingest: chunks and
    #: sentences encoded apart; pooled: chunk vectors pooled from sentence vectors
    sentence_vectors: SentenceMode = "lazy"
    limits: Limits = field(default_factory=Limits)
    #: Time and memory of loading one file in a worker process; None: in this process.
    budget: Budget | None = field(default_factory=Budget)
    chunk_chars: int = 2_000
    #: characters of whole sentences a chunk gathers (``chunking.chunk_article``)
    chunk_target_chars: int | None = CHUNK_CHARS
    _pending: list[tuple[Article, list[Chunk], bool]] = field(default_factory=list)
    _embedded: Progress | None = None
    _texts: tuple[int, int] = (0, 0)  # (embedded, queued) in this call

    def ingest(
        self,
        paths: Iterable[str | Path],
        progress: Progress | None = None,
        embedded: Progress | None = None,
        lock: AbstractContextManager[object] | None = None,
        force: bool = False,
    ) -> IngestReport:
        """Index files and folders; sync away documents whose files left an ingested folder.

        ``progress`` counts files read, ``embedded`` texts embedded (of those read so far):
        the embedding is most of the wait, and it ends only when everything is written.
        ``lock`` is held only while the store is read or written, never while a file loads.
        ``force`` cuts and embeds unchanged files again (after a change of the chunk settings:
        an index keeps the chunks it was built with).
        """
        paths = list(paths)
        lock = lock or nullcontext()
        files, errors = discover(paths)
        report = IngestReport(failed=[Failure(e.path, e.reason) for e in errors])
        self._embedded, self._texts = embedded, (0, 0)
        for done, path in enumerate(files, 1):
            self._ingest_file(path, report, lock, force)
            if progress:
                progress(done, len(files), path.name)
        with lock:
            self._flush(report)
            self._remove_vanished(paths, {str(f.resolve()) for f in files}, report)
        return report

    def add_article(self, article: Article, embedded: Progress | None = None) -> IngestReport:
        """Index one already-loaded article (pasted text, a fetched page)."""
        report = IngestReport()
        self._embedded, self._texts = embedded, (0, 0)
        self._add(article, report)
        self._flush(report)
        return report

    def load(self, path: Path) -> Article:
        """One file as an Article, within the budget; a LoadError says why not."""
        job = partial(load_file, path, **asdict(self.limits))
        return run_limited(job, str(path), self.budget) if self.budget else job()

    def _ingest_file(
        self, path: Path, report: IngestReport, lock: AbstractContextManager[object], force: bool
    ) -> None:
        try:
            article = self.load(path)
        except LoadError as exc:
            report.failed.append(Failure(exc.path, exc.reason))
            return
        except Exception as exc:  # parsers of hostile files raise anything; skip, go on
            reason = (
                f"the file could not be parsed ({type(exc).__name__}: {exc}); it was skipped: "
                "re-save it in another program, or report it as a bug"
            )
            report.failed.append(Failure(str(path), reason))
            return
        with lock:
            current = self.store.is_current(article)
        if current and not force:
            report.unchanged.append(article.source)
            return
        chunks = self._chunk(article)  # pure, and slow for a huge text: outside the lock
        with lock:
            self._queue(article, chunks, report)

    def _add(self, article: Article, report: IngestReport) -> None:
        if self.store.is_current(article):
            report.unchanged.append(article.source)
            return
        self._queue(article, self._chunk(article), report)

    def _chunk(self, article: Article) -> list[Chunk]:
        max_tokens = min(self.chunk_tokens, self.encoder.max_tokens)
        overlap = min(self.chunk_overlap, max_tokens // 2)
        return chunk_article(
            article,
            self.encoder.token_spans,
            max_tokens,
            overlap,
            max_chars=self.chunk_chars,
            target_chars=self.chunk_target_chars,
        )

    def _queue(self, article: Article, chunks: list[Chunk], report: IngestReport) -> None:
        is_new = self.store.document(article.doc_id) is None
        self._pending.append((article, chunks, is_new))
        if sum(len(c) for _, c, _ in self._pending) >= self.batch_chunks:
            self._flush(report)

    def _flush(self, report: IngestReport) -> None:
        """Embed the pending articles and write the batch in one transaction."""
        if not self._pending:
            return
        versions = self._pooled() if self.sentence_vectors == "pooled" else self._separate()
        for article, chunks, is_new in self._pending:
            (report.added if is_new else report.updated).append(article.source)
            report.chunks += len(chunks)
        self.store.replace_many(versions)
        self._pending.clear()

    def _pooled(self) -> list[Version]:
        """One encoder pass over the sentences: every sentence (and piece of one) of every
        chunk is embedded once, and a chunk's vector is the length-weighted mean of its
        sentences' (e5 pools its tokens by their mean the same way). The quotable sentences'
        vectors are stored for the answerer."""
        import numpy as np

        units = [_units(chunks) for _, chunks, _ in self._pending]
        texts = [a.text[s:e] for (a, _, _), doc in zip(self._pending, units, strict=True)
                 for s, e in doc]  # fmt: skip
        vectors, at, versions = self._encode(texts), 0, []
        for (article, chunks, _), doc in zip(self._pending, units, strict=True):
            rows = dict(zip(doc, vectors[at : at + len(doc)], strict=True))
            at += len(doc)
            pooled = np.stack([_mean_of(rows, _chunk_units(c)) for c in chunks])
            quoted = list(dict.fromkeys(span for c in chunks for span in quoted_sentences(c)))
            matrix = np.stack([rows[span] for span in quoted]) if quoted else None
            sentences = (quoted, matrix) if matrix is not None else None
            versions.append(Version(article, chunks, pooled, sentences))
        return versions

    def _separate(self) -> list[Version]:
        """Every pending chunk and (unless lazy) quotable sentence embedded in one call (the
        encoder sorts by length, so short sentences batch together)."""
        spans = [self._sentences(article, chunks) for article, chunks, _ in self._pending]
        texts = [c.text for _, chunks, _ in self._pending for c in chunks]
        for (article, _, _), doc in zip(self._pending, spans, strict=True):
            texts += [article.text[s:e] for s, e in doc]
        vectors = self._encode(texts)
        chunk_at, sentence_at = 0, sum(len(c) for _, c, _ in self._pending)
        versions = []
        for (article, chunks, _), doc in zip(self._pending, spans, strict=True):
            rows = vectors[sentence_at : sentence_at + len(doc)]
            chunk_vectors = vectors[chunk_at : chunk_at + len(chunks)]
            sentences = (doc, rows) if doc else None
            versions.append(Version(article, chunks, chunk_vectors, sentences))
            chunk_at, sentence_at = chunk_at + len(chunks), sentence_at + len(doc)
        return versions

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Embed in slices of similar length (as the encoder would batch them), reporting
        each slice done."""
        import numpy as np

        if not texts:
            return np.empty((0, 0), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        done, queued = self._texts[0], self._texts[1] + len(texts)
        parts = []
        for at in range(0, len(order), self.embed_slice):
            part = order[at : at + self.embed_slice]
            parts.append(np.asarray(self.encoder.encode_documents([texts[i] for i in part])))
            done += len(part)
            if self._embedded:
                self._embedded(done, queued, EMBEDDING)
        self._texts = (done, queued)
        vectors = np.empty((len(texts), parts[0].shape[1]), dtype=parts[0].dtype)
        vectors[order] = np.concatenate(parts)
        return vectors

    def _sentences(self, article: Article, chunks: list[Chunk]) -> list[tuple[int, int]]:
        """The sentences the answerer will quote from these chunks (none when lazy)."""
        if self.sentence_vectors != "ingest":
            return []
        return list(dict.fromkeys(span for c in chunks for span in quoted_sentences(c)))

    def _remove_vanished(
        self, paths: list[str | Path], seen: set[str], report: IngestReport
    ) -> None:
        folders = [Path(p).resolve() for p in paths if Path(p).is_dir()]
        for doc in self.store.documents():
            source = Path(doc.source)
            inside = any(source.is_relative_to(folder) for folder in folders)
            if inside and doc.source not in seen and not source.exists():
                self.store.remove(doc.doc_id)
                report.removed.append(doc.source)


def _chunk_units(chunk: Chunk) -> list[tuple[int, int]]:
    """Document spans of every sentence (or piece of one) of a chunk: together, its text."""
    return [(chunk.start + s.start, chunk.start + s.end) for s in split_sentences(chunk.text)]


def _units(chunks: Sequence[Chunk]) -> list[tuple[int, int]]:
    """The sentence spans of an article's chunks, each once (neighbouring chunks overlap)."""
    return list(dict.fromkeys(span for c in chunks for span in _chunk_units(c)))


def _mean_of(
    rows: dict[tuple[int, int], np.ndarray], spans: Sequence[tuple[int, int]]
) -> np.ndarray:
    """Unit-length mean of the spans' vectors, each weighted by its length."""
    import numpy as np

    total = np.sum([(e - s) * rows[(s, e)] for s, e in spans], axis=0)
    return np.asarray(total / (np.linalg.norm(total) or 1.0), dtype=np.float32)
