"""Files, HTML and pasted text → ``Article`` (text, title, author, date, language, pages).

``load_file`` dispatches on the file's suffix; ``discover`` expands folders into the files
it can load. Every failure is a ``LoadError`` naming the file and saying what to do, so a
batch can report it and go on. Heavy libraries (trafilatura, pypdf, python-docx,
langdetect) are imported inside the functions that use them: importing this module is cheap.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from assistant.errors import LoadError, UnsupportedFileError
from assistant.types import Article, Page

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
)
_MARKDOWN = frozenset({".md", ".markdown"})
_HTML = frozenset({".html", ".htm"})
_LANGUAGE_SAMPLE = 2000
# UTF-32 before UTF-16: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0/C1 control characters other than tab, newlines, vertical tab and form feed.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_BINARY = "the file holds binary data, not text: save it as plain text (UTF-8) and add it again"
_TITLE_MAX = 150
_JUNK_TITLE = re.compile(
    r"\.(pdf|docx?|odt|rtf|txt|indd|tex|dvi|ps|qxd|pages|html?)$|^microsoft (word|powerpoint)"
    r"|^(untitled|title|binder|document|dokument|doc|slide|page|scan|print|layout)[\s_-]*\d*$",
    re.IGNORECASE,
)
_MD_HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_BROKEN_LINK = (
    "the link points to nothing (its target is missing, or it is a loop of links): "
    "fix or delete the link"
)
_NOT_REGULAR = (
    "this is not a regular file (a pipe, socket or device): copy its content into a file "
    "and add that"
)
_EMPTY = "there is no text in it (empty or only whitespace): add text to it or leave it out"
_ENCRYPTED_PDF = "the PDF is password-protected: save a copy without a password and add that"
_NO_TEXT_LAYER = "the PDF has no text layer (scanned?): run OCR on it first, then add the result"
_CORRUPT_DOCX = (
    "the Word file is corrupt or not a .docx: open and re-save it in Word or LibreOffice"
)


@dataclass(frozen=True)
class Limits:
    """Resource limits of loading one file (the keyword arguments of ``load_file``)."""

    max_bytes: int = 20_000_000
    max_pages: int = 2_000
    max_unzipped_bytes: int = 200_000_000


_DEFAULT = Limits()


def load_file(
    path: str | Path,
    *,
    max_bytes: int = _DEFAULT.max_bytes,
    max_pages: int = _DEFAULT.max_pages,
    max_unzipped_bytes: int = _DEFAULT.max_unzipped_bytes,
) -> Article:
    """Load one file into an Article, or raise a LoadError that says what to do."""
    p = Path(path)
    _check_is_file(p)
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _unsupported(p)
    data = _read_bytes(p, max_bytes)
    if not data.strip():
        raise LoadError(p, _EMPTY)
    if suffix == ".pdf":
        return _pdf_article(p, data, max_pages)
    if suffix == ".docx":
        return _docx_article(p, data, max_unzipped_bytes)
    if suffix in _HTML:
        return _html_article(data, p, source=_source(p), url=None, fallback=_title_from_name(p))
    return _text_article(p, data)


def load_html(html: str, *, source: str, url: str | None = None) -> Article:
    """Extract the main text and metadata of a web page into an Article."""
    name = Path(url.rstrip("/")) if url else Path(source)
    return _html_article(html, source, source=source, url=url, fallback=_title_from_name(name))


def load_text(text: str, *, source: str, title: str | None = None) -> Article:
    """Make an Article of pasted text; without a title its first line is used."""
    text = _normalise_newlines(text).strip()
    if not title:
        first_line = text.split("\n", 1)[0].strip()
        title = first_line if len(first_line) <= 80 else first_line[:77].rstrip() + "..."
    return _finish(source, Article(source, text, title))


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[LoadError]]:
    """Expand folders into the loadable files inside them; report paths that cannot be used."""
    found: dict[Path, None] = {}
    errors: list[LoadError] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.update(dict.fromkeys(_walk(p, errors)))
        elif p.is_symlink() and not p.exists():
            errors.append(LoadError(p, _BROKEN_LINK))
        elif not p.exists():
            errors.append(LoadError(p, "no such file or folder: check the path and try again"))
        elif p.suffix.lower() in SUPPORTED_SUFFIXES:
            found[p] = None
        else:
            errors.append(_unsupported(p))
    return list(found), errors


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the text's language, or None when it cannot be told."""
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0  # langdetect is random unless seeded
    try:
        code: str = detect(text[:_LANGUAGE_SAMPLE])
    except LangDetectException:
        return None
    return code.split("-", 1)[0]  # "zh-cn" → "zh"


