"""The bilingual lexicon: parsing the Ding and FreeDict formats, the cached lookup, question
expansion."""

from __future__ import annotations

import gzip
import logging
import os
from pathlib import Path

import pytest

from assistant.config import DEFAULT_FREEDICT, DEFAULT_LEXICON, Settings
from assistant.factory import build_assistant
from assistant.lexicon import (
    Lexicon,
    base_forms,
    freedict_dictionaries,
    freedict_senses,
    parse_line,
    question_words,
    word_pairs,
)
from assistant.loading import load_text
from assistant.retrieval import HybridSearcher

# Written for these tests in the dictionary's format (not taken from it).
DICTIONARY = """\
# Version :: test
Brücke {f} [constr.] | Brücken {pl} :: bridge | bridges
Fluss {m}; Strom {m} (großer Fluss) | Flüsse {pl}; Ströme {pl} :: river | rivers
bauen {vt} | bauend | gebaut | er/sie baut :: to build sth. | building | built | he/she builds
Kernkraftwerk {n}; Atomkraftwerk {n} [ugs.] /AKW/ | Kernkraftwerke {pl} :: \
nuclear power plant | nuclear power plants
in Bezug auf etw. {prp; +Akk.}; bezüglich etw. {prp; +Gen.} :: regarding; re
Kraft {f} | Kräfte {pl} :: power | powers
"""


# Entries written for these tests in FreeDict's dictd layout (headword line, then one line of
# translations per sense, numbered when there are several, each followed by a definition).
FREEDICT = {
    "banque": "banque /bɑ̃k/ <n, fem>\nBank\nCommerce\n",
    "visite": "visite /vi.zit/ <n, fem>\n1. Besichtigung\nAction d’aller voir des villes\n"
    "2. Besuch, Visite\nAction d’aller voir quelqu’un\n",
    "développer": "développer /de.və.lɔ.pe/ <v>\nentwickeln, darlegen\n",
    "centrale nucléaire": "centrale nucléaire /sɑ̃.tʁal/ <n, fem>\nKernkraftwerk, Atomkraftwerk\n",
}
FREEDICT_ENTRIES = {
    "fra-deu": FREEDICT,
    "deu-eng": {"haus": "Haus /haʊs/ <n>\nhouse\n"},  # the Ding dictionary's pair: not read
    "xyz-deu": {"abc": "abc\nAbc\n"},  # a language the text rules do not know
}


def _base64(n: int) -> str:
    digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    out = ""
    while True:
        n, d = divmod(n, 64)
        out = digits[d] + out
        if not n:
            return out


@pytest.fixture
def freedict(tmp_path: Path) -> Path:
    """A directory of small FreeDict dictionaries (index + gzip'd entries), as Debian's."""
    directory = tmp_path / "dictd"
    directory.mkdir()
    for pair, entries in FREEDICT_ENTRIES.items():
        data, index = b"", []
        for head, entry in entries.items():
            raw = entry.encode()
            index.append(f"{head}\t{_base64(len(data))}\t{_base64(len(raw))}")
            data += raw
        (directory / f"freedict-{pair}.dict.dz").write_bytes(gzip.compress(data))
        (directory / f"freedict-{pair}.index").write_text("\n".join(index) + "\n")
    return directory


@pytest.fixture
def dictionary(tmp_path: Path) -> Path:
    """The small dictionary above, as a file."""
    path = tmp_path / "de-en"
    path.write_text(DICTIONARY, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("line", "pairs"),
    [
        ("# Version :: test", []),
        ("Brücke {f} [constr.] | Brücken {pl} :: bridge | bridges",
         [("brücke", "bridge"), ("brücken", "bridges")]),
        ("Fluss {m}; Strom {m} (großer Fluss) :: river",
         [("fluss", "river"), ("strom", "river")]),
        ("bauen {vt} | gebaut | er/sie baut :: to build sth. | built | he/she builds",
         [("bauen", "build"), ("gebaut", "built"), ("baut", "builds")]),
        ("in Bezug auf etw. {prp; +Akk.}; bezüglich etw. {prp; +Gen.} :: regarding",
         [("in bezug auf", "regarding"), ("bezüglich", "regarding")]),
        ("Kernkraftwerk {n} /AKW/ | Kernkraftwerke {pl} :: nuclear power plant (NPP)",
         [("kernkraftwerk", "nuclear power plant")]),  # unaligned: head entries only
    ],
)  # fmt: skip
def test_parse_line(line: str, pairs: list[tuple[str, str]]) -> None:
    assert list(parse_line(line)) == pairs


