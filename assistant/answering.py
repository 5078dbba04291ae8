"""Passages → Answer: the extractive answerer, and citation markers parsed back into data.

The extractive answerer quotes the sentences of the retrieved passages that best answer the
question: it ranks sentences by embedding similarity and (cross-lingual, character trigram)
word overlap weighted by each word's rarity among the candidates, drops near-duplicates, and
cites each one with a numbered marker. Whether to answer at all is decided by a separate,
calibrated confidence (``Evidence.confidence``). It cannot say anything the articles do not
say.

A sentence that only restates the question is never quoted, nor one quoted before in the
conversation. A question about what people think, expect or say gets a round of views: one
sentence per person (``assistant.attribution``), the persons nearest the question first,
each line opening with the speaker's name.
"""

from __future__ import annotations

import bisect
import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise
from typing import Any

import numpy as np

from assistant import prompts
from assistant.attribution import Speaker, attributions, person_key, quotations
from assistant.chunking import MIN_QUOTED_CHARS, split_sentences
from assistant.lexicon import Lexicon
from assistant.loading import detect_language
from assistant.retrieval import content_words, fold, question_words
from assistant.text import (
    BOILERPLATE,
    OPINION,
    QUESTION_WORDS,
    QUOTE_MARKS,
    SAYING,
    STOPWORDS,
    WORD,
    quotes_for,
    words,
)
from assistant.types import Answer, Citation, Passage

#: Finds stored sentence vectors by (doc id, start, end), e.g. ``Store.sentence_vectors``.
SentenceVectorLookup = Callable[[Sequence[tuple[str, int, int]]], Mapping[tuple, np.ndarray]]
#: A document's text by its id, e.g. ``Store.document_text`` (empty when unknown).
DocumentLookup = Callable[[str], str]

_MARKER = re.compile(r"\s*\[(\d+)\]")
#: How much of a document around the candidate sentences is read to find who speaks.
CONTEXT_CHARS = 3000


@dataclass(frozen=True)
class Sentence:
    """A sentence of a passage, with its offsets in the document."""

    passage: Passage
    rank: int
    text: str
    start: int
    end: int


def candidate_sentences(passages: Sequence[Passage]) -> list[Sentence]:
    """Every quotable sentence of the passages, once: overlapping chunks and copies of an
    article repeat sentences, and a site's name is no sentence."""
    seen: set[object] = set()
    out = []
    for rank, passage in enumerate(passages):
        for span in split_sentences(passage.text):
            start = passage.start + span.start
            text = passage.text[span.start : span.end]
            key = " ".join(words(text))
            if {(passage.doc_id, start), key} & seen or not quotable(text):
                continue
            seen.update(((passage.doc_id, start), key))
            out.append(Sentence(passage, rank, text, start, passage.start + span.end))
    return out


def quotable(text: str) -> bool:
    """Long enough to say something, and not a site's name."""
    return len(text) >= MIN_QUOTED_CHARS and not BOILERPLATE.match(text)


def restates(question_words: Sequence[str], text: str) -> bool:
    """Whether a sentence only restates the question: it announces what someone said
    without saying it ("Experts said what they expect"), or holds no content word the
    question does not hold."""
    announces = any(a in SAYING and b in QUESTION_WORDS for a, b in pairwise(words(text)))
    if announces and not quotations(text):
        return True
    own = [fold(w) for w in content_words(text) if w not in SAYING and w not in QUESTION_WORDS]
    return bool(own) and all(m >= 0.6 for m in word_matches(own, " ".join(question_words)))


def asks_opinions(question: str) -> bool:
    """A question about what people think, expect or say."""
    return any(w in OPINION for w in words(question))


def full_names(question: str) -> list[str]:
    """Runs of two or more capitalised words after the question's first word ("Emmanuel
    Macron"): the persons (or things) a question names in full."""
    runs = re.findall(r"(?<=\s)[A-ZÀ-ÖØ-ÞĀ-Ž][\w-]+(?:\s+[A-ZÀ-ÖØ-ÞĀ-Ž][\w-]+)+", question)
    return [r for r in runs if not all(w.lower() in STOPWORDS for w in r.split())]


def speaks(names: Sequence[str], speakers: set[str]) -> bool:
    """Whether any of the names is one of the speakers (by ``person_key``); no names:
    nobody in particular is asked about, so yes."""
    return not names or any(person_key(n) in speakers for n in names)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / (np.linalg.norm(vector) or 1.0)


