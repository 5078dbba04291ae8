"""Spelling-tolerant word overlap between a question's words and a sentence (pure).

Words match by character trigrams or a shared prefix, so names and cognates match across
languages (Tokayev/Tokajew, experts/Experten), and, for a question in another language than
the text, by their consonants as transliterations share them (Poutine/Putin);
``weighted_overlap`` weights each question word by its rarity among the candidate sentences.
The extractive answerer ranks sentences with it, and the support check scores written
statements with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from assistant.text import WORD, fold, skeleton
from assistant.tuning import TRIGRAMS_CACHE, WORD_PAIRS_CACHE


@lru_cache(maxsize=TRIGRAMS_CACHE)
def trigrams(word: str) -> frozenset[str]:
    """Character trigrams of a word padded with spaces (names and cognates share many)."""
    padded = f" {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


@lru_cache(maxsize=WORD_PAIRS_CACHE)  # pure, and the same word pairs recur across sentences
def word_similarity(a: str, b: str, sounds: bool = False, parts: bool = False) -> float:
    """Spelling similarity of two folded words (0..1): trigram Jaccard, shared prefix, or
    shared consonants.

    The shared prefix catches cognates across languages (experts/experten, visit/visite);
    with ``sounds`` (a question in another language than the text), the consonants
    (``skeleton``) catch a name's transliterations (Poutine/Putin, Kazajistan/Kasachstan,
    Moscu/Moskau), for words of five letters or more; with ``parts``, a word that is a part
    of the other's compound matches it (weapons → Waffen: „Waffenmontageanlagen“).
    """
    if a == b or (parts and (_part_of(a, b) or _part_of(b, a))):
        return 1.0
    ga, gb = trigrams(a), trigrams(b)
    jaccard = len(ga & gb) / len(ga | gb)
    by_prefix = _prefix_share(a, b, 4)
    by_sound = 0.0
    if sounds and min(len(a), len(b)) >= 5:
        by_sound = _prefix_share(skeleton(a), skeleton(b), 3)
    return max(jaccard, by_prefix, by_sound)


def _part_of(part: str, word: str) -> bool:
    """Whether a word of five letters or more is a part of a compound, with three letters or
    more beside it (Waffen, Montage and Anlagen in Waffenmontageanlagen; not "reisen" in
    "preisen")."""
    return len(part) >= 5 and len(word) >= len(part) + 3 and part in word


def _prefix_share(a: str, b: str, least: int) -> float:
    """The share of the longer string that both start with, if that is at least four
    characters, or ``least`` when the two are the same."""
    pairs = enumerate(zip(a, b, strict=False))
    prefix = next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))
    enough = prefix >= 4 or (prefix >= least and a == b)
    return prefix / max(len(a), len(b)) if enough else 0.0


def word_matches(
    question_words: Sequence[str], text: str, sounds: bool = False, parts: bool = False
) -> list[float]:
    """For each question word, how well the text's closest word spells it (0, or 0.4..1)."""
    words = {fold(w) for w in WORD.findall(text)}
    matches = []
    for q in question_words:
        best = max((word_similarity(q, w, sounds, parts) for w in words), default=0.0)
        matches.append(best if best >= 0.4 else 0.0)
    return matches


def word_overlap(question_words: Sequence[str], text: str, sounds: bool = False) -> float:
    """How much of the question's words the text holds, allowing near-spellings (0..1)."""
    matches = word_matches(question_words, text, sounds)
    return sum(matches) / len(matches) if matches else 0.0


def weighted_overlap(
    question_words: Sequence[str],
    texts: Sequence[str],
    sounds: bool = False,
    matches: Sequence[Sequence[float]] | None = None,
    parts: bool = False,
) -> np.ndarray:
    """Word overlap of each text, each question word weighted by its rarity among the texts
    (``matches``: ``word_matches`` of each text, when already known).

    A word that most candidate sentences share (the topic) tells them apart less than one
    only a few hold (inverse document frequency over the candidates).
    """
    if not question_words or not texts:
        return np.zeros(len(texts))
    if matches is None:
        matches = [word_matches(question_words, t, sounds, parts) for t in texts]
    table = np.array(matches)
    holders = (table > 0.6).sum(axis=0)
    rarity = np.log((len(texts) + 1) / (holders + 0.5))
    return np.asarray(table @ rarity / rarity.sum())


def coverage(
    groups: Sequence[Sequence[str]],
    texts: Sequence[str],
    sounds: bool = False,
    spelled_only: bool = False,
    parts: bool = False,
) -> np.ndarray:
    """How much of the question each text holds (0..1): for each of the question's words
    (a group: the word and its translations), the best match of any of its forms; then the
    mean over the words (``parts``: a form that is a part of a compound matches it).

    A word counts once however many translations it has (a mean over every form would let
    a word with eight translations outweigh a name). With ``spelled_only`` (a question in
    a language no dictionary translates), a word that no text spells tells nothing and is
    left out.
    """
    table = np.zeros((len(texts), len(groups)))
    forms = list(dict.fromkeys(f for g in groups for f in g))
    for i, text in enumerate(texts):
        best = dict(zip(forms, word_matches(forms, text, sounds, parts), strict=True))
        table[i] = [max((best[f] for f in g), default=0.0) for g in groups]
    if spelled_only and table.any():
        table = table[:, table.max(axis=0) > 0]
    return table.mean(axis=1) if table.shape[1] else np.zeros(len(texts))
