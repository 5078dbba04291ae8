"""A web page (http/https only) → ``Article``, fetched with a timeout and a size limit.

Only the two web schemes are followed, redirects included, so a URL cannot read local files
(``file:``) or other protocols. Failures are ``LoadError``s naming the URL and the fix.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from email.message import Message
from urllib.parse import urlsplit

from assistant.errors import LoadError
from assistant.loading import load_html, load_text
from assistant.types import Article

ALLOWED_SCHEMES = frozenset({"http", "https"})
USER_AGENT = "article-assistant/0.1 (+https://github.com/)"
_HTML_TYPES = ("text/html", "application/xhtml+xml")


class _WebOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to http/https URLs."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def check_url(url: str) -> str:
    """The URL, stripped, if it is an http/https URL with a host; else a LoadError."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
        raise LoadError(url, "only http:// and https:// web addresses can be added: check the URL")
    return url


def fetch_url(url: str, *, timeout: float = 15.0, max_bytes: int = 5_000_000) -> Article:
    """Download a page and extract its article (HTML) or take its text (text/plain)."""
    url = check_url(url)
    body, content_type, charset, final_url = _download(url, timeout, max_bytes)
    text = body.decode(charset or "utf-8", errors="replace")
    if content_type == "text/plain":
        return load_text(text, source=final_url)
    if content_type and content_type not in _HTML_TYPES:
        raise LoadError(
            url,
            f"the address serves {content_type!r}, not a web page: download the file and "
            "upload it instead",
        )
    return load_html(text, source=final_url, url=final_url)


def _download(url: str, timeout: float, max_bytes: int) -> tuple[bytes, str, str | None, str]:
    """The body (at most ``max_bytes``), its media type and charset, and the final URL."""
    opener = urllib.request.build_opener(_WebOnlyRedirects)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read(max_bytes + 1)
            headers: Message = response.headers
            final_url = response.geturl()
    except urllib.error.HTTPError as exc:
        raise LoadError(url, f"the server answered {exc.code} {exc.reason}: check the URL") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError):
            raise LoadError(url, f"no answer within {timeout:g} s: try again later") from exc
        raise LoadError(url, f"the page cannot be fetched ({reason}): check the URL") from exc
    if len(body) > max_bytes:
        raise LoadError(
            url,
            f"the page is larger than {max_bytes:,} bytes: save its text and paste it instead",
        )
    return body, headers.get_content_type(), headers.get_content_charset(), final_url
