"""A web page (http/https only) → ``Article``, fetched safely: no server-side request forgery.

Every hop (the first URL and each redirect) is resolved once; unless private addresses are
allowed, a host with any loopback, private, link-local, unspecified, multicast or reserved
address is refused (IPv4-mapped IPv6 and numeric forms such as ``2130706433`` or ``127.1``
included: the resolver turns them into the address that is checked). The connection goes to
the address that was checked, so a second DNS answer cannot point it elsewhere. One deadline
covers the whole download, and the body is cut at a size limit. Failures are ``LoadError``s
naming the URL and the fix.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from assistant.errors import LoadError
from assistant.loading import load_html, load_text
from assistant.types import Article

ALLOWED_SCHEMES = frozenset({"http", "https"})
USER_AGENT = "article-assistant/0.1 (+https://github.com/)"
MAX_REDIRECTS = 5
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_READ = 65_536
_PRIVATE_HINT = "set ASSISTANT_ALLOW_PRIVATE_URLS=true to allow internal addresses (an intranet)"


@dataclass(frozen=True)
class FetchLimits:
    """How long, how much and where a download may go."""

    timeout: float = 30.0
    max_bytes: int = 5_000_000
    allow_private: bool = False


def check_url(url: str) -> str:
    """The URL, stripped, if it is an http/https URL with a host; else a LoadError."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # a bad port or bracketed host
        raise LoadError(url, f"the web address is malformed ({exc}): check the URL") from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not host:
        raise LoadError(url, "only http:// and https:// web addresses can be added: check the URL")
    if any(c.isspace() or ord(c) < 32 for c in url) or (port is not None and port == 0):
        raise LoadError(url, "the web address holds spaces or control characters: encode them")
    return url


#: Whether an address may be fetched from (``is_public``; None: any address may).
Allowed = Callable[[str], bool] | None


def public_address(url: str, host: str, port: int, allowed: Allowed) -> str:
    """The address to connect to for ``host``: resolved once, refused when not allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise LoadError(url, f"the host {host!r} cannot be found: check the URL") from exc
    addresses = [str(info[4][0]) for info in infos]
    if allowed is not None:
        for address in addresses:
            if not allowed(address):
                raise LoadError(
                    url,
                    f"the host {host} resolves to {address}, an internal address that is "
                    f"not fetched (server-side request forgery): {_PRIVATE_HINT}",
                )
    return addresses[0]


def is_public(address: str) -> bool:
    """Whether an IP address is a global one (IPv4-mapped IPv6 judged by its IPv4 part)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    blocked = (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
    )
    return ip.is_global and not blocked


def fetch_url(
    url: str,
    *,
    timeout: float = 30.0,
    max_bytes: int = 5_000_000,
    allow_private: bool = False,
) -> Article:
    """Download a page and extract its article (HTML) or take its text (text/plain)."""
    url = check_url(url)
    limits = FetchLimits(timeout, max_bytes, allow_private)
    body, content_type, charset, final_url = download(url, limits)
    text = body.decode(_codec(charset), errors="replace")
    if content_type == "text/plain":
        return load_text(text, source=final_url)
    if content_type and content_type not in _HTML_TYPES:
        raise LoadError(
            url,
            f"the address serves {content_type!r}, not a web page: download the file and "
            "upload it instead",
        )
    return load_html(text, source=final_url, url=final_url)


def _codec(charset: str | None) -> str:
    """A codec Python knows for the declared charset (UTF-8 for an unknown one)."""
    import codecs

    try:
        return codecs.lookup(charset or "utf-8").name
    except LookupError:
        return "utf-8"


def download(
    url: str, limits: FetchLimits, *, allowed: Allowed = is_public
) -> tuple[bytes, str, str | None, str]:
    """The body (at most ``max_bytes``), its media type and charset, and the final URL;
    every hop's addresses must pass ``allowed`` (unless ``limits.allow_private``)."""
    deadline = time.monotonic() + limits.timeout
    check = None if limits.allow_private else allowed
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        response, connection = _request(current, url, check, limits, deadline)
        try:
            location = response.getheader("Location")
            if response.status in _REDIRECTS and location:
                current = check_url(urljoin(current, location))
                continue
            if response.status >= 400:
                reason = _one_line(response.reason)
                raise LoadError(
                    url, f"the server answered {response.status} {reason}: check the URL"
                )
            body = _read_body(response, connection, url, limits, deadline)
            content_type = response.headers.get_content_type()
            return body, content_type, response.headers.get_content_charset(), current
        finally:
            connection.close()
    raise LoadError(url, f"more than {MAX_REDIRECTS} redirects: check the URL")


def _request(
    current: str, url: str, allowed: Allowed, limits: FetchLimits, deadline: float
) -> tuple[http.client.HTTPResponse, _PinnedConnection]:
    parts = urlsplit(current)
    https = parts.scheme.lower() == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    address = public_address(url, host, port, allowed)
    connection = _PinnedConnection(host, port, address, https, _left(url, limits, deadline))
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", target, headers={"User-Agent": USER_AGENT})
        return connection.getresponse(), connection
    except (OSError, http.client.HTTPException, ValueError) as exc:
        connection.close()
        raise _failure(url, exc, limits) from exc


def _read_body(
    response: http.client.HTTPResponse,
    connection: _PinnedConnection,
    url: str,
    limits: FetchLimits,
    deadline: float,
) -> bytes:
    """Read until the end, the size limit or the deadline, whichever comes first (each
    read waits at most the time left, so a server sending a byte now and then is cut off)."""
    parts: list[bytes] = []
    size = 0
    while True:
        if connection.raw_socket is not None:
            connection.raw_socket.settimeout(_left(url, limits, deadline))
        try:
            piece = response.read1(_READ)
        except (OSError, http.client.HTTPException) as exc:
            raise _failure(url, exc, limits) from exc
        if not piece:
            return b"".join(parts)
        parts.append(piece)
        size += len(piece)
        if size > limits.max_bytes:
            raise LoadError(
                url,
                f"the page is larger than {limits.max_bytes:,} bytes: save its text and paste "
                "it instead",
            )
        _left(url, limits, deadline)


def _left(url: str, limits: FetchLimits, deadline: float) -> float:
    """Seconds left before the deadline; a LoadError when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timeout(url, limits)
    return left


def _timeout(url: str, limits: FetchLimits) -> LoadError:
    return LoadError(
        url,
        f"the page did not arrive within {limits.timeout:g} s: try again later, or raise "
        "ASSISTANT_FETCH_TIMEOUT",
    )


def _failure(url: str, exc: BaseException, limits: FetchLimits) -> LoadError:
    if isinstance(exc, TimeoutError | socket.timeout):
        return _timeout(url, limits)
    if isinstance(exc, ssl.SSLError):
        return LoadError(url, f"the secure connection failed ({_one_line(exc)}): check the URL")
    return LoadError(url, f"the page cannot be fetched ({_one_line(exc)}): check the URL")


def _one_line(value: object) -> str:
    """Outside text (a reason phrase, an error) cut to one short line."""
    return " ".join(str(value).split())[:200]


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to an address checked beforehand; TLS still verifies ``host``."""

    def __init__(self, host: str, port: int, address: str, https: bool, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address
        self._https = https
        self.raw_socket: socket.socket | None = None

    def connect(self) -> None:
        """Connect to the checked address (never resolving ``host`` again)."""
        sock = socket.create_connection((self._address, self.port), self.timeout)
        if self._https:
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=self.host)
        self.sock = self.raw_socket = sock
