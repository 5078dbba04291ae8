"""The `assistant` command: parse, call the library, print. Heavy imports wait for a command.

Exit codes: 0 done; 1 done, but some files failed; 2 a usage or input error (one line, no
traceback).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError, DatasetError

#: An argument of `ingest` that names a web address rather than a file (any scheme: the
#: fetcher refuses all but http and https with a reason).
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.factory import Assistant
    from assistant.ingestion import Progress
    from assistant.types import Answer, Event, Passage


#: The commands that may create an index; the others need an existing one.
CREATES_INDEX = frozenset({"ingest"})

_EXAMPLES = {
    "ingest": "assistant ingest corpus/ more/article.pdf",
    "list": "assistant list --json",
    "remove": "assistant remove corpus/tokayev-visit.de.txt",
    "doctor": "assistant doctor --repair",
    "search": 'assistant search "Was sagt Lepsibaev?" --k 5',
    "ask": 'assistant ask "What do experts expect from the visit?" --k 4',
    "chat": "assistant chat",
    "eval": "assistant eval corpus/questions.jsonl --compare out/eval/OLD/report.json",
    "import": "assistant import squad dev.json --articles articles/ --dataset questions.jsonl",
}


def _add_command(sub: Any, name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A sub-command whose help ends with an example."""
    return sub.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=f"example:\n  {_EXAMPLES[name]}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    from assistant import __version__

    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Answer questions about your articles, with citations.",
        epilog="Run `assistant COMMAND --help` for a command's arguments and an example.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--index", type=Path, help="index directory (default: $ASSISTANT_INDEX or ./index)"
    )
    common.add_argument("--json", action="store_true", help="print JSON")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ingest = _add_command(
        sub, "ingest", "add or update files, folders and web pages (URLs)", parents=[common]
    )
    ingest.add_argument(
        "paths",
        nargs="+",
        metavar="PATH_OR_URL",
        help="a file (.txt .md .html .pdf .docx), a folder, or an http(s) URL",
    )
    ingest.add_argument(
        "--force",
        action="store_true",
        help="cut and embed unchanged files again (after changing ASSISTANT_CHUNK_* settings)",
    )
    ingest.set_defaults(func=_ingest)
    _add_command(sub, "list", "list indexed documents", parents=[common]).set_defaults(func=_list)
    remove = _add_command(sub, "remove", "remove a document", parents=[common])
    remove.add_argument(
        "document", metavar="DOC_ID_OR_PATH", help="a document id (see `list`) or its file path"
    )
    remove.set_defaults(func=_remove)
    doctor = _add_command(sub, "doctor", "check (and repair) the index", parents=[common])
    doctor.add_argument("--repair", action="store_true", help="repair what disagrees")
    doctor.set_defaults(func=_doctor)
    sub.add_parser(
        "reindex",
        parents=[common],
        help="embed the stored chunks again with the configured model (after a model change)",
    ).set_defaults(func=_reindex)
    for name, help_text in (("search", "rank passages"), ("ask", "answer with citations")):
        command = _add_command(sub, name, help_text, parents=[common])
        command.set_defaults(func=_questions)
        command.add_argument(
            "question", nargs="?", metavar="QUESTION", help="the question, in quotes"
        )
        command.add_argument("--batch", type=Path, metavar="FILE", help="JSON Lines questions")
        command.add_argument(
            "--k", type=_positive, help="passages to retrieve (default: $ASSISTANT_K or 8)"
        )
    _add_command(
        sub, "chat", "a conversation: questions from the terminal until exit", parents=[common]
    ).set_defaults(func=_chat)
    _eval_parsers(sub, common)
    return parser


