"""A bilingual word list for the lexical rankings: question words → the articles' language.

The German–English dictionary of the Ding project (Debian's ``trans-de-en``, GPL-2+) is
read at run time, never shipped: its lines are ``German :: English``, ``|`` separates the
aligned sub-entries of a line (singular | plural, infinitive | participles …), ``;`` the
synonyms within one, and ``{m}``, ``[ugs.]``, ``(…)``, ``<…>`` annotate them. FreeDict's
dictionaries from other languages (Debian's ``dict-freedict-fra-deu``, ``-spa-deu``, …,
CC BY-SA; dictd files in ``/usr/share/dictd``) are read the same way, one direction each
(``freedict_pairs``): a French or Spanish question's words are looked up in German, their
inflected forms through a few suffix rules (``base_forms``). Parsing takes seconds, so the
word pairs are written once to an SQLite file in a cache directory, named after the
dictionaries' paths, sizes and modification times (a changed dictionary makes a new one,
which replaces the old). Without a dictionary the lexicon translates less: it warns once,
with the fix, and everything else works.

A pair is kept when its source side has at most ``MAX_PHRASE_WORDS`` words and its target
is one word (German compounds are one word: "nuclear power plant" → Kernkraftwerk); pairs
are ranked by the number of lines aligning them, then by how common the translation is
(the number of lines holding it), and ``translations`` keeps the best few. (Ranking
ambiguous translations such as Gang (aisle, gear, walk, visit …) lower did not help.)
"""

from __future__ import annotations

import gzip
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
# missing dictionaries are reported once per process
_warned: set[tuple[Path | None, Path | None]] = set()

INSTALL_HINT = "install it with `apt-get install trans-de-en` (as root)"
FREEDICT_HINT = "install them with `apt-get install dict-freedict-fra-deu dict-freedict-spa-deu`"
_UNREAD = "by meaning and by words spelt alike only"
#: FreeDict's language codes (ISO 639-3) for the languages the text rules know.
FREEDICT_CODES = {"deu": "de", "eng": "en", "fra": "fr", "spa": "es"}
MAX_PHRASE_WORDS = 3

# innermost brackets (removed until none is left), and abbreviations such as /Jh./
_ANNOTATION = re.compile(r"\{[^{}]*\}|\[[^\[\]]*\]|\([^()]*\)|<[^<>]*>|(?<!\S)/[^/|]*/(?=[\s;|]|$)")
# German and English stand-ins for objects and subjects, and the "to" of infinitives
_PLACEHOLDER_TEXT = "jd. jdn. jdm. jds. etw. sich sb. sb.'s sth. one's oneself to er/sie ich/er/sie"
_PLACEHOLDERS = frozenset([*_PLACEHOLDER_TEXT.split(), "he/she", "i/he/she"])
_SCHEMA = """
CREATE TABLE pairs (source TEXT, target TEXT, phrase TEXT, translation TEXT, weight INTEGER,
                    common INTEGER, PRIMARY KEY (source, target, phrase, translation))
                    WITHOUT ROWID;
"""
# a FreeDict entry's sense number ("2. Besuch, Visite"), and a number left at a line's end
_SENSE = re.compile(r"^\s*\d+\.\s*")
_TRAILING_SENSE = re.compile(r"\s+\d+\.\s*$")
_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

# Inflected forms → candidate dictionary forms, tried in order where the form itself has no
# entry: plurals and the common verb endings (future, conditional, past, present).
_ENDINGS = {
    "es": [
        (r"(ar|er|ir)(é|ás|á|emos|éis|án|ía|ías|íamos|íais|ían)$", r"\1"),
        (r"aron$", "ar"), (r"ieron$", "er"), (r"ieron$", "ir"), (r"ó$", "ar"),
        (r"ió$", "er"), (r"ió$", "ir"), (r"(ad|id)(o|a|os|as)$", r"\1o"),
        (r"ad(o|a|os|as)$", "ar"), (r"id(o|a|os|as)$", "er"), (r"id(o|a|os|as)$", "ir"),
        (r"ones$", "ón"), (r"es$", ""), (r"s$", ""), (r"(a|an|as)$", "ar"), (r"(e|en|es)$", "er"),
        (r"(e|en|es)$", "ir"),
    ],
    "fr": [
        (r"r(ai|as|a|ons|ez|ont|ais|ait|ions|iez|aient)$", "r"),
        (r"(é|ée|és|ées)$", "er"), (r"(ie|is|ies)$", "ir"), (r"(ent|e|es|ons|ez)$", "er"),
        (r"(ait|aient)$", "er"), (r"(ent|es|e)$", "re"), (r"aux$", "al"), (r"(x|s)$", ""),
        (r"e$", ""),
    ],
}  # fmt: skip


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
    """From the Ding dictionary: (source language, phrase, one-word translation) → (lines
    aligning the two, lines holding the translation at all: how common a word it is)."""
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


