"""Evaluation metrics that need no LLM: retrieval ranks, answer overlap, citation support.

Answers are compared SQuAD-style after normalisation: Unicode NFKC, case folding (``ß`` →
``ss``), punctuation of any script (``„“«»–``) replaced by spaces, and the articles of the
answer's language dropped (English ``a an the``; German ``der die das …``; both when the
language is unknown). Replacing punctuation by spaces, unlike SQuAD's deletion, keeps German
hyphenated compounds ("Nur-Sultan") as the words they are made of. An English ordinal's
ending after digits is dropped ("January 10th" holds "January 10", as German "10." does),
and the number words two to twelve of the answer's language are written as digits ("2 days"
holds "two days").
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from assistant.citations import MARKER, STATEMENT, numbers
from assistant.text import ARTICLES, LANGUAGES

_ALL_ARTICLES = frozenset().union(*ARTICLES.values())
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_ORDINAL_ENDING = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b")
#: Per language, its number words two to twelve → digits (text.Focus.numbers).
_CARDINALS = {
    code: {w: str(n) for n, w in enumerate(lang.focus.numbers.split()[:11], 2)}
    for code, lang in LANGUAGES.items()
    if lang.focus
}
_ALL_CARDINALS = {w: n for cardinals in _CARDINALS.values() for w, n in cardinals.items()}


def cardinals(language: str | None = None) -> dict[str, str]:
    """A language's number words two to twelve → digits (every language's, unknown)."""
    return _CARDINALS.get((language or "")[:2], _ALL_CARDINALS)


def normalize_answer(text: str, language: str | None = None) -> str:
    """Lower-cased, punctuation-free, article-free words of ``text``, joined by spaces."""
    text = unicodedata.normalize("NFKC", MARKER.sub(" ", text)).casefold()
    text = _ORDINAL_ENDING.sub("", text)
    text = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    articles = ARTICLES.get((language or "")[:2], _ALL_ARTICLES)
    digits = cardinals(language)
    return " ".join(digits.get(w, w) for w in text.split() if w not in articles)


def exact_match(prediction: str, references: Sequence[str], language: str | None = None) -> float:
    """1.0 when the normalised prediction equals a normalised reference."""
    norm = normalize_answer(prediction, language)
    return float(any(norm == normalize_answer(r, language) for r in references))


def token_f1(prediction: str, references: Sequence[str], language: str | None = None) -> float:
    """The best SQuAD token F1 of the prediction against any reference."""
    return max((_f1(prediction, r, language) for r in references), default=0.0)


def _f1(prediction: str, reference: str, language: str | None) -> float:
    pred = normalize_answer(prediction, language).split()
    ref = normalize_answer(reference, language).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return float(pred == ref)
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains_answer(text: str, references: Sequence[str], language: str | None = None) -> float:
    """1.0 when a normalised reference occurs, word-aligned, in the normalised text."""
    padded = f" {normalize_answer(text, language)} "
    return float(
        any((ref := normalize_answer(r, language)) and f" {ref} " in padded for r in references)
    )


def first_relevant_rank(relevant: Sequence[bool]) -> int | None:
    """1-based rank of the first relevant item, or None."""
    return next((i for i, r in enumerate(relevant, 1) if r), None)


def hit_at_k(relevant: Sequence[bool], k: int) -> float:
    """1.0 when a relevant item is among the first ``k``."""
    return float(any(relevant[:k]))


def reciprocal_rank(relevant: Sequence[bool], k: int = 10) -> float:
    """1/rank of the first relevant item within the first ``k``, else 0."""
    rank = first_relevant_rank(relevant[:k])
    return 1.0 / rank if rank else 0.0


def ndcg(gains: Sequence[float], ideal_count: int, k: int = 10) -> float:
    """nDCG@k for binary gains, against an ideal ranking of ``ideal_count`` relevant items."""
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    idcg = sum(1 / math.log2(i + 2) for i in range(min(ideal_count, k)))
    return dcg / idcg if idcg else 0.0


def hit_at_chars(texts: Sequence[str], needle: str, budget: int) -> bool:
    """Whether ``needle`` lies within the first ``budget`` characters of the ranked texts."""
    return needle in "\n".join(texts)[:budget]


def squash(text: str) -> str:
    """Whitespace runs to single spaces (chunking may rewrap the quoted text)."""
    return " ".join(text.split())


def word_recall(part: str, whole: str, language: str | None = None) -> float:
    """Share of ``part``'s normalised words that occur in ``whole``."""
    words = normalize_answer(part, language).split()
    if not words:
        return 0.0
    pool = set(normalize_answer(whole, language).split())
    return sum(w in pool for w in words) / len(words)


def supports(
    quote: str,
    answers: Sequence[str],
    passages: Sequence[str],
    language: str | None = None,
    min_overlap: float = 0.6,
) -> bool:
    """Lexical support check in place of NLI: the quote holds a reference answer, or most
    of its words lie in a reference passage (or most of a short reference passage in it)."""
    if contains_answer(quote, answers, language):
        return True
    return any(
        word_recall(quote, p, language) >= min_overlap
        or word_recall(p, quote, language) >= min_overlap
        for p in passages
    )


def answer_sentences(text: str) -> list[tuple[str, list[int]]]:
    """The answer's statements, each with the citation numbers closing it: a statement runs
    up to its markers (full stops are no guide: "am 10. Januar"); text after the last
    marker is a statement without citations."""
    out = []
    end = 0
    for found in STATEMENT.finditer(text):
        markers = numbers(found.group(2))
        out.append((found.group(1).strip(), markers))
        end = found.end()
    rest: list[tuple[str, list[int]]] = [
        (s.strip(), []) for s in _SENTENCE_END.split(text[end:]) if normalize_answer(s)
    ]
    return [(s, ns) for s, ns in out if normalize_answer(s)] + rest


def sentence_grounded(sentence: str, cited: Iterable[str], min_overlap: float = 0.8) -> bool:
    """Whether most of the sentence's words lie in one of the texts it cites."""
    return any(word_recall(sentence, text) >= min_overlap for text in cited)


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean, NaN for no values (a metric that does not apply)."""
    items = list(values)
    return sum(items) / len(items) if items else math.nan
