"""The attacks of issue 13, each with its hostile input built here (loopback servers only,
bounded loops): every one is refused or cut off at its limit with a one-line error, and the
index is intact afterwards."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from assistant.config import Settings
from assistant.errors import LoadError
from assistant.factory import Assistant, build_assistant
from assistant.fetching import FetchLimits, download, fetch_url

ARTICLE = b"Plain words about llamas and the old stone bridge of Quillacollo."
PRIVATE_HINT = "ASSISTANT_ALLOW_PRIVATE_URLS=true"


class Internal(BaseHTTPRequestHandler):
    """An internal service: records every request; /redirect-* send the client elsewhere,
    /drip sends one byte every 0.2 s (at most 100)."""

    hits: ClassVar[list[str]] = []
    target: ClassVar[str] = ""

    def do_GET(self) -> None:  # the http.server interface
        Internal.hits.append(f"{self.server.server_address[0]}{self.path}")
        if self.path.startswith("/redirect-"):
            self.send_response(int(self.path.split("-")[1]))
            self.send_header("Location", Internal.target)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        if self.path == "/drip":
            for _ in range(100):
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(0.2)
            return
        self.wfile.write(ARTICLE)

    def log_message(self, *args: object) -> None:
        """Quiet."""


def serve(host: str) -> Iterator[int]:
    httpd = ThreadingHTTPServer((host, 0), Internal)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield int(httpd.server_address[1])
    httpd.shutdown()


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """An internal service on 127.0.0.1."""
    yield from serve("127.0.0.1")


@pytest.fixture(scope="module")
def other_port() -> Iterator[int]:
    """A second internal service, on 127.0.0.2 (another loopback address)."""
    yield from serve("127.0.0.2")


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Assistant]:
    """An assistant over an index holding one article, shared by this module's tests."""
    base = tmp_path_factory.mktemp("security")
    first = base / "before.txt"
    first.write_text("Seepferdchen leben im Meer und schwimmen aufrecht.", encoding="utf-8")
    opened = build_assistant(Settings(index=base / "index"), embedder)
    assert len(opened.ingest([first]).added) == 1
    yield opened
    opened.close()


def intact(assistant: Assistant) -> None:
    """The article indexed first is still there and found, and the indexes agree."""
    assert [Path(d.source).name for d in assistant.documents()][:1] == ["before.txt"]
    assert Path(assistant.search("Seepferdchen")[0].source).name == "before.txt"
    assert assistant.store.disagreements() == []


def _hosts_name() -> list[str]:
    """This machine's name from /etc/hosts (it resolves to a loopback or private address)."""
    name = socket.gethostname()
    try:
        socket.getaddrinfo(name, 80)
    except OSError:
        return []
    return [name]


INTERNAL_HOSTS = [
    "127.0.0.1", "localhost", "[::1]", "0.0.0.0", "2130706433", "0x7f000001", "127.1",
    "0177.0.0.1", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "169.254.169.254", "10.0.0.1",
    "192.168.1.1", "172.16.0.1", "100.64.0.1", "224.0.0.1", "240.0.0.1", "[fe80::1]",
    "[fc00::1]", "[::]", *_hosts_name(),
]  # fmt: skip


@pytest.mark.parametrize("host", INTERNAL_HOSTS)
def test_internal_addresses_are_refused_before_any_request(port: int, host: str) -> None:
    Internal.hits.clear()
    with pytest.raises(LoadError) as caught:
        fetch_url(f"http://{host}:{port}/secret", timeout=2)
    assert "internal address" in caught.value.reason
    assert PRIVATE_HINT in caught.value.reason
    assert "\n" not in str(caught.value)
    assert Internal.hits == []


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("where", ["http://127.0.0.2:{port}/secret", "http://2130706434:{port}/"])
def test_every_redirect_is_checked(port: int, other_port: int, code: int, where: str) -> None:
    """127.0.0.1 stands for a public server here; a redirect to any other address is an
    internal one and is refused before it is requested."""
    Internal.hits.clear()
    Internal.target = where.format(port=other_port)
    with pytest.raises(LoadError, match="resolves to 127.0.0.2, an internal address"):
        download(
            f"http://127.0.0.1:{port}/redirect-{code}",
            FetchLimits(timeout=5),
            allowed=lambda address: address == "127.0.0.1",
        )
    assert Internal.hits == [f"127.0.0.1/redirect-{code}"]


def test_private_addresses_are_fetched_only_when_allowed(port: int) -> None:
    assert fetch_url(f"http://127.0.0.1:{port}/a", allow_private=True).text == ARTICLE.decode()


def test_a_slow_drip_server_is_cut_off_at_the_total_deadline(lib: Assistant, port: int) -> None:
    settings = lib.settings.model_copy(update={"fetch_timeout": 1.0, "allow_private_urls": True})
    slow = Assistant(**{**lib.__dict__, "settings": settings})
    started = time.monotonic()
    report = slow.add_url(f"http://127.0.0.1:{port}/drip")
    took = time.monotonic() - started
    assert [f.error for f in report.failed] == [
        "the page did not arrive within 1 s: try again later, or raise ASSISTANT_FETCH_TIMEOUT"
    ]
    assert took < 5, took  # the server would drip for 20 s
    intact(lib)


def test_the_cli_ingests_a_url_and_refuses_an_internal_one(tmp_path: Path, port: int) -> None:
    env = {**os.environ, "ASSISTANT_INDEX": str(tmp_path / "index")}
    env.pop("ASSISTANT_ALLOW_PRIVATE_URLS", None)
    url = f"http://127.0.0.1:{port}/article"

    def ingest(**extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "assistant", "ingest", url, "--json"]
        return subprocess.run(
            command, capture_output=True, text=True, env={**env, **extra}, timeout=300
        )

    refused = ingest()
    assert refused.returncode == 1
    failed = [line for line in refused.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and PRIVATE_HINT in failed[0], refused.stderr
    assert "Traceback" not in refused.stderr
    added = ingest(ASSISTANT_ALLOW_PRIVATE_URLS="true")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["added"] == 1
