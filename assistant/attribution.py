"""Who says what in an article: each sentence's speaker, from verbs of saying and quotations.

Pure functions over a text and its sentences. A sentence is attributed to a person when it
names one beside a verb of saying ("Fjodor Lukjanow, ..., sagte", "erklärte Lukyanov",
"laut Lepsibaev", "said Smith"); a role in place of a name ("so der Experte", "Der Politologe
erinnert") is the person last attributed before it. Every sentence inside a quotation belongs
to the speaker of the sentence that closes it, else of the one that opens it. Spellings of one
name that differ only in transliteration (Lukjanow / Lukyanov) are one person.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.chunking import Span
from assistant.text import ATTRIBUTING, CAPITAL, OPENING_QUOTES, SAYING, STOPWORDS, WORD, skeleton

_CAPITALISED = re.compile(rf"[{CAPITAL}][\w-]*")
#: A quotation not closed within this many characters is a stray mark, not a quotation.
MAX_QUOTE_CHARS = 2000


@dataclass(frozen=True)
class Quotation:
    """The span of a quotation, marks included."""

    start: int
    end: int


def person_key(name: str) -> str:
    """One key for the spellings of a surname: its consonants as transliterations share
    them (Lukjanow, Lukyanov, Loukianov), or the folded name when that is too short to
    tell persons apart ("Xi")."""
    decomposed = unicodedata.normalize("NFKD", name.split()[-1].lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    consonants = skeleton(plain)
    return consonants if len(consonants) >= 3 else plain


def quotations(text: str) -> list[Quotation]:
    """The quotations of a text: an opening mark up to the first mark that may close it."""
    found: list[Quotation] = []
    i = 0
    while i < len(text):
        closers = OPENING_QUOTES.get(text[i])
        if closers is None or (text[i] == '"' and text[i + 1 : i + 2].isspace()):
            i += 1
            continue
        end = next(
            (j for j in range(i + 1, min(len(text), i + MAX_QUOTE_CHARS)) if text[j] in closers),
            None,
        )
        if end is None:
            i += 1
            continue
        found.append(Quotation(i, end + 1))
        i = end + 1
    return found


def _outside(text: str, span: Span, quotes: Sequence[Quotation]) -> str:
    """The sentence with the text of quotations blanked out (offsets kept)."""
    chars = list(text[span.start : span.end])
    for q in quotes:
        for k in range(max(q.start, span.start), min(q.end, span.end)):
            chars[k - span.start] = " "
    return "".join(chars)


@dataclass(frozen=True)
class _Mention:
    """What a sentence says about its speaker: a name, a role (someone named before), or
    nothing."""

    name: str | None = None
    role: bool = False


def _mention(outside: str) -> _Mention:
    """The speaker a sentence's own words (outside quotations) name, if any."""
    tokens = [(m.group(), m.start()) for m in WORD.finditer(outside)]
    lowered = [t.lower() for t, _ in tokens]
    cues = [i for i, w in enumerate(lowered) if w in SAYING or w in ATTRIBUTING]
    if not cues:
        return _Mention()
    for i in cues:  # "erklärte Lukyanov", "laut Lepsibaev", "according to Smith"
        name = _name_after(tokens, lowered, i + 1)
        if name:
            return _Mention(name)
    name = _subject_name(tokens, lowered, cues[0])
    if name:
        return _Mention(name)
    articled = any(
        lowered[i] in STOPWORDS and i + 1 < len(tokens) and tokens[i + 1][0][0].isupper()
        for i in range(len(tokens))
    )
    return _Mention(role=articled)


def _name_after(tokens: list[tuple[str, int]], lowered: list[str], i: int) -> str | None:
    """A name right after a verb of saying: "sagt Mikhailichenko", "sagte der Politologe
    Dmitry Mikhailichenko" (the role word before the name is dropped)."""
    if i < len(tokens) and lowered[i] in {"to", "à", "a"}:
        i += 1
    articled = i < len(tokens) and lowered[i] in STOPWORDS
    run = _run(tokens, lowered, i + 1 if articled else i)
    if articled:
        run = run[1:]  # "der Politologe Dmitry Mikhailichenko": the role, then the name
    return " ".join(run) or None