def freedict_dictionaries(directory: Path | None) -> list[tuple[str, str, Path]]:
    """FreeDict's dictionaries in a directory, as (source, target, index file), for the
    languages the text rules know."""
    if directory is None or not directory.is_dir():
        return []
    found = []
    for index in sorted(directory.glob("freedict-*-*.index")):
        codes = index.name.removeprefix("freedict-").removesuffix(".index").split("-")
        pair = [FREEDICT_CODES.get(c) for c in codes]
        if len(pair) != 2 or None in pair:
            continue
        if index.with_suffix(".dict.dz").is_file():
            found.append((str(pair[0]), str(pair[1]), index))
    return found


def _offset(text: str) -> int:
    """A dictd index's base-64 number."""
    n = 0
    for c in text:
        n = n * 64 + _BASE64.index(c)
    return n


def freedict_senses(entry: str) -> Iterator[list[str]]:
    """The translations of each sense of one FreeDict entry: the line after the headword
    and the rest of each numbered line ("2. Besuch, Visite"); the other lines define a
    sense in the source language and are not translations. (A sense's number may end the
    line before it: "studieren 2.")"""
    for n, line in enumerate(entry.splitlines()[1:]):
        if n > 0 and not _SENSE.match(line):
            continue
        text = _TRAILING_SENSE.sub("", _SENSE.sub("", line))
        items = strip_annotations(text).replace(";", ",").split(",")
        yield [c for c in (clean(i.strip(" -")) for i in items) if c]


def freedict_pairs(index: Path, source: str) -> dict[tuple[str, str, str], tuple[int, int]]:
    """From one FreeDict dictionary (``index`` beside its ``.dict.dz``): (source language,
    phrase, one-word translation) → (senses aligning the two, senses holding the
    translation: how common it is), as ``word_pairs`` gives the Ding dictionary's."""
    data = gzip.decompress(index.with_suffix(".dict.dz").read_bytes())
    pairs: Counter[tuple[str, str, str]] = Counter()
    seen: Counter[str] = Counter()
    for row in index.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = row.split("\t")
        phrase = " ".join(fields[0].lower().split())
        if len(fields) < 3 or phrase.startswith("00database") or not phrase:
            continue
        try:
            start, length = _offset(fields[1]), _offset(fields[2])
        except ValueError:  # not an index line: skipped, as a Ding line without " :: "
            continue
        entry = data[start : start + length].decode("utf-8", errors="replace")
        for sense in freedict_senses(entry):
            seen.update(set(sense))
            if len(phrase.split()) <= MAX_PHRASE_WORDS:
                pairs.update((source, phrase, t) for t in sense if " " not in t)
    return {(s, p, w): (n, seen[w]) for (s, p, w), n in pairs.items()}


