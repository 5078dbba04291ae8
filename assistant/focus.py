"""What a question asks for, and whether a sentence holds that kind of thing.

A question that asks *when* wants a time, one that asks *how many* a number: a sentence
without one does not answer it, however many of the question's names and words it shares
("How much money will Rosatom invest?" over a sentence naming Rosatom but no sum). The
question's words are read in any language of ``text.LANGUAGES``; a sentence's times and
numbers are read from digits and from the words of every language (the question and the
article are often in different languages). A new language adds its ``text.Focus`` to its
``text.Language``.
"""

from __future__ import annotations

import re
from enum import Enum

from assistant.text import LANGUAGES


class Wanted(Enum):
    """The kind of thing a question asks for (only the kinds a sentence can be checked for)."""

    TIME = "time"
    NUMBER = "number"


FOCUSES = [lang.focus for lang in LANGUAGES.values() if lang.focus is not None]


def _phrases(field: str) -> list[str]:
    return [" ".join(p.split()) for f in FOCUSES for p in getattr(f, field).split("|")]


def _words(field: str) -> list[str]:
    return [w for f in FOCUSES for w in getattr(f, field).split()]


def _alternatives(items: list[str]) -> str:
    return "|".join(re.escape(i) for i in sorted(set(items), key=len, reverse=True))


_ASKS = {
    Wanted.TIME: re.compile(rf"(?<!\w)(?:{_alternatives(_phrases('asks_time'))})(?!\w)"),
    Wanted.NUMBER: re.compile(rf"(?<!\w)(?:{_alternatives(_phrases('asks_number'))})(?!\w)"),
}
_MONTHS = _alternatives(_words("months"))
#: A date ("10. Januar", "January 10"), a year (1000-2099, "1970er"), a month or weekday as
#: a word of its own (not "Januar-Proteste"), a day of the month ("am 11."), or a word that
#: names a time.
_TIME = re.compile(
    rf"(?<![\w.,])\d{{1,2}}\.? ?(?:{_MONTHS})(?![\w-])|(?<![\w-])(?:{_MONTHS}) \d{{1,2}}(?!\d)"
    rf"|(?<![\w.,])(?:1\d{{3}}|20\d{{2}})(?:er|s)?(?![\w.,]\d)"
    rf"|(?<![\w-])(?:{_MONTHS}|{_alternatives(_words('days'))})(?![\w-])"
    rf"|(?<!\w)(?:am|on|le|el) \d{{1,2}}\.?(?!\d)"
    rf"|(?<!\w)(?:{_alternatives(_words('time_words'))})(?!\w)",
    re.IGNORECASE,
)
_COMPOUNDING = [w for f in FOCUSES if f.compounds for w in f.numbers.split()]
_WHOLE = [w for f in FOCUSES if not f.compounds for w in f.numbers.split()]
#: A digit, a number word (with a plural ending), or in a language that writes compounds
#: ("zweitägigen") a word that starts with one, but not an ordinal ("zweitens", "dritte").
_NUMBER = re.compile(
    rf"\d|(?<!\w)(?:{_alternatives(_COMPOUNDING)})(?!tens\b|te[nrsm]?\b)"
    rf"|(?<!\w)(?:{_alternatives(_WHOLE)})(?:e?s)?(?!\w)",
    re.IGNORECASE,
)


def wanted(question: str) -> Wanted | None:
    """What the question asks for, if it asks for a time or a number (else None)."""
    lowered = " ".join(question.lower().split())
    found = [(m.start(), kind) for kind, rule in _ASKS.items() if (m := rule.search(lowered))]
    return min(found, key=lambda f: f[0])[1] if found else None


def holds(text: str, kind: Wanted | None) -> bool:
    """Whether a sentence holds the kind of thing asked for (anything, when nothing is)."""
    if kind is Wanted.TIME:
        return bool(_TIME.search(text))
    if kind is Wanted.NUMBER:  # a count or an amount: not the day or year of a date
        return bool(_NUMBER.search(_TIME.sub(" ", text)))
    return True