def _eval_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    evaluate = _add_command(sub, "eval", "evaluate on a question set", parents=[common])
    evaluate.add_argument(
        "dataset", type=Path, metavar="DATASET", help="a JSON Lines question set (one per line)"
    )
    evaluate.add_argument("--out", type=Path, help="report folder (default: out/eval/NAME-TIME)")
    evaluate.add_argument("--compare", type=Path, metavar="REPORT", help="an earlier report.json")
    evaluate.set_defaults(func=_eval)
    importer = _add_command(sub, "import", "import a question set")
    formats = importer.add_subparsers(
        dest="format", required=True, metavar="FORMAT", help="the question set's format"
    )
    squad = formats.add_parser("squad", help="SQuAD v1.1 JSON → article files + question set")
    squad.add_argument("file", type=Path, metavar="FILE.json", help="a SQuAD v1.1 JSON file")
    squad.add_argument("--articles", type=Path, required=True, metavar="DIR")
    squad.add_argument("--dataset", type=Path, required=True, metavar="OUT.jsonl")
    squad.add_argument(
        "--questions",
        type=Path,
        metavar="OTHER.json",
        help="take questions from this parallel file",
    )
    squad.set_defaults(func=_import_squad)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        _validate(args)  # before anything loads: a usage error costs nothing
        return int(args.func(args))
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[Assistant]:
    """The index the command names, open for the command's length."""
    assistant = _open(args.index, create=args.command in CREATES_INDEX, k=getattr(args, "k", None))
    try:
        yield assistant
    finally:
        assistant.close()


@contextmanager
def _progress_bar(
    desc: str, unit: str, *, named: bool = False, delay: float = 0
) -> Iterator[Progress]:
    """A progress bar on stderr, and the ``Progress`` callback that moves it (``named``: the
    item being worked on is shown beside it; ``delay``: seconds before it shows)."""
    from tqdm import tqdm

    with tqdm(total=0, unit=unit, desc=desc, file=sys.stderr, delay=delay) as bar:

        def progress(done: int, total: int, what: str) -> None:
            bar.total = total
            if named:
                bar.set_postfix_str(what[:40])
            bar.update(done - bar.n)

        yield progress


def _validate(args: argparse.Namespace) -> None:
    """Usage errors that argparse cannot see."""
    if args.command not in ("search", "ask"):
        return
    if (args.question is None) == (args.batch is None):
        raise AssistantError(f"Give either a QUESTION or --batch FILE to `{args.command}`.")
    if args.question is not None and not args.question.strip():
        raise AssistantError(f'The question is empty: `assistant {args.command} "QUESTION"`.')


def check_index(index: Path, *, create: bool) -> None:
    """Refuse an index path that is a file, or (unless creating) a folder that is not there."""
    if index.exists() and not index.is_dir():
        raise AssistantError(
            f"--index {index} is a file, not an index folder: give a folder (or a new name for "
            "`assistant ingest` to create)."
        )
    if not create and not index.exists():
        raise AssistantError(
            f"There is no index at {index}: check --index / ASSISTANT_INDEX, or create one "
            f"with `assistant ingest PATH --index {index}`."
        )


def _settings(index: Path | None, k: int | None = None) -> Settings:
    from pydantic import ValidationError

    from assistant.config import Settings

    overrides: dict[str, Any] = {"index": index} if index else {}
    if k is not None:
        overrides["k"] = k
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise AssistantError(f"Invalid setting: {exc}") from None


def _open(index: Path | None, *, create: bool = False, k: int | None = None) -> Assistant:
    settings = _settings(index, k)
    if not settings.chroma_url:  # a server holds its own collection
        check_index(settings.index, create=create)
    from assistant.factory import build_assistant

    # shown only when opening takes a while: a server's cache catching up, a repair
    with _progress_bar("open", "chunk", named=True, delay=1) as progress:
        return build_assistant(settings, progress=progress)


