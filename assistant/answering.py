"""Passages → Answer: the extractive answerer.

The extractive answerer quotes the sentences of the retrieved passages that best answer the
question: it ranks sentences by embedding similarity and (cross-lingual, character trigram)
word overlap weighted by each word's rarity among the candidates, drops near-duplicates, and
cites each one with a numbered marker. Whether to answer at all is decided by a separate,
calibrated confidence (``Evidence.confidence``). It cannot say anything the articles do not
say.

A sentence that only restates the question is never quoted, nor one quoted before in the
conversation, nor one without the kind of thing the question asks for (a time for "when", a
number for "how many": ``assistant.focus``). A question about what people think, expect or
say gets a round of views (``assistant.attribution``): the persons nearest the question,
each with their main point and at most one more (``tuning.POINTS_PER_PERSON``) that answers
too and repeats no point quoted, one line a point opening with the speaker's name, a
person's lines together; a question about what one named person says is answered from
their sentences only, and only when they hold the rest of the question ("What did Lukyanov
say about China?" is declined).
"""

from __future__ import annotations

import bisect
import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from assistant import focus, prompts
from assistant.attribution import Speaker, attributions, person_key, quotations
from assistant.chunking import MIN_QUOTED_CHARS, split_sentences
from assistant.citations import marker
from assistant.lexicon import (
    Lexicon,
    question_language,
    question_words,
    translations,
    word_groups,
)
from assistant.overlap import coverage, weighted_overlap, word_matches
from assistant.text import (
    BOILERPLATE,
    CAPITAL,
    EXPECTING,
    FUTURE,
    LANGUAGES,
    OPINION,
    QUESTION_WORDS,
    QUOTE_MARKS,
    SAYING,
    STOPWORDS,
    WORD,
    content_words,
    fold,
    quotes_for,
    words,
)
from assistant.tuning import (
    ANSWER_PASSAGES,
    CONFIDENCE_LEXICAL_WEIGHT,
    CONTEXT_CHARS,
    DUPLICATE_SIMILARITY,
    KEEP_RATIO,
    LEXICAL_WEIGHT,
    POINTS_PER_PERSON,
    RANK_BONUS,
)
from assistant.types import Answer, Citation, Event, Passage

if TYPE_CHECKING:
    from assistant.embedding import Embedder

#: Finds stored sentence vectors by (doc id, start, end), e.g. ``Store.sentence_vectors``.
SentenceVectorLookup = Callable[[Sequence[tuple[str, int, int]]], Mapping[tuple, np.ndarray]]
#: Keeps sentence vectors encoded at question time, e.g. ``Store.keep_sentence_vectors``.
SentenceVectorKeeper = Callable[[Mapping[tuple[str, int, int], np.ndarray]], None]
#: A document's text by its id, e.g. ``Store.document_text`` (empty when unknown).
DocumentLookup = Callable[[str], str]


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


def asks_expectations(question: str) -> bool:
    """Whether the question asks what people expect (in any language of text.LANGUAGES)."""
    return _holds(question, EXPECTING)


def _holds(text: str, vocabulary: frozenset[str]) -> bool:
    return any(w.lower() in vocabulary for w in words(text))


def asks_opinions(question: str) -> bool:
    """A question about what people think, expect or say."""
    return any(w in OPINION for w in words(question))


#: Two or more capitalised words in a row ("Emmanuel Macron", „Staatschef Emmanuel Macron“).
_CAPITALISED_RUN = rf"[{CAPITAL}][\w-]+(?:\s+[{CAPITAL}][\w-]+)+"


def full_names(question: str) -> list[str]:
    """Runs of two or more capitalised words after the question's first word ("Emmanuel
    Macron"): the persons (or things) a question names in full."""
    runs = re.findall(rf"(?<=\s){_CAPITALISED_RUN}", question)
    return [r for r in runs if not all(w.lower() in STOPWORDS for w in r.split())]