def _walk(folder: Path, errors: list[LoadError]) -> Iterator[Path]:
    """Supported, non-hidden files under ``folder``, sorted, not following linked folders."""
    try:
        children = sorted(folder.iterdir())
    except OSError as exc:
        reason = f"the folder cannot be listed ({exc.strerror}): check its permissions"
        errors.append(LoadError(folder, reason))
        return
    for child in children:
        if child.name.startswith("."):
            continue
        if child.is_dir() and not child.is_symlink():
            yield from _walk(child, errors)
        elif child.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        elif child.is_file():
            yield child
        elif child.is_symlink() and not child.exists():
            errors.append(LoadError(child, _BROKEN_LINK))
        elif not child.is_dir():
            errors.append(LoadError(child, _NOT_REGULAR))


def _check_is_file(p: Path) -> None:
    if p.is_dir():
        raise LoadError(p, "this is a folder, not a file: pass the files in it, or use discover()")
    if p.is_symlink() and not p.exists():
        raise LoadError(p, _BROKEN_LINK)
    if not p.exists():
        raise LoadError(p, "the file does not exist: check the path and try again")
    if not p.is_file():
        raise LoadError(p, _NOT_REGULAR)


def _read_bytes(p: Path, max_bytes: int) -> bytes:
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise LoadError(
                p,
                f"the file is {size:,} bytes, over the limit of {max_bytes:,}: split it "
                "into smaller files or raise the limit (ASSISTANT_MAX_FILE_BYTES)",
            )
        return p.read_bytes()
    except OSError as exc:
        reason = f"the file cannot be read ({exc.strerror}): check its permissions"
        raise LoadError(p, reason) from exc


def _text_article(p: Path, data: bytes) -> Article:
    text = _normalise_newlines(_decode_text(p, data)).strip()
    title = title_line(text) or _title_from_name(p)
    if p.suffix.lower() in _MARKDOWN and (heading := _MD_HEADING.search(text)):
        title = heading.group(1)
    return _finish(p, Article(_source(p), text, title))


def title_line(text: str, *, standalone: bool = True) -> str | None:
    """The text's first line if it looks like a title: short, before more text, not ending
    like a sentence, and (``standalone``) alone in its paragraph. A PDF's lines carry no
    blank line after a title, so there the line must be shorter instead."""
    first, _, rest = text.strip().partition("\n")
    line = first.strip().lstrip("#").strip()
    alone = rest.lstrip(" \t").startswith("\n")
    most_words = 20 if standalone else 12
    if not rest.strip() or (standalone and not alone) or not re.search(r"[^\W\d_]", line):
        return None
    if len(line) > _TITLE_MAX or len(line.split()) > most_words or line[-1] in ".,;:":
        return None
    return line


def plausible_title(title: str | None) -> str | None:
    """A metadata title, unless it is a tool's placeholder or a file name ("Binder1.pdf",
    "Microsoft Word - draft.docx", "Untitled")."""
    title = (title or "").strip()
    if len(title) < 3 or len(title) > _TITLE_MAX or not re.search(r"[^\W\d_]{2}", title):
        return None
    return None if _JUNK_TITLE.search(title) else title


