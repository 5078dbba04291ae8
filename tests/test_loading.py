"""Tests of assistant.loading on real files built in tmp_path (no committed binaries)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from assistant.errors import LoadError, UnsupportedFileError
from assistant.loading import (
    SUPPORTED_SUFFIXES,
    clean_author,
    clean_title,
    detect_language,
    discover,
    load_file,
    load_html,
    load_text,
)

GERMAN = "Der schnelle braune Fuchs springt über den faulen Hund, und alle Kinder lachen darüber."
ENGLISH = "The quick brown fox jumps over the lazy dog while the children laugh about it."

NEWS_HTML = """<!doctype html>
<html><head>
<title>Storm Floods Coastal Town | Daily News</title>
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2024-03-15T08:00:00Z">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/sports">Sports Section Link</a></li></ul></nav>
<article><h1>Storm Floods Coastal Town</h1>
<p>A powerful storm swept across the coastal town of Harborview on Thursday night, flooding
streets and forcing hundreds of residents to leave their homes.</p>
<p>Emergency services said the water rose faster than expected. The mayor asked residents to
stay indoors until the warning is lifted on Saturday morning.</p>
<p>Meteorologists expect calmer weather next week, but warned that the ground is saturated
and further rain could cause landslides.</p>
</article>
<footer>Copyright 2024 Daily News. All rights reserved.</footer>
</body></html>"""


def make_pdf(page_texts: list[str], info: dict[str, str] | None = None) -> bytes:
    """A minimal valid PDF: one Helvetica text line per input line, an optional /Info dict."""
    n = len(page_texts)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(page_texts):
        shows = " ".join(f"({line}) Tj T*" for line in text.split("\n") if line)
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {shows} ET".encode("latin-1")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    if info:
        entries = " ".join(f"/{key} ({value})" for key, value in info.items())
        objects.append(f"<< {entries} >>".encode("latin-1"))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info_ref = f" /Info {len(objects)} 0 R" if info else ""
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info_ref} >>\n"
    out += f"{trailer}startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def encrypt_pdf(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- text and markdown -------------------------------------------------------------------

UMLAUTS = "Grüße aus Köln – ein Café.\r\nZweite Zeile."


@pytest.mark.parametrize(
    ("name", "text", "encoding"),
    [
        ("plain.txt", UMLAUTS, "utf-8"),
        ("bom.txt", UMLAUTS, "utf-8-sig"),
        ("wide.txt", UMLAUTS, "utf-16"),  # Python writes a byte-order mark
        ("old.txt", "Grüße aus Köln, ein Café.\rZweite Zeile.", "latin-1"),
        ("SHOUT.TXT", "„Grüße“ – 5 € im Café.\r\nZweite Zeile.", "cp1252"),
    ],
)
def test_text_files_are_decoded_with_newlines_normalised(
    tmp_path: Path, name: str, text: str, encoding: str
) -> None:
    article = load_file(write(tmp_path / name, text.encode(encoding)))
    assert article.text == text.replace("\r\n", "\n").replace("\r", "\n")
    assert article.text.endswith("\nZweite Zeile.")


def test_text_file_article_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "storm_report-2024.txt", f"\n\n  {ENGLISH}\n\n".encode())
    monkeypatch.chdir(tmp_path)
    article = load_file("storm_report-2024.txt")
    assert article.source == str((tmp_path / "storm_report-2024.txt").resolve())
    assert article.title == "Storm report 2024"
    assert article.text == ENGLISH
    assert article.language == "en"
    assert (article.author, article.date, article.url, article.pages) == (None, None, None, ())


@pytest.mark.parametrize(
    ("name", "body", "title"),
    [
        (
            "notes.md",
            "Intro line.\n\n# The **Big** Storm #\n\nText.\n\n# Later",
            "The **Big** Storm",
        ),
        (
            "my_first-note.markdown",
            "No heading, only #hashtags and\n## a subheading.",
            "My first note",
        ),
    ],
)
def test_markdown_title_and_text_kept_as_written(
    tmp_path: Path, name: str, body: str, title: str
) -> None:
    article = load_file(write(tmp_path / name, body.encode()))
    assert article.title == title
    assert article.text == body  # markdown is not stripped: offsets refer to this text


# --- HTML --------------------------------------------------------------------------------


def test_html_file_main_text_and_metadata(tmp_path: Path) -> None:
    article = load_file(write(tmp_path / "news.htm", NEWS_HTML.encode()))
    assert article.title == "Storm Floods Coastal Town"
    assert article.author == "Jane Doe"
    assert article.date == "2024-03-15"
    assert "flooding streets and forcing" in article.text  # whitespace is collapsed
    assert "Emergency services said the water rose faster than expected." in article.text
    assert "Sports Section Link" not in article.text
    assert "Copyright" not in article.text
    assert article.language == "en"


def test_load_html_keeps_source_and_url() -> None:
    url = "https://news.example.com/2024/storm-floods"
    article = load_html(NEWS_HTML, source=url, url=url)
    assert (article.source, article.url) == (url, url)
    assert article.text.startswith("Storm Floods Coastal Town")


@pytest.mark.parametrize(
    "html", ["", "<html><body></body></html>", "<html><body><script>var x;</script></body></html>"]
)
def test_load_html_without_main_text_fails(html: str) -> None:
    with pytest.raises(LoadError, match="no main text") as caught:
        load_html(html, source="page.html")
    assert caught.value.path == "page.html"
    assert "save the article's text" in caught.value.reason


# --- pasted text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"), [(None, "Breaking: storm floods town"), ("Given", "Given")]
)
def test_load_text(title: str | None, expected: str) -> None:
    text = "\r\n Breaking: storm floods town \r\n" + GERMAN
    article = load_text(text, source="pasted:1", title=title)
    assert article.text == "Breaking: storm floods town \n" + GERMAN
    assert (article.source, article.title) == ("pasted:1", expected)


def test_load_text_shortens_a_long_first_line() -> None:
    article = load_text(ENGLISH * 3, source="pasted:2")
    assert len(article.title) == 80 and article.title.endswith("...")


def test_load_text_rejects_blank_text() -> None:
    with pytest.raises(LoadError, match="pasted:3: there is no text"):
        load_text(" \n\t ", source="pasted:3")


# --- PDF ---------------------------------------------------------------------------------

PDF_INFO = {"Title": "Harbour Report", "Author": "Ann Author", "CreationDate": "D:20240315120000Z"}


@pytest.mark.parametrize(
    ("page_texts", "numbers"),
    [
        (
            [
                "Page one talks about the harbour.\nIt has two lines.",
                "Page two covers the weather.",
            ],
            [1, 2],
        ),
        (["Page one talks about the harbour.", "", "Page three covers the weather."], [1, 3]),
    ],
)
def test_pdf_pages_span_their_text(
    tmp_path: Path, page_texts: list[str], numbers: list[int]
) -> None:
    article = load_file(write(tmp_path / "report.pdf", make_pdf(page_texts, PDF_INFO)))
    assert [page.number for page in article.pages] == numbers
    for page in article.pages:
        assert article.text[page.start : page.end] == page_texts[page.number - 1]
    assert article.text == "\n\n".join(t for t in page_texts if t)
    assert article.page_at(article.text.index("weather")) == numbers[-1]
    assert (article.title, article.author, article.date) == (
        "Harbour Report",
        "Ann Author",
        "2024-03-15",
    )


@pytest.mark.parametrize(
    ("info", "title", "date"),
    [(None, "Scan 07", None), ({"Title": "", "CreationDate": "not a date"}, "Scan 07", None)],
)
def test_pdf_without_usable_metadata(
    tmp_path: Path, info: dict[str, str] | None, title: str, date: str | None
) -> None:
    article = load_file(write(tmp_path / "scan_07.pdf", make_pdf([ENGLISH], info)))
    assert (article.title, article.author, article.date) == (title, None, date)


def test_pdf_with_owner_password_only_loads(tmp_path: Path) -> None:
    data = encrypt_pdf(make_pdf([ENGLISH], PDF_INFO), user_password="")
    article = load_file(write(tmp_path / "locked.pdf", data))
    assert article.text == ENGLISH and article.title == "Harbour Report"


# --- DOCX --------------------------------------------------------------------------------


def make_docx(path: Path, *, title: str = "", author: str = "") -> Path:
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = author
    document.core_properties.created = datetime(2023, 5, 17, 9, 30)
    document.add_heading("Harbour news", level=1)
    document.add_paragraph(ENGLISH)
    document.add_paragraph("Second paragraph.")
    document.save(str(path))
    return path


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    return buffer.getvalue()


def test_docx_text_and_properties(tmp_path: Path) -> None:
    article = load_file(make_docx(tmp_path / "memo.docx", title="Quarterly Memo", author="Bob"))
    assert article.text == f"Harbour news\n{ENGLISH}\nSecond paragraph."
    assert (article.title, article.author, article.date) == ("Quarterly Memo", "Bob", "2023-05-17")
    assert article.language == "en"


def test_docx_without_title_uses_its_heading(tmp_path: Path) -> None:
    article = load_file(make_docx(tmp_path / "team_memo.DOCX"))
    assert (article.title, article.author) == ("Harbour news", None)


def test_docx_without_title_or_heading_uses_file_name(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph(ENGLISH)
    document.save(str(tmp_path / "team_memo.docx"))
    assert load_file(tmp_path / "team_memo.docx").title == "Team memo"


@pytest.mark.parametrize(
    ("name", "body", "title"),
    [
        ("tokayev-visit.de.txt", f"{ENGLISH}\n\nMore.", "Tokayev visit"),
        ("notes.txt", f"Harbour closes for winter\n\n{ENGLISH}", "Harbour closes for winter"),
        ("notes.txt", f"Is the harbour safe?\n\n{ENGLISH}", "Is the harbour safe?"),
        ("notes.txt", f"A sentence, not a title.\n\n{ENGLISH}", "Notes"),
        ("notes.txt", f"Line one of a paragraph\nline two.\n\n{ENGLISH}", "Notes"),
        ("notes.txt", "Only one line without an end", "Notes"),
    ],
)
def test_a_text_file_is_titled_by_its_first_line_when_it_looks_like_one(
    tmp_path: Path, name: str, body: str, title: str
) -> None:
    assert load_file(write(tmp_path / name, body.encode())).title == title


@pytest.mark.parametrize(
    ("meta", "lines", "title"),
    [
        ("Binder1.pdf", ["Harbour Report 2024", ENGLISH], "Harbour Report 2024"),
        ("Microsoft Word - draft.docx", ["Harbour Report 2024", ENGLISH], "Harbour Report 2024"),
        ("Untitled", [ENGLISH], "Report q3"),
        ("The Harbour in Winter", ["Harbour Report 2024", ENGLISH], "The Harbour in Winter"),
    ],
)
def test_a_pdf_title_comes_from_plausible_metadata_else_its_first_line(
    tmp_path: Path, meta: str, lines: list[str], title: str
) -> None:
    data = make_pdf(["\n".join(lines)], {"Title": meta})
    assert load_file(write(tmp_path / "report_q3.pdf", data)).title == title


# --- failures ----------------------------------------------------------------------------

JUNK_WITH_NUL = bytes(range(256)) * 8
JUNK_WITHOUT_NUL = bytes(range(1, 256)) * 8
ZIP_BOMB = make_zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"\0" * 5_000_000})
NOT_WORD = make_zip({"hello.txt": b"hello"})
BROKEN_XML = make_zip({"[Content_Types].xml": b"<Types"})
FAILURES: dict[str, tuple[str, bytes | None, dict[str, int], str]] = {
    # id: (file name, content or None for "do not create", load_file kwargs, hint in reason)
    "empty": ("empty.txt", b"", {}, "add text"),
    "whitespace": ("blank.md", b"  \n\t\r\n ", {}, "add text"),
    "whitespace utf-16": ("blank16.txt", " \n ".encode("utf-16"), {}, "add text"),
    "bad utf-16": ("odd.txt", b"\xff\xfeA", {}, "re-save it as UTF-8"),
    "binary with NUL": ("junk.txt", JUNK_WITH_NUL, {}, "save it as plain text"),
    "binary without NUL": ("junk.md", JUNK_WITHOUT_NUL, {}, "save it as plain text"),
    "missing": ("missing.txt", None, {}, "check the path"),
    "too large": ("big.txt", ENGLISH.encode(), {"max_bytes": 10}, "split it"),
    "empty html": ("empty.html", b"<html><body></body></html>", {}, "save the article's text"),
    "not a pdf": ("fake.pdf", b"not a pdf at all", {}, "re-export it"),
    "truncated pdf": ("cut.pdf", make_pdf([ENGLISH])[:200], {}, "re-export it"),
    "empty pdf": ("nothing.pdf", b"", {}, "add text"),
    "scanned pdf": ("scan.pdf", make_pdf(["", ""]), {}, "run OCR"),
    "encrypted pdf": (
        "secret.pdf",
        encrypt_pdf(make_pdf([ENGLISH]), "pw"),
        {},
        "without a password",
    ),
    "not a zip docx": ("fake.docx", b"PK garbage", {}, "re-save it in Word"),
    "not word docx": ("other.docx", NOT_WORD, {}, "re-save it in Word"),
    "broken xml docx": ("broken.docx", BROKEN_XML, {}, "re-save it in Word"),
    "truncated docx": ("cut.docx", docx_bytes()[:3000], {}, "re-save it in Word"),
    "zip bomb docx": ("bomb.docx", ZIP_BOMB, {"max_unzipped_bytes": 1_000_000}, "raise the limit"),
}


@pytest.mark.parametrize(("name", "content", "kwargs", "hint"), FAILURES.values(), ids=FAILURES)
def test_load_file_failures_name_the_file_and_the_fix(
    tmp_path: Path, name: str, content: bytes | None, kwargs: dict[str, int], hint: str
) -> None:
    path = tmp_path / name if content is None else write(tmp_path / name, content)
    with pytest.raises(LoadError) as caught:
        load_file(path, **kwargs)
    assert type(caught.value) is LoadError
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert hint in caught.value.reason


def test_zip_bomb_is_small_on_disk() -> None:
    assert len(ZIP_BOMB) < 50_000  # yet it claims 5 MB unpacked


def test_unsupported_suffix_lists_the_supported_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "slides.pptx", b"whatever")
    with pytest.raises(UnsupportedFileError) as caught:
        load_file(path)
    assert str(caught.value).startswith(f"{path}: files '.pptx' cannot be read: convert it")
    assert all(suffix in caught.value.reason for suffix in SUPPORTED_SUFFIXES)


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="folder, not a file: pass the files in it"):
        load_file(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "locked.txt", ENGLISH.encode())
    path.chmod(0)
    with pytest.raises(LoadError, match="check its permissions"):
        load_file(path)


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="no /proc/self/mem (not Linux)")
def test_a_file_even_root_cannot_read(tmp_path: Path) -> None:
    """A regular file whose read fails for root too (CI runs as root): /proc/self/mem under a
    .txt name answers a read at offset 0 with EIO."""
    path = tmp_path / "locked.txt"
    path.symlink_to("/proc/self/mem")
    with pytest.raises(LoadError, match=r"cannot be read \(.+\): check its permissions") as caught:
        load_file(path)
    assert caught.value.path == str(path)


# --- discover ----------------------------------------------------------------------------


def test_discover_expands_folders_and_reports_bad_paths(tmp_path: Path) -> None:
    root = tmp_path / "library"
    for name in [
        "a.txt", "b.md", "skip.xyz", ".hidden.txt", ".git/config.txt", "sub/c.pdf",
        "sub/deeper/d.HTML", "sub/e.docx", "sub/notes.odt",
    ]:  # fmt: skip
        write(root / name, b"x")
    explicit_bad = write(tmp_path / "explicit.xyz", b"x")
    missing = tmp_path / "missing.md"
    paths, errors = discover([root, explicit_bad, missing, root / "a.txt", root / ".hidden.txt"])
    expected = ["a.txt", "b.md", "sub/c.pdf", "sub/deeper/d.HTML", "sub/e.docx", ".hidden.txt"]
    assert paths == [root / name for name in expected]  # named hidden files are kept
    assert [type(error) for error in errors] == [UnsupportedFileError, LoadError]
    assert [error.path for error in errors] == [str(explicit_bad), str(missing)]
    assert "convert it to" in errors[0].reason and "check the path" in errors[1].reason


# --- language and imports ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (GERMAN, "de"),
        (ENGLISH, "en"),
        ("12345 67 !!! ---", None),
        (GERMAN * 30 + ENGLISH * 300, "de"),  # only the first ~2000 characters count
    ],
)
def test_detect_language(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_importing_loading_is_cheap() -> None:
    code = (
        "import sys, assistant.loading; "
        "print(sorted(m for m in ('trafilatura', 'pypdf', 'docx', 'langdetect', 'lxml') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    assert result.stdout.strip() == "[]"


def test_every_loader_is_reachable(tmp_path: Path) -> None:
    builders: dict[str, Callable[[Path], object]] = {
        ".txt": lambda p: p.write_text(ENGLISH),
        ".md": lambda p: p.write_text(ENGLISH),
        ".markdown": lambda p: p.write_text(ENGLISH),
        ".html": lambda p: p.write_text(NEWS_HTML),
        ".htm": lambda p: p.write_text(NEWS_HTML),
        ".pdf": lambda p: p.write_bytes(make_pdf([ENGLISH])),
        ".docx": lambda p: make_docx(p),
    }
    assert set(builders) == SUPPORTED_SUFFIXES
    for suffix, build in builders.items():
        build(tmp_path / f"doc{suffix}")
        assert load_file(tmp_path / f"doc{suffix}").language == "en"


@pytest.mark.parametrize(
    ("title", "site", "clean"),
    [
        ("Proteste in Hongkong | DW | 19.01.2020", "DW.COM", "Proteste in Hongkong"),
        ("Tanz in Zürich | St.Galler Tagblatt", "St.Galler Tagblatt", "Tanz in Zürich"),
        ("Interview mit Sonja Silberhorn - apolut.net", "apolut", "Interview mit Sonja Silberhorn"),
        ("23.01.2022 - Wierer jubelt - Biathlon Antholz", "Biathlon Antholz", "Wierer jubelt"),
        ("Kraftwerk - die Band aus Köln", "heise online", "Kraftwerk - die Band aus Köln"),
        ("Harbour closes", "", "Harbour closes"),
    ],
)  # fmt: skip
def test_a_site_suffix_leaves_the_title(title: str, site: str, clean: str) -> None:
    assert clean_title(title, site) == clean


@pytest.mark.parametrize(
    ("author", "site", "clean"),
    [
        ("heise online; Jane Doe", "heise online", "Jane Doe"),
        ("FAZ.NET; Max Muster", "Frankfurter Allgemeine", "Max Muster"),
        ("Facebook Com; Evgenia Karp", "1000things", "Evgenia Karp"),
        ("DER SPIEGEL", "DER SPIEGEL", None),
        ("Unknown", "", None),
        ("Jane Doe; Max Muster", "Daily News", "Jane Doe; Max Muster"),
    ],
)
def test_an_author_is_the_byline_not_the_publisher(author: str, site: str, clean: str | None):
    assert clean_author(author, site) == clean


def test_a_news_page_date_is_the_publication_not_the_last_change(tmp_path: Path) -> None:
    page = NEWS_HTML.replace(
        "<head>",
        '<head><meta property="article:modified_time" content="2024-06-02T10:00:00Z">',
    )
    assert load_file(write(tmp_path / "news.html", page.encode())).date == "2024-03-15"
