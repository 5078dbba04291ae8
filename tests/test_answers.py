"""Sentences that answer: who said what, no restatements, no repeats, abstention on topical
questions, other languages. The real model over the user's article, alone and beside others."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS, XQUAD

from assistant.answering import Sentence, balanced, persons_named, reported, restates, spoken
from assistant.attribution import Speaker, attributions, person_key, quotations, speakers
from assistant.chunking import split_sentences
from assistant.config import DEFAULT_FREEDICT, Settings
from assistant.conversation import Conversation
from assistant.evaluation import squad_articles
from assistant.factory import Assistant, build_assistant, reconfigured
from assistant.text import QUOTE_MARKS, content_words, fold
from assistant.types import Answer, Passage

ARTICLE = CORPUS / "tokayev-visit.de.txt"
TEXT = ARTICLE.read_text(encoding="utf-8")
SHOWCASE = "What do experts expect from the visit?"
EXPERTS = ("Lukjanow", "Lepsibaev", "Mikhailichenko")
RESTATEMENT = "Experten sagten, was sie von dieser Reise erwarten können."


def other_articles(directory: Path) -> list[Path]:
    """Two German xquad-dev articles and an English one, as files; an English text of our
    own where the data set is absent."""
    if (XQUAD / "xquad-dev.de.json").is_file():
        german = squad_articles(XQUAD / "xquad-dev.de.json")[:2]
        english = squad_articles(XQUAD / "xquad-dev.en.json")[2:3]
        texts = [a.text for a in [*german, *english]]
    else:
        texts = [
            "Experts expect the summit in Geneva to bring little. The analyst Jane Roe said "
            "that no breakthrough on trade is likely, and diplomats agreed."
        ]
    paths = []
    for n, text in enumerate(texts):
        paths.append(directory / f"other-{n}.txt")
        paths[-1].write_text(text, encoding="utf-8")
    return paths


@pytest.fixture(scope="module", params=["alone", "beside others"])
def library(request, tmp_path_factory: pytest.TempPathFactory, embedder) -> Assistant:
    """The user's article indexed alone, and with other articles beside it."""
    directory = tmp_path_factory.mktemp("answers")
    extra = other_articles(directory) if request.param == "beside others" else []
    assistant = build_assistant(Settings(index=directory / "index"), embedder)
    assistant.ingest([ARTICLE, *extra])
    yield assistant
    assistant.close()


def check_citations(answer: Answer) -> None:
    """Every quote is the article's text at its offsets, each sentence and source once, and
    no quote starts or ends with a quotation mark it does not pair inside itself (Lepsibaev's
    sentence opens a quotation of several sentences: its „ is left out of the span), nor
    closes a quotation and then names its speaker („… werden“, so der Experte.": the span
    ends before the “)."""
    for c in answer.citations:
        text = Path(c.passage.source).read_text(encoding="utf-8")
        assert text[c.quote_start : c.quote_end] == c.quote
        paired = {i for q in quotations(c.quote) for i in (q.start, q.end - 1)}
        ends = (0, len(c.quote) - 1)
        assert all(c.quote[i] not in QUOTE_MARKS or i in paired for i in ends), c.quote
        assert spoken(c.quote) == c.quote, c.quote
    spans = [(c.passage.doc_id, c.quote_start) for c in answer.citations]
    assert len(set(spans)) == len(spans)
    assert len({c.quote for c in answer.citations}) == len(answer.citations)


def lines_by_person(answer: Answer) -> dict[str, list[str]]:
    """Each person's lines of a round of views, in order, after checking that they stand
    together (one person's lines are not interleaved with another's)."""
    names = [line.split(":", 1)[0] for line in answer.text.splitlines()]
    runs = [name for k, name in enumerate(names) if k == 0 or names[k - 1] != name]
    assert len(runs) == len(set(runs)), answer.text  # each person once, lines adjacent
    out: dict[str, list[str]] = {}
    for name, line in zip(names, answer.text.splitlines(), strict=True):
        out.setdefault(name, []).append(line)
    return out