def persons_named(question: str, sentences: Sequence[Sentence]) -> list[str]:
    """The single capitalised words beside a verb of saying or thinking in a question that
    the sentences write as the last word of a full name ("Macron" beside „Emmanuel Macron“):
    persons the question asks the views of by surname. Only in a question whose language
    capitalises names and not nouns: in German, "Was erwarten Experten …?" would find the
    end of „Russische Experten erwarten …“ at a sentence's start."""
    language = LANGUAGES.get(question_language(question) or "")
    if language is None or language.nouns_capitalised:
        return []
    said = WORD.findall(question)
    verbs = [w.lower() in OPINION or w.lower() in SAYING for w in said]
    # the one who says: beside the verb ("did Macron say", "qu'attend Macron"), not its
    # object ("what do experts think of Putin")
    asked = {
        person_key(w): w
        for i, w in enumerate(said)
        if i and w[0].isupper() and w.lower() not in STOPWORDS
        and (verbs[i - 1] or (i + 1 < len(said) and verbs[i + 1]))
    }  # fmt: skip
    if not asked:
        return []
    runs = {
        person_key(run)
        for s in sentences
        for run in re.findall(_CAPITALISED_RUN, s.text)
        if not any(w.lower() in STOPWORDS for w in run.split())
    }
    return [w for k, w in asked.items() if k in runs]


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


def quoted(sentence: Sentence) -> tuple[str, int, int]:
    """The sentence's span without the quotation marks at its ends that pair with nothing in
    it (a sentence that opens or closes a quotation of several sentences), and without the
    naming of the speaker after a quotation it closes („… werden“, so der Experte." →
    "… werden": the answer names the speaker), so the quote a citation shows is balanced and
    still the document's text: (text, start, end)."""
    text = spoken(sentence.text)
    paired = {i for q in quotations(text) for i in (q.start, q.end - 1)}
    lo, hi = 0, len(text)
    while lo < hi and (text[lo].isspace() or (text[lo] in QUOTE_MARKS and lo not in paired)):
        lo += 1
    while hi > lo and (
        text[hi - 1].isspace() or (text[hi - 1] in QUOTE_MARKS and hi - 1 not in paired)
    ):
        hi -= 1
    if lo == hi:  # nothing but marks: the sentence as it is
        return sentence.text, sentence.start, sentence.end
    return text[lo:hi], sentence.start + lo, sentence.start + hi


def spoken(text: str) -> str:
    """The words a sentence quotes when it closes a quotation and then names the speaker
    ("… werden“, so der Experte." → "… werden"): the name is printed before the quote."""
    paired = {i for q in quotations(text) for i in range(q.start, q.end)}
    ends = [i for i, c in enumerate(text) if c in QUOTE_MARKS and i not in paired]
    if ends and re.match(r"\s*,\s*\w", text[ends[-1] + 1 :]):
        return text[: ends[-1]]
    return text


#: The word that opens reported speech after a verb of saying ("sagte, dass …").
_THAT = frozenset({"dass", "daß", "that", "que", "qu"})


def reported(text: str, speaker: str) -> str:
    """What a sentence reports the speaker said, when it opens by naming them and a verb of
    saying ("Fjodor Lukjanow, Chefredakteur …, sagte jedoch, dass man … erwarten sollte." →
    "dass man … erwarten sollte."): the name is printed before it, and the frame (titles,
    posts) is not what they said. Otherwise the sentence as it is."""
    tokens = [(m.group(), m.start()) for m in re.finditer(r"\w+", text)]
    for i, (word, _) in enumerate(tokens[:-3]):
        if word.lower() not in SAYING:
            continue
        following = [w.lower() for w, _ in tokens[i + 1 : i + 3]]
        that = next((i + 1 + k for k, w in enumerate(following) if w in _THAT), None)
        named = person_key(speaker) in {person_key(w) for w, _ in tokens[:i]}
        if that is not None and named and len(tokens) - that > 3:
            return text[tokens[that][1] :]
        return text
    return text


