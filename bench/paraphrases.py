"""The user's article, asked in four languages: corpus/questions.jsonl, split tune / held out.

    .venv/bin/python bench/paraphrases.py [--split tune|held|fresh|fresh2|all]
        [--answerer local [--check T]]

Indexes corpus/ alone, then again with other articles beside it (two German xquad-dev
articles and one English one, when ../shared/data/xquad-dev is present), asks every question
of the chosen split (ids ``para-tune-*`` / ``para-held-*`` / ``para-fresh-*``, a second held-out
set written after the ninth round / ``para-fresh2-*``, a third written in the tenth; the older
ids count as tune) and
prints, per index and split: answerable questions answered with a quote that holds the
answer (a citation overlapping the reference passage, or quoting a reference answer), those
whose first quote does, and unanswerable questions declined; then each miss. With
``--answerer local`` the local model answers (it checks that the quotes answer a question in
another language than the article's before translating them: ``llm_check``).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from common import XQUAD

from assistant.config import Settings
from assistant.datasets import EvalQuestion, load_dataset
from assistant.evaluation import squad_articles
from assistant.factory import Assistant, build_assistant, build_embedder
from assistant.types import Answer

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "corpus" / "questions.jsonl"


def split_of(question: EvalQuestion) -> str:
    """``held`` for the held-out paraphrases, ``fresh`` / ``fresh2`` for those written after
    the ninth round / in the tenth and measured once, ``tune`` for the rest."""
    if question.id.startswith("para-fresh2-"):
        return "fresh2"
    if question.id.startswith("para-fresh-"):
        return "fresh"
    return "held" if question.id.startswith("para-held-") else "tune"


def holds(answer: Answer, question: EvalQuestion, corpus: Path) -> list[bool]:
    """For each citation: does it quote the answer (overlaps the reference passage, or
    holds a reference answer)?"""
    out = []
    for c in answer.citations:
        found = False
        for ref in question.reference_passages:
            text = (corpus / str(ref.source)).read_text(encoding="utf-8")
            at = text.find(ref.quote)
            same = Path(c.passage.source).name == ref.source
            found |= same and at >= 0 and c.quote_start < at + len(ref.quote) and at < c.quote_end
        lowered = c.quote.lower()
        found |= any(a.lower() in lowered for a in question.reference_answers)
        out.append(found)
    return out


def others(directory: Path) -> list[Path]:
    """Two German xquad-dev articles and one English one, written as files (none without
    the data)."""
    if not (XQUAD / "xquad-dev.de.json").is_file():
        return []
    german = squad_articles(XQUAD / "xquad-dev.de.json")[:2]
    english = squad_articles(XQUAD / "xquad-dev.en.json")[2:3]
    paths = []
    for n, article in enumerate([*german, *english]):
        path = directory / f"other-{n}.txt"
        path.write_text(article.text, encoding="utf-8")
        paths.append(path)
    return paths


def measure(assistant: Assistant, questions: Sequence[EvalQuestion]) -> tuple[str, list[str]]:
    """One table row's cells, and the misses."""
    answered = first = declined = 0
    misses = []
    answerable = [q for q in questions if q.answerable]
    for q in questions:
        answer = assistant.ask(q.question)
        if not q.answerable:
            declined += answer.abstained
            if not answer.abstained:
                misses.append(f"  answered {q.id} {q.question!r}: {answer.text[:150]!r}")
            continue
        held = holds(answer, q, ROOT / "corpus")
        answered += any(held)
        first += bool(held and held[0])
        if not any(held):
            misses.append(f"  missed {q.id} {q.question!r}: {answer.text[:150]!r}")
    unanswerable = len(questions) - len(answerable)
    cells = f"{answered}/{len(answerable)} | {first}/{len(answerable)} | {declined}/{unanswerable}"
    return cells, misses


def main() -> None:
    """Index, ask, print the table and the misses."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--split", choices=("tune", "held", "fresh", "fresh2", "all"), default="all"
    )
    parser.add_argument(
        "--answerer",
        choices=("extractive", "local"),
        default="extractive",
        help="local: the local model translates the quotes, after checking that they answer",
    )
    parser.add_argument("--check", type=float, help="local: ASSISTANT_LLM_CHECK for this run")
    args = parser.parse_args()
    settings = Settings(answerer=args.answerer)
    if args.check is not None:
        settings = settings.model_copy(update={"llm_check": args.check})
    embedder = build_embedder(settings)
    questions = load_dataset(QUESTIONS)
    splits = ("tune", "held", "fresh", "fresh2") if args.split == "all" else (args.split,)
    rows, misses = [], []
    with tempfile.TemporaryDirectory() as tmp:
        extra = others(Path(tmp))
        for label, paths in (("corpus alone", []), ("others beside it", extra)):
            if label != "corpus alone" and not extra:
                continue
            with build_assistant(replace_index(settings, Path(tmp) / label), embedder) as a:
                a.ingest([ROOT / "corpus" / "tokayev-visit.de.txt", *paths])
                for split in splits:
                    chosen = [q for q in questions if split_of(q) == split]
                    cells, missed = measure(a, chosen)
                    rows.append(f"| {label} | {split} | {cells} |")
                    misses += [f"{label}, {split}:", *missed]
    print(f"model: {settings.embedding_model}; answerer: {settings.answerer}")
    if settings.answerer == "local":
        print(f"check: {settings.llm_check}")
    print("| index | split | answered, a quote holds the answer | first quote holds it | "
          "unanswerable declined |")  # fmt: skip
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print("\n".join(misses))


def replace_index(settings: Settings, index: Path) -> Settings:
    """The settings with another index directory."""
    return settings.model_copy(update={"index": index})


if __name__ == "__main__":
    main()