def test_experts_are_named_in_the_answer_with_their_points(library: Assistant) -> None:
    answer = library.ask(SHOWCASE)
    check_citations(answer)
    lines = lines_by_person(answer)
    assert set(EXPERTS) <= set(lines), answer.text
    assert all(len(mine) <= 2 for mine in lines.values()), answer.text  # the bound
    # who says each quote is data of its citation too (an LLM writing from the quotes reads it)
    assert set(EXPERTS) <= {c.speaker for c in answer.citations}
    for c in answer.citations:  # each quote appears, balanced, in the text the reader reads
        assert balanced(spoken(c.quote)).strip('„“" ') in answer.text
    # Lukjanow's point once: his quote's „keine Durchbrüche zu erwarten“ repeats the lead-in
    # that sums it up („keine bahnbrechenden Entscheidungen“), so it is not a second line
    assert lines["Lukjanow"] == [next(x for x in lines["Lukjanow"] if "keine bahnbrechenden" in x)]
    assert "keine Durchbrüche" not in answer.text
    # Lepsibaev's two points, main one first: energy, then the military-technical agreements
    [energy, military] = lines["Lepsibaev"]
    assert "Erwartungen für Kernkraftwerke und Energiefragen" in energy
    assert "im militärisch-technischen Bereich einige Abkommen" in military
    # and Mikhailichenko's: what he says will be, not the sentence that introduces him
    assert "werden viel in Kasachstan" in lines["Mikhailichenko"][0], answer.text
    assert "Experten sagten, was sie" not in answer.text


@pytest.mark.parametrize(
    ("sentence", "speaker", "said"),
    [
        (
            "Fjodor Lukjanow, Chefredakteur der Zeitschrift „Russland“ im Magazin „Global "
            "Affairs“, sagte jedoch, dass man keine bahnbrechenden Entscheidungen erwarten sollte.",
            "Lukjanow",
            "dass man keine bahnbrechenden Entscheidungen erwarten sollte.",
        ),
        (
            "Lukyanov said that the talks would last two days.",
            "Lukyanov",
            "that the talks would last two days.",
        ),
        (
            "Selon Lukyanov, il a dit que les pourparlers dureront.",
            "Lukyanov",
            "que les pourparlers dureront.",
        ),
        # the speaker is not named in the frame: someone else may be speaking
        ("Der Leiter des Rates betonte, dass Tatarstan fremd sei.", "Lepsibaev", None),
        ("Experten sagten, was sie von dieser Reise erwarten können.", "Lukjanow", None),
        ("Lukyanov said that.", "Lukyanov", None),  # nothing reported after the frame
    ],
)
def test_a_translated_view_is_what_the_speaker_said(
    sentence: str, speaker: str, said: str | None
) -> None:
    """The frame that names the speaker and their post is not translated: the answer's line
    prints the name, then what they said."""
    assert reported(sentence, speaker) == (said or sentence)


@pytest.mark.parametrize(
    "question",
    [
        "Was erwarten Experten von dem Besuch?",  # the articles' language
        "Qu'attendent les experts de cette visite ?",  # FreeDict's dictionaries, where
        "¿Qué esperan los expertos de la visita?",  # installed; words of expecting if not
    ],
)
def test_experts_points_in_other_languages(library: Assistant, question: str) -> None:
    answer = library.ask(question)
    check_citations(answer)
    lines = lines_by_person(answer)
    assert set(EXPERTS) <= set(lines), answer.text
    assert all(len(mine) <= 2 for mine in lines.values()), answer.text
    [lukjanow] = lines["Lukjanow"]  # one point, not repeated
    assert "keine bahnbrechenden" in lukjanow or "keine Durchbrüche" in lukjanow
    # two of the four things Lepsibaev says are expected, his first ("Erwartungen") among them
    expected = ("Erwartungen für Kernkraftwerke", "zur EAWU", "Waffenmontageanlagen",
                "im militärisch-technischen Bereich")  # fmt: skip
    lepsibaev = lines["Lepsibaev"]
    assert len(lepsibaev) == 2 and all(any(e in line for e in expected) for line in lepsibaev)
    assert any(expected[0] in line for line in lepsibaev), answer.text


