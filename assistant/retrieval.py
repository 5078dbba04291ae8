"""Question → ranked Passages: dense (Chroma) and lexical (FTS5 words + trigrams), fused.

Fusion is weighted reciprocal-rank fusion, and the weights follow how much of the question
the index knows lexically (``coverage``: the share of the question's content words found in
the indexed text). A question in the articles' language shares most of its words with them
and is best served lexically; a question in another language shares few (names, numbers,
cognates) and leans on the dense ranking. The trigram index is also asked for the stems of
long words, which finds inflections, compounds and cognates. Measured on xquad-dev (German
articles), plain equal-weight fusion loses to trigram search alone for German questions;
these weights beat every single ranking at 1000 and 2000 characters for both German and
English questions (at 500, trigram alone is level for German; figures and what else was
tried in docs/benchmarks.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.store import Store
from assistant.types import Passage

_WORD = re.compile(r"\w+", re.UNICODE)

# Function words of the questions' usual languages (English, German): they carry no topic.
_STOPWORD_TEXT = """
a an and are as at be been by did do does for from had has have how in is it its of on or
that the their there these this to was were what when where which who whom whose why will
with would can could about into than then they them he she his her you your we our
der die das den dem des ein eine einer eines einem einen und oder aber ist sind war waren
wird werden wurde wurden hat haben hatte hatten im am auf aus bei mit nach von vor zu zum
zur für über unter um wie was wer wen wem wessen wo wann warum welche welcher welches
welchen welchem sich es er sie ihr ihre ihren ihrem ihres sein seine seiner seinen seinem
seines nicht auch als dass so noch nur durch bis gegen ohne
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def content_words(text: str) -> list[str]:
    """Lower-cased words of a question, without stopwords, in order, without repeats."""
    words = [w.lower() for w in _WORD.findall(text)]
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS))


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


def fts_query(words: Sequence[str], index: str) -> str:
    """An FTS5 MATCH expression that ORs the words (trigram: words of 3+ characters, and
    the stems of long words)."""
    usable = [w for w in words if len(w) >= 3] if index == "trigram" else list(words)
    if index == "trigram":
        usable = stems(usable)
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in usable)


@dataclass(frozen=True)
class Fusion:
    """Reciprocal-rank fusion whose weights follow the question's lexical coverage ``c``.

    dense: ``(1 - c) ** dense_power + dense_floor``; words: ``c`` times its weight;
    trigram: ``trigram_floor + (1 - trigram_floor) * c`` times its weight, since its stems
    match cognates and names even when the question's words are not in the index. A small
    ``rrf_k`` lets the top ranks decide (values in docs/benchmarks.md).
    """

    dense_floor: float = 0.05
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
        self, store: Store, embedder: Any, *, fusion: Fusion | None = None, depth: int = 50
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.fusion = fusion or Fusion()
        self.depth = depth

    def rankings(self, question: str, vector: Sequence[float] | None = None) -> dict[str, Any]:
        """The separate rankings (chunk id, score) of each retriever."""
        if vector is None:
            vector = self.embedder.encode_queries([question])[0]
        words = content_words(question)
        return {
            "dense": self.store.dense(vector, self.depth),
            "words": self.store.lexical(fts_query(words, "words"), self.depth, "words"),
            "trigram": self.store.lexical(fts_query(words, "trigram"), self.depth, "trigram"),
        }

    def search(self, question: str, k: int, vector: Sequence[float] | None = None) -> list[Passage]:
        """The ``k`` best passages for a question, best first."""
        rankings = self.rankings(question, vector)
        weights = self._weights(question)
        fused: dict[str, float] = {}
        for name, ranking in rankings.items():
            for rank, (chunk_id, _) in enumerate(ranking):
                gain = weights[name] / (self.fusion.rrf_k + rank + 1)
                fused[chunk_id] = fused.get(chunk_id, 0.0) + gain
        best = sorted(fused.items(), key=lambda item: -item[1])[:k]
        return self.store.passages(best)

    def _weights(self, question: str) -> dict[str, float]:
        coverage = self.store.lexical_coverage([fold(w) for w in content_words(question)])
        return self.fusion.weights(coverage)


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
