"""Bad and awkward inputs, all generated here, ingested beside good files with the real model.

Each bad file is skipped with one line naming it, the reason and what to do; the awkward but
valid ones and the good files are indexed; nothing indexed before is lost; nothing crashes.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from test_loading import (
    BROKEN_XML,
    ENGLISH,
    GERMAN,
    JUNK_WITH_NUL,
    JUNK_WITHOUT_NUL,
    NOT_WORD,
    ZIP_BOMB,
    docx_bytes,
    encrypt_pdf,
    make_pdf,
)

from assistant.config import Settings
from assistant.factory import build_assistant
from assistant.lexical import TRIGRAM

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def empty_docx() -> bytes:
    """A valid Word file without any text."""
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    return buffer.getvalue()


SCRIPT_ONLY = b"<html><head><script>document.write('hi')</script></head><body></body></html>"

# name → (content, hint in the reason); content None: made by a special step below
SKIPPED: dict[str, tuple[bytes | None, str]] = {
    "empty.txt": (b"", "add text"),
    "whitespace.md": (b" \n\t \r\n", "add text"),
    "whitespace-utf16.txt": (" \n ".encode("utf-16"), "add text"),
    "binary-nul.txt": (JUNK_WITH_NUL, "save it as plain text"),
    "binary-control.md": (JUNK_WITHOUT_NUL, "save it as plain text"),
    "image-as.md": (PNG, "save it as plain text"),
    "utf16-without-bom.txt": (GERMAN.encode("utf-16-le"), "save it as plain text"),
    "utf16-bom-broken.txt": (b"\xff\xfeA", "re-save it as UTF-8"),
    "big-50mb.txt": (None, "ASSISTANT_MAX_FILE_BYTES"),
    "no-main-text.html": (b"<html><head><title>T</title></head><body></body></html>", "save the"),
    "script-only.html": (SCRIPT_ONLY, "save the"),
    "truncated.pdf": (make_pdf([ENGLISH])[:200], "re-export it"),
    "not-a-pdf.pdf": (b"%PDF-1.4 and then nothing", "re-export it"),
    "encrypted.pdf": (encrypt_pdf(make_pdf([ENGLISH]), "secret"), "without a password"),
    "no-text-layer.pdf": (make_pdf(["", ""]), "run OCR"),
    "too-many-pages.pdf": (make_pdf([ENGLISH] * 6), "ASSISTANT_MAX_PDF_PAGES"),
    "truncated.docx": (docx_bytes()[:3000], "re-save it in Word"),
    "empty.docx": (empty_docx(), "add text"),
    "zip-bomb.docx": (ZIP_BOMB, "ASSISTANT_MAX_UNZIPPED_BYTES"),
    "not-a-zip.docx": (b"PK but not a zip", "re-save it in Word"),
    "zip-not-word.docx": (NOT_WORD, "re-save it in Word"),
    "broken-xml.docx": (BROKEN_XML, "re-save it in Word"),
    "broken-link.txt": (None, "fix or delete the link"),
    "loop-a.md": (None, "fix or delete the link"),
    "loop-b.md": (None, "fix or delete the link"),
    "pipe.txt": (None, "not a regular file"),
    "vanishes.txt": (None, "does not exist"),
}
# name → (content, a word its indexed text must hold)
INDEXED: dict[str, tuple[bytes, str]] = {
    "latin-1.txt": ("Café Müller an der Straße, schön und groß.".encode("latin-1"), "Müller"),
    "cp1252.txt": ("“Smart quotes” – and a euro: €5.".encode("cp1252"), "euro"),
    "utf16-bom.txt": ("Über Zebras in Namibia.".encode("utf-16"), "Zebras"),
    "utf8-bom.md": (b"\xef\xbb\xbf# Titel\n\nKometen am Himmel.", "Kometen"),
    "crlf.txt": (b"Erste Zeile.\r\nZweite Zeile mit Vulkanen.\r\n", "Vulkanen"),
    "name with spaces.txt": (b"Gletscher schmelzen langsam.", "Gletscher"),
    "ünïcødé 名前.md": ("Orchideen blühen im Mai.".encode(), "Orchideen"),
    "report..final.txt": (b"Leuchttuerme stehen an der Kueste.", "Leuchttuerme"),
    "one-long-word.txt": (b"Donau" + b"dampfschiff" * 500, "Donaudampfschiff"),
    "script-and-text.html": (
        b"<html><body><script>alert(1)</script><article><h1>Eulen</h1><p>"
        + f"Eulen jagen nachts. {ENGLISH} {GERMAN}".encode()
        + b"</p></article></body></html>",
        "Eulen",
    ),
    "changes.txt": (b"Version eins.", "zwei"),  # rewritten while the ingest runs
    "folder.txt/inside.md": (b"Ein Ordner namens folder.txt mit Pinguinen.", "Pinguinen"),
}
UNSUPPORTED = {"notes.xyz": "convert it to", "README": "convert it to", "missing.md": "check"}


def make_inputs(folder: Path) -> None:
    for name, (content, _) in {**SKIPPED, **INDEXED}.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is not None:
            path.write_bytes(content)
    with (folder / "big-50mb.txt").open("wb") as handle:
        block = (ENGLISH + "\n").encode() * 13_000  # ~1 MB
        for _ in range(50):
            handle.write(block)
    (folder / "broken-link.txt").symlink_to(folder / "gone.txt")
    (folder / "loop-a.md").symlink_to(folder / "loop-b.md")
    (folder / "loop-b.md").symlink_to(folder / "loop-a.md")
    (folder / "self").symlink_to(folder)  # a link to its own folder is not followed
    os.mkfifo(folder / "pipe.txt")
    (folder / "vanishes.txt").write_text("Gleich weg.", encoding="utf-8")
    (folder.parent / "notes.xyz").write_text("unsupported", encoding="utf-8")
    (folder.parent / "README").write_text("no suffix", encoding="utf-8")


def during_ingest(folder: Path) -> Callable[[int, int, str], None]:
    """Progress hook: the first progress call deletes one file and rewrites another."""

    def hook(done: int, total: int, name: str) -> None:
        if done == 1:
            (folder / "vanishes.txt").unlink(missing_ok=True)
            (folder / "changes.txt").write_text("Version zwei.", encoding="utf-8")

    return hook


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX pipes and symlinks")
def test_bad_inputs_are_skipped_with_a_reason_and_the_rest_is_indexed(tmp_path: Path, embedder):
    folder = tmp_path / "inbox"
    folder.mkdir()
    settings = Settings(index=tmp_path / "index", max_pdf_pages=5, max_unzipped_bytes=1_000_000)
    assistant = build_assistant(settings, embedder)
    try:
        before = tmp_path / "before.txt"
        before.write_text("Ein Artikel über Seepferdchen, schon vorher im Index.", "utf-8")
        assert len(assistant.ingest([before]).added) == 1
        make_inputs(folder)
        paths = [folder, *(tmp_path / name for name in UNSUPPORTED)]
        report = assistant.ingest(paths, during_ingest(folder))

        reasons = {Path(f.path).name: f.error for f in report.failed}
        expected = {name.split("/")[-1]: hint for name, (_, hint) in SKIPPED.items()}
        expected |= UNSUPPORTED
        assert set(reasons) ^ set(expected) == set(), {
            n: reasons.get(n) for n in set(reasons) ^ set(expected)
        }
        for name, hint in expected.items():
            assert hint in reasons[name], (name, reasons[name])
        assert len(report.failed) == len(expected), "one line per bad file"

        indexed = {Path(d.source).name: d for d in assistant.documents()}
        assert set(indexed) == {"before.txt"} | {n.split("/")[-1] for n in INDEXED}
        for name, (_, word) in INDEXED.items():
            hits = assistant.store.lexical(f'"{word}"', 5, TRIGRAM)
            sources = {p.source for p in assistant.store.passages(hits)}
            assert str((folder / name).resolve()) in sources, name
        assert assistant.search("Seepferdchen")[0].source == str(before.resolve())
        assert assistant.store.disagreements() == []
        kinds = len(SKIPPED) + len(INDEXED) + len(UNSUPPORTED) + 1  # + the self link
        print(f"\nkinds of bad input tried: {kinds}")
        assert kinds >= 30
    finally:
        assistant.close()