@pytest.mark.parametrize(
    "question",
    [
        "What did Emmanuel Macron say about the Olympic Games in Sochi?",
        "¿Qué opina Xi Jinping de Tokáyev?",
        "Was hat Xi Jinping bei der Eröffnung der Olympischen Spiele gesagt?",
        "What did Lukyanov say about China?",  # he speaks, but not of China
        # by surname alone: the article names „Emmanuel Macron“, who says nothing in it (the
        # other experts' views do not answer this)
        "What did Macron say about Kazakhstan?",
        "Qu'attend Macron de la visite ?",
        "¿Qué opina Macron sobre la visita?",
        "Combien coûtera la centrale nucléaire de Rosatom ?",  # no sum
        "Wann hat Rosatom mit dem Bau des Kraftwerks begonnen?",  # no date
        "Wie hoch ist das Bruttoinlandsprodukt Tatarstans?",  # Tatarstan, but no GDP, no sum
        pytest.param(
            "When will Putin visit Kazakhstan?",
            marks=pytest.mark.xfail(
                strict=True, reason="issue 11 item 4: names and dates of the article still pass"
            ),
        ),
    ],
)
def test_a_topical_question_the_article_cannot_answer_is_declined(
    library: Assistant, question: str
) -> None:
    assert library.ask(question).abstained


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Qui dirige le conseil eurasien d'experts ?", "Chingiz Lepsibaev"),
        ("¿Cuántos días dura la visita de Tokáyev a Rusia?", "zweitägigen"),
        ("When does Tokayev leave for Tatarstan?", "am 11."),  # the sentence with a time
        # Lukjanow's words: no groundbreaking decisions, no breakthroughs
        ("Que pense Loukianov de la visite ?", "keine bahnbrechenden|keine Durchbrüche"),
    ],
)
def test_french_and_spanish_questions_are_answered(
    library: Assistant, question: str, expected: str
) -> None:
    answer = library.ask(question)
    check_citations(answer)
    quoted = [e for e in expected.split("|") if any(e in c.quote for c in answer.citations)]
    assert quoted, answer.text


@pytest.mark.skipif(
    not (DEFAULT_FREEDICT / "freedict-fra-deu.index").is_file()
    or not (DEFAULT_FREEDICT / "freedict-spa-deu.index").is_file(),
    reason=f"no French-German or Spanish-German FreeDict dictionary in {DEFAULT_FREEDICT}",
)
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # missed without the dictionaries: the sentences naming Kasachstan ranked first
        ("Quelle banque va développer un gouvernement numérique au Kazakhstan ?", "Staatsbank"),
        ("¿Cuál es el tema de la visita?", "Das Thema des Besuchs"),  # declined without
    ],
)
def test_the_french_and_spanish_dictionaries_find_the_answer(
    library: Assistant, question: str, expected: str
) -> None:
    answer = library.ask(question)
    check_citations(answer)
    assert any(expected in c.quote for c in answer.citations), answer.text


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("Where did the two leaders have a chance to meet but did not use it?", "in Sotschi"),
        ("Was wird die Russische Staatsbank in Kasachstan entwickeln?", "digitale Regierung"),
    ],
)
def test_the_sentence_that_answers_is_quoted_first(
    library: Assistant, question: str, first: str
) -> None:
    """A reader reads [1] first: the answer quotes its best sentence first, even when another
    quoted sentence comes earlier in the article."""
    answer = library.ask(question)
    check_citations(answer)
    assert len(answer.citations) >= 2 and first in answer.citations[0].quote, answer.text
    # not by position: another quoted sentence comes earlier in the article
    assert any(c.quote_start < answer.citations[0].quote_start for c in answer.citations[1:])


@pytest.mark.parametrize(("same", "other"), [(1.0, 0.0), (0.0, 1.0)])
def test_a_question_in_another_language_is_held_to_its_own_threshold(
    library: Assistant, same: float, other: float
) -> None:
    """The German article: a German question meets the same-language threshold, an English
    one the cross-language threshold (1.0: nothing passes; 0.0: the confidence passes)."""
    settings = library.settings.model_copy(
        update={"abstain_threshold": same, "abstain_threshold_crosslingual": other}
    )
    ask = reconfigured(library, settings).ask
    assert ask("Wer leitet den eurasischen Expertenrat?").abstained == (same == 1.0)
    assert ask("Who leads the Eurasian expert council?").abstained == (other == 1.0)


def test_a_follow_up_does_not_repeat_the_previous_answer(library: Assistant) -> None:
    chat = Conversation(library)
    first = chat.ask("What does Lepsibaev expect?")
    second = chat.ask("And what else does he expect?")
    assert not first.abstained
    assert not {c.quote for c in first.citations} & {c.quote for c in second.citations}