def _decode_text(p: Path, data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise LoadError(
                    p,
                    f"the file starts with a {encoding} byte-order mark but is not valid "
                    f"{encoding}: re-save it as UTF-8",
                ) from exc
    if b"\x00" in data:
        raise LoadError(p, _BINARY)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _decode_legacy(data)
    if len(_CONTROL.findall(text)) > len(text) / 100:
        raise LoadError(p, _BINARY)
    return text


def _decode_legacy(data: bytes) -> str:
    """Windows-1252 (a superset of Latin-1's printable part), else Latin-1, which never fails."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@dataclass(frozen=True)
class PageMetadata:
    """A web page's main text and metadata, as the loader takes them."""

    text: str
    title: str | None
    author: str | None
    date: str | None
    url: str | None


def page_metadata(content: str | bytes, url: str | None = None) -> PageMetadata:
    """The main text, title, author and date of a news page (see bench/news_metadata.py)."""
    import trafilatura
    from trafilatura.settings import Document, set_date_params

    # htmldate: the original publication date (not the last change), from the page's markup
    # only: its extensive search of the text finds dates on pages that have none
    dates = set_date_params(extensive=False)
    doc = trafilatura.bare_extraction(
        content,
        url=url,
        with_metadata=True,
        include_comments=False,
        date_extraction_params=dates,
    )
    if not isinstance(doc, Document):
        return PageMetadata("", None, None, None, url)
    site = doc.sitename or ""
    title = clean_title(doc.title, site)
    return PageMetadata(
        doc.text or "", title, clean_author(doc.author, site), doc.date, doc.url or url
    )


def _key(text: str) -> str:
    """A name compared without case, spaces, punctuation or a leading www."""
    return re.sub(r"\W+", "", text.casefold().removeprefix("www."))


_DOMAIN = re.compile(
    r"\.(com|de|net|org|at|ch|it|fr|uk|eu|info|io)\b|\s(com|de|net|org|at|ch|it)$", re.I
)
_DATE_LIKE = re.compile(r"^[\d./ -]{6,}$")
_PLACEHOLDER_AUTHORS = frozenset(
    {"unknown", "name", "admin", "administrator", "redaktion", "editor", "staff", "anonymous"}
)


def _is_site(part: str, site: str) -> bool:
    key = _key(part)
    return bool(key) and (
        bool(_DOMAIN.search(part.strip()))
        or bool(_DATE_LIKE.match(part.strip()))
        or (bool(site) and (key == _key(site) or key in _key(site) or _key(site) in key))
    )


def clean_title(title: str | None, site: str) -> str | None:
    """The page title without the site's name, a domain or a date tacked on before or after
    a separator ("… | DW | 19.01.2020" → "…")."""
    if not title:
        return None
    parts = re.split(r"\s+[|·]\s+", title.strip())
    while len(parts) > 1 and (_is_site(parts[-1], site) or len(parts[-1].split()) <= 3):
        parts.pop()
    pieces = re.split(r"(\s+[-–—]\s+)", " | ".join(parts))  # text, separator, text, …
    while len(pieces) > 2 and _is_site(pieces[-1], site):
        del pieces[-2:]
    while len(pieces) > 2 and _is_site(pieces[0], site):
        del pieces[:2]
    return "".join(pieces).strip() or None


def clean_author(author: str | None, site: str) -> str | None:
    """The byline's names, without the publisher, a domain or a placeholder."""
    if not author:
        return None
    names = [
        name.strip()
        for name in author.split(";")
        if name.strip()
        and name.strip().casefold() not in _PLACEHOLDER_AUTHORS
        and not _is_site(name, site)
    ]
    return "; ".join(names) or None


def _html_article(
    content: str | bytes, where: str | Path, *, source: str, url: str | None, fallback: str
) -> Article:
    page = page_metadata(content, url)
    if not page.text.strip():
        raise LoadError(
            where,
            "no main text found in the page (empty, script-only or not an article): "
            "save the article's text as a .txt file and add that instead",
        )
    text = _normalise_newlines(page.text).strip()
    article = Article(source, text, page.title or fallback, page.author, page.date, page.url)
    return _finish(where, article)


def _pdf_article(p: Path, data: bytes, max_pages: int) -> Article:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(p, _ENCRYPTED_PDF)
        if len(reader.pages) > max_pages:
            raise LoadError(
                p,
                f"the PDF has {len(reader.pages):,} pages, over the limit of {max_pages:,}: "
                "split it, or raise the limit (ASSISTANT_MAX_PDF_PAGES)",
            )
        texts = [_normalise_newlines(page.extract_text() or "").strip() for page in reader.pages]
        info = reader.metadata
    except DependencyError as exc:
        raise LoadError(p, _ENCRYPTED_PDF) from exc  # AES needs the optional cryptography
    except (PyPdfError, ValueError, KeyError) as exc:
        reason = f"the PDF is corrupt ({exc}): repair or re-export it, then add it again"
        raise LoadError(p, reason) from exc
    text, pages = _join_pages(texts)
    if not text:
        raise LoadError(p, _NO_TEXT_LAYER)
    title = plausible_title(str(info.title) if info and info.title else None)
    author = str(info.author).strip() if info and info.author else ""
    title = title or title_line(text, standalone=False) or _title_from_name(p)
    article = Article(_source(p), text, title, author or None)
    return _finish(p, replace(article, date=_pdf_date(info), pages=pages))


def _join_pages(texts: list[str]) -> tuple[str, tuple[Page, ...]]:
    """Join the non-empty page texts with blank lines; each Page spans its text in the join."""
    parts: list[str] = []
    pages: list[Page] = []
    offset = 0
    for number, page_text in enumerate(texts, start=1):
        if not page_text:
            continue
        if parts:
            parts.append("\n\n")
            offset += 2
        parts.append(page_text)
        pages.append(Page(number, offset, offset + len(page_text)))
        offset += len(page_text)
    return "".join(parts), tuple(pages)


def _pdf_date(info: object) -> str | None:
    try:
        created = getattr(info, "creation_date", None)
    except ValueError:  # an unparseable /CreationDate string
        return None
    return _iso_date(created)


def _docx_article(p: Path, data: bytes, max_unzipped_bytes: int) -> Article:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import XMLSyntaxError

    _check_unzipped_size(p, data, max_unzipped_bytes)
    try:
        document = docx.Document(io.BytesIO(data))
        text = "\n".join(paragraph.text for paragraph in document.paragraphs)
        heading = _docx_heading(document.paragraphs)
        props = document.core_properties
    except (
        zipfile.BadZipFile,
        zlib.error,
        KeyError,
        ValueError,
        XMLSyntaxError,
        PackageNotFoundError,
    ) as exc:
        raise LoadError(p, _CORRUPT_DOCX) from exc
    title = plausible_title(props.title) or heading or _title_from_name(p)
    author = (props.author or "").strip() or None
    text = _normalise_newlines(text).strip()
    return _finish(p, Article(_source(p), text, title, author, _iso_date(props.created)))


def _docx_heading(paragraphs: list) -> str | None:
    """The first paragraph, if Word calls it a title or heading."""
    first = next((para for para in paragraphs if para.text.strip()), None)
    style = (first.style.name or "") if first is not None and first.style is not None else ""
    if first is None or not style.startswith(("Title", "Heading")):
        return None
    return first.text.strip()[:_TITLE_MAX]


def _check_unzipped_size(p: Path, data: bytes, limit: int) -> None:
    """Refuse zip bombs before anything decompresses them."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise LoadError(p, _CORRUPT_DOCX) from exc
    if total > limit:
        raise LoadError(
            p,
            f"the Word file unpacks to {total:,} bytes, over the limit of {limit:,}: "
            "check it is a genuine document, or raise the limit (ASSISTANT_MAX_UNZIPPED_BYTES)",
        )


def _finish(where: str | Path, article: Article) -> Article:
    """The article with its language, once its text is known not to be empty."""
    if not article.text.strip():
        raise LoadError(where, _EMPTY)
    return replace(article, language=detect_language(article.text))


def _unsupported(p: Path) -> UnsupportedFileError:
    kind = repr(p.suffix) if p.suffix else "without a suffix"
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    return UnsupportedFileError(p, f"files {kind} cannot be read: convert it to one of {supported}")


def _source(p: Path) -> str:
    return str(p.resolve())


def _title_from_name(p: Path) -> str:
    """``my_first-article.txt`` → ``My first article``; a language tag goes
    (``tokayev-visit.de.txt`` → ``Tokayev visit``)."""
    stem = re.sub(r"\.[a-z]{2}$", "", p.stem)
    name = re.sub(r"[_-]+", " ", stem).strip()
    return name[:1].upper() + name[1:] if name else p.name


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _iso_date(value: object) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else None