def plain_words(text: str) -> str:
    """A text's words only, to tell whether one text holds another's sentence."""
    return " ".join(words(text))


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

        Embedding and plain overlap (``CONFIDENCE_LEXICAL_WEIGHT``): on xquad-dev this
        separates answerable from unanswerable questions better than the relevance used to
        pick sentences.
        """
        w = CONFIDENCE_LEXICAL_WEIGHT
        return (1 - w) * self.dense + w * self.overlap


class ExtractiveAnswerer:
    """Answers with the best few sentences of the passages, each cited."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        max_sentences: int = 3,
        threshold: float = 0.35,
        crosslingual_threshold: float = 0.20,
        passages_considered: int = ANSWER_PASSAGES,
        lexical_weight: float = LEXICAL_WEIGHT,
        rank_bonus: float = RANK_BONUS,
        keep_ratio: float = KEEP_RATIO,
        duplicate_similarity: float = DUPLICATE_SIMILARITY,
        points_per_person: int = POINTS_PER_PERSON,
        best_first: bool = True,
        sentence_vectors: SentenceVectorLookup | None = None,
        keep_vectors: SentenceVectorKeeper | None = None,
        documents: DocumentLookup | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.embedder = embedder
        self.lexicon = lexicon
        self.sentence_vectors = sentence_vectors
        self.keep_vectors = keep_vectors
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
        #: Most lines one person gets in a round of views.
        self.points_per_person = points_per_person
        #: Quote the best sentence first, not in the order of the passages: a reader reads
        #: [1] first (and a model leans on it). The user's held-out paraphrases: the first
        #: quote holds the answer 17 of 24 times, 10 in the passages' order
        #: (docs/benchmarks.md, "French and Spanish dictionaries").
        self.best_first = best_first

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        """Quote the sentences that answer the question, or abstain."""
        asked = [fold(w) for w in content_words(question)]
        # a round of views reads every passage: each person may speak in another one
        considered = passages if asks_opinions(question) else passages[: self.passages_considered]
        candidates = [
            s
            for s in candidate_sentences(considered)
            if not restates(asked, s.text) and not self._already_said(s.text)
        ]
        if not candidates:
            return Answer(question, prompts.ABSTAIN_NO_PASSAGES, abstained=True)
        # a question asking when (how many) is answered only by a sentence with a time (number)
        sentences = [s for s in candidates if focus.holds(s.text, focus.wanted(question))]
        if not sentences:
            return Answer(question, prompts.ABSTAIN, abstained=True, passages=tuple(passages))
        evidence = self.evidence(question, sentences)
        confidence = evidence.confidence()
        best = sentences[int(confidence.argmax())].passage
        if confidence.max() < self.threshold_for(question, best.language):
            return Answer(question, prompts.ABSTAIN, abstained=True, passages=tuple(passages))
        relevance = self.relevance(evidence, sentences)
        if asks_opinions(question):
            who = self.speakers(sentences)
            names = {person_key(s.name) for s in who if s}
            named = names & {person_key(w) for w in asked}
            # a fully named person who says nothing here ("Emmanuel Macron"); not checked when
            # the question names one who does ("laut Lukjanow von Tokajews Besuch": German
            # nouns are capitalised like names)
            if not named and not speaks(full_names(question), names):
                return Answer(question, prompts.ABSTAIN, abstained=True, passages=tuple(passages))
            if named:  # what one person says: only their sentences
                return self._said_by(question, named, sentences, who, evidence, passages)
            if names and not names & {person_key(w) for w in asked}:  # a round of views
                # of other persons, for a question about one who says nothing here ("What
                # did Macron say …?" beside „Emmanuel Macron“): their views do not answer it
                if persons_named(question, sentences):
                    return Answer(
                        question, prompts.ABSTAIN, abstained=True, passages=tuple(passages)
                    )
                verbs = self.asked_verbs(question, sentences)
                # a question asking what people expect: their words of expecting in any
                # language count as its verb (also where no dictionary translates the question), and
                # what they say will be comes next
                expecting = asks_expectations(question)
                says = [
                    any(word_matches(verbs, s.text)) or (expecting and _holds(s.text, EXPECTING))
                    for s in sentences
                ]
                ahead = [expecting and _holds(s.text, FUTURE) for s in sentences]
                points = self._by_person(relevance, evidence, who, says, ahead, sentences)
                # persons in the order of their main points in the passages (as other answers
                # quote), each person's lines together, the main point first
                points.sort(key=lambda mine: (sentences[mine[0]].rank, sentences[mine[0]].start))
                chosen = [i for mine in points for i in mine]
                quoted = [sentences[i] for i in chosen]
                return _cite(question, quoted, passages, [who[i] for i in chosen])
        chosen = self._select(relevance, evidence.vectors)
        if not self.best_first:
            chosen.sort(key=lambda i: (sentences[i].rank, sentences[i].start))
        return _cite(question, [sentences[i] for i in chosen], passages)

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[Event]:
        """The answer at once: nothing is written token by token."""
        yield self.answer(question, passages)

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

    def _said_by(
        self,
        question: str,
        named: set[str],
        sentences: Sequence[Sentence],
        who: Sequence[Speaker | None],
        evidence: Evidence,
        passages: Sequence[Passage],
    ) -> Answer:
        """What the named person says about what the question asks: their sentences only,
        and their confidence counts the question's other words (not the name, nor the verb
        of saying: "What did Lukyanov say about China?" needs China in what he says)."""
        mine = [i for i, w in enumerate(who) if w and person_key(w.name) in named]
        about = [w for w in content_words(question) if person_key(w) not in named]
        about = [w for w in about if w not in OPINION]
        languages = {s.passage.language for s in sentences}
        found = translations(question, about, self.lexicon, languages)
        sounds = question_language(question) not in languages
        if not found and sounds:
            # words no dictionary translates: only those the passages spell tell anything
            about = [w for w in about if any(self._spelled(fold(w), s.text) for s in sentences)]
        if about:
            texts = [sentences[i].text for i in mine]
            overlap = coverage(self._groups(about, found), texts, sounds)
            confidence = replace(evidence, dense=evidence.dense[mine], overlap=overlap).confidence()
            language = sentences[mine[int(confidence.argmax())]].passage.language
            if confidence.max() < self.threshold_for(question, language):
                return Answer(question, prompts.ABSTAIN, abstained=True, passages=tuple(passages))
        # the sentences that hold the question's verb ("erwartet": „Erwartungen für …“) first
        verbs = self.asked_verbs(question, sentences)
        says = np.array([any(word_matches(verbs, sentences[i].text)) for i in mine])
        relevance = self.relevance(evidence, sentences)[mine] + says
        chosen = [mine[i] for i in self._select(relevance, evidence.vectors[mine])]
        chosen.sort(key=lambda i: (sentences[i].rank, sentences[i].start))
        return _cite(question, [sentences[i] for i in chosen], passages)

    @staticmethod
    def _spelled(word: str, text: str) -> bool:
        """Whether the text holds the word or a near spelling of it (in any language)."""
        return any(word_matches([word], text, sounds=True))

    def asked_verbs(self, question: str, sentences: Sequence[Sentence]) -> list[str]:
        """The question's words of thinking, expecting or saying, in the sentences' language
        where the lexicon translates them (folded): "expect" → erwarten (not "expect" itself,
        which spells like „Experte“)."""
        verbs = [w for w in content_words(question) if w in OPINION]
        languages = {s.passage.language for s in sentences}
        found = translations(question, verbs, self.lexicon, languages)
        return [fold(w) for w in [t for ts in found.values() for t in ts] or verbs]

    def _by_person(
        self,
        scores: np.ndarray,
        evidence: Evidence,
        who: Sequence[Speaker | None],
        says: Sequence[bool],
        ahead: Sequence[bool],
        sentences: Sequence[Sentence],
    ) -> list[list[int]]:
        """The persons whose sentences as a whole are nearest the question (at most
        ``max_sentences``), each with their main point: best a sentence that holds the
        question's verb ("expect": „Erwartungen für Kernkraftwerke“), else (``ahead``) one
        that says what will be, when the question asks what they expect („Die russischen
        Behörden werden viel in Kasachstan investieren“), else one that says who speaks,
        else the best. Then up to ``points_per_person`` points in all: their next best
        sentences that answer too (by the verb, or ``ahead``) and do not repeat a point
        already chosen (``_repeats``)."""
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
            best, *rest = sorted(
                people[name],
                key=lambda i: (says[i], ahead[i], who[i].reported, scores[i]),  # type: ignore[union-attr]
                reverse=True,
            )
            mine = [best]
            for i in rest:
                if len(mine) == self.points_per_person:
                    break
                if (says[i] or ahead[i]) and not any(
                    _repeats(sentences[i], who[i], sentences[j], who[j]) for j in mine
                ):
                    mine.append(i)
            chosen.append(mine)
        return chosen

    def evidence(self, question: str, sentences: Sequence[Sentence]) -> Evidence:
        """How each sentence relates to the question, by embedding and by spelling."""
        q = self.embedder.encode_queries([question])[0]
        vectors = self._vectors(sentences)
        languages = {s.passage.language for s in sentences}
        asked_in = question_language(question)
        words = content_words(question)
        found = translations(question, words, self.lexicon, languages)
        own = [fold(w) for w in words]
        crossing = [fold(w) for w in question_words(question, self.lexicon, languages)]
        groups = {False: [[w] for w in own], True: self._groups(words, found)}
        # a sentence in the question's language is read with the question's own words only;
        # one in another language with their translations too, and names spelt apart
        apart = np.array([s.passage.language != asked_in for s in sentences])
        texts = [s.text for s in sentences]
        overlap, weighted = np.zeros(len(texts)), np.zeros(len(texts))
        for cross, asked in ((False, own), (True, crossing)):
            rows = np.flatnonzero(apart == cross)
            chosen = [texts[i] for i in rows]
            untranslated = cross and not self._translates(asked_in)
            overlap[rows] = coverage(groups[cross], chosen, cross, spelled_only=untranslated)
            # which sentence answers: a compound holding a translation holds the word (a
            # wider match than whether any sentence is on topic can bear: off-topic
            # passages hold compounds too)
            weighted[rows] = weighted_overlap(asked, chosen, cross, parts=cross)
        return Evidence(
            dense=vectors @ q,
            overlap=overlap,
            weighted=weighted,
            vectors=vectors,
            question=q,
        )

    @staticmethod
    def _groups(words: Sequence[str], found: Mapping[str, Sequence[str]]) -> list[list[str]]:
        """Each question word with its translations, folded."""
        return [[fold(f) for f in g] for g in word_groups(words, found)]

    def _translates(self, language: str | None) -> bool:
        """Whether the lexicon translates questions in this language."""
        return self.lexicon is not None and language in self.lexicon.languages()

    def relevance(self, evidence: Evidence, sentences: Sequence[Sentence]) -> np.ndarray:
        """Which sentences answer best: embedding similarity and rarity-weighted overlap,
        plus a small bonus for the better-ranked passages (retrieval saw their context)."""
        w = self.lexical_weight
        prior = self.rank_bonus / (np.array([s.rank for s in sentences]) + 1)
        return (1 - w) * evidence.dense + w * evidence.weighted + prior

    def _vectors(self, sentences: Sequence[Sentence]) -> np.ndarray:
        """Sentence vectors: stored where known, encoded now (and kept) otherwise."""
        keys = [(s.passage.doc_id, s.start, s.end) for s in sentences]
        known = self.sentence_vectors(keys) if self.sentence_vectors else {}
        missing = [i for i, key in enumerate(keys) if key not in known]
        if not missing:
            return np.stack([known[key] for key in keys])
        encoded = self.embedder.encode_documents([sentences[i].text for i in missing])
        fresh = dict(zip(missing, encoded, strict=True))
        if self.keep_vectors:
            self.keep_vectors({keys[i]: vector for i, vector in fresh.items()})
        return np.stack([fresh[i] if i in fresh else known[key] for i, key in enumerate(keys)])

    def threshold_for(self, question: str, passage_language: str | None) -> float:
        """Scores run lower across languages, so each case has its calibrated threshold."""
        same = passage_language is not None and question_language(question) == passage_language
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