def test_word_pairs_keep_one_word_targets_and_short_phrases() -> None:
    pairs = word_pairs(DICTIONARY.splitlines())
    assert ("en", "nuclear power plant", "kernkraftwerk") in pairs
    assert ("de", "kernkraftwerk", "nuclear power plant") not in pairs  # target of 3 words
    assert ("en", "regarding", "bezüglich") in pairs
    assert ("en", "regarding", "in bezug auf") not in pairs
    assert ("de", "in bezug auf", "regarding") in pairs


def test_expand_translates_words_and_phrases(dictionary: Path, tmp_path: Path) -> None:
    lexicon = Lexicon(dictionary, tmp_path / "cache")
    assert lexicon.translations("rivers", "en", 5) == ["flüsse", "ströme"]
    assert lexicon.translations("fluss", "de", 5) == ["river"]
    expanded = lexicon.expand(["nuclear", "power", "plant", "built"], "en", limit=2)
    assert expanded == {
        "power": ["kraft"],
        "built": ["gebaut"],
        "nuclear power plant": ["atomkraftwerk", "kernkraftwerk"],
    }


@pytest.mark.parametrize(
    ("entry", "senses"),
    [
        (FREEDICT["banque"], [["bank"]]),  # one sense: the line after the headword
        (FREEDICT["visite"], [["besichtigung"], ["besuch", "visite"]]),  # not the definitions
        ("banco /x/ <n, m>\n1. Bank <n, f>\n2. Kreditinstitut <n, n>\n",
         [["bank"], ["kreditinstitut"]]),
        ("étudier /e/ <v>\nstudieren 2.\nFaire ses études\n 3.\nS’exercer\n", [["studieren"], []]),
        ("nuclear /n/ <adj>\nKern-\n", [["kern"]]),
        ("alegrarse /a/\nsich freuen\n", [["freuen"]]),
    ],
)  # fmt: skip
def test_freedict_senses(entry: str, senses: list[list[str]]) -> None:
    assert list(freedict_senses(entry)) == senses


def test_freedict_dictionaries_are_read_for_the_pairs_the_ding_one_lacks(
    freedict: Path, dictionary: Path, tmp_path: Path
) -> None:
    pairs = [(s, t) for s, t, _ in freedict_dictionaries(freedict)]
    assert pairs == [("de", "en"), ("fr", "de")]  # not the language FreeDict's codes lack
    lexicon = Lexicon(dictionary, tmp_path / "cache", freedict)
    assert set(lexicon.languages()) == {"en", "de", "fr"} and lexicon.targets("fr") == ("de",)
    assert lexicon.translations("haus", "de", 3) == []  # German–English: the Ding one only
    assert Lexicon(None, tmp_path / "cache", freedict).translations("haus", "de", 3) == ["house"]
    assert lexicon.translations("visite", "fr", 5) == ["besichtigung", "besuch", "visite"]
    expanded = lexicon.expand(["centrale", "nucléaire", "développera"], "fr", limit=2)
    assert expanded == {
        "développera": ["darlegen", "entwickeln"],  # by its dictionary form, développer
        "centrale nucléaire": ["atomkraftwerk", "kernkraftwerk"],
    }
    # a French question over German articles is expanded; over English ones it is not
    question = "Quelle banque va développer ?"
    assert {"bank", "entwickeln"} <= set(question_words(question, lexicon, {"de"}))
    assert question_words(question, lexicon, {"en"}) == ["banque", "va", "développer"]


@pytest.mark.parametrize(
    ("word", "language", "form"),
    [
        ("desarrollará", "es", "desarrollar"),  # future
        ("anunciaron", "es", "anunciar"),  # past
        ("perdería", "es", "perder"),  # conditional
        ("elecciones", "es", "elección"),  # plural
        ("étudient", "fr", "étudier"),  # present
        ("développera", "fr", "développer"),
        ("nationaux", "fr", "national"),
    ],
)
def test_base_forms_lead_to_the_dictionary_form(word: str, language: str, form: str) -> None:
    forms = base_forms(word, language)
    assert forms and forms[0] == form
    assert base_forms(word, "de") == []  # languages without rules are left alone


