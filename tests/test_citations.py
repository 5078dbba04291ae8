"""Tests of the pure parts: citation markers parsed back into data (assistant.citations), word
overlap (assistant.overlap), and the candidate sentences of overlapping passages (answering)."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answering import candidate_sentences
from assistant.chunking import chunk_article
from assistant.citations import link_markers, numbers, parse_citations, without_markers
from assistant.citations import marker as marker_for
from assistant.lexical import stems
from assistant.overlap import trigrams, weighted_overlap, word_overlap
from assistant.retrieval import fuse
from assistant.types import Article, Passage

PROPERTY = settings(max_examples=200, deadline=None)
MARKER = re.compile(r"\[(\d+)\]")


def passage(n: int, text: str = "Er kam.", start: int = 0, doc_id: str = "doc") -> Passage:
    return Passage(
        chunk_id=f"chunk-{n}",
        doc_id=doc_id,
        title="Notes",
        source="notes.txt",
        text=text,
        start=start,
        end=start + len(text),
        score=1.0,
    )


def passages(count: int) -> list[Passage]:
    return [passage(n) for n in range(count)]


# -- parse_citations ----------------------------------------------------------------------

word = st.text(alphabet=string.ascii_letters + "äöüß.,", min_size=1, max_size=8)
number = st.integers(min_value=-2, max_value=20)
marker = st.one_of(
    st.builds("[{}]".format, number),
    st.builds("[ {}]".format, number),
    st.builds("[{},{}]".format, number, number),
    st.builds("[{}, {}]".format, number, number),
)


@st.composite
def answers(draw: st.DrawFn) -> str:
    """Words and markers; a marker is followed by a blank (see test_dropping_a_marker_…)."""
    out = ""
    for piece in draw(st.lists(st.one_of(word, marker), max_size=30)):
        blanks = ["\n", " ", "  "] if piece.startswith("[") else ["", " ", "\n"]
        out += piece + draw(st.sampled_from(blanks))
    return out


def first_uses(numbers: list[int]) -> list[int]:
    return list(dict.fromkeys(numbers))


@PROPERTY
@given(answers(), st.integers(min_value=0, max_value=6))
def test_parse_citations_keeps_known_markers_renumbered_by_first_use(text: str, count: int) -> None:
    new_text, order = parse_citations(text, passages(count))
    kept = [int(n) - 1 for n in MARKER.findall(text) if 1 <= int(n) <= count]
    new = [int(n) for n in MARKER.findall(new_text)]

    assert len(set(order)) == len(order)
    assert all(0 <= index < count for index in order)
    assert order == first_uses(kept)
    # the k-th kept marker of the input is the k-th marker of the output, renumbered
    assert [order[n - 1] for n in new] == kept
    assert first_uses(new) == list(range(1, len(order) + 1))


@PROPERTY
@given(answers(), st.integers(min_value=0, max_value=6))
def test_parse_citations_leaves_the_words_alone(text: str, count: int) -> None:
    new_text, _ = parse_citations(text, passages(count))
    assert MARKER.sub(" ", new_text).split() == MARKER.sub(" ", text).split()


@pytest.mark.parametrize(
    ("text", "count", "new_text", "order"),
    [
        ("A [2]. B [1]. C [2].", 2, "A [1]. B [2]. C [1].", [1, 0]),
        ("A [1]. B [5].", 2, "A [1]. B.", [0]),
        ("A [0]. B [3].", 2, "A. B.", []),
        ("A [2][1].", 2, "A [1] [2].", [1, 0]),
        ("A [1].", 0, "A.", []),
        ("Keine Marken hier.", 3, "Keine Marken hier.", []),
        ("", 3, "", []),
        # not of the form [n]: left as they are
        ("A [ 1]. B [-1].", 2, "A [ 1]. B [-1].", []),
    ],
)
def test_parse_citations_cases(text: str, count: int, new_text: str, order: list[int]) -> None:
    assert parse_citations(text, passages(count)) == (new_text, order)


@pytest.mark.parametrize("text", ["[1[5]]", "see [[7]1]"])
def test_dropping_a_marker_makes_no_new_one(text: str) -> None:
    new_text, order = parse_citations(text, passages(1))  # once: "[1]" with order == []
    assert len(MARKER.findall(new_text)) == len(order)


@pytest.mark.parametrize("text", ["Er kam [5]heute.", "Er kam[5]heute."])
def test_dropping_a_marker_keeps_words_apart(text: str) -> None:
    new_text, _ = parse_citations(text, passages(1))  # once: "Er kamheute."
    assert new_text.split() == ["Er", "kam", "heute."]


@pytest.mark.parametrize(
    ("text", "numbers_", "plain"),
    [
        ("Er kam [1]. Sie ging [2] [1].", [1, 2, 1], "Er kam . Sie ging ."),
        ("No markers.", [], "No markers."),
        ("[12]Start", [12], "Start"),
    ],
)
def test_markers_read_back(text: str, numbers_: list[int], plain: str) -> None:
    assert numbers(text) == numbers_
    assert without_markers(text) == plain
    assert link_markers(text, lambda n, m: f"<{n}:{m}>") == MARKER.sub(
        lambda match: f"<{match.group(1)}:{match.group(0)}>", text
    )
    assert [marker_for(n) for n in numbers_] == re.findall(r"\[\d+\]", text)


def test_numbers_within_a_span() -> None:
    text = "A [1]. B [2] [3]. C [4]."
    assert numbers(text, text.index("B"), text.index("C")) == [2, 3]


# -- word_overlap and trigrams ------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "grams"),
    [
        ("ab", {" ab", "ab "}),
        ("abc", {" ab", "abc", "bc "}),
        ("a", {" a "}),
    ],
)
def test_trigrams(word: str, grams: set[str]) -> None:
    assert trigrams(word) == grams


@pytest.mark.parametrize(
    ("question_words", "text", "expected"),
    [
        (["berlin"], "Er flog nach Berlin.", 1.0),
        (["munchen"], "Er wohnt in München.", 1.0),  # the text's words are folded
        (["banane"], "Er flog nach Berlin.", 0.0),
        (["berlin", "banane"], "Er flog nach Berlin.", 0.5),
        ([], "Er flog nach Berlin.", 0.0),
        (["berlin"], "", 0.0),
    ],
)
def test_word_overlap(question_words: list[str], text: str, expected: float) -> None:
    assert word_overlap(question_words, text) == expected


def test_word_overlap_counts_a_cognate_in_part() -> None:
    # "experts" and "experten" share the prefix "expert": 6 of the longer word's 8 letters
    assert word_overlap(["experts"], "Die Experten warnen.") == pytest.approx(6 / 8)


# -- candidate_sentences ------------------------------------------------------------------

TEXT = (
    "Der Präsident kam am Montag an. Er sprach mit den Ministern. Ja. "
    "Am 10. Januar reiste er weiter. Die Gespräche dauerten zwei Tage."
)


def simple_tokens(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]


def test_candidate_sentences_of_overlapping_passages_appear_once() -> None:
    doc = Article(source="visit.txt", text=TEXT, title="Besuch")
    chunks = chunk_article(doc, simple_tokens, max_tokens=14, overlap_tokens=8)
    hits = [passage(i, c.text, c.start, c.doc_id) for i, c in enumerate(chunks)]
    assert len(hits) >= 3  # the overlap repeats sentences across passages

    sentences = candidate_sentences(hits)
    assert [s.text for s in sentences] == [
        "Der Präsident kam am Montag an.",
        "Er sprach mit den Ministern.",
        "Am 10. Januar reiste er weiter.",  # "Ja." is too short to quote
        "Die Gespräche dauerten zwei Tage.",
    ]
    assert all(TEXT[s.start : s.end] == s.text for s in sentences)


# -- sentence relevance and retrieval query terms -------------------------------------------


def test_a_rare_question_word_outweighs_a_common_one() -> None:
    texts = ["Tokajew besuchte Berlin.", "Tokajew sprach mit Experten.", "Tokajew reiste ab."]
    scores = weighted_overlap(["tokajew", "experten"], texts)
    assert scores.argmax() == 1
    assert scores[0] == scores[2] < scores[1]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["experts"], ["experts"]),
        (["kraftwerke"], ["kraftwerke", "kraftwe"]),
        (["visit", "nuclear"], ["visit", "nuclear"]),
        (["kernkraftwerk", "kernkraftwerk"], ["kernkraftwerk", "kernkraftw"]),
    ],
)
def test_stems_add_shortened_long_words(words: list[str], expected: list[str]) -> None:
    assert stems(words) == expected


def test_fuse_adds_weighted_reciprocal_ranks() -> None:
    fused = fuse([(1.0, ["a", "b"]), (0.5, ["b", "c"])], k=5)
    assert [item for item, _ in fused] == ["b", "a", "c"]
    assert dict(fused) == pytest.approx({"a": 1 / 6, "b": 1 / 7 + 0.5 / 6, "c": 0.5 / 7})
    assert fuse([(1.0, ["a"]), (1.0, ["b"])], k=60) == [("a", 1 / 61), ("b", 1 / 61)]  # ties
    # the smaller k lets a top rank of the second ranking pass a low rank of the first
    first, second = [f"p{i}" for i in range(8)], ["q"]
    assert [i for i, _ in fuse([(1.0, first), (0.5, second)], k=5)].index("q") < 8
    assert [i for i, _ in fuse([(1.0, first), (0.5, second)], k=60)].index("q") == 8
