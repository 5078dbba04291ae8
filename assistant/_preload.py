"""Imported once by the worker of ``assistant.isolation``: loads the parsers and
langdetect's language profiles, so that each job starts warm (never imported by
the assistant itself)."""

import docx  # noqa: F401
import pypdf  # noqa: F401
import trafilatura  # noqa: F401

from assistant import fetching, loading  # noqa: F401

loading.detect_language("warm up the language profiles")
