"""Question sets: the JSON Lines format, its validation, and the SQuAD v1.1 importer.

One question per line::

    {"id": "q1", "question": "...", "reference_answers": ["..."],
     "reference_passages": [{"source": "article.txt", "quote": "..."}],
     "answerable": true, "language": "en"}

``reference_passages`` and ``language`` are optional, ``answerable`` defaults to true, and
an unanswerable question needs no reference answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import DatasetError

CONTEXT_CHARS = 25
FIELDS = frozenset(
    {"id", "question", "reference_answers", "reference_passages", "answerable", "language"}
)


@dataclass(frozen=True)
class ReferencePassage:
    """Where an answer is found: a quote from a document named by source or id."""

    quote: str
    source: str | None = None
    doc_id: str | None = None


@dataclass(frozen=True)
class EvalQuestion:
    """One line of a question set."""

    id: str
    question: str
    reference_answers: tuple[str, ...] = ()
    reference_passages: tuple[ReferencePassage, ...] = ()
    answerable: bool = True
    language: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON Lines shape."""
        out: dict[str, Any] = {"id": self.id, "question": self.question}
        out["reference_answers"] = list(self.reference_answers)
        if self.reference_passages:
            out["reference_passages"] = [
                {k: v for k, v in vars(p).items() if v is not None} for p in self.reference_passages
            ]
        out["answerable"] = self.answerable
        if self.language:
            out["language"] = self.language
        return out


def jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a UTF-8 JSON Lines file, with their 1-based numbers."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(
            f"{path}: cannot read it ({exc}); give a UTF-8 JSON Lines file."
        ) from None
    return ((n, line) for n, line in enumerate(lines, 1) if line.strip())


def load_dataset(path: str | Path) -> list[EvalQuestion]:
    """The questions of a JSON Lines file; an invalid line raises DatasetError naming it."""
    path = Path(path)
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for number, line in jsonl_lines(path):
        question = _parse_line(line, f"{path}:{number}")
        if question.id in seen:
            raise DatasetError(f'{path}:{number}: field "id": {question.id!r} is used twice.')
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise DatasetError(f"{path}: holds no questions; add one JSON object per line.")
    return questions


def _parse_line(line: str, where: str) -> EvalQuestion:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: not valid JSON ({exc.msg}).") from None
    if not isinstance(item, dict):
        raise DatasetError(f"{where}: each line must be a JSON object.")
    if unknown := sorted(set(item) - FIELDS):
        raise DatasetError(f'{where}: field "{unknown[0]}" is unknown; use {sorted(FIELDS)}.')
    qid = item.get("id")
    if not isinstance(qid, str | int) or isinstance(qid, bool) or str(qid) == "":
        raise DatasetError(f'{where}: field "id" must be a non-empty string or number.')
    question = item.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f'{where}: field "question" must be a non-empty string.')
    answerable = item.get("answerable", True)
    if not isinstance(answerable, bool):
        raise DatasetError(f'{where}: field "answerable" must be true or false.')
    answers = _strings(item.get("reference_answers", []), where, "reference_answers")
    if answerable and not answers:
        raise DatasetError(
            f'{where}: field "reference_answers" needs at least one answer '
            '(or set "answerable": false).'
        )
    language = item.get("language")
    if language is not None and not isinstance(language, str):
        raise DatasetError(f'{where}: field "language" must be a string such as "en".')
    passages = _passages(item.get("reference_passages", []), where)
    return EvalQuestion(str(qid), question, answers, passages, answerable, language)


