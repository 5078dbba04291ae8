"""Question → ranked Passages: dense (Chroma) and lexical (FTS5 words + trigrams), fused.

Fusion is weighted reciprocal-rank fusion, and the weights follow how much of the question
the index knows lexically (``coverage``: the share of the question's content words found in
the indexed text). A question in the articles' language shares most of its words with them
and is best served lexically; a question in another language shares few (names, numbers,
cognates) and leans on the dense ranking, unless a bilingual lexicon translates its words
into the articles' language: the translations join both lexical queries, and a word counts
as indexed when it or a translation is. The trigram index is also asked for the stems of
long words, which finds inflections, compounds and cognates. Measured on xquad-dev (German
articles, multilingual-e5-small), these weights beat every single ranking at 1000 and 2000
characters for German and English questions, and the lexicon lifts English hit@1000c from
0.828 to 0.898 (figures and what else was tried in docs/benchmarks.md).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.lexicon import Lexicon
from assistant.loading import detect_language
from assistant.store import LexicalIndex, Store
from assistant.text import STOPWORDS, WORD
from assistant.types import Passage

if TYPE_CHECKING:
    from assistant.embedding import Embedder

#: Most translations of one word or phrase a question is expanded with (see the
#: lexicon's ordering; measured in docs/benchmarks.md).
TRANSLATIONS = 8
#: Most chunks the terms of one lexical query may match together (see ``within``).
ROW_BUDGET = 5000


def content_words(text: str) -> list[str]:
    """Lower-cased words of a question, without stopwords, in order, without repeats."""
    words = [w.lower() for w in WORD.findall(text)]
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS))


def translations(
    question: str,
    words: Sequence[str],
    lexicon: Lexicon | None,
    languages: Collection[str | None],
    limit: int = TRANSLATIONS,
) -> dict[str, list[str]]:
    """Translations of the question's words and of runs of them (phrase → at most ``limit``
    words), when the question's language is not among the articles' ``languages`` and the
    lexicon translates it into one of them; otherwise none."""
    if lexicon is None or not lexicon.available:
        return {}
    source = question_language(question)
    pair = set(lexicon.languages())
    if source not in pair or source in languages or not pair & set(languages):
        return {}
    return lexicon.expand(words, source, limit)


def question_words(
    question: str, lexicon: Lexicon | None, languages: Collection[str | None]
) -> list[str]:
    """The question's content words, then their translations into the articles' language
    (see ``translations``), without repeats."""
    words = content_words(question)
    found = translations(question, words, lexicon, languages)
    return list(dict.fromkeys([*words, *(t for ts in found.values() for t in ts)]))


@lru_cache(maxsize=256)  # retrieval and the answerer both ask, for the same question
def question_language(question: str) -> str | None:
    """The question's language (``detect_language``, about 5–15 ms), told once per question."""
    return detect_language(question)


def fold(word: str) -> str:
    """A word as the word index stores it: lower case, no diacritics."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stems(words: Sequence[str], min_length: int = 8, cut: int = 3) -> list[str]:
    """The words, then each long word without its last ``cut`` letters.

    A substring search for the shortened word finds its inflections, compounds and
    cognates in other languages (Experten/experts, Kernkraftwerke/Kraftwerk).
    """
    return list(dict.fromkeys([*words, *(w[:-cut] for w in words if len(w) >= min_length)]))


def query_terms(words: Sequence[str], index: str) -> list[str]:
    """The terms an index is asked for (trigram: words of 3+ characters, and the stems of
    long words)."""
    return stems([w for w in words if len(w) >= 3]) if index == "trigram" else list(words)


def any_of(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression that ORs the terms, each a quoted phrase."""
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in terms)


def fts_query(words: Sequence[str], index: str) -> str:
    """An FTS5 MATCH expression that ORs the words (see ``query_terms``)."""
    return any_of(query_terms(words, index))


