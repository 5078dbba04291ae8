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

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.lexical import LEXICAL, TRIGRAM, WORDS, LexicalIndex
from assistant.lexicon import Lexicon, translations
from assistant.store import Store
from assistant.text import content_words, fold
from assistant.tuning import ROW_BUDGET, RRF_K, SEARCH_DEPTH, TRANSLATIONS
from assistant.types import Passage

if TYPE_CHECKING:
    from assistant.embedding import Embedder


def any_of(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression that ORs the terms, each a quoted phrase."""
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in terms)


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


#: Encodes questions while their lexical rankings are made (one at a time: the encoder
#: uses every core itself).
_ENCODER_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode-question")

#: A ranking: (chunk id, score), best first.
Ranking = list[tuple[str, float]]


def fuse(rankings: Iterable[tuple[float, Sequence[str]]], k: int = RRF_K) -> Ranking:
    """Weighted reciprocal-rank fusion: each ranking (weight, ids best first) adds
    ``weight / (k + rank)`` to an id's score (rank from 1); ids by fused score, best first."""
    fused: dict[str, float] = {}
    for weight, ids in rankings:
        for rank, item in enumerate(ids):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank + 1)
    return sorted(fused.items(), key=lambda item: -item[1])


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
    rrf_k: int = RRF_K

    def weights(self, coverage: float) -> dict[str, float]:
        """The weight of each ranking for a question of this coverage."""
        return {
            "dense": (1.0 - coverage) ** self.dense_power + self.dense_floor,
            WORDS.name: self.words * coverage,
            TRIGRAM.name: self.trigram * (self.trigram_floor + (1 - self.trigram_floor) * coverage),
        }


class HybridSearcher:
    """Dense and lexical search over one store, fused into one ranking."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        fusion: Fusion | None = None,
        depth: int = SEARCH_DEPTH,
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

    def rankings(self, question: str, vector: Sequence[float] | None = None) -> dict[str, Ranking]:
        """The separate rankings (chunk id, score) of each retriever."""
        return self._rankings(self._terms(question), question, vector)

    def search(self, question: str, k: int, vector: Sequence[float] | None = None) -> list[Passage]:
        """The ``k`` best passages for a question, best first."""
        terms = self._terms(question)
        rankings = self._rankings(terms, question, vector)
        weights = self.fusion.weights(self._coverage(terms))
        ranked = ((weights[name], [c for c, _ in ranking]) for name, ranking in rankings.items())
        return self.store.passages(fuse(ranked, self.fusion.rrf_k)[:k])

    def _terms(self, question: str) -> tuple[list[str], dict[str, list[str]]]:
        words = content_words(question)
        languages = self.store.languages()
        return words, translations(question, words, self.lexicon, languages, self.translations)

    def _rankings(
        self,
        terms: tuple[list[str], dict[str, list[str]]],
        question: str,
        vector: Sequence[float] | None,
    ) -> dict[str, Ranking]:
        """Dense and lexical rankings. The question is encoded in another thread while the
        lexical indexes are asked (the encoder and SQLite both release the GIL): the
        lexical rankings need no vector."""
        groups = term_groups(*terms)
        encoding: Future[Sequence[float]] = Future()
        if vector is None:
            encoding = _ENCODER_THREAD.submit(self._encode, question)
        else:
            encoding.set_result(vector)
        size = self.store.chunk_count() if self.row_budget else 0
        lexical = {index.name: self._lexical(groups, index, size) for index in LEXICAL}
        return {"dense": self.store.dense(encoding.result(), self.depth), **lexical}

    def _encode(self, question: str) -> Sequence[float]:
        return self.embedder.encode_queries([question])[0]

    def _lexical(self, groups: list[list[str]], index: LexicalIndex, size: int) -> Ranking:
        """BM25 ranking of the question's words (and translations) in one index: all of
        them, or in an index of more than the budget's ``size`` chunks those within the row
        budget (see ``within``)."""
        asked = [index.query_terms(g) for g in groups]
        terms = list(dict.fromkeys(t for g in asked for t in g))
        budget = max(1, int(self.row_budget * index.budget_share))
        # an index of no more chunks than the budget is asked for every term: the bound
        # could not cut its work, and a trigram term no word starts with may still match
        # inside a compound (without this, xquad-dev lost half a point of hit@1000c)
        if self.row_budget and size > budget:
            terms = within(asked, self.store.term_rows(terms, index), budget)
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
    searcher: HybridSearcher
    k: int = 8

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        """The passages as Documents; ``invoke(query, k=…)`` overrides the retriever's ``k``."""
        return [
            Document(page_content=p.text, id=p.chunk_id, metadata=_metadata(p))
            for p in self.searcher.search(query, k or self.k)
        ]


def _metadata(passage: Passage) -> dict[str, object]:
    """A Document's metadata: the passage's JSON shape without its text, the score unrounded."""
    shape = {k: v for k, v in passage.as_dict().items() if k != "text"}
    return shape | {"score": passage.score}
