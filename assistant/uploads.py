"""Uploaded files → safe, unique files in the index's uploads folder, indexed.

A browser sends any name; only its last path component survives, reduced to letters,
digits, ``.``, ``-`` and ``_`` and cut to ``MAX_NAME_BYTES`` bytes of UTF-8, so a name can
neither leave the folder, hide its type nor exceed what a file system allows. Each upload is
stored under a folder named by its content, so two users' ``report.txt`` never overwrite each
other, and it is moved there only after it was read: one that fails leaves nothing behind
and touches no file already indexed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from assistant.errors import LoadError, UnsupportedFileError
from assistant.ingestion import Failure, IngestReport
from assistant.loading import SUPPORTED_SUFFIXES
from assistant.types import Article

MAX_UPLOAD_BYTES = 20_000_000
MAX_NAME_BYTES = 120  # well under the 255 bytes of most file systems
_UNSAFE = re.compile(r"[^\w.-]+")
_STAGING = ".staging"


def safe_filename(name: str) -> str:
    """A harmless file name for ``name``: no folders, no leading dots, no odd characters,
    at most ``MAX_NAME_BYTES`` bytes."""
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFKC", base).replace("\x00", "")
    base = _UNSAFE.sub("_", base).strip("._") or "upload"
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        return _cut_bytes(base, MAX_NAME_BYTES)
    suffix = _cut_bytes(suffix.lower(), 16)
    return f"{_cut_bytes(stem, MAX_NAME_BYTES - len(suffix.encode()) - 1)}.{suffix}"


def _cut_bytes(text: str, limit: int) -> str:
    """The longest start of ``text`` that fits ``limit`` bytes of UTF-8 (whole characters)."""
    return text.encode()[:limit].decode(errors="ignore") or "upload"


def check_upload(name: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """The safe name of an acceptable upload; refuses wrong types and sizes."""
    safe = safe_filename(name)
    if Path(safe).suffix.lower() not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise UnsupportedFileError(name, f"files of this type cannot be read: use {supported}")
    if len(data) > max_bytes:
        raise LoadError(
            name, f"the file is {len(data):,} bytes, over the limit of {max_bytes:,}: split it"
        )
    return safe


def stored_path(folder: Path, name: str, data: bytes) -> Path:
    """Where an upload is kept: a folder named by its content, then its safe name."""
    return folder / hashlib.sha256(data).hexdigest()[:16] / safe_filename(name)


def add_upload(
    folder: Path,
    name: str,
    data: bytes,
    load: Callable[[Path], Article],
    add: Callable[[Article], IngestReport],
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> IngestReport:
    """Read an upload from a staging copy (``load``), move it into place under its unique
    name, then index it (``add``); any failure is one line in the report."""
    try:
        check_upload(name, data, max_bytes)
        final = stored_path(folder, name, data)
        staging = folder / _STAGING / uuid.uuid4().hex / final.name
        staging.parent.mkdir(parents=True, exist_ok=True)
        staging.write_bytes(data)
    except LoadError as exc:
        return IngestReport(failed=[Failure(exc.path, exc.reason)])
    except OSError as exc:
        return IngestReport(failed=[Failure(name, _disk_reason(exc))])
    try:
        article = replace(load(staging), source=str(final.resolve()))
        created = not final.exists()
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, final)
    except LoadError as exc:
        return IngestReport(failed=[Failure(name, exc.reason)])
    except OSError as exc:
        return IngestReport(failed=[Failure(name, _disk_reason(exc))])
    finally:
        shutil.rmtree(staging.parent, ignore_errors=True)
    try:
        return add(article)
    except Exception:
        if created:  # not indexed: keep no file for it
            final.unlink(missing_ok=True)
        raise


def remove_upload(folder: Path, source: str) -> None:
    """Delete a stored upload (and its folder) once its document is removed."""
    path = Path(source)
    if path.is_relative_to(folder) and path.parent != folder:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()


def _disk_reason(exc: OSError) -> str:
    return f"the upload cannot be stored ({exc.strerror}): free disk space or check permissions"
