"""The lexical row budget: which terms of a question a large index is asked for."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.factory import build_assistant
from assistant.lexical import TRIGRAM, WORDS
from assistant.retrieval import any_of, term_groups, within

ROWS = {"tokajew": 2, "putin": 3, "besuch": 40, "visite": 0, "treffen": 30, "reise": 90}


def test_groups_hold_each_word_then_its_translations_and_those_of_its_phrases() -> None:
    found = {"visit": ["besuch", "visite"], "meet putin": ["treffen"], "putin": ["putin"]}
    assert term_groups(["visit", "putin"], found) == [
        ["visit", "besuch", "visite"],
        ["putin", "treffen"],
    ]


@pytest.mark.parametrize(
    ("budget", "kept"),
    [
        (1000, ["tokajew", "putin", "besuch", "treffen", "reise"]),  # all that match
        (45, ["tokajew", "putin", "besuch"]),  # first terms of every group first
        (10, ["tokajew", "putin"]),
        (1, ["tokajew"]),  # at least the rarest
    ],
)
def test_budget_takes_the_groups_in_turns_rarest_group_first(budget, kept) -> None:
    groups = [["besuch", "visite", "reise"], ["tokajew"], ["putin", "treffen"]]
    chosen = within(groups, ROWS, budget)
    assert chosen == kept
    assert "visite" not in chosen  # matches nothing: changes no score


def test_nothing_matches_nothing_is_asked() -> None:
    assert within([["visite"]], ROWS, 100) == [] and any_of([]) == ""


def test_row_counts_come_from_the_index(index, embedder) -> None:
    with build_assistant(Settings(index=index), embedder) as assistant:
        store = assistant.store
        rows = store.term_rows(["Putin", "Tokajew", "nirgendwoort"], WORDS)
        for term, count in rows.items():
            found = store.lexical(any_of([term]), 1000, WORDS)
            assert count == len(found), term
        assert rows["Putin"] > 0 and rows["nirgendwoort"] == 0
        stems = store.term_rows(["tokaj", "nirgendwoort"], TRIGRAM)
        assert stems["tokaj"] >= len(store.lexical(any_of(["Tokajew"]), 1000, WORDS)) > 0
        assert stems["nirgendwoort"] == 0


def test_a_budget_of_one_row_still_answers(index, embedder) -> None:
    with build_assistant(Settings(index=index), embedder) as assistant:
        assistant.searcher.row_budget = 1
        answer = assistant.ask("When will Tokayev meet Putin?")
    assert not answer.abstained and "10. Januar" in answer.text
