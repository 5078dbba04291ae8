"""Question sets: validation with line and field, the project's set, the SQuAD importer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import XQUAD  # found beside a clone or a worktree

from assistant.cli import main
from assistant.datasets import import_squad, load_dataset
from assistant.errors import DatasetError

ROOT = Path(__file__).resolve().parent.parent
needs_xquad = pytest.mark.skipif(
    not (XQUAD / "xquad-dev.de.json").is_file(),
    reason=f"xquad-dev not found at {XQUAD} (the shared data set is not on this machine)",
)
GOOD = {"id": "q1", "question": "Wer?", "reference_answers": ["Putin"]}


def write_lines(path: Path, *rows: object) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows), encoding="utf-8"
    )
    return path


def test_load_dataset_reads_every_field(tmp_path):
    row = GOOD | {
        "reference_passages": [{"source": "a.txt", "quote": "Putin kam"}],
        "language": "de",
    }
    unanswerable = {"id": 2, "question": "Was?", "answerable": False}
    questions = load_dataset(write_lines(tmp_path / "q.jsonl", row, "", unanswerable))
    assert [q.id for q in questions] == ["q1", "2"]
    assert questions[0].reference_passages[0].source == "a.txt"
    assert questions[0].language == "de" and questions[0].answerable
    assert not questions[1].answerable and questions[1].reference_answers == ()


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "JSON object"),
        ({"question": "Wer?", "reference_answers": ["x"]}, '"id"'),
        (GOOD | {"question": ""}, '"question"'),
        (GOOD | {"reference_answers": "Putin"}, '"reference_answers"'),
        (GOOD | {"reference_answers": []}, '"reference_answers"'),
        (GOOD | {"answerable": "yes"}, '"answerable"'),
        (GOOD | {"reference_passages": [{"quote": "x"}]}, '"reference_passages"[0]'),
        (GOOD | {"language": 7}, '"language"'),
        (GOOD | {"refrence_answers": ["x"]}, '"refrence_answers" is unknown'),
        (GOOD | {"id": "first"}, "\"id\": 'first' is used twice"),
    ],
)
def test_invalid_line_names_its_number_and_field(tmp_path, bad, field):
    first = GOOD | {"id": "first"}
    path = write_lines(tmp_path / "q.jsonl", first, bad)
    with pytest.raises(DatasetError) as caught:
        load_dataset(path)
    assert f"{path}:2:" in str(caught.value)
    assert field in str(caught.value)


def test_eval_command_reports_a_bad_line_before_loading_the_model(tmp_path, capsys):
    path = write_lines(tmp_path / "q.jsonl", GOOD, GOOD | {"answerable": 1})
    assert main(["eval", str(path), "--index", str(tmp_path / "index")]) == 2
    assert f'{path}:2: field "answerable"' in capsys.readouterr().err


def test_project_question_set_quotes_the_corpus():
    questions = load_dataset(ROOT / "corpus" / "questions.jsonl")
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= 20 and len(questions) - len(answerable) >= 5
    assert {q.language for q in questions} == {"en", "de", "fr", "es"}
    for q in answerable:
        ref = q.reference_passages[0]
        text = (ROOT / "corpus" / str(ref.source)).read_text(encoding="utf-8")
        assert ref.quote in text, q.id
        assert any(a in text for a in q.reference_answers), q.id


@needs_xquad
def test_import_squad_pairs_english_questions_with_german_articles(tmp_path):
    files, questions = import_squad(
        XQUAD / "xquad-dev.de.json",
        tmp_path / "articles",
        tmp_path / "en.jsonl",
        XQUAD / "xquad-dev.en.json",
    )
    english = json.loads((XQUAD / "xquad-dev.en.json").read_text(encoding="utf-8"))["data"]
    asked = {qa["id"]: qa["question"] for a in english for p in a["paragraphs"] for qa in p["qas"]}
    assert len(files) == 12 and len(questions) == 354
    assert load_dataset(tmp_path / "en.jsonl") == questions
    for q in questions:
        assert q.question == asked[q.id]  # the English question text, matched by id
        ref = q.reference_passages[0]
        article = (tmp_path / "articles" / str(ref.source)).read_text(encoding="utf-8")
        assert ref.quote in article  # the evidence lies in the German article
        assert q.reference_answers[0] in ref.quote
    assert {q.language for q in questions} == {"en"}


@needs_xquad
def test_import_squad_command(tmp_path, capsys):
    dataset = tmp_path / "de.jsonl"
    argv = ["import", "squad", str(XQUAD / "xquad-dev.de.json"), "--articles", str(tmp_path / "a")]
    assert main([*argv, "--dataset", str(dataset)]) == 0
    assert "12 articles" in capsys.readouterr().out
    questions = load_dataset(dataset)
    assert len(questions) == 354 and questions[0].language == "de"


def test_import_squad_rejects_a_file_that_is_not_squad(tmp_path, capsys):
    bad = write_lines(tmp_path / "x.json", {"version": "1.1"})
    argv = ["import", "squad", str(bad), "--articles", str(tmp_path), "--dataset", "o.jsonl"]
    assert main(argv) == 2
    assert "not a SQuAD v1.1 file" in capsys.readouterr().err
