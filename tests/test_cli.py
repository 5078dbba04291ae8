"""The `assistant` command, run as a real process: exit codes and JSON shapes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PASSAGE_KEYS = {"doc_id", "title", "source", "text", "start", "end", "page", "score"}
CITATION_KEYS = {
    "n", "doc_id", "title", "source", "text", "start", "end", "page", "quote", "quote_start",
    "quote_end",
}  # fmt: skip


def run(*args: str, index: Path, env: dict[str, str] | None = None):
    environment = {**os.environ, "ASSISTANT_INDEX": str(index), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True, text=True, env=environment, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def index(tmp_path_factory, request) -> Path:
    """An index holding the corpus, built once through `assistant ingest --json`."""
    directory = tmp_path_factory.mktemp("cli") / "index"
    corpus = Path(__file__).resolve().parent.parent / "corpus"
    done = run("ingest", str(corpus), "--json", index=directory)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "added": 1, "updated": 0, "unchanged": 0, "removed": 0, "failed": []
    }  # fmt: skip
    assert "read: 100%" in done.stderr and "embed: 100%" in done.stderr  # the progress bars
    assert "Loading weights" not in done.stderr  # the library's noise is silenced
    return directory


def test_list_json(index: Path):
    done = run("list", "--json", index=index)
    assert done.returncode == 0
    [doc] = json.loads(done.stdout)
    assert {"id", "title", "source", "language", "chunks"} <= doc.keys()
    assert (doc["language"], doc["chunks"] > 0) == ("de", True)


def test_batch_search_and_ask_answer_every_line_in_order(index: Path, tmp_path: Path):
    batch = tmp_path / "q.jsonl"
    lines = [
        {"id": "a", "question": "What do experts expect from the visit?"},
        {"question": "Wer ist Lepsibaev?"},
        {"id": "c", "question": "Who won the Super Bowl in 2016?"},
    ]
    batch.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    search = run("search", "--batch", str(batch), "--k", "3", index=index)
    ask = run("ask", "--batch", str(batch), index=index)
    assert (search.returncode, ask.returncode) == (0, 0), ask.stderr
    found = [json.loads(line) for line in search.stdout.splitlines()]
    answers = [json.loads(line) for line in ask.stdout.splitlines()]
    assert [x["id"] for x in found] == [x["id"] for x in answers] == ["a", 2, "c"]
    assert all(len(x["passages"]) == 3 for x in found)
    assert found[0]["passages"][0].keys() == PASSAGE_KEYS
    scores = [p["score"] for p in found[0]["passages"]]
    assert scores == sorted(scores, reverse=True)
    assert [a["abstained"] for a in answers] == [False, False, True]
    assert answers[0]["citations"][0].keys() == CITATION_KEYS
    assert {"id", "question", "answer", "abstained", "citations"} == answers[0].keys()
    assert "Loading weights" not in ask.stderr


def test_ask_prints_the_answer_with_its_sources(index: Path):
    done = run("ask", "Wer ist Lepsibaev?", index=index)
    assert done.returncode == 0
    assert "[1]" in done.stdout and "Lepsibaev" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["remove", "no-such-doc"], "assistant list"),
        (["ask"], "Give either a QUESTION or --batch"),
        (["search", "--batch", "missing.jsonl"], "missing.jsonl"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(index: Path, args: list[str], message: str):
    done = run(*args, index=index)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_batch_line_is_named(index: Path, tmp_path: Path):
    batch = tmp_path / "bad.jsonl"
    batch.write_text('{"question": "ok"}\n{"id": 2}\n', encoding="utf-8")
    done = run("ask", "--batch", str(batch), index=index)
    assert done.returncode == 2
    assert f"{batch}:2" in done.stderr and '"question"' in done.stderr


def test_ingest_with_a_bad_file_exits_1_and_names_it(tmp_path: Path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("Zebras tanzen nachts in Namibia.", encoding="utf-8")
    bad.write_bytes(b"")
    done = run("ingest", str(good), str(bad), "--json", index=tmp_path / "ix")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["added"] == 1
    assert [f["path"] for f in report["failed"]] == [str(bad)]


def test_an_invalid_setting_is_a_clear_error(tmp_path: Path):
    done = run("list", index=tmp_path / "ix", env={"ASSISTANT_K": "zero"})
    assert done.returncode == 2
    assert "k" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["list"], ["ask", "Wer?"], ["search", "Wer?"], ["chat"]])
@pytest.mark.parametrize("kind", ["missing", "file"])
def test_only_ingest_creates_an_index(tmp_path: Path, command: list[str], kind: str):
    where = tmp_path / "typo"
    if kind == "file":
        where.write_text("not an index", encoding="utf-8")
    done = run(*command, "--index", str(where), index=tmp_path / "unused")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert str(where) in line and "Traceback" not in done.stderr
    assert where.is_file() if kind == "file" else not where.exists()


def test_ingest_refuses_a_file_as_index(tmp_path: Path):
    where = tmp_path / "hostname"
    where.write_text("x", encoding="utf-8")
    done = run("ingest", str(tmp_path), "--index", str(where), index=where)
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert "is a file" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "The question is empty"),
        (["search", "   "], "The question is empty"),
        (["ask"], "Give either a QUESTION or --batch"),
        (["ask", "Wer?", "--k", "0"], "not at least 1"),
    ],
)
def test_arguments_are_checked_before_anything_loads(tmp_path: Path, args: list[str], message):
    code = (
        "import sys\nfrom assistant.cli import main\n"
        f"try:\n    code = main({args!r})\nexcept SystemExit as exc:\n    code = exc.code\n"
        "heavy = [m for m in ('torch', 'chromadb', 'sentence_transformers') if m in sys.modules]\n"
        "print(code, heavy)"
    )
    environment = {**os.environ, "ASSISTANT_INDEX": str(tmp_path / "ix")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=60
    )
    assert done.stdout.strip() == "2 []", done.stderr
    assert message in done.stderr


@pytest.mark.parametrize(
    "command", ["ingest", "list", "remove", "doctor", "search", "ask", "chat", "eval", "import"]
)
def test_help_gives_an_example_and_describes_each_argument(command: str):
    done = run(command, "--help", index=Path("unused"))
    assert done.returncode == 0
    assert f"example:\n  assistant {command}" in done.stdout
    positionals = done.stdout.split("positional arguments:")[-1].split("options:")[0]
    for line in positionals.strip().splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            assert len(line.split(None, 1)) == 2, f"{command}: {line!r} has no description"


def test_version():
    from assistant import __version__

    done = run("--version", index=Path("unused"))
    assert (done.returncode, done.stdout.strip()) == (0, f"assistant {__version__}")


def test_ask_k_limits_the_passages_an_answer_cites(index: Path):
    done = run("ask", "When will Tokayev meet Putin?", "--k", "1", "--json", index=index)
    assert done.returncode == 0, done.stderr
    citations = json.loads(done.stdout)["citations"]
    assert citations and len({(c["start"], c["end"]) for c in citations}) == 1
