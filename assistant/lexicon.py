"""A bilingual word list for the lexical rankings: question words → the articles' language.

The German–English dictionary of the Ding project (Debian's ``trans-de-en``, GPL-2+) is
read at run time, never shipped: its lines are ``German :: English``, ``|`` separates the
aligned sub-entries of a line (singular | plural, infinitive | participles …), ``;`` the
synonyms within one, and ``{m}``, ``[ugs.]``, ``(…)``, ``<…>`` annotate them. Parsing it
takes seconds, so the word pairs are written once to an SQLite file in a cache directory,
named after the dictionary's path, size and modification time (a changed dictionary makes
a new one, which replaces the old). Without the dictionary the lexicon is empty: it warns
once, with the fix, and everything else works.

A pair is kept when its source side has at most ``MAX_PHRASE_WORDS`` words and its target
is one word (German compounds are one word: "nuclear power plant" → Kernkraftwerk); pairs
are ranked by the number of lines aligning them, then by how common the translation is
(the number of lines holding it), and ``translations`` keeps the best few. (Ranking
ambiguous translations such as Gang (aisle, gear, walk, visit …) lower did not help.)
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from assistant.loading import detect_language
from assistant.text import content_words, function_word_language
from assistant.tuning import LANGUAGES_CACHE, TRANSLATIONS

log = logging.getLogger(__name__)
_warned: set[Path | None] = set()  # a missing dictionary is reported once per process

INSTALL_HINT = "install it with `apt-get install trans-de-en` (as root)"
#: The languages of the dictionary's two sides, in the order of its lines.
LANGUAGES = ("de", "en")
MAX_PHRASE_WORDS = 3

# innermost brackets (removed until none is left), and abbreviations such as /Jh./
_ANNOTATION = re.compile(r"\{[^{}]*\}|\[[^\[\]]*\]|\([^()]*\)|<[^<>]*>|(?<!\S)/[^/|]*/(?=[\s;|]|$)")
# German and English stand-ins for objects and subjects, and the "to" of infinitives
_PLACEHOLDER_TEXT = "jd. jdn. jdm. jds. etw. sich sb. sb.'s sth. one's oneself to er/sie ich/er/sie"
_PLACEHOLDERS = frozenset([*_PLACEHOLDER_TEXT.split(), "he/she", "i/he/she"])
_SCHEMA = """
CREATE TABLE pairs (source TEXT, phrase TEXT, translation TEXT, weight INTEGER, common INTEGER,
                    PRIMARY KEY (source, phrase, translation)) WITHOUT ROWID;
