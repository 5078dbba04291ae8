"""Answer quality must not regress: retrieval and extractive answers on a slice of xquad-dev.

The floors sit a few points under what this slice measured when they were set (figures in
docs/benchmarks.md); the whole data set is measured by ``bench/quality.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.evaluation import GoldQuestion, hit_rates, mrr_at, squad_articles, squad_questions
from assistant.factory import Assistant, build_assistant
from assistant.loading import load_text
from tests.conftest import XQUAD

GERMAN = XQUAD / "xquad-dev.de.json"
ENGLISH = XQUAD / "xquad-dev.en.json"
ARTICLES = 4  # the first four of the twelve articles: about a third of the questions

needs_xquad = pytest.mark.skipif(
    not GERMAN.is_file(), reason=f"needs the xquad-dev slice at {XQUAD} (../shared/data)"
)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, embedder) -> Assistant:
    """An index of the first German articles."""
    directory: Path = tmp_path_factory.mktemp("xquad") / "index"
    assistant = build_assistant(Settings(index=directory, answer_sentences=2), embedder)
    for article in squad_articles(GERMAN)[:ARTICLES]:
        text = load_text(article.text, source=f"xquad-dev/{article.title}", title=article.title)
        assistant.add_article(text)
    yield assistant
    assistant.close()


def questions(language: str, indexed: Assistant) -> list[GoldQuestion]:
    """The gold questions about the indexed articles, asked in ``language``."""
    titles = {d.title for d in indexed.documents()}
    asked = squad_questions(GERMAN, ENGLISH if language == "en" else None)
    return [q for q in asked if q.title in titles]


@needs_xquad
@pytest.mark.parametrize(("language", "floor"), [("de", 0.89), ("en", 0.83)])
def test_hit_at_1000_characters_stays_above_its_floor(
    indexed: Assistant, language: str, floor: float
) -> None:
    gold = questions(language, indexed)
    vectors = indexed.embedder.encode_queries([q.question for q in gold])
    ranked = [
        [p.text for p in indexed.searcher.search(q.question, 10, v)]
        for q, v in zip(gold, vectors, strict=True)
    ]
    assert hit_rates(ranked, gold, [1000])[1000] >= floor


@needs_xquad
def test_extractive_answers_hold_the_gold_answer(indexed: Assistant) -> None:
    gold = questions("de", indexed)[::7]
    answers = [indexed.ask(q.question) for q in gold]
    holds = sum(q.answer in a.text for q, a in zip(gold, answers, strict=True))
    assert holds / len(gold) >= 0.75, f"{holds} of {len(gold)} (17 when the floor was set)"
    assert not any(a.abstained for a in answers[:5]), "questions about indexed articles"


def test_mrr_counts_the_rank_of_the_first_passage_with_the_evidence() -> None:
    gold = [GoldQuestion(str(i), "?", "x", "needle", "t") for i in range(3)]
    ranked = [["a", "the needle"], ["needle"], ["a", "b"]]
    assert mrr_at(ranked, gold) == pytest.approx((0.5 + 1 + 0) / 3)
    assert mrr_at(ranked, gold, depth=1) == pytest.approx(1 / 3)