def _subject_name(tokens: list[tuple[str, int]], lowered: list[str], cue: int) -> str | None:
    """A name of two or more words before the verb, not inside a phrase ("des Eurasischen
    Rates"): "Fjodor Lukjanow, Chefredakteur ..., sagte", "Aber ..., Chingiz Lepsibaev, glaubt"."""
    i = 0
    while i < cue:
        run = _run(tokens, lowered, i)
        if len(run) >= 2 and (i == 0 or lowered[i - 1] not in STOPWORDS):
            return " ".join(run)
        i += max(1, len(run))
    return None


def _run(tokens: list[tuple[str, int]], lowered: list[str], i: int) -> list[str]:
    """Capitalised words from ``i`` on, apart by spaces only, that are not function words
    (at most three)."""
    run: list[str] = []
    while i < len(tokens) and len(run) < 3:
        word, start = tokens[i]
        if not _CAPITALISED.fullmatch(word) or lowered[i] in STOPWORDS or lowered[i] in SAYING:
            break
        if run and tokens[i - 1][1] + len(tokens[i - 1][0]) != start - 1:
            break
        run.append(word)
        i += 1
    return run


def speakers(text: str, sentences: Sequence[Span]) -> list[str | None]:
    """The speaker of each sentence (its surname as first written), or None."""
    return [s.name if s else None for s in attributions(text, sentences)]


@dataclass(frozen=True)
class Speaker:
    """Who says a sentence, and whether the sentence itself says so ("X sagte, dass ...",
    "so der Experte": reported) or only lies inside X's quotation; with the quotation
    (numbered in the text read) it lies in, or that it introduces in the writer's words."""

    name: str
    reported: bool
    #: The quotation the sentence lies in (its opening mark's sentence included).
    quotation: int | None = None
    #: The quotation opening in the next sentence, when this one outside quotations names its
    #: speaker ("Lukjanow sagte jedoch, dass man … erwarten sollte." before „Die Beziehungen …").
    introduces: int | None = None

    def sums_up(self, other: Speaker) -> bool:
        """Whether one of the two sentences (of one text) is the writer's summary of the
        quotation the other lies in: the two make one point, as a lead-in restates its
        quote („keine bahnbrechenden Entscheidungen“ … „keine Durchbrüche zu erwarten“)."""
        return any(
            a.introduces is not None and a.introduces == b.quotation
            for a, b in ((self, other), (other, self))
        )


def attributions(text: str, sentences: Sequence[Span]) -> list[Speaker | None]:
    """The speaker of each sentence, or None."""
    quotes = quotations(text)
    mentions = [_mention(_outside(text, s, quotes)) for s in sentences]
    names: dict[str, str] = {}
    resolved: list[str | None] = []
    last: str | None = None
    for mention in mentions:
        if mention.name:
            key = person_key(mention.name)
            last = names.setdefault(key, mention.name.split()[-1])
            resolved.append(last)
        else:
            resolved.append(last if mention.role else None)
    within = [_quotation_at(quotes, s.start) for s in sentences]
    out: list[Speaker | None] = []
    for i, own in enumerate(resolved):
        quoted = own or _quoted_speaker(i, resolved, sentences, quotes)
        if not quoted:
            out.append(None)
            continue
        after = within[i + 1] if i + 1 < len(sentences) else None
        opens = after is not None and quotes[after].start >= sentences[i + 1].start
        introduces = after if own and within[i] is None and opens else None
        out.append(Speaker(quoted, own is not None, within[i], introduces))
    return out


def _quotation_at(quotes: Sequence[Quotation], offset: int) -> int | None:
    """The number of the quotation that holds the offset, or None."""
    return next((k for k, q in enumerate(quotes) if q.start <= offset < q.end), None)


def _quoted_speaker(
    i: int, resolved: list[str | None], sentences: Sequence[Span], quotes: Sequence[Quotation]
) -> str | None:
    """A sentence's own speaker, else that of the quotation it lies in (named where it
    closes, else where it opens)."""
    if resolved[i]:
        return resolved[i]
    start = sentences[i].start
    quote = next((q for q in quotes if q.start <= start < q.end), None)
    if quote is None:
        return None
    closing = _sentence_at(sentences, quote.end - 1)
    opening = _sentence_at(sentences, quote.start)
    for j in (closing, opening):
        if j is not None and resolved[j]:
            return resolved[j]
    return None


def _sentence_at(sentences: Sequence[Span], offset: int) -> int | None:
    return next((j for j, s in enumerate(sentences) if s.start <= offset < s.end), None)
