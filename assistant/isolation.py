"""One document's fetching and parsing in a worker process with a time and a memory limit.

Parsers of hostile files (a PDF whose pages share one huge content stream, a .docx that
unpacks to hundreds of megabytes, a server that sends a byte now and then) can take hours or
gigabytes. Each job runs in a warm worker process (``python -m assistant.isolation``, the
parsers imported once) under an address-space limit; the parent kills the worker at the
deadline and starts a fresh one for the next job. What goes wrong becomes a ``LoadError``
for that one document, so a batch reports it on one line and goes on.
"""

from __future__ import annotations

import os
import pickle
import resource
import selectors
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from assistant.errors import LoadError, UnsupportedFileError

T = TypeVar("T")
_HEADER = struct.Struct("!Q")
_READY = b"ready\n"
_START_S = 120.0  # a cold start imports the parsers (a few seconds on a busy machine)
_idle: list[_Worker] = []
_idle_lock = threading.Lock()


@dataclass(frozen=True)
class Budget:
    """What one document may cost: wall-clock seconds and address space in bytes."""

    seconds: float = 120.0
    memory_bytes: int = 2_048 * 2**20


def run_limited(job: Callable[[], T], where: str, budget: Budget) -> T:
    """``job()`` run in a worker within ``budget``; a LoadError naming ``where`` when it
    fails, runs out of time or memory, or its process dies."""
    worker = _take()
    healthy = False
    try:
        kind, value = worker.run(job, where, budget)
        healthy = kind in ("ok", "error")
    finally:
        _give_back(worker, healthy)
    return _outcome(kind, value, where, budget)  # type: ignore[no-any-return]


def _outcome(kind: str, value: Any, where: str, budget: Budget) -> Any:
    if kind == "ok":
        return value
    if kind == "error":
        path, reason, unsupported = value
        raise (UnsupportedFileError if unsupported else LoadError)(path, reason)
    if kind == "memory":
        raise LoadError(
            where,
            f"reading it needs more than {budget.memory_bytes // 2**20:,} MB of memory, so it "
            "was skipped: split it, or raise ASSISTANT_PARSE_MEMORY_MB",
        )
    raise LoadError(
        where,
        f"the file could not be parsed ({value}); it was skipped: re-save it in another "
        "program, or report it as a bug",
    )


class _Worker:
    """A child process that runs pickled jobs one at a time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistant.isolation"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        self.ready = False

    def run(self, job: Callable[[], Any], where: str, budget: Budget) -> tuple[str, Any]:
        """Send one job; its (kind, value), or ("crash", why) when the process failed."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            if not self.ready:
                self.ready = _read_exact(stdout, len(_READY), time.monotonic() + _START_S) == _READY
            payload = pickle.dumps((job, budget.memory_bytes))
            stdin.write(_HEADER.pack(len(payload)) + payload)
            stdin.flush()
            deadline = time.monotonic() + budget.seconds
            (size,) = _HEADER.unpack(_read_exact(stdout, _HEADER.size, deadline))
            return pickle.loads(_read_exact(stdout, size, deadline))  # type: ignore[no-any-return]
        except TimeoutError:
            self.kill()
            raise LoadError(
                where,
                f"reading it took longer than {budget.seconds:g} s, so it was stopped and "
                "skipped: split it, or raise ASSISTANT_PARSE_TIMEOUT",
            ) from None
        except (OSError, EOFError, pickle.PickleError, struct.error):
            self.kill()
            return "crash", f"the reader process stopped (exit code {self.process.returncode})"

    def kill(self) -> None:
        """End the process (a job over its time, or a broken one)."""
        self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


def _read_exact(stream: IO[bytes], size: int, deadline: float) -> bytes:
    """``size`` bytes from a pipe before the deadline (TimeoutError), or EOFError."""
    data = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while len(data) < size:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise TimeoutError
            piece = os.read(stream.fileno(), size - len(data))
            if not piece:
                raise EOFError
            data += piece
    return bytes(data)


def _take() -> _Worker:
    with _idle_lock:
        if _idle:
            return _idle.pop()
    return _Worker()


def _give_back(worker: _Worker, healthy: bool) -> None:
    if healthy and worker.process.poll() is None:
        with _idle_lock:
            _idle.append(worker)
    elif worker.process.poll() is None:
        worker.kill()


def _serve() -> None:
    """The worker's loop: read a job, run it under its memory limit, write its outcome."""
    import assistant._preload  # noqa: F401 - the parsers, imported once

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a parser's stray print must not corrupt the protocol
    stdout.write(_READY)
    stdout.flush()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    while header := stdin.read(_HEADER.size):
        (size,) = _HEADER.unpack(header)
        job, memory_bytes = pickle.loads(stdin.read(size))
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, hard))
        outcome = _run_job(job)
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        payload = pickle.dumps(outcome)
        stdout.write(_HEADER.pack(len(payload)) + payload)
        stdout.flush()


def _run_job(job: Callable[[], Any]) -> tuple[str, Any]:
    try:
        result = job()
        pickle.dumps(result)  # fails here, not half-written on the pipe
        return "ok", result
    except LoadError as exc:
        return "error", (exc.path, exc.reason, isinstance(exc, UnsupportedFileError))
    except MemoryError:
        return "memory", None
    except Exception as exc:  # a parser of a hostile file raises anything: report, not crash
        return "crash", f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


if __name__ == "__main__":
    _serve()