def base_forms(word: str, language: str) -> list[str]:
    """Candidate dictionary forms of an inflected word (plural, verb endings), most likely
    first, for the languages with rules (``_ENDINGS``); none for others."""
    forms = [re.sub(pattern, base, word) for pattern, base in _ENDINGS.get(language, [])]
    return list(dict.fromkeys(f for f in forms if f != word and len(f) >= 3))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Lexicon:
    """Translations of words and short phrases into the articles' language.

    ``path`` is the Ding dictionary (German ↔ English), ``freedict`` a directory of FreeDict
    dictionaries (``freedict_dictionaries``: French → German, Spanish → German …). Loads
    lazily and is safe to share between threads; ``available`` says whether any dictionary
    was found.
    """

    def __init__(self, path: Path | None, cache_dir: Path, freedict: Path | None = None) -> None:
        self.path = path
        self.cache_dir = cache_dir
        self.freedict = freedict
        self.built = False  # whether this instance parsed the dictionaries (not the cache)
        self._db: sqlite3.Connection | None = None
        self._targets: dict[str, tuple[str, ...]] = {}
        self._loaded = False
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        """Whether a dictionary (or its cached lookup) is there to use."""
        return self._connect() is not None

    def languages(self) -> tuple[str, ...]:
        """The languages whose words it translates."""
        self._connect()
        return tuple(self._targets)

    def targets(self, source: str | None) -> tuple[str, ...]:
        """The languages it translates ``source`` into."""
        self._connect()
        return self._targets.get(source or "", ())

    def translations(
        self, phrase: str, source: str, limit: int, target: str | None = None
    ) -> list[str]:
        """The ``limit`` most frequent one-word translations of a lower-case phrase (into
        ``target``, or the first language it translates ``source`` into)."""
        db = self._connect()
        into = target or next(iter(self.targets(source)), None)
        if db is None or into is None:
            return []
        with self._lock:
            rows = db.execute(
                "SELECT translation FROM pairs WHERE source = ? AND target = ? AND phrase = ?"
                " ORDER BY weight DESC, common DESC, translation LIMIT ?",
                (source, into, phrase, limit),
            ).fetchall()
        return [r[0] for r in rows]

    def expand(
        self, words: Sequence[str], source: str, limit: int, target: str | None = None
    ) -> dict[str, list[str]]:
        """Translations of the words and of their runs of two and three (phrase → at most
        ``limit`` translations), leaving out the words themselves and phrases without any.
        A word the dictionary lacks is looked up by its dictionary forms (``base_forms``)."""
        phrases = [
            " ".join(words[i : i + n])
            for n in range(1, MAX_PHRASE_WORDS + 1)
            for i in range(len(words) - n + 1)
        ]
        found = {}
        for p in dict.fromkeys(phrases):
            found[p] = self.translations(p, source, limit, target)
            forms = base_forms(p, source) if " " not in p else []
            while not found[p] and forms:
                found[p] = self.translations(forms.pop(0), source, limit, target)
        kept = {p: [t for t in ts if t not in words] for p, ts in found.items()}
        return {p: ts for p, ts in kept.items() if ts}

    def sources(self) -> list[tuple[str, str, Path]]:
        """The dictionaries there now, as (source, target, file): the Ding dictionary both
        ways, then FreeDict's."""
        ding = []
        if self.path is not None and self.path.is_file():
            ding = [("en", "de", self.path), ("de", "en", self.path)]
        covered = {(s, t) for s, t, _ in ding}
        more = [d for d in freedict_dictionaries(self.freedict) if d[:2] not in covered]
        return [*ding, *more]

    def cache_path(self) -> Path | None:
        """The lookup file for the dictionaries as they are now (None without any)."""
        files = sorted({str(f.resolve()) for _, _, f in self.sources()})
        if not files:
            return None
        stats = [Path(f).stat() for f in files]
        stamps = ":".join(f"{s.st_size}:{s.st_mtime_ns}" for s in stats)
        version = _digest(f"{_SCHEMA}{stamps}")  # a new layout is a new file too
        return self.cache_dir / f"lexicon-{_digest(' '.join(files))}-{version}.sqlite"

    def _connect(self) -> sqlite3.Connection | None:
        with self._lock:
            if not self._loaded:
                self._loaded = True
                self._db = self._open()
            return self._db

    def _open(self) -> sqlite3.Connection | None:
        self._warn_missing()
        cache = self.cache_path()
        if cache is None:
            return None
        for source, target, _ in self.sources():
            if target not in self._targets.get(source, ()):
                self._targets[source] = (*self._targets.get(source, ()), target)
        if not cache.is_file():
            self._build(cache)
        return sqlite3.connect(f"file:{cache}?mode=ro", uri=True, check_same_thread=False)

    def _warn_missing(self) -> None:
        """One warning per process for the dictionaries that are missing, with the fix."""
        missing = []
        if self.path is None or not self.path.is_file():
            missing.append(
                f"No bilingual dictionary at {self.path}: English and German questions meet "
                f"articles in the other language {_UNREAD}; {INSTALL_HINT}, or set "
                "ASSISTANT_LEXICON to its path"
            )
        if self.freedict is not None and all(f == self.path for _, _, f in self.sources()):
            missing.append(
                f"No French or Spanish dictionary in {self.freedict}: French and Spanish "
                f"questions meet German articles {_UNREAD}; {FREEDICT_HINT}, or set "
                "ASSISTANT_FREEDICT to their directory"
            )
        key = (self.path, self.freedict)
        if missing and key not in _warned:
            _warned.add(key)
            log.warning("%s.", ". ".join(missing))

    def _build(self, cache: Path) -> None:
        """Parse the dictionaries into the lookup file (written aside, then renamed)."""
        log.info("Building the lexicon lookup (once) in %s", cache)
        rows: list[tuple[str, str, str, str, int, int]] = []
        if self.path is not None and self.path.is_file():
            with self.path.open(encoding="utf-8", errors="replace") as lines:
                ding = word_pairs(lines)
            rows += [(s, "en" if s == "de" else "de", p, w, *n) for (s, p, w), n in ding.items()]
        for source, target, index in self.sources():
            if index == self.path:
                continue
            pairs = freedict_pairs(index, source)
            rows += [(s, target, p, w, *n) for (s, p, w), n in pairs.items()]
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.{threading.get_ident()}.partial")
        partial.unlink(missing_ok=True)
        db = sqlite3.connect(partial)
        db.executescript(_SCHEMA)
        db.executemany("INSERT OR IGNORE INTO pairs VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.commit()
        db.close()
        partial.replace(cache)
        self.built = True
        stale = cache.name.rsplit("-", 1)[0] + "-*.sqlite"  # these dictionaries' older versions
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
    found: dict[str, list[str]] = {}
    for target in lexicon.targets(source):
        if source is not None and target in languages:
            for phrase, ts in lexicon.expand(words, source, limit, target).items():
                found[phrase] = list(dict.fromkeys([*found.get(phrase, []), *ts]))
    return found


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