def _strings(value: object, where: str, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DatasetError(f'{where}: field "{field}" must be a list of non-empty strings.')
    return tuple(value)


def _passages(value: object, where: str) -> tuple[ReferencePassage, ...]:
    field = '"reference_passages"'
    if not isinstance(value, list):
        raise DatasetError(f"{where}: field {field} must be a list of objects.")
    out = []
    for i, p in enumerate(value):
        ok = isinstance(p, dict) and isinstance(p.get("quote"), str) and p["quote"].strip()
        named = ok and any(isinstance(p.get(k), str) for k in ("source", "doc_id"))
        if not named or set(p) - {"quote", "source", "doc_id"}:
            raise DatasetError(
                f"{where}: field {field}[{i}] must be an object with a non-empty "
                '"quote" and a "source" or "doc_id" string.'
            )
        out.append(ReferencePassage(p["quote"], p.get("source"), p.get("doc_id")))
    return tuple(out)


def write_dataset(questions: Sequence[EvalQuestion], path: str | Path) -> None:
    """Write questions as JSON Lines."""
    rows = (json.dumps(q.as_dict(), ensure_ascii=False) for q in questions)
    Path(path).write_text("".join(r + "\n" for r in rows), encoding="utf-8")


# --- SQuAD v1.1 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SquadArticle:
    """One SQuAD article: its title and its paragraphs joined by blank lines."""

    title: str
    text: str

    @property
    def file_name(self) -> str:
        """The article's file name when imported."""
        return (re.sub(r"[^\w-]+", "_", self.title).strip("_") or "article") + ".txt"


@dataclass(frozen=True)
class GoldQuestion:
    """A question with its gold answer and the evidence around it in its paragraph."""

    id: str
    question: str
    answer: str
    needle: str
    title: str
    answers: tuple[str, ...] = ()


def read_squad(path: str | Path) -> list[dict]:
    """The ``data`` list of a SQuAD v1.1 JSON file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(
            f"{path}: not a SQuAD v1.1 file ({exc!r}); give a JSON file with a 'data' list."
        ) from None
    return list(data)


def squad_articles(path: str | Path) -> list[SquadArticle]:
    """One article per title, paragraphs joined by blank lines."""
    return [
        SquadArticle(a["title"], "\n\n".join(p["context"].strip() for p in a["paragraphs"]))
        for a in read_squad(path)
    ]


def squad_questions(
    path: str | Path, questions_from: str | Path | None = None
) -> list[GoldQuestion]:
    """Gold questions of a SQuAD file; with ``questions_from``, the question text is taken
    from that parallel file (same ids), e.g. English questions over German paragraphs."""
    asked = {}
    if questions_from is not None:
        asked = {
            qa["id"]: qa["question"]
            for a in read_squad(questions_from)
            for p in a["paragraphs"]
            for qa in p["qas"]
        }
    out = []
    for article in read_squad(path):
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                gold = qa["answers"][0]
                needle = evidence(paragraph["context"], gold["answer_start"], gold["text"])
                question = asked.get(qa["id"], qa["question"])
                answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                out.append(
                    GoldQuestion(
                        qa["id"], question, gold["text"], needle, article["title"], answers
                    )
                )
    return out


def evidence(context: str, start: int, answer: str, margin: int = CONTEXT_CHARS) -> str:
    """The answer with up to ``margin`` characters of its paragraph on either side."""
    return context[max(0, start - margin) : start + len(answer) + margin].strip()


def import_squad(
    path: str | Path,
    articles_dir: str | Path,
    dataset: str | Path,
    questions_from: str | Path | None = None,
) -> tuple[list[Path], list[EvalQuestion]]:
    """Write a SQuAD file's articles (one .txt per title) and its question set."""
    from assistant.loading import detect_language

    articles_dir = Path(articles_dir)
    articles_dir.mkdir(parents=True, exist_ok=True)
    names = {}
    files = []
    for article in squad_articles(path):
        names[article.title] = article.file_name
        files.append(articles_dir / article.file_name)
        files[-1].write_text(article.text + "\n", encoding="utf-8")
    gold = squad_questions(path, questions_from)
    if questions_from is not None:
        _check_pairing(gold, questions_from)
    language = detect_language(" ".join(q.question for q in gold[:30]))
    questions = [
        EvalQuestion(
            q.id,
            q.question,
            q.answers or (q.answer,),
            (ReferencePassage(q.needle, source=names[q.title]),),
            True,
            language,
        )
        for q in gold
    ]
    Path(dataset).parent.mkdir(parents=True, exist_ok=True)
    write_dataset(questions, dataset)
    return files, questions


def _check_pairing(gold: Sequence[GoldQuestion], questions_from: str | Path) -> None:
    ids = {qa["id"] for a in read_squad(questions_from) for p in a["paragraphs"] for qa in p["qas"]}
    if missing := [q.id for q in gold if q.id not in ids]:
        raise DatasetError(
            f"{questions_from}: lacks {len(missing)} question ids of the articles' file "
            f"(first: {missing[0]!r}); give the parallel file with the same ids."
        )
