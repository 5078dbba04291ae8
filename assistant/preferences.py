"""What the app's users chose on its Settings page, kept as JSON in the index directory.

Only answering knobs are kept (never paths, the model, or secrets): the entry point applies
them as ``Settings(**overrides(prefs))``; secrets come from the environment only, and so does
where they go: while the environment sets a key, no server address (``*_url``) is editable,
so a visitor cannot send the key to a server of their choosing.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from assistant.types import Answer

PREFERENCES_FILE = "ui-settings.json"
FEEDBACK_FILE = "feedback.jsonl"
#: Settings fields a user may change in the app (besides answerer-specific ones, see below).
EDITABLE = frozenset(
    {
        "answerer",
        "k",
        "answer_passages",
        "answer_sentences",
        "abstain_threshold",
        "abstain_threshold_crosslingual",
    }
)
_ANSWERER_PREFIXES = ("llm_", "ollama_", "openai_", "huggingface_", "hf_")
#: Answerer settings kept out of the app: the hash that vouches for a model file.
_FIXED = frozenset({"llm_sha256"})
_SECRET_WORDS = frozenset({"key", "token", "secret", "password"})
_DESTINATIONS = ("_url", "_host", "_endpoint")
_append_lock = threading.Lock()


def is_secret(name: str) -> bool:
    """Whether a setting's name says it holds a secret (never stored, never shown)."""
    return not _SECRET_WORDS.isdisjoint(name.lower().split("_"))


def editable_fields(names: Iterable[str], *, key_from_env: bool = False) -> list[str]:
    """The settings, of those named, that the app's Settings page may change (no server
    address while ``key_from_env``: the environment says where a key goes)."""
    return [
        n
        for n in names
        if (n in EDITABLE or n.startswith(_ANSWERER_PREFIXES))
        and not is_secret(n)
        and n not in _FIXED
        and not (key_from_env and n.endswith(_DESTINATIONS))
    ]


def sends_secret(settings: Any, names: Iterable[str]) -> bool:
    """Whether the environment sets a secret that is sent to a server (an API key; the
    admin password is only compared, never sent)."""
    return any(is_secret(n) and n != "admin_password" and getattr(settings, n) for n in names)


def overrides(
    prefs: Mapping[str, Any], known: Iterable[str], *, key_from_env: bool = False
) -> dict[str, Any]:
    """The stored choices that are editable settings among ``known`` (others are dropped)."""
    allowed = set(editable_fields(known, key_from_env=key_from_env))
    return {k: v for k, v in prefs.items() if k in allowed}


def load_preferences(index: Path) -> dict[str, Any]:
    """The stored choices (empty when none are stored)."""
    path = index / PREFERENCES_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"The app's saved settings in {path} cannot be read ({exc}): delete the file "
            "to return to the defaults."
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a JSON object: delete it to use the defaults.")
    return data


def save_preferences(index: Path, prefs: Mapping[str, Any]) -> None:
    """Store the choices atomically, without any secret."""
    index.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in prefs.items() if not is_secret(k)}
    tmp = index / f".{PREFERENCES_FILE}.{os.getpid()}.{threading.get_ident()}"
    tmp.write_text(json.dumps(clean, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(index / PREFERENCES_FILE)


def record_feedback(index: Path, answer: Answer, score: int, answerer: str) -> dict[str, Any]:
    """Append a rating (1 good, 0 bad) of an answer, with its question and sources."""
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "score": score,
        "answerer": answerer,
        **answer.as_dict(),
    }
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    with _append_lock, (index / FEEDBACK_FILE).open("a", encoding="utf-8") as out:
        out.write(line)
    return entry


def read_feedback(index: Path) -> list[dict[str, Any]]:
    """Every stored rating, oldest first."""
    path = index / FEEDBACK_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