def term_groups(words: Sequence[str], found: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Per question word: the word, then the translations of the word and of the phrases
    holding it, best translation first."""
    return [
        list(dict.fromkeys([w, *(t for p, ts in found.items() if w in p.split() for t in ts)]))
        for w in words
    ]


def within(groups: Sequence[Sequence[str]], rows: Mapping[str, int], budget: int) -> list[str]:
    """Terms of the groups whose matches add up to at most ``budget`` chunks: the first
    term of every group, then the second, ..., groups with the rarest terms first (at least
    one term). Terms that match nothing are left out: they change no score.

    BM25 scores every chunk an OR-query matches, so a term found in thousands of chunks
    costs that many scorings while its weight (inverse document frequency) is low; taking
    the groups in turn keeps every question word asked, in its best translations first,
    rather than only the rarest translations of one word (figures in docs/benchmarks.md).
    """
    live = [[t for t in g if rows.get(t, 0) > 0] for g in groups]
    live = sorted((g for g in live if g), key=lambda g: min(rows[t] for t in g))
    kept: dict[str, None] = {}
    total = 0
    for rank in range(max(map(len, live), default=0)):
        for term in (g[rank] for g in live if rank < len(g)):
            if term in kept:
                continue
            if kept and total + rows[term] > budget:
                return list(kept)
            kept[term] = None
            total += rows[term]
    return list(kept)


@dataclass(frozen=True)
class Fusion:
    """Reciprocal-rank fusion whose weights follow the question's lexical coverage ``c``.

    dense: ``(1 - c) ** dense_power + dense_floor``; words: ``c`` times its weight;
    trigram: ``trigram_floor + (1 - trigram_floor) * c`` times its weight, since its stems
    match cognates and names even when the question's words are not in the index. A small
    ``rrf_k`` lets the top ranks decide (values in docs/benchmarks.md).
    """

    dense_floor: float = 1.0  # multilingual-e5-small: dense is strong in every language
    dense_power: float = 3.0
    words: float = 0.3
    trigram: float = 1.0
    trigram_floor: float = 0.3
    rrf_k: int = 5

    def weights(self, coverage: float) -> dict[str, float]:
        """The weight of each ranking for a question of this coverage."""
        return {
            "dense": (1.0 - coverage) ** self.dense_power + self.dense_floor,
            "words": self.words * coverage,
            "trigram": self.trigram * (self.trigram_floor + (1 - self.trigram_floor) * coverage),
        }


class HybridSearcher:
    """Dense and lexical search over one store, fused into one ranking."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        fusion: Fusion | None = None,
        depth: int = 50,
        lexicon: Lexicon | None = None,
        translations: int = TRANSLATIONS,
        row_budget: int = ROW_BUDGET,
    ) -> None:
        self.store = store
        #: most chunks one lexical query may match (0: no limit); see ``within``
        self.row_budget = row_budget
        self.translations = translations
        self.embedder = embedder
        self.fusion = fusion or Fusion()
        self.depth = depth
        self.lexicon = lexicon

    def rankings(self, question: str, vector: Sequence[float] | None = None) -> dict[str, Any]:
        """The separate rankings (chunk id, score) of each retriever."""
        return self._rankings(self._terms(question), self._vector(question, vector))

    def search(self, question: str, k: int, vector: Sequence[float] | None = None) -> list[Passage]:
        """The ``k`` best passages for a question, best first."""
        terms = self._terms(question)
        rankings = self._rankings(terms, self._vector(question, vector))
        weights = self.fusion.weights(self._coverage(terms))
        fused: dict[str, float] = {}
        for name, ranking in rankings.items():
            for rank, (chunk_id, _) in enumerate(ranking):
                gain = weights[name] / (self.fusion.rrf_k + rank + 1)
                fused[chunk_id] = fused.get(chunk_id, 0.0) + gain
        best = sorted(fused.items(), key=lambda item: -item[1])[:k]
        return self.store.passages(best)

    def _vector(self, question: str, vector: Sequence[float] | None) -> Sequence[float]:
        if vector is None:
            vector = self.embedder.encode_queries([question])[0]
        return vector

    def _terms(self, question: str) -> tuple[list[str], dict[str, list[str]]]:
        words = content_words(question)
        languages = self.store.languages()
        return words, translations(question, words, self.lexicon, languages, self.translations)

    def _rankings(
        self, terms: tuple[list[str], dict[str, list[str]]], vector: Sequence[float]
    ) -> dict[str, Any]:
        groups = term_groups(*terms)
        return {
            "dense": self.store.dense(vector, self.depth),
            "words": self._lexical(groups, "words"),
            "trigram": self._lexical(groups, "trigram"),
        }

    def _lexical(self, groups: list[list[str]], index: LexicalIndex) -> list[tuple[str, float]]:
        """BM25 ranking of the question's words (and translations) in one index: all of
        them, or in a large index those within the row budget (see ``within``)."""
        asked = [query_terms(g, index) for g in groups]
        terms = list(dict.fromkeys(t for g in asked for t in g))
        if self.row_budget:
            terms = within(asked, self.store.term_rows(terms, index), self.row_budget)
        return self.store.lexical(any_of(terms), self.depth, index)

    def _coverage(self, terms: tuple[list[str], dict[str, list[str]]]) -> float:
        """Share of the question's words that are indexed, as they are or translated (by
        themselves or within a phrase)."""
        words, found = terms
        if not found:
            return self.store.lexical_coverage([fold(w) for w in words])
        covered = 0
        for word in words:
            alternatives = [t for p, ts in found.items() if word in p.split() for t in ts]
            covered += self.store.lexical_coverage([fold(w) for w in [word, *alternatives]]) > 0
        return covered / len(words) if words else 0.0


class PassageRetriever(BaseRetriever):
    """LangChain retriever over the hybrid searcher: Documents with passage metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: Any
    k: int = 8

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        """The passages as Documents; ``invoke(query, k=…)`` overrides the retriever's ``k``."""
        return [
            Document(
                page_content=p.text,
                id=p.chunk_id,
                metadata={
                    "doc_id": p.doc_id,
                    "title": p.title,
                    "source": p.source,
                    "start": p.start,
                    "end": p.end,
                    "score": p.score,
                    "page": p.page,
                },
            )
            for p in self.searcher.search(query, k or self.k)
        ]