def test_lookup_is_cached_and_rebuilt_when_the_dictionary_changes(
    dictionary: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = Lexicon(dictionary, cache)
    assert first.translations("bridge", "en", 3) == ["brücke"]
    assert first.built and len(list(cache.iterdir())) == 1
    second = Lexicon(dictionary, cache)
    assert second.translations("bridge", "en", 3) == ["brücke"]
    assert not second.built  # read from the cache
    dictionary.write_text(DICTIONARY + "Steg {m} :: bridge\n", encoding="utf-8")
    os.utime(dictionary, ns=(1, 1))  # a different mtime even on a coarse clock
    third = Lexicon(dictionary, cache)
    assert sorted(third.translations("bridge", "en", 3)) == ["brücke", "steg"]
    assert third.built and len(list(cache.iterdir())) == 1  # the old lookup is gone


@pytest.mark.skipif(not DEFAULT_LEXICON.is_file(), reason=f"no dictionary at {DEFAULT_LEXICON}")
def test_real_dictionary_expands_an_english_question(tmp_path: Path) -> None:
    lexicon = Lexicon(DEFAULT_LEXICON, Settings().cache_dir)
    words = question_words("What do experts expect from the visit?", lexicon, {"de"})
    assert words[:3] == ["experts", "expect", "visit"]
    assert {"experten", "erwarten", "besuchen"} <= set(words)
    # a question in the articles' language is left as it is
    assert question_words("Was erwarten Experten?", lexicon, {"de"}) == ["erwarten", "experten"]


@pytest.mark.skipif(
    not (DEFAULT_FREEDICT / "freedict-fra-deu.index").is_file()
    or not (DEFAULT_FREEDICT / "freedict-spa-deu.index").is_file(),
    reason=f"no French-German or Spanish-German FreeDict dictionary in {DEFAULT_FREEDICT}",
)
def test_real_dictionaries_expand_french_and_spanish_questions() -> None:
    settings = Settings()
    lexicon = Lexicon(settings.lexicon, settings.cache_dir, settings.freedict)
    french = question_words(
        "Quelle banque va développer un gouvernement numérique ?", lexicon, {"de"}
    )
    assert {"bank", "entwickeln", "regierung"} <= set(french)
    spanish = question_words("¿Qué fábricas de armas se anunciaron?", lexicon, {"de"})
    assert {"fabrik", "waffen", "ankündigen"} <= set(spanish)


def test_missing_french_and_spanish_dictionaries_warn_once_with_the_fix(
    dictionary: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "no-dictd"
    with caplog.at_level(logging.WARNING, logger="assistant.lexicon"):
        lexicon = Lexicon(dictionary, tmp_path / "cache", empty)
        assert lexicon.translations("bridge", "en", 3) == ["brücke"]  # German–English works
        assert Lexicon(dictionary, tmp_path / "cache", empty).languages() == ("en", "de")
    [warning] = [r.getMessage() for r in caplog.records if r.name == "assistant.lexicon"]
    assert str(empty) in warning and "apt-get install dict-freedict-fra-deu" in warning


def test_missing_dictionary_warns_once_and_still_answers(
    index: Path, tmp_path: Path, embedder, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "no-such-dictionary"
    settings = Settings(index=index, lexicon=missing, cache_dir=tmp_path / "cache")
    warn = caplog.at_level(logging.WARNING, logger="assistant.lexicon")
    with warn, build_assistant(settings, embedder) as assistant:
        first = assistant.ask("What do experts expect from the visit?")
        assistant.ask("When will Tokayev meet Putin?")
    warnings = [r.getMessage() for r in caplog.records if r.name == "assistant.lexicon"]
    assert len(warnings) == 1
    assert str(missing) in warnings[0] and "apt-get install trans-de-en" in warnings[0]
    assert not first.abstained and first.citations


def test_english_question_finds_german_passage_by_its_words(
    assistant, dictionary: Path, tmp_path: Path
) -> None:
    texts = {
        "bruecke": "Die Brücke über den Fluss wurde nach dem großen Hochwasser neu gebaut. "
        "Sie verbindet seitdem die beiden Ufer der alten Stadt miteinander.",
        "baecker": "Der Bäcker am Markt verkauft jeden Morgen frisches Brot und Brötchen. "
        "Seine Kunden kommen oft schon vor sieben Uhr in den Laden.",
    }
    for name, text in texts.items():
        assistant.add_article(load_text(text, source=f"{name}.txt", title=name))
    question = "When was the bridge over the river built?"
    lexicon = Lexicon(dictionary, tmp_path / "cache")
    plain = HybridSearcher(assistant.store, assistant.embedder)
    expanded = HybridSearcher(assistant.store, assistant.embedder, lexicon=lexicon)
    assert plain.rankings(question)["words"] == []
    words_ranking = expanded.rankings(question)["words"]
    assert [p.title for p in assistant.store.passages(words_ranking)] == ["bruecke"]
