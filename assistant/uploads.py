"""Uploaded files → safe files in the index's uploads folder, ready to ingest.

A browser sends any name; only its last path component survives, reduced to letters,
digits, ``.``, ``-`` and ``_``, so a name can neither leave the folder nor hide its type.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from assistant.errors import LoadError, UnsupportedFileError
from assistant.loading import SUPPORTED_SUFFIXES

MAX_UPLOAD_BYTES = 20_000_000
_UNSAFE = re.compile(r"[^\w.-]+")
_MAX_NAME = 120


def safe_filename(name: str) -> str:
    """A harmless file name for ``name``: no folders, no leading dots, no odd characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFKC", base).replace("\x00", "")
    base = _UNSAFE.sub("_", base).strip("._") or "upload"
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        return base[:_MAX_NAME]
    return f"{stem[: _MAX_NAME - len(suffix) - 1]}.{suffix.lower()}"


def save_upload(folder: Path, name: str, data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES) -> Path:
    """Write an uploaded file into ``folder`` under its safe name; refuse wrong types and sizes."""
    safe = safe_filename(name)
    path = folder / safe
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise UnsupportedFileError(name, f"files of this type cannot be read: use {supported}")
    if len(data) > max_bytes:
        raise LoadError(
            name, f"the file is {len(data):,} bytes, over the limit of {max_bytes:,}: split it"
        )
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