def balanced(text: str) -> str:
    """The sentence without quotation marks that open or close nothing inside it."""
    paired = {i for q in quotations(text) for i in (q.start, q.end - 1)}
    kept = "".join(c for i, c in enumerate(text) if c not in QUOTE_MARKS or i in paired)
    return " ".join(kept.split())


def spoken(text: str) -> str:
    """The words a sentence quotes when it closes a quotation and then names the speaker
    ("… werden“, so der Experte." → "… werden"): the name is printed before the quote."""
    paired = {i for q in quotations(text) for i in range(q.start, q.end)}
    ends = [i for i, c in enumerate(text) if c in QUOTE_MARKS and i not in paired]
    if ends and re.match(r"\s*,\s*\w", text[ends[-1] + 1 :]):
        return text[: ends[-1]]
    return text


def plain_words(text: str) -> str:
    """A text's words only, to tell whether one text holds another's sentence."""
    return " ".join(words(text))


@lru_cache(maxsize=1 << 16)
def trigrams(word: str) -> frozenset[str]:
    """Character trigrams of a word padded with spaces (names and cognates share many)."""
    padded = f" {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


@lru_cache(maxsize=1 << 18)  # pure, and the same word pairs recur across sentences
def word_similarity(a: str, b: str) -> float:
    """Spelling similarity of two folded words (0..1): trigram Jaccard or shared prefix.

    The shared prefix catches cognates across languages (experts/experten, visit/visite).
    """
    if a == b:
        return 1.0
    ga, gb = trigrams(a), trigrams(b)
    jaccard = len(ga & gb) / len(ga | gb)
    pairs = enumerate(zip(a, b, strict=False))
    prefix = next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))
    by_prefix = prefix / max(len(a), len(b)) if prefix >= 4 else 0.0
    return max(jaccard, by_prefix)


def word_matches(question_words: Sequence[str], text: str) -> list[float]:
    """For each question word, how well the text's closest word spells it (0, or 0.4..1)."""
    words = {fold(w) for w in WORD.findall(text)}
    matches = []
    for q in question_words:
        best = max((word_similarity(q, w) for w in words), default=0.0)
        matches.append(best if best >= 0.4 else 0.0)
    return matches


def word_overlap(question_words: Sequence[str], text: str) -> float:
    """How much of the question's words the text holds, allowing near-spellings (0..1)."""
    matches = word_matches(question_words, text)
    return sum(matches) / len(matches) if matches else 0.0