def test_a_surname_written_after_a_first_name_is_a_person_asked_about() -> None:
    text = "Putin flog nach Moskau, um sich auf Verhandlungen mit Emmanuel Macron vorzubereiten."
    passage = Passage("c", "d", "Title", "doc.txt", text, 0, len(text), 1.0, language="de")
    sentences = [Sentence(passage, 0, text, 0, len(text))]
    assert persons_named("What did Macron say about Kazakhstan?", sentences) == ["Macron"]
    assert persons_named("¿Qué dijo Macron de Tokáyev?", sentences) == ["Macron"]
    assert persons_named("Qu'attend Macron de la visite ?", sentences) == ["Macron"]
    # the one whose views are asked, not the one they are about
    assert persons_named("What do experts think about Macron?", sentences) == []
    # German capitalises every noun, so a capitalised word of a German question is no name
    assert persons_named("Was erwarten Experten von den Verhandlungen?", sentences) == []
    assert persons_named("Was sagte Macron über Kasachstan?", sentences) == []


def test_restating_sentences_are_recognised() -> None:
    asked = [fold(w) for w in content_words(SHOWCASE)]
    assert restates(asked, RESTATEMENT)
    assert restates([fold(w) for w in content_words("Was erwarten Experten?")], RESTATEMENT)
    lukjanow = next(
        t for t in (TEXT[s.start : s.end] for s in split_sentences(TEXT)) if "bahnbrechend" in t
    )
    assert not restates(asked, lukjanow)


def test_sentences_of_the_article_are_attributed_to_their_speakers() -> None:
    spans = split_sentences(TEXT)
    said = {
        TEXT[s.start : s.end][:40]: who for s, who in zip(spans, speakers(TEXT, spans), strict=True)
    }
    assert said["Fjodor Lukjanow, Chefredakteur der Zeits"] == "Lukjanow"
    assert said["Aber es sind keine Durchbrüche zu erwart"] == "Lukjanow"  # inside his quote
    assert said["Offenbar sollen auch im militärisch-tech"] == "Lepsibaev"  # "so der Experte"
    assert said["Der Politologe erinnert daran, dass die "] == "Mikhailichenko"  # a role
    assert said["Experten sagten, was sie von dieser Reis"] is None
    assert said["Seit den Januar-Protesten in Kasachstan,"] is None


def test_a_lead_in_and_the_quotation_it_sums_up_are_one_point() -> None:
    """„Lukjanow … sagte jedoch, dass man … keine bahnbrechenden Entscheidungen erwarten
    sollte.“ introduces his quotation, which closes with „Aber es sind keine Durchbrüche zu
    erwarten“: one point. Two sentences of Lepsibaev's quotation are two points."""
    spans = split_sentences(TEXT)
    found = list(zip(spans, attributions(TEXT, spans), strict=True))

    def said(opening: str) -> Speaker:
        speaker = next(w for s, w in found if TEXT[s.start : s.end].startswith(opening))
        assert speaker is not None, opening
        return speaker

    lead_in = said("Fjodor Lukjanow, Chefredakteur")
    repeat = said("Aber es sind keine Durchbrüche")
    energy = said("„Zunächst gibt es Erwartungen")
    military = said("Offenbar sollen auch im militärisch")
    assert lead_in.sums_up(repeat) and repeat.sums_up(lead_in)
    assert not energy.sums_up(military) and not military.sums_up(energy)
    assert not lead_in.sums_up(energy)  # another person's quotation


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Lukjanow", "Lukyanov", True),
        ("Tokajew", "Tokayev", True),
        ("Fjodor Lukjanow", "Loukianov", True),
        ("Michailitschenko", "Mikhailichenko", True),
        ("Putin", "Macron", False),
        ("Xi", "Yi", False),
    ],
)
def test_transliterated_names_are_one_person(a: str, b: str, same: bool) -> None:
    assert (person_key(a) == person_key(b)) is same


@pytest.mark.parametrize(
    ("text", "balanced_text"),
    [
        ("„Zunächst gibt es Erwartungen.", "Zunächst gibt es Erwartungen."),
        ("geschlossen werden“, so der Experte.", "geschlossen werden, so der Experte."),
        ("Er nannte es „von Gott“ und ging.", "Er nannte es „von Gott“ und ging."),
    ],
)
def test_quotes_come_out_balanced(text: str, balanced_text: str) -> None:
    assert balanced(text) == balanced_text
    assert len(quotations(balanced(text))) * 2 == sum(balanced(text).count(m) for m in "„“")