def _reindex(args: argparse.Namespace) -> int:
    from assistant.factory import reindex_index

    settings = _settings(args.index)
    if not settings.chroma_url:
        check_index(settings.index, create=False)  # nothing to embed again in a new folder
    with _progress_bar("reindex", "text") as progress:
        count = reindex_index(settings, progress=progress)
    if args.json:
        print(json.dumps({"embedded": count, "model": settings.embedding_model}))
    else:
        print(f"embedded {count} chunks and sentences with {settings.embedding_model}")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from assistant.ingestion import IngestReport

    urls = [p for p in args.paths if _URL.match(p)]
    local = [p for p in args.paths if not _URL.match(p)]
    with (
        _opened(args) as assistant,
        _progress_bar("read", "file", named=True) as files,
        _progress_bar("embed", "text") as texts,
    ):
        report = (
            assistant.ingest(local, files, texts, force=args.force) if local else IngestReport()
        )
        for url in urls:
            report.merge(assistant.add_url(url))
    for failure in report.failed:
        print(f"failed: {failure.path}: {failure.error}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        counts = report.as_dict()
        print(
            ", ".join(
                f"{k} {v if k != 'failed' else len(report.failed)}" for k, v in counts.items()
            )
        )
    return 1 if report.failed else 0


def _remove(args: argparse.Namespace) -> int:
    with _opened(args) as assistant:
        doc = assistant.remove(args.document)
    print(f"removed {doc.title} ({doc.doc_id}, {doc.source})")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    with _opened(args) as assistant:
        return _check(assistant, args.repair, args.json)


def _check(assistant: Assistant, repair: bool, as_json: bool) -> int:
    from assistant import doctor

    store = assistant.store
    problems = doctor.check(store)  # opening the index may already have repaired some
    done = [*store.repairs, *(doctor.repair(store) if repair and problems else [])]
    left = doctor.check(store) if repair and problems else problems
    if as_json:
        shape = {"repaired": [r.as_dict() for r in done], "problems": [p.as_dict() for p in left]}
        print(json.dumps(shape, ensure_ascii=False))
    else:
        for repaired in done:
            print(f"repaired: {repaired}")
        for problem in left:
            print(f"problem: {problem}")
        if left and not repair:
            print("Run `assistant doctor --repair` to repair these.")
        print(f"{len(left)} problems ({assistant.store.where}).")
    return 1 if left else 0


def _list(args: argparse.Namespace) -> int:
    with _opened(args) as assistant:
        docs = assistant.documents()
    if args.json:
        print(json.dumps([d.as_dict() for d in docs], ensure_ascii=False))
        return 0
    for d in docs:
        print(f"{d.doc_id}  {d.language or '??'}  {d.chunks:4d} chunks  {d.title}  ({d.source})")
    if not docs:
        print("The index is empty: add documents with `assistant ingest PATH`.")
    return 0


def _import_squad(args: argparse.Namespace) -> int:
    from assistant.datasets import import_squad

    files, questions = import_squad(args.file, args.articles, args.dataset, args.questions)
    print(f"{len(files)} articles in {args.articles}, {len(questions)} questions in {args.dataset}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    import time

    from assistant.evaluation import load_dataset, run_evaluation
    from assistant.reports import summary_table

    load_dataset(args.dataset)  # a broken line fails before the index opens
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = args.out or Path("out") / "eval" / f"{args.dataset.stem}-{stamp}"
    with _opened(args) as assistant, _progress_bar("eval", "question", named=True) as progress:
        report = run_evaluation(
            assistant, args.dataset, out, compare=args.compare, progress=progress
        )
    if args.json:
        from assistant.reports import json_floats

        print(json.dumps({"out_dir": str(report.out_dir), "metrics": json_floats(report.metrics)}))
        return 0
    print(summary_table(report.metrics, report.comparison))
    failed = sum(r.failed for r in report.results)
    print(f"{failed} of {len(report.results)} questions failed; report: {report.out_dir}/report.md")
    return 0


def read_batch(path: Path) -> Iterator[dict[str, Any]]:
    """Questions of a JSON Lines file: each line an object with `question` (and maybe `id`)."""
    from assistant.datasets import jsonl_lines

    for number, line in jsonl_lines(path):
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg}).") from None
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise DatasetError(f'{path}:{number}: needs a "question" field holding a string.')
        yield {"id": item.get("id", number), "question": item["question"]}


def _questions(args: argparse.Namespace) -> int:
    batch = list(read_batch(args.batch)) if args.batch else None  # before the index opens
    with _opened(args) as assistant:
        return _answer_all(assistant, args, batch)


def _answer_all(assistant: Assistant, args: argparse.Namespace, batch: list | None) -> int:
    items = batch if batch is not None else [{"id": None, "question": args.question}]
    k = args.k
    for item in items:
        if args.command == "search":
            passages = assistant.search(item["question"], k)
            _print_search(item, passages, args.json or batch is not None)
        elif args.json or batch is not None:
            _print_answer(item, assistant.ask(item["question"]), True)
        else:
            _say_answerer(assistant)
            _print_answer(item, *_streamed(assistant.stream(item["question"])))
    return 0