def weighted_overlap(question_words: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """Word overlap of each text, each question word weighted by its rarity among the texts.

    A word that most candidate sentences share (the topic) tells them apart less than one
    only a few hold (inverse document frequency over the candidates).
    """
    if not question_words or not texts:
        return np.zeros(len(texts))
    matches = np.array([word_matches(question_words, t) for t in texts])
    holders = (matches > 0.6).sum(axis=0)
    rarity = np.log((len(texts) + 1) / (holders + 0.5))
    return np.asarray(matches @ rarity / rarity.sum())


@dataclass(frozen=True)
class Evidence:
    """Per-sentence evidence: embedding similarity, plain and rarity-weighted word overlap."""

    dense: np.ndarray
    overlap: np.ndarray
    weighted: np.ndarray
    vectors: np.ndarray
    question: np.ndarray

    def confidence(self) -> np.ndarray:
        """How surely each sentence is on the question's topic (about 0..1).

        Equal parts embedding and plain overlap: on xquad-dev this separates answerable
        from unanswerable questions better than the relevance used to pick sentences.
        """
        return 0.5 * self.dense + 0.5 * self.overlap


class ExtractiveAnswerer:
    """Answers with the best few sentences of the passages, each cited."""

    def __init__(
        self,
        embedder: Any,
        *,
        max_sentences: int = 3,
        threshold: float = 0.35,
        crosslingual_threshold: float = 0.20,
        passages_considered: int = 5,
        lexical_weight: float = 0.7,
        rank_bonus: float = 0.05,
        keep_ratio: float = 0.5,
        duplicate_similarity: float = 0.9,
        best_first: bool = False,
        sentence_vectors: SentenceVectorLookup | None = None,
        documents: DocumentLookup | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.embedder = embedder
        self.lexicon = lexicon
        self.sentence_vectors = sentence_vectors
        self.documents = documents
        #: Answers already given in this conversation: their sentences are not quoted again.
        self.said: tuple[str, ...] = ()
        self.max_sentences = max_sentences
        self.threshold = threshold
        self.crosslingual_threshold = crosslingual_threshold
        self.passages_considered = passages_considered
        self.lexical_weight = lexical_weight
        self.rank_bonus = rank_bonus
        self.keep_ratio = keep_ratio
        self.duplicate_similarity = duplicate_similarity
        #: Quote the best sentence first (for a model, which leans on [1]), not in the
        #: order of the passages.
        self.best_first = best_first

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        """Quote the sentences that answer the question, or abstain."""
        asked = [fold(w) for w in content_words(question)]
        # a round of views reads every passage: each person may speak in another one
        considered = passages if asks_opinions(question) else passages[: self.passages_considered]
        sentences = [
            s
            for s in candidate_sentences(considered)
            if not restates(asked, s.text) and not self._already_said(s.text)
        ]
        if not sentences:
            return Answer(question, prompts.ABSTAIN_NO_PASSAGES, abstained=True)
        evidence = self.evidence(question, sentences)
        confidence = evidence.confidence()
        best = sentences[int(confidence.argmax())].passage
        if confidence.max() < self.threshold_for(question, best.language):
            return Answer(question, prompts.ABSTAIN, abstained=True, passages=tuple(passages))
        relevance = self.relevance(evidence, sentences)
        if asks_opinions(question):
            who = self.speakers(sentences)
            names = {person_key(s.name) for s in who if s}
            if not speaks(full_names(question), names):
                return Answer(question, prompts.ABSTAIN, abstained=True, passages=tuple(passages))
            if names and not names & {person_key(w) for w in asked}:  # a round of views
                chosen = self._by_person(relevance, evidence, who)
                chosen.sort(key=lambda i: (sentences[i].rank, sentences[i].start))
                quoted = [sentences[i] for i in chosen]
                return _cite(question, quoted, passages, [who[i] for i in chosen])
        chosen = self._select(relevance, evidence.vectors)
        if not self.best_first:
            chosen.sort(key=lambda i: (sentences[i].rank, sentences[i].start))
        return _cite(question, [sentences[i] for i in chosen], passages)

    def excluding(self, said: Sequence[str]) -> ExtractiveAnswerer:
        """The same answerer, not quoting again what these earlier answers quoted."""
        other = copy.copy(self)
        other.said = tuple(plain_words(text) for text in said)
        return other

    def _already_said(self, text: str) -> bool:
        sentence = plain_words(text)
        return any(sentence in earlier for earlier in self.said)

    def speakers(self, sentences: Sequence[Sentence]) -> list[Speaker | None]:
        """Who says each sentence, read from its document around it (else its passage)."""
        out: list[Speaker | None] = [None] * len(sentences)
        for doc_id in dict.fromkeys(s.passage.doc_id for s in sentences):
            mine = [i for i, s in enumerate(sentences) if s.passage.doc_id == doc_id]
            text, offset = self._context(doc_id, [sentences[i] for i in mine])
            spans = split_sentences(text)
            found = attributions(text, spans)
            starts = [span.start + offset for span in spans]
            for i in mine:
                k = bisect.bisect_right(starts, sentences[i].start) - 1
                out[i] = found[k] if k >= 0 else None
        return out

    def _context(self, doc_id: str, sentences: Sequence[Sentence]) -> tuple[str, int]:
        """The document's text around the sentences, and its offset in the document."""
        text = self.documents(doc_id) if self.documents else ""
        if not text:  # the passages alone, at their offsets
            passages = {s.passage.chunk_id: s.passage for s in sentences}.values()
            chars = [" "] * max(p.end for p in passages)
            for p in passages:
                chars[p.start : p.end] = p.text
            text = "".join(chars)
        start = max(0, min(s.start for s in sentences) - CONTEXT_CHARS)
        end = max(s.end for s in sentences) + CONTEXT_CHARS
        return text[start:end], start

    def _by_person(
        self, scores: np.ndarray, evidence: Evidence, who: Sequence[Speaker | None]
    ) -> list[int]:
        """The persons whose sentences as a whole are nearest the question (at most
        ``max_sentences``), each with their best sentence that says who speaks."""
        people: dict[str, list[int]] = {}
        for i, speaker in enumerate(who):
            if speaker:
                people.setdefault(speaker.name, []).append(i)
        question = evidence.question
        nearness = {
            name: float(_unit(evidence.vectors[idx].mean(axis=0)) @ question)
            for name, idx in people.items()
        }
        chosen = []
        for name in sorted(people, key=lambda n: -nearness[n])[: self.max_sentences]:
            idx = people[name]
            reported = [i for i in idx if who[i].reported] or idx  # type: ignore[union-attr]
            chosen.append(max(reported, key=lambda i: scores[i]))
        return chosen

    def evidence(self, question: str, sentences: Sequence[Sentence]) -> Evidence:
        """How each sentence relates to the question, by embedding and by spelling."""
        q = self.embedder.encode_queries([question])[0]
        vectors = self._vectors(sentences)
        languages = {s.passage.language for s in sentences}
        words = [fold(w) for w in question_words(question, self.lexicon, languages)]
        texts = [s.text for s in sentences]
        return Evidence(
            dense=vectors @ q,
            overlap=np.array([word_overlap(words, t) for t in texts]),
            weighted=weighted_overlap(words, texts),
            vectors=vectors,
            question=q,
        )

    def relevance(self, evidence: Evidence, sentences: Sequence[Sentence]) -> np.ndarray:
        """Which sentences answer best: embedding similarity and rarity-weighted overlap,
        plus a small bonus for the better-ranked passages (retrieval saw their context)."""
        w = self.lexical_weight
        prior = self.rank_bonus / (np.array([s.rank for s in sentences]) + 1)
        return (1 - w) * evidence.dense + w * evidence.weighted + prior

    def score(self, question: str, sentences: Sequence[Sentence]) -> tuple[np.ndarray, np.ndarray]:
        """Confidence of each sentence (what the thresholds apply to), and sentence vectors."""
        evidence = self.evidence(question, sentences)
        return evidence.confidence(), evidence.vectors

    def _vectors(self, sentences: Sequence[Sentence]) -> np.ndarray:
        """Sentence vectors: stored at ingest where known, encoded now otherwise."""
        keys = [(s.passage.doc_id, s.start, s.end) for s in sentences]
        known = self.sentence_vectors(keys) if self.sentence_vectors else {}
        missing = [i for i, key in enumerate(keys) if key not in known]
        if not missing:
            return np.stack([known[key] for key in keys])
        encoded = self.embedder.encode_documents([sentences[i].text for i in missing])
        fresh = dict(zip(missing, encoded, strict=True))
        return np.stack([fresh[i] if i in fresh else known[key] for i, key in enumerate(keys)])

    def threshold_for(self, question: str, passage_language: str | None) -> float:
        """Scores run lower across languages, so each case has its calibrated threshold."""
        same = passage_language is not None and detect_language(question) == passage_language
        return self.threshold if same else self.crosslingual_threshold

    def _select(self, scores: np.ndarray, vectors: np.ndarray) -> list[int]:
        """Best sentences first, skipping near-duplicates of ones already chosen."""
        chosen: list[int] = []
        floor = self.keep_ratio * float(scores.max())
        for i in np.argsort(-scores):
            if len(chosen) == self.max_sentences or scores[i] < floor:
                break
            if all(float(vectors[i] @ vectors[j]) < self.duplicate_similarity for j in chosen):
                chosen.append(int(i))
        return chosen


def _cite(
    question: str,
    sentences: Sequence[Sentence],
    passages: Sequence[Passage],
    who_said: Sequence[Speaker | None] = (),
) -> Answer:
    """The answer: each sentence cited; with persons, one line per person, quoted."""
    citations = tuple(
        Citation(n, s.passage, s.text, s.start, s.end) for n, s in enumerate(sentences, 1)
    )
    if not who_said:
        text = " ".join(f"{balanced(s.text)} [{n}]" for n, s in enumerate(sentences, 1))
        return Answer(question, text, citations, passages=tuple(passages))
    citations = tuple(
        replace(c, speaker=person.name) if person else c
        for c, person in zip(citations, who_said, strict=True)
    )
    lines = []
    for n, (s, person) in enumerate(zip(sentences, who_said, strict=True), 1):
        opening, closing = quotes_for(s.passage.language)
        quote = f"{opening}{balanced(spoken(s.text)).strip(QUOTE_MARKS + ' ')}{closing}"
        lines.append(f"{person.name}: {quote} [{n}]" if person else f"{quote} [{n}]")
    return Answer(question, "\n".join(lines), citations, passages=tuple(passages))


def parse_citations(text: str, passages: Sequence[Passage]) -> tuple[str, list[int]]:
    """Keep only markers ``[n]`` that point at a given passage (1-based) and renumber them
    in order of first use; returns the new text and, per new number, the passage index."""
    order: list[int] = []

    def renumber(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        if not 0 <= index < len(passages):
            # keep the neighbours apart: no glued words, no new marker made of the rest
            before, after = text[match.start() - 1 : match.start()], text[match.end() :][:1]
            apart = (before.strip() and after.isalnum()) or (before.isalnum() and after == "]")
            return " " if apart else ""
        if index not in order:
            order.append(index)
        return f" [{order.index(index) + 1}]"

    return _MARKER.sub(renumber, text).strip(), order
