"""Tests of assistant.chunking: sentence splitting and token-sized chunks with offsets.

Hypothesis drives the pure functions with a simple deterministic tokenizer (every word and
every other non-blank character is a token); one test runs the real model's tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.chunking import Span, chunk_article, split_sentences
from assistant.types import Article, Chunk

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
PROPERTY = settings(max_examples=200, deadline=None)


def simple_tokens(text: str) -> list[tuple[int, int]]:
    """Words and single punctuation marks; whitespace is never part of a token."""
    return [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]


def count(text: str) -> int:
    return len(simple_tokens(text))


def article(text: str, source: str = "notes.txt", title: str = "Notes") -> Article:
    return Article(source=source, text=text, title=title)


def uncovered(text: str, spans: Sequence[Span | Chunk]) -> list[int]:
    """Offsets of non-whitespace characters of ``text`` that no span holds."""
    covered = [False] * len(text)
    for span in spans:
        covered[span.start : span.end] = [True] * (span.end - span.start)
    return [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]


# -- text strategy: German prose with the things that trip sentence splitters -------------

FRAGMENTS = [
    "Er", "kam", "Sie", "ging", "Müller", "Straße", "über", "Ärger", "Öl", "Übung", "ja",
    "Dr.", "Prof.", "z. B.", "10.", "Januar", "3.5", "Nr. 7", "usw.", "A.",
    "„Wir kommen.“", "„Ja!“", '"So?"', "(siehe oben)", "»Nein.«",
    ".", "!", "?", "…", ",", "...", "?!",
    "Donaudampfschifffahrtsgesellschaftskapitänswitwe", "x" * 60, "1,2,3,4,5,6,7,8,9",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "", "\n", "\n\n", "  ", "\t", " \n "]
ALPHABET = "abcäöüßXYZÄÖÜ019 .,!?…\n„“\"'()»«-"

fragment = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(alphabet=ALPHABET, min_size=1, max_size=12),
    st.builds(lambda ch, n: ch * n, st.sampled_from("aä.-"), st.integers(20, 80)),
)


@st.composite
def texts(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(fragment, max_size=60))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(pieces), max_size=len(pieces)))
    return "".join(p + s for p, s in zip(pieces, seps, strict=True))


max_tokens_st = st.integers(min_value=1, max_value=30)


# -- split_sentences ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("", []),
        ("   \n ", []),
        ("Er kam. Sie ging.", ["Er kam.", "Sie ging."]),
        ("Am 10. Januar kam er.", ["Am 10. Januar kam er."]),
        ("Am 1. Mai 2024. Dann kam er.", ["Am 1. Mai 2024.", "Dann kam er."]),
        ("Dr. Müller kam.", ["Dr. Müller kam."]),
        ("Das kostet z. B. 5 Euro.", ["Das kostet z. B. 5 Euro."]),
        ("Version 3.5 ist da.", ["Version 3.5 ist da."]),
        ("Er kam. sie ging.", ["Er kam. sie ging."]),
        ("Wirklich? Ja! Gut.", ["Wirklich?", "Ja!", "Gut."]),
        ("Warte… Dann ging er.", ["Warte…", "Dann ging er."]),
        ("Titel\nText hier.", ["Titel", "Text hier."]),
        ("Er kam.\n\n  Sie ging.  ", ["Er kam.", "Sie ging."]),
        ("Er sagte: „Wir kommen.“ Dann ging er.", ["Er sagte: „Wir kommen.“", "Dann ging er."]),
        ('Sie fragte: "Wann?" Niemand wusste es.', ['Sie fragte: "Wann?"', "Niemand wusste es."]),
        (
            "He came on Feb. 9 to Moscow. Then he left.",
            ["He came on Feb. 9 to Moscow.", "Then he left."],
        ),
        ("Die EAWU (dh die Union) wächst. Gut.", ["Die EAWU (dh die Union) wächst.", "Gut."]),
        ("Das gilt z. B. für Kasan. Gut.", ["Das gilt z. B. für Kasan.", "Gut."]),
        ("Il arrive le 10 janv. à Moscou. Bon.", ["Il arrive le 10 janv. à Moscou.", "Bon."]),
        (
            "Eine lange Zeile aus einem PDF, die mitten im Satz umbricht und\nKasachstan nennt.",
            ["Eine lange Zeile aus einem PDF, die mitten im Satz umbricht und\nKasachstan nennt."],
        ),
        ("ein Wort am Zeilen-\nende.", ["ein Wort am Zeilen-\nende."]),
        (
            "Experten erwarten wenig\nFjodor Lukjanow sagte es.",
            ["Experten erwarten wenig", "Fjodor Lukjanow sagte es."],
        ),
        ("Das schloss er.\nbbabo.Net", ["Das schloss er.", "bbabo.Net"]),
        ("Das schloss er. bbabo.Net", ["Das schloss er.", "bbabo.Net"]),
    ],
)
def test_split_sentences_cases(text: str, sentences: list[str]) -> None:
    assert [text[s.start : s.end] for s in split_sentences(text)] == sentences


@PROPERTY
@given(texts())
def test_sentences_are_ordered_trimmed_and_cover_the_text(text: str) -> None:
    spans = split_sentences(text)
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
        assert not text[s.start].isspace() and not text[s.end - 1].isspace()
    for a, b in pairwise(spans):
        assert a.end <= b.start
    assert uncovered(text, spans) == []


@PROPERTY
@given(texts(), st.data())
def test_sentences_of_a_range_stay_inside_it(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    spans = split_sentences(text, start, end)
    assert all(start <= s.start < s.end <= end for s in spans)
    assert uncovered(text[start:end], [Span(s.start - start, s.end - start) for s in spans]) == []


# -- chunk_article -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "max_tokens", "overlap", "chunks"),
    [
        ("", 5, 0, []),
        (" \n\t ", 5, 0, []),
        ("Er kam.", 5, 0, ["Er kam."]),
        ("Er kam. Sie ging. Wir blieben.", 6, 0, ["Er kam. Sie ging.", "Wir blieben."]),
        (
            "Er kam. Sie ging. Wir blieben alle hier.",
            8,
            3,
            ["Er kam. Sie ging.", "Sie ging. Wir blieben alle hier."],
        ),
        ("Er kam. Sie ging. Wir blieben.", 3, 0, ["Er kam.", "Sie ging.", "Wir blieben."]),
        # a sentence longer than max_tokens is cut at token boundaries
        ("a b c d e f g", 3, 0, ["a b c", "d e f", "g"]),
    ],
)
def test_chunk_article_cases(text: str, max_tokens: int, overlap: int, chunks: list[str]) -> None:
    result = chunk_article(article(text), simple_tokens, max_tokens, overlap)
    assert [c.text for c in result] == chunks


@pytest.mark.parametrize(
    ("paragraphs", "chunks"),
    [
        (True, ["Er kam. Sie ging.", "Wir blieben. Es regnete."]),
        (False, ["Er kam. Sie ging.\n\nWir blieben.", "Wir blieben. Es regnete."]),
    ],
)
def test_a_blank_line_ends_a_chunk(paragraphs: bool, chunks: list[str]) -> None:
    text = "Er kam. Sie ging.\n\nWir blieben. Es regnete."
    result = chunk_article(article(text), simple_tokens, 10, 3, paragraphs=paragraphs)
    assert [c.text for c in result] == chunks


@pytest.mark.parametrize("max_tokens", [0, -1, -100])
def test_max_tokens_below_one_is_refused(max_tokens: int) -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_article(article("Er kam."), simple_tokens, max_tokens)


@PROPERTY
@given(texts(), max_tokens_st, st.integers(0, 40))
def test_chunks_slice_back_follow_in_order_and_cover_the_text(
    text: str, max_tokens: int, overlap: int
) -> None:
    doc = article(text)
    chunks = chunk_article(doc, simple_tokens, max_tokens, overlap)
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.text.strip() == c.text != ""
        assert c.doc_id == doc.doc_id
    for a, b in pairwise(chunks):
        assert a.start < b.start
        assert a.end <= b.end  # strictly: see test_no_chunk_lies_inside_its_predecessor
    assert uncovered(text, chunks) == []


@PROPERTY
@given(texts(), max_tokens_st, st.integers(0, 40))
def test_no_chunk_holds_more_than_max_tokens(text: str, max_tokens: int, overlap: int) -> None:
    chunks = chunk_article(article(text), simple_tokens, max_tokens, overlap)
    assert all(count(c.text) <= max_tokens for c in chunks)


@PROPERTY
@given(texts(), max_tokens_st)
def test_without_overlap_chunks_are_disjoint(text: str, max_tokens: int) -> None:
    chunks = chunk_article(article(text), simple_tokens, max_tokens, overlap_tokens=0)
    for a, b in pairwise(chunks):
        assert a.end <= b.start


@PROPERTY
@given(texts(), max_tokens_st, st.integers(1, 40))
def test_overlap_is_at_most_overlap_tokens(text: str, max_tokens: int, overlap: int) -> None:
    chunks = chunk_article(article(text), simple_tokens, max_tokens, overlap)
    for a, b in pairwise(chunks):
        shared = text[b.start : a.end] if b.start < a.end else ""
        assert count(shared) <= overlap


@PROPERTY
@given(texts(), max_tokens_st, st.integers(0, 40))
def test_chunks_are_whole_sentences_unless_a_sentence_is_too_long(
    text: str, max_tokens: int, overlap: int
) -> None:
    # Overlaps are whole trailing sentences too, since every chunk starts at a sentence
    # start; only a sentence of more than max_tokens tokens may be cut (at token boundaries).
    starts: set[int] = set()
    ends: set[int] = set()
    for s in split_sentences(text):
        starts.add(s.start)
        ends.add(s.end)
        tokens = simple_tokens(text[s.start : s.end])
        if len(tokens) > max_tokens:
            starts.update(s.start + t0 for t0, _ in tokens)
            ends.update(s.start + t1 for _, t1 in tokens)
    for c in chunk_article(article(text), simple_tokens, max_tokens, overlap):
        assert c.start in starts
        assert c.end in ends


@PROPERTY
@given(texts(), max_tokens_st, st.integers(0, 40), st.integers(1, 80))
def test_a_chunk_over_target_chars_is_one_sentence(
    text: str, max_tokens: int, overlap: int, target: int
) -> None:
    # Sentences are gathered up to ``target_chars``; one longer sentence stays whole (cut
    # only by tokens or ``max_chars``), and the chunks still cover the text in order.
    sentences = split_sentences(text)
    chunks = chunk_article(article(text), simple_tokens, max_tokens, overlap, target_chars=target)
    for c in chunks:
        if len(c.text) > target:
            assert sum(c.start <= s.start < c.end for s in sentences) <= 1, c.text
    for a, b in pairwise(chunks):
        assert a.start < b.start and a.end < b.end
    assert uncovered(text, chunks) == []


@pytest.mark.parametrize(
    ("text", "max_tokens", "overlap", "target"),
    [
        # once gave "Er kam. Sie ging.", then "Sie ging." again
        ("Er kam. Sie ging.", 6, 3, None),
        # once gave ..., "Sie ging. Wir blieben.", then "Wir blieben." again
        ("Er kam. Sie ging. Wir blieben.", 6, 3, None),
        ("Ja. Ja. Nein nein nein nein.", 5, 4, None),
        # the default settings' shape: short sentences, then one of 240 tokens
        (" ".join(["Er kam heute."] * 30) + " " + "wort " * 239 + ".", 254, 64, None),
        # the overlap fitted the tokens but not the characters: "Xxxx yyyy zzzz." came twice
        ("Abc def. Xxxx yyyy zzzz. Qqqq wwww eeee. Rrr sss.", 50, 10, 25),
    ],
)
def test_no_chunk_lies_inside_its_predecessor(
    text: str, max_tokens: int, overlap: int, target: int | None
) -> None:
    chunks = chunk_article(article(text), simple_tokens, max_tokens, overlap, target_chars=target)
    assert all(a.end < b.end for a, b in pairwise(chunks))


# -- ids ----------------------------------------------------------------------------------


@PROPERTY
@given(texts(), max_tokens_st, st.integers(0, 10))
def test_chunk_ids_are_stable_and_distinct(text: str, max_tokens: int, overlap: int) -> None:
    first = chunk_article(article(text), simple_tokens, max_tokens, overlap)
    again = chunk_article(article(text), simple_tokens, max_tokens, overlap)
    ids = [c.chunk_id for c in first]
    assert [c.chunk_id for c in again] == ids
    assert len(set(ids)) == len(ids)


@PROPERTY
@given(texts().filter(str.strip), max_tokens_st)
def test_another_source_gives_other_ids(text: str, max_tokens: int) -> None:
    here, there = article(text, source="a.txt"), article(text, source="b.txt")
    assert here.doc_id != there.doc_id
    assert here.content_hash == there.content_hash
    ids_here = {c.chunk_id for c in chunk_article(here, simple_tokens, max_tokens)}
    ids_there = {c.chunk_id for c in chunk_article(there, simple_tokens, max_tokens)}
    assert ids_here and ids_here.isdisjoint(ids_there)


@PROPERTY
@given(texts(), texts())
def test_content_hash_follows_the_text(text: str, other: str) -> None:
    same = article(text).content_hash == article(other).content_hash
    assert same == (text == other)


def test_content_hash_follows_metadata_but_chunk_ids_do_not() -> None:
    old, new = article("Er kam. Sie ging.", title="Alt"), article("Er kam. Sie ging.", title="Neu")
    assert old.doc_id == new.doc_id
    assert old.content_hash != new.content_hash
    assert [c.chunk_id for c in chunk_article(old, simple_tokens, 3)] == [
        c.chunk_id for c in chunk_article(new, simple_tokens, 3)
    ]


# -- the real tokenizer -------------------------------------------------------------------

GERMAN_WORDS = [
    "der", "Staatsbesuch", "in", "Berlin", "brachte", "neue", "Verträge", "über", "Energie",
    "und", "Handel", "zwischen", "beiden", "Ländern",
]  # fmt: skip
REAL_TEXTS = {
    "german-article": (CORPUS / "tokayev-visit.de.txt").read_text(encoding="utf-8"),
    "one-sentence-no-punctuation": " ".join(GERMAN_WORDS[i % 14] for i in range(3000)),
    "numbers-without-spaces": ",".join(str(i) for i in range(2000)),
    "japanese-without-spaces": "日本語のテキストです" * 200,
    "one-huge-word": "x" * 5000 + " Ende.",
}


@pytest.fixture(scope="module")
def embeddings(embedder):
    """The default model's tokenizer (XLM-R unigram pieces)."""
    return embedder


