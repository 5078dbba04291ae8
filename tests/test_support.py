"""A written answer's post-processing (assistant.support), with the real embedding model:
whatever markers a model writes, the Answer's citations point only at given passages."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.config import Settings
from assistant.support import SupportScorer, plain, resolve, statement_spans
from assistant.types import Answer, Passage

MARKER = re.compile(r"\[(\d+)\]")
TEXTS = [
    "Fjodor Lukjanow ist Chefredakteur der Zeitschrift Russland in Global Affairs. "
    "Er erwartet von dem Besuch keine bahnbrechenden Entscheidungen.",
    "Chingiz Lepsibaev leitet den eurasischen Expertenrat. Er erwartet Neuigkeiten zur EAWU.",
    "Zebras leben in Namibia.",
    "Kurz.",
]


def make_passages(count: int) -> list[Passage]:
    out, start = [], 0
    for n in range(count):
        text = TEXTS[n % len(TEXTS)]
        out.append(Passage(f"c{n}", f"d{n}", "Notes", "notes.txt", text, start, start + len(text),
                           1.0, language="de"))  # fmt: skip
        start += len(text) + 1
    return out


@pytest.fixture(scope="module")
def scorer(embedder) -> SupportScorer:
    """The scorer as configured by default (thresholds set for the default model)."""
    settings = Settings()
    return SupportScorer(
        embedder,
        threshold=settings.support_threshold,
        crosslingual_threshold=settings.support_threshold_crosslingual,
    )


def check(answer: Answer, passages: list[Passage]) -> None:
    numbers = {int(n) for n in MARKER.findall(answer.text)}
    assert numbers == {c.n for c in answer.citations}
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert all(c.passage in passages for c in answer.citations)
    assert len({c.passage.chunk_id for c in answer.citations}) == len(answer.citations)
    for s in answer.statements:
        assert answer.text[s.start : s.end] == s.text
        assert set(s.citations) <= numbers
        assert not s.supported or s.citations
    assert set(answer.unsupported) == {
        i for i, s in enumerate(answer.statements) if not s.supported
    }


_WORD_TEXT = "Lukjanow erwartet keine Entscheidungen Zebras Namibia Mond , . ! ?"
word = st.sampled_from(_WORD_TEXT.split())
marker = st.one_of(
    st.builds("[{}]".format, st.integers(-2, 12)),
    st.builds("[{}, {}]".format, st.integers(0, 9), st.integers(0, 9)),
    st.sampled_from(["[", "]", "[[1]]", "[1[2]]", "[ 1]", "[01]"]),
)
answers = st.lists(st.one_of(word, marker, st.text(string.ascii_letters, max_size=5)),
                   max_size=16).map(" ".join)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(answers, st.integers(0, 5))
def test_random_markers_never_make_an_invalid_citation(
    scorer: SupportScorer, raw: str, count: int
) -> None:
    passages = make_passages(count)
    check(resolve("Frage?", raw, passages, scorer), passages)


def test_a_sentence_copied_from_a_passage_is_supported_and_quotes_it(scorer) -> None:
    passages = make_passages(3)
    raw = "Lukjanow erwartet keine bahnbrechenden Entscheidungen [1]. Der Mond ist aus Käse [3]."
    answer = resolve("Was erwartet Lukjanow?", raw, passages, scorer)
    check(answer, passages)
    assert [s.supported for s in answer.statements] == [True, False]
    assert (
        answer.citations[0].quote
        == "Er erwartet von dem Besuch keine bahnbrechenden Entscheidungen."
    )
    assert answer.unsupported == (1,)


def test_an_answer_without_markers_gets_the_best_supporting_passage(scorer) -> None:
    passages = make_passages(3)
    raw = "Zebras leben in Namibia. Lepsibaev leitet den Expertenrat. Der Mond ist aus Käse."
    answer = resolve("Erzähl mir etwas.", raw, passages, scorer)
    check(answer, passages)
    assert [s.citations for s in answer.statements] == [(1,), (2,), ()]
    assert [c.passage.chunk_id for c in answer.citations] == ["c2", "c1"]
    assert answer.unsupported == (2,) and not answer.abstained


def test_a_refusal_without_markers_is_an_abstention(scorer) -> None:
    passages = make_passages(2)
    answer = resolve("Who won?", "The articles do not say who won.", passages, scorer)
    assert answer.abstained and not answer.citations and answer.passages == tuple(passages)


@pytest.mark.parametrize("raw", ["", "   ", "<think>nothing to say</think>"])
def test_an_empty_answer_abstains(scorer, raw: str) -> None:
    answer = resolve("Frage?", raw, make_passages(1), scorer)
    assert answer.abstained and not answer.statements


@pytest.mark.parametrize(
    ("text", "statements"),
    [
        ("A ist da [1]. B ist hier [2].", [("A ist da [1].", (1,)), ("B ist hier [2].", (2,))]),
        ("A ist da. [1] B ist hier. [2][1]",
         [("A ist da. [1]", (1,)), ("B ist hier. [2][1]", (2, 1))]),
        ("A ist da [1] [1].", [("A ist da [1] [1].", (1,))]),
        ("Nichts zitiert.", [("Nichts zitiert.", ())]),
    ],
)  # fmt: skip
def test_statement_spans_give_leading_markers_to_the_sentence_before(
    text: str, statements: list[tuple[str, tuple[int, ...]]]
) -> None:
    spans = statement_spans(text)
    assert [(text[s.start : s.end], s.numbers) for s in spans] == statements


def test_plain_drops_markers() -> None:
    assert plain("A ist da [1] [2].") == "A ist da ."