def _repeats(
    sentence: Sentence, speaker: Speaker | None, other: Sentence, by: Speaker | None
) -> bool:
    """Whether a person's sentence repeats the point of another of theirs: one is the
    writer's summary of the quotation the other lies in (``Speaker.sums_up``). Neither the
    sentence vectors nor their words tell it: Lukjanow's „keine bahnbrechenden Entscheidungen
    erwarten“ and „keine Durchbrüche zu erwarten“ share only the question's verb, and their
    vectors are further apart (0.84) than Lepsibaev's two distinct points (0.89)."""
    same_text = sentence.passage.doc_id == other.passage.doc_id
    return same_text and speaker is not None and by is not None and speaker.sums_up(by)


def _cite(
    question: str,
    sentences: Sequence[Sentence],
    passages: Sequence[Passage],
    who_said: Sequence[Speaker | None] = (),
) -> Answer:
    """The answer: each sentence cited; with persons, one line per sentence, quoted."""
    citations = tuple(Citation(n, s.passage, *quoted(s)) for n, s in enumerate(sentences, 1))
    if not who_said:
        text = " ".join(f"{balanced(s.text)} {marker(n)}" for n, s in enumerate(sentences, 1))
        return Answer(question, text, citations, passages=tuple(passages))
    citations = tuple(
        replace(c, speaker=person.name) if person else c
        for c, person in zip(citations, who_said, strict=True)
    )
    lines = [f"{line(c, s.text)} {marker(c.n)}" for c, s in zip(citations, sentences, strict=True)]
    return Answer(question, "\n".join(lines), citations, passages=tuple(passages))


def line(citation: Citation, sentence: str) -> str:
    """How an answer with persons shows a quoted sentence: "Name: „what they say“" (the
    sentence's words only, in its language's quotation marks), or the quote alone."""
    opening, closing = quotes_for(citation.passage.language)
    quote = f"{opening}{balanced(spoken(sentence)).strip(QUOTE_MARKS + ' ')}{closing}"
    return f"{citation.speaker}: {quote}" if citation.speaker else quote