def test_the_model_reads_507_tokens(embeddings) -> None:
    # 512 positions less <s>, </s> and the longer prompt ("passage:" is 3 pieces)
    assert embeddings.max_tokens == 507


@pytest.mark.parametrize("max_tokens", [254, 40])
@pytest.mark.parametrize("name", list(REAL_TEXTS))
def test_real_tokenizer_chunks_slice_back_and_cover(embeddings, name: str, max_tokens: int):
    text = REAL_TEXTS[name]
    chunks = chunk_article(article(text), embeddings.token_spans, max_tokens, 32)
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert all(a.start < b.start for a, b in pairwise(chunks))
    assert uncovered(text, chunks) == []


# A sentence longer than max_tokens was once cut between two word pieces ("Staats|besuch");
# the second part, read alone, starts a new word and can take more tokens ("be ##su ##ch"
# for "##bes ##uch"), so the chunk held more tokens than max_tokens.


@pytest.mark.parametrize(
    ("name", "max_tokens"),
    [
        ("german-article", 254),
        ("german-article", 40),
        ("one-sentence-no-punctuation", 254),
        ("one-sentence-no-punctuation", 40),
        ("numbers-without-spaces", 254),
        ("numbers-without-spaces", 40),
        ("japanese-without-spaces", 254),
        ("japanese-without-spaces", 40),
        ("one-huge-word", 254),
        ("one-huge-word", 40),
    ],
)
def test_real_tokenizer_chunks_fit_the_model(embeddings, name: str, max_tokens: int) -> None:
    text = REAL_TEXTS[name]
    chunks = chunk_article(article(text), embeddings.token_spans, max_tokens, 32)
    assert chunks
    assert max(len(embeddings.token_spans(c.text)) for c in chunks) <= max_tokens


def test_real_tokenizer_smallest_case_of_a_cut_word(embeddings) -> None:
    chunks = chunk_article(article("Staatsbesuch in Berlin"), embeddings.token_spans, 3)
    # with MiniLM once: "Staats" (st ##aa ##ts), "besuch in" (be ##su ##ch in), "Berlin"
    assert all(len(embeddings.token_spans(c.text)) <= 3 for c in chunks)