def _say_answerer(assistant: Assistant) -> None:
    """Name the answerer when a model answers (``auto`` may have chosen the local one)."""
    settings = assistant.settings
    if settings.answerer != "extractive":
        style = f", {settings.llm_style}" if settings.answerer == "local" else ""
        print(f"answerer: {settings.answerer}{style}")


def _streamed(events: Iterator[Event]) -> tuple[Answer, bool, bool | None]:
    """Print the answer's text as it is written; returns the finished Answer, False (not
    JSON), and whether a text was printed: True if it is the answer's final text, None if
    the final text differs (checked citations), False if nothing was printed."""
    from assistant.types import Answer, Quotes

    written = ""
    for event in events:
        if isinstance(event, Quotes):  # the evidence, while the model writes
            for c in event.citations:
                print(f"  evidence [{c.n}] {c.passage.title}: {c.quote}")
            print(flush=True)
            continue
        if isinstance(event, Answer):
            if written:
                print("\n")
            if not written:
                return event, False, False
            return event, False, True if written.strip() == event.text else None
        print(event, end="", flush=True)
        written += event
    raise AssertionError("an answer stream ends with its Answer")


def _chat(args: argparse.Namespace) -> int:
    with _opened(args) as assistant:
        return _converse(assistant, args.json)


def _converse(assistant: Assistant, as_json: bool) -> int:
    """Questions from stdin, one per line, until EOF or `exit`; each turn sees the last."""
    from assistant.conversation import Conversation

    conversation = Conversation(assistant)
    interactive = sys.stdin.isatty()
    if not as_json:
        _say_answerer(assistant)
    if interactive:
        _warm(assistant)
        print("Ask about your articles; `exit` or Ctrl-D ends.")
    while True:
        if interactive:
            print("> ", end="", flush=True)
        line = sys.stdin.readline()
        question = line.strip()
        if not line or question.lower() in ("exit", "quit"):
            return 0
        if not question:
            continue
        if as_json:
            _print_answer({"id": None}, conversation.ask(question), True)
        else:
            _print_answer({"id": None}, *_streamed(conversation.stream(question)))
            print()


def _warm(assistant: Assistant) -> None:
    """A local model loads in the background while the first question is typed (as on the
    chat page); an exit before it is loaded waits for the load to end (seconds)."""
    import threading

    warm = getattr(assistant.answerer, "warm", None)
    if warm is not None and assistant.settings.answerer == "local":
        threading.Thread(target=warm, name="load the local model").start()


def _print_search(item: dict[str, Any], passages: list[Passage], as_json: bool) -> None:
    if as_json:
        out = {"id": item["id"], "question": item["question"]}
        print(json.dumps(out | {"passages": [p.as_dict() for p in passages]}, ensure_ascii=False))
        return
    for rank, p in enumerate(passages, 1):
        print(f"{rank}. {p.title} ({p.source}) [{p.start}:{p.end}] score {p.score:.4f}")
        print("   " + p.text.replace("\n", " ")[:300])


def _print_answer(
    item: dict[str, Any], answer: Answer, as_json: bool, text_shown: bool | None = False
) -> None:
    if as_json:
        print(json.dumps({"id": item["id"]} | answer.as_dict(), ensure_ascii=False))
        return
    if answer.note:
        print(f"note: {answer.note}")
    if text_shown is None:  # streamed, but markers were dropped or renumbered since
        print(f"with checked citations: {answer.text}")
        print()
    elif not text_shown:
        print(answer.text)
        print()
    for c in answer.citations:
        print(f"[{c.n}] {c.passage.title} ({c.passage.source}) chars {c.quote_start}-{c.quote_end}")
        print(f"    {c.quote}")
    for i in answer.unsupported:
        print(f"  unsupported: {answer.statements[i].text}")
    if answer.abstained:
        for rank, p in enumerate(answer.passages[:3], 1):
            print(f"  closest {rank}: {p.title}: {p.text.replace(chr(10), ' ')[:200]}")