"""


def strip_annotations(side: str) -> str:
    """A side of a line without its bracketed notes and abbreviations (notes may nest)."""
    while True:
        stripped = _ANNOTATION.sub(" ", side)
        if stripped == side:
            return side
        side = stripped


def clean(item: str) -> str:
    """One synonym without placeholders, in lower case."""
    return " ".join(w for w in item.lower().split() if w not in _PLACEHOLDERS)


def _synonyms(side: str) -> list[list[str]]:
    subs = strip_annotations(side).split("|")
    return [[c for c in map(clean, sub.split(";")) if c] for sub in subs]


def parse_line(line: str) -> Iterator[tuple[str, str]]:
    """The (German, English) synonym pairs one dictionary line aligns."""
    if line.startswith("#") or " :: " not in line:
        return
    german, english = line.rstrip("\n").split(" :: ", 1)
    subs_de, subs_en = _synonyms(german), _synonyms(english)
    if len(subs_de) != len(subs_en):  # unaligned: only the head entries are known to match
        subs_de, subs_en = subs_de[:1], subs_en[:1]
    for de_items, en_items in zip(subs_de, subs_en, strict=True):
        for de in de_items:
            for en in en_items:
                yield de, en


def word_pairs(lines: Iterable[str]) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(source language, phrase, one-word translation) → (lines aligning the two, lines
    holding the translation at all: how common a word it is)."""
    pairs: Counter[tuple[str, str, str]] = Counter()
    seen: Counter[tuple[str, str]] = Counter()
    for line in lines:
        aligned = set(parse_line(line))
        seen.update({("de", de) for de, _ in aligned} | {("en", en) for _, en in aligned})
        for de, en in aligned:
            n_de, n_en = len(de.split()), len(en.split())
            if n_en <= MAX_PHRASE_WORDS and n_de == 1:
                pairs["en", en, de] += 1
            if n_de <= MAX_PHRASE_WORDS and n_en == 1:
                pairs["de", de, en] += 1
    target = {"en": "de", "de": "en"}
    return {(s, p, w): (n, seen[target[s], w]) for (s, p, w), n in pairs.items()}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Lexicon:
    """Translations of words and short phrases between the dictionary's two languages.

    Loads lazily and is safe to share between threads; ``available`` says whether the
    dictionary was found.
    """

    def __init__(self, path: Path | None, cache_dir: Path) -> None:
        self.path = path
        self.cache_dir = cache_dir
        self.built = False  # whether this instance parsed the dictionary (not the cache)
        self._db: sqlite3.Connection | None = None
        self._loaded = False
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        """Whether the dictionary (or its cached lookup) is there to use."""
        return self._connect() is not None

    def languages(self) -> tuple[str, ...]:
        """The languages it translates between."""
        return LANGUAGES if self.available else ()

    def translations(self, phrase: str, source: str, limit: int) -> list[str]:
        """The ``limit`` most frequent one-word translations of a lower-case phrase."""
        db = self._connect()
        if db is None:
            return []
        with self._lock:
            rows = db.execute(
                "SELECT translation FROM pairs WHERE source = ? AND phrase = ?"
                " ORDER BY weight DESC, common DESC, translation LIMIT ?",
                (source, phrase, limit),
            ).fetchall()
        return [r[0] for r in rows]

    def expand(self, words: Sequence[str], source: str, limit: int) -> dict[str, list[str]]:
        """Translations of the words and of their runs of two and three (phrase → at most
        ``limit`` translations), leaving out the words themselves and phrases without any."""
        phrases = [
            " ".join(words[i : i + n])
            for n in range(1, MAX_PHRASE_WORDS + 1)
            for i in range(len(words) - n + 1)
        ]
        found = {p: self.translations(p, source, limit) for p in dict.fromkeys(phrases)}
        kept = {p: [t for t in ts if t not in words] for p, ts in found.items()}
        return {p: ts for p, ts in kept.items() if ts}

    def cache_path(self) -> Path | None:
        """The lookup file for the dictionary as it is now (None without a dictionary)."""
        if self.path is None or not self.path.is_file():
            return None
        stat = self.path.stat()
        version = _digest(f"{stat.st_size}:{stat.st_mtime_ns}")
        return self.cache_dir / f"lexicon-{_digest(str(self.path.resolve()))}-{version}.sqlite"

    def _connect(self) -> sqlite3.Connection | None:
        with self._lock:
            if not self._loaded:
                self._loaded = True
                self._db = self._open()
            return self._db

    def _open(self) -> sqlite3.Connection | None:
        cache = self.cache_path()
        if cache is None:
            if self.path not in _warned:
                _warned.add(self.path)
                log.warning(
                    "No bilingual dictionary at %s: questions are matched to articles in "
                    "another language by meaning only; %s, or set ASSISTANT_LEXICON to its path",
                    self.path,
                    INSTALL_HINT,
                )
            return None
        if not cache.is_file():
            self._build(cache)
        return sqlite3.connect(f"file:{cache}?mode=ro", uri=True, check_same_thread=False)

    def _build(self, cache: Path) -> None:
        """Parse the dictionary into the lookup file (written aside, then renamed)."""
        assert self.path is not None
        log.info("Building the lexicon lookup from %s (once) in %s", self.path, cache)
        with self.path.open(encoding="utf-8", errors="replace") as lines:
            pairs = word_pairs(lines)
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.{threading.get_ident()}.partial")
        partial.unlink(missing_ok=True)
        db = sqlite3.connect(partial)
        db.executescript(_SCHEMA)
        rows = ((*key, *weights) for key, weights in pairs.items())
        db.executemany("INSERT INTO pairs VALUES (?, ?, ?, ?, ?)", rows)
        db.commit()
        db.close()
        partial.replace(cache)
        self.built = True
        stale = cache.name.rsplit("-", 1)[0] + "-*.sqlite"  # this dictionary's older versions
        for old in cache.parent.glob(stale):
            if old != cache:
                old.unlink(missing_ok=True)


def translations(
    question: str,
    words: Sequence[str],
    lexicon: Lexicon | None,
    languages: Collection[str | None],
    limit: int = TRANSLATIONS,
) -> dict[str, list[str]]:
    """Translations of the question's words and of runs of them (phrase → at most ``limit``
    words), when the lexicon translates the question's language into another language among
    the articles' ``languages`` (also when articles in the question's language sit beside
    them: an English article must not hide the German ones' words); otherwise none."""
    if lexicon is None or not lexicon.available:
        return {}
    source = question_language(question)
    pair = set(lexicon.languages())
    if source not in pair or not (pair - {source}) & set(languages):
        return {}
    return lexicon.expand(words, source, limit)


def word_groups(words: Sequence[str], found: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Each word with its translations and those of the phrases that hold it (``found``,
    from ``translations``: "nuclear power plant" → Kernkraftwerk is a form of each of the
    three words)."""
    return [
        [w, *(t for phrase, ts in found.items() if w in phrase.split() for t in ts)] for w in words
    ]


def question_words(
    question: str, lexicon: Lexicon | None, languages: Collection[str | None]
) -> list[str]:
    """The question's content words, then their translations into the articles' language
    (see ``translations``), without repeats."""
    words = content_words(question)
    found = translations(question, words, lexicon, languages)
    return list(dict.fromkeys([*words, *(t for ts in found.values() for t in ts)]))


@lru_cache(maxsize=LANGUAGES_CACHE)  # retrieval and the answerer both ask, for the same question
def question_language(question: str) -> str | None:
    """The question's language, told once per question: by its function words
    (``text.function_word_language``) where they tell one language, else by
    ``detect_language`` (5-15 ms), which names in a short question mislead."""
    return function_word_language(question) or detect_language(question)
