"""Metric functions against cases computed by hand (English and German)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from assistant import metrics as m
from assistant.judging import parse_score


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("The Eiffel Tower!", "en", "eiffel tower"),
        ("Die Straße", "de", "strasse"),  # casefold: ß → ss
        ("„Soft Power“", "de", "soft power"),  # German quotation marks
        ("Nur-Sultan, die Hauptstadt.", "de", "nur sultan hauptstadt"),
        ("am 10. Januar", "de", "am 10 januar"),
        ("on January 10th, the 1st and 22nd", "en", "on january 10 1 and 22"),  # ordinals
        ("the 4th-century Ostrogoths", "en", "4 century ostrogoths"),
        ("Two days, twelve hours", "en", "2 days 12 hours"),  # number words as digits
        ("zwei Tage, nicht zweitägig", "de", "2 tage nicht zweitägig"),  # whole words only
        ("zwei", "en", "zwei"),  # the answer's language's words only
        ("Die Ölförderung", "de", "ölförderung"),
        ("Die Ölförderung", "en", "die ölförderung"),  # "die" is no English article
        ("the der Ölförderung", None, "ölförderung"),  # language unknown: both lists
        ("Ｆｕｌｌ width [2]", "en", "full width"),  # NFKC; citation markers dropped
    ],
)
def test_normalize_answer(text, language, expected):
    assert m.normalize_answer(text, language) == expected


@pytest.mark.parametrize(
    ("prediction", "references", "language", "em", "f1"),
    [
        ("the Rosatom", ["Rosatom"], "en", 1.0, 1.0),
        ("Die regionale Führung", ["regionale Führung"], "de", 1.0, 1.0),
        # 2 common words; precision 2/3, recall 2/2 → F1 0.8
        ("an der Ölförderung interessiert", ["Ölförderung", "an der Ölförderung"], "de", 0.0, 0.8),
        # 1 common of 4 predicted and 2 referenced: P 1/4, R 1/2 → 1/3
        ("Putin in Moskau heute", ["Wladimir Putin"], "de", 0.0, 1 / 3),
        ("nothing", ["Rosatom"], "en", 0.0, 0.0),
        ("", ["Rosatom"], "en", 0.0, 0.0),
    ],
)
def test_exact_match_and_token_f1(prediction, references, language, em, f1):
    assert m.exact_match(prediction, references, language) == em
    assert m.token_f1(prediction, references, language) == pytest.approx(f1)


@pytest.mark.parametrize(
    ("text", "references", "expected"),
    [
        ("Am 10. Januar soll er sich mit Putin treffen.", ["10. Januar"], 1.0),
        ("Die Staatsbank wird eine digitale Regierung entwickeln.", ["digitale Regierung"], 1.0),
        ("Kasachstans Jugend", ["Kasachstan"], 0.0),  # word-aligned, not a substring
        ("…nach „Tatarstan“ aufbrechen", ["Tatarstan"], 1.0),
    ],
)
def test_contains_answer(text, references, expected):
    assert m.contains_answer(text, references, "de") == expected


@pytest.mark.parametrize(
    ("relevant", "hit1", "hit3", "rr"),
    [
        ([True, False, False], 1.0, 1.0, 1.0),
        ([False, False, True], 0.0, 1.0, 1 / 3),
        ([False] * 3 + [True], 0.0, 0.0, 0.25),
        ([False] * 12 + [True], 0.0, 0.0, 0.0),  # beyond rank 10
        ([], 0.0, 0.0, 0.0),
    ],
)
def test_rank_metrics(relevant, hit1, hit3, rr):
    assert m.hit_at_k(relevant, 1) == hit1
    assert m.hit_at_k(relevant, 3) == hit3
    assert m.reciprocal_rank(relevant, 10) == pytest.approx(rr)


@pytest.mark.parametrize(
    ("gains", "ideal", "expected"),
    [
        ([1, 0, 0], 1, 1.0),
        ([0, 1, 0], 1, 1 / math.log2(3)),
        # two references found at ranks 1 and 3, ideal at ranks 1 and 2
        ([1, 0, 1], 2, (1 + 1 / 2) / (1 + 1 / math.log2(3))),
        ([0, 0, 0], 1, 0.0),
        ([1], 0, 0.0),
    ],
)
def test_ndcg(gains, ideal, expected):
    assert m.ndcg(gains, ideal, 10) == pytest.approx(expected)


def test_hit_at_chars_cuts_the_joined_ranking():
    texts = ["a" * 10, "Tokajew trifft Putin"]
    assert m.hit_at_chars(texts, "trifft Putin", 40)
    assert not m.hit_at_chars(texts, "trifft Putin", 20)


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("Ohne Kernenergie werde das Land bald die regionale Führung verlieren.", True),  # answer
        ("Am 11. soll er nach Tatarstan aufbrechen.", True),  # mostly the reference passage
        ("Putin flog nach Moskau.", False),
    ],
)
def test_supports(quote, expected):
    answers = ["regionale Führung"]
    passages = ["Am 10. Januar soll er Putin treffen und am 11. nach Tatarstan aufbrechen."]
    assert m.supports(quote, answers, passages, "de") is expected


def test_answer_sentences_attach_markers_to_the_statement_they_close():
    text = "Am 10. Januar trifft er Putin. [1] Er reist nach Kasan. [2][3] Ohne Beleg."
    assert m.answer_sentences(text) == [
        ("Am 10. Januar trifft er Putin.", [1]),
        ("Er reist nach Kasan.", [2, 3]),
        ("Ohne Beleg.", []),
    ]


def test_sentence_grounded_needs_most_words_in_a_cited_text():
    cited = ["Am 10. Januar soll er sich mit Putin treffen."]
    assert m.sentence_grounded("Am 10. Januar soll er Putin treffen.", cited)
    assert not m.sentence_grounded("Am 10. Januar fliegt er nach Paris.", cited)
    assert not m.sentence_grounded("Am 10. Januar soll er Putin treffen.", [])


def test_mean_of_nothing_is_nan():
    assert math.isnan(m.mean([]))
    assert m.mean([1.0, 0.0]) == 0.5


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("0.8", 0.8), ("Score: 1", 1.0), ("I would say .5 here", 0.5), ("no idea", math.nan)],
)
def test_parse_judge_score(reply, expected):
    got = parse_score(reply)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def test_evaluation_modules_import_nothing_heavy():
    code = (
        "import sys, assistant.evaluation, assistant.reports, assistant.judging;"
        "print([m for m in ('torch', 'matplotlib', 'chromadb', 'langchain_core.language_models')"
        " if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "name",
    ["hit@1", "hit@8", "hit@1000c", "mrr@10", "ndcg@10", "exact_match", "token_f1",
     "answer_contains", "citation_precision", "citation_recall", "groundedness",
     "answerable_accuracy", "unanswerable_accuracy"],
)  # fmt: skip
def test_every_metric_is_explained_in_one_line(name: str) -> None:
    from assistant.reports import meaning

    line = meaning(name)
    assert 20 < len(line) < 100 and "\n" not in line
