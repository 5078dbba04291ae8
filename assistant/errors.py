"""The exception tree. Every message says what went wrong and how to fix it.

AssistantError
├── ConfigError            a setting is invalid
├── ModelError             the embedding model cannot be loaded or fails its hash check
├── LLMError               the language model failed and no fallback was configured
├── LoadError              one input file cannot be read (the rest of a batch goes on)
│   └── UnsupportedFileError
├── IndexAccessError       the index on disk cannot be used as asked
│   ├── IndexLockedError   another process owns the index directory
│   ├── IndexWriteError    the disk refused a write (full, quota, I/O error)
│   └── ModelMismatchError the index was built with another embedding model
├── NotFoundError          a document id or path is not in the index
└── DatasetError           a question set line is invalid
"""

from __future__ import annotations

from pathlib import Path


class AssistantError(Exception):
    """Base of every error the assistant reports to a user."""


class ConfigError(AssistantError):
    """A setting is invalid."""


class ModelError(AssistantError):
    """The embedding model cannot be loaded, or its weights fail the hash check."""


class LLMError(AssistantError):
    """The language model failed (server unreachable, request refused) with no fallback."""


class LoadError(AssistantError):
    """A file cannot be turned into an article."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnsupportedFileError(LoadError):
    """The file's type has no loader."""


class IndexAccessError(AssistantError):
    """The index on disk cannot be used as asked."""


class IndexLockedError(IndexAccessError):
    """Another process holds the index directory."""

    def __init__(self, directory: str | Path) -> None:
        super().__init__(
            f"The index at {directory} is in use by another process (the app or another "
            "command). Stop that process, point this one at another directory with --index "
            "or ASSISTANT_INDEX, or share one index between processes through a Chroma server "
            "(ASSISTANT_CHROMA_URL)."
        )


class IndexWriteError(IndexAccessError):
    """The index could not be written: its disk is full or failing."""

    def __init__(self, directory: str | Path, cause: BaseException) -> None:
        reason = " ".join(str(cause).split())[:160]
        super().__init__(
            f"The index at {directory} could not be written ({reason}): the disk is probably "
            "full. Free some space and run the command again; what was indexed before is "
            "kept (`assistant doctor` checks it)."
        )


class ModelMismatchError(IndexAccessError):
    """The index was built with a different embedding model than the one configured."""

    def __init__(self, directory: str | Path, built_with: str, configured: str) -> None:
        self.built_with, self.configured = built_with, configured
        super().__init__(
            f"The index at {directory} was built with the embedding model {built_with!r}, "
            f"but {configured!r} is configured. Run `assistant reindex` to embed it again "
            f"with {configured!r} (sources are not re-read), or set "
            f"ASSISTANT_EMBEDDING_MODEL={built_with!r} to keep using it."
        )


class NotFoundError(AssistantError):
    """A document id or path is not in the index."""


class DatasetError(AssistantError):
    """A question set is invalid: the message names the line and the field."""
