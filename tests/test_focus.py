"""What a question asks for (a time, a number) and whether a sentence holds it: pure rules."""

from __future__ import annotations

import pytest

from assistant.focus import Wanted, holds, wanted


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When will Putin visit Kazakhstan?", Wanted.TIME),
        ("In what year did Joseph Priestley recognize oxygen?", Wanted.TIME),
        ("An welchem Tag ist das Treffen mit Putin geplant?", Wanted.TIME),
        ("Quand Tokaïev doit-il rencontrer Poutine ?", Wanted.TIME),
        ("¿Qué día se reunirá Tokáyev con Putin?", Wanted.TIME),
        ("How much money will Rosatom invest?", Wanted.NUMBER),
        ("Wie viele Studenten aus Kasachstan studieren in Russland?", Wanted.NUMBER),
        ("Combien coûtera la centrale nucléaire ?", Wanted.NUMBER),
        ("¿Cuántos habitantes tiene Tatarstán?", Wanted.NUMBER),
        ("Quel âge a Tokaïev ?", Wanted.NUMBER),  # each language asks "how old", "how high"
        ("Wie hoch ist das Bruttoinlandsprodukt Tatarstans?", Wanted.NUMBER),
        ("What do experts expect from the visit?", None),
        ("Whence the name?", None),
    ],
)
def test_what_a_question_asks_for(question: str, kind: Wanted | None) -> None:
    assert wanted(question) is kind


@pytest.mark.parametrize(
    ("text", "time", "number"),
    [
        ("Am 10. Januar soll er sich mit Putin treffen und am 11. abreisen.", True, False),
        ("Seit den Januar-Protesten in Kasachstan treffen sie sich.", False, False),
        ("Er kam zu einem zweitägigen Besuch in Russland an.", False, True),
        ("Die Pest erreichte England im Frühjahr 1349.", True, False),
        ("Das Becken umfasst 7.000.000 Quadratkilometer.", False, True),
        ("Im Jahr 2010 starben 40.000 Menschen.", True, True),
        ("ABC schloss in den 1970er-Jahren den Übergang ab.", True, False),
        ("Die Türkei versuchte, „Soft Power“ einzusetzen.", False, False),
        ("Zweitens hält er es für wichtig, in Russland zu studieren.", False, False),  # ordinal
        # another language's number word inside a German word is no number ("mil", "ten")
        ("Im militärisch-technischen Bereich folgen Abkommen.", False, False),
        ("Die Tendenz ist klar.", False, False),
        ("Hundreds of people came.", False, True),  # a plural of an English number word
    ],
)
def test_a_sentence_holds_a_time_or_a_number(text: str, time: bool, number: bool) -> None:
    assert (holds(text, Wanted.TIME), holds(text, Wanted.NUMBER), holds(text, None)) == (
        time,
        number,
        True,
    )
