"""What a question asks for, and whether a sentence holds that kind of thing.

A question that asks *when* wants a time, one that asks *how many* a number: a sentence
without one does not answer it, however many of the question's names and words it shares
("How much money will Rosatom invest?" over a sentence naming Rosatom but no sum). The
question's words are read in any of the languages below; a sentence's times and numbers are
read from digits and from the words of every language (the question and the article are often
in different languages). A new language adds one ``Focus`` entry.

A leaf module: it imports nothing of the assistant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Wanted(Enum):
    """The kind of thing a question asks for (only the kinds a sentence can be checked for)."""

    TIME = "time"
    NUMBER = "number"


@dataclass(frozen=True)
class Focus:
    """One language's question words for a time or a number, and its words for times and
    numbers in a text (all lower case; question phrases are matched as whole words)."""

    asks_time: str
    asks_number: str
    months: str
    days: str
    #: Words that name a time by themselves (century, today, ...).
    time_words: str
    #: Number words; a word that starts with one counts ("zweitägigen", "hundreds").
    numbers: str


FOCUS: dict[str, Focus] = {
    "en": Focus(
        asks_time="""when | what year | which year | what day | which day | what date |
        what century | which century | what decade | which decade | what time""",
        asks_number="how many | how much | how old | how long | how far | how large | how big",
        #: "may" left out: as a verb it is in every other English sentence
        months="""january february march april june july august september october november
        december""",
        days="monday tuesday wednesday thursday friday saturday sunday",
        time_words="century centuries decade today yesterday tomorrow",
        numbers="""two three four five six seven eight nine ten eleven twelve twenty thirty
        forty fifty hundred thousand million billion dozen half double""",
    ),
    "de": Focus(
        asks_time="""wann | welchem jahr | welches jahr | welchem tag | welcher tag |
        welchem datum | welchem jahrhundert | welchem jahrzehnt | welcher zeit | seit wann |
        bis wann""",
        asks_number="wie viele | wie viel | wieviel | wie alt | wie lange | wie weit | wie groß",
        months="""januar februar märz april mai juni juli august september oktober november
        dezember""",
        days="montag dienstag mittwoch donnerstag freitag samstag sonntag",
        time_words="jahrhundert jahrhunderts jahrzehnt heute gestern morgen",
        numbers="""zwei drei vier fünf sechs sieben acht neun zehn elf zwölf zwanzig dreißig
        vierzig fünfzig hundert tausend million milliarde dutzend hälfte halb doppelt""",
    ),
    "fr": Focus(
        asks_time="""quand | quelle année | quel jour | quelle date | quel siècle |
        quelle époque | depuis quand""",
        asks_number="combien",
        months="""janvier février mars avril mai juin juillet août septembre octobre novembre
        décembre""",
        days="lundi mardi mercredi jeudi vendredi samedi dimanche",
        time_words="siècle siècles décennie aujourd hier demain",
        numbers="""deux trois quatre cinq six sept huit neuf dix onze douze vingt trente
        quarante cinquante cent mille million milliard douzaine moitié double""",
    ),
    "es": Focus(
        asks_time="""cuándo | qué año | qué día | qué fecha | qué siglo | qué época |
        desde cuándo""",
        asks_number="cuántos | cuántas | cuánto | cuánta",
        months="""enero febrero marzo abril mayo junio julio agosto septiembre octubre
        noviembre diciembre""",
        days="lunes martes miércoles jueves viernes sábado domingo",
        time_words="siglo siglos década hoy ayer mañana",
        numbers="""dos tres cuatro cinco seis siete ocho nueve diez once doce veinte treinta
        cuarenta cincuenta cien ciento mil millón millones docena mitad doble""",
    ),
}


def _phrases(field: str) -> list[str]:
    return [" ".join(p.split()) for f in FOCUS.values() for p in getattr(f, field).split("|")]


def _words(field: str) -> list[str]:
    return [w for f in FOCUS.values() for w in getattr(f, field).split()]


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
#: A digit, or a number word, also at the start of a compound ("zweitägigen"), but not an
#: ordinal ("zweitens", "dritte").
_NUMBER = re.compile(
    rf"\d|(?<!\w)(?:{_alternatives(_words('numbers'))})(?!tens\b|te[nrsm]?\b)", re.IGNORECASE
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
