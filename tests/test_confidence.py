"""Abstention's evidence: the share of a question's words a sentence holds, each word counted
once with all its translations; and a question's language told by its function words."""

from __future__ import annotations

import pytest

from assistant.lexicon import question_language, word_groups
from assistant.overlap import coverage, word_matches
from assistant.text import function_word_language


def test_a_word_counts_once_however_many_translations_it_has() -> None:
    groups = [["putin"], ["visit", "besuch", "besuchen", "besichtigung", "gang", "weg"]]
    texts = ["Putin kam zu Besuch.", "Putin traf ihn in Moskau."]
    assert coverage(groups, texts).tolist() == pytest.approx([1.0, 0.5])


def test_a_word_no_text_spells_is_left_out_only_when_asked() -> None:
    groups = [["kazan"], ["etudiants"]]
    texts = ["Kazan liegt an der Wolga.", "Die Wolga ist lang."]
    assert coverage(groups, texts).tolist() == pytest.approx([0.5, 0.0])
    assert coverage(groups, texts, spelled_only=True).tolist() == pytest.approx([1.0, 0.0])
    assert coverage([["etudiants"]], texts, spelled_only=True).tolist() == [0.0, 0.0]


def test_a_phrase_translation_is_a_form_of_each_of_its_words() -> None:
    found = {"nuclear power plant": ["kernkraftwerk"], "plant": ["pflanze"]}
    assert word_groups(["nuclear", "plant", "rosatom"], found) == [
        ["nuclear", "kernkraftwerk"],
        ["plant", "kernkraftwerk", "pflanze"],
        ["rosatom"],
    ]


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("When will Putin visit Kazakhstan?", "en"),  # langdetect alone: German
        ("Who is Fyodor Lukyanov?", "en"),
        ("Wohin reist Tokajew nach Moskau?", "de"),
        ("Où Tokaïev ira-t-il après Moscou ?", "fr"),
        ("¿Cuántos días dura la visita de Tokáyev a Rusia?", "es"),  # not French for "la", "de"
        ("Tokajew Putin Kasachstan", None),
    ],
)
def test_function_words_tell_a_short_questions_language(question: str, language: str) -> None:
    assert function_word_language(question) == language
    if language:
        assert question_language(question) == language


def test_a_translation_inside_a_german_compound_is_matched_when_asked() -> None:
    text = "Es wurde die Schaffung von Waffenmontageanlagen angekündigt."
    assert word_matches(["waffen", "anlagen"], text) == [0.0, 0.0]
    assert word_matches(["waffen", "anlagen"], text, parts=True) == [1.0, 1.0]
    # a word of four letters is too short to be told inside another ("land", "Deutschland")
    assert word_matches(["land"], "Er reist durch Deutschland.", parts=True) == [0.0]
