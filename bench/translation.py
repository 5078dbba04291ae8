"""The local model's translations alone, without retrieval: does the translated sentence
that holds an xquad answer still hold the English gold answer?

    .venv/bin/python bench/translation.py [--half even] [--sample 100] [--threads 2]
        [--model FILE.gguf] [--dump FILE]

For each German xquad-dev question of one half (even: for choices; odd: for reports), the
German sentence that holds its gold answer is translated into English as the local
answerer translates a quote (``translation_messages``, the default model unless
``--model``), then checked as the answerer checks it (numbers kept, English, at least
``TRANSLATION_COVERAGE`` of its words found in the sentence through the dictionary). A line
that fails the check stays German, as in an answer. Printed: the share of lines that hold
the English gold answer (XQuAD's parallel English answers, same id) after the check, before
it, the share kept, and the seconds per sentence. This separates what the translation loses
from what retrieval loses (``bench/local_llm.py`` measures both together).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import require_xquad

from assistant.chunking import split_sentences
from assistant.config import Settings
from assistant.datasets import read_squad
from assistant.factory import build_lexicon
from assistant.llm import (
    build_local_model,
    carried,
    cleaned,
    keeps_numbers,
    language_of,
    translation_messages,
)
from assistant.metrics import contains_answer
from assistant.tuning import TRANSLATION_COVERAGE


def sentences_with_answers(half: str, size: int) -> list[tuple[str, str, list[str]]]:
    """(id, the German sentence holding the gold answer, the English answers) per question."""
    data = require_xquad()
    english = {
        qa["id"]: [a["text"] for a in qa["answers"]]
        for a in read_squad(data / "xquad-dev.en.json")
        for p in a["paragraphs"]
        for qa in p["qas"]
    }
    found = []
    for article in read_squad(data / "xquad-dev.de.json"):
        for p in article["paragraphs"]:
            context = p["context"]
            for qa in p["qas"]:
                start = qa["answers"][0]["answer_start"]
                spans = [s for s in split_sentences(context) if s.start <= start < s.end]
                text = context[spans[0].start : spans[0].end] if spans else ""
                found.append((qa["id"], text, english[qa["id"]]))
    return [f for f in found[{"even": 0, "odd": 1}[half] :: 2] if f[1]][:size]


def main() -> None:
    """Translate, check, count."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--half", choices=("even", "odd"), default="even")
    parser.add_argument("--sample", type=int, default=100, help="questions (the first n)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default="", help="a .gguf file (default: the Qwen model)")
    parser.add_argument("--dump", type=Path, help="one JSON line per sentence")
    args = parser.parse_args()
    settings = Settings()
    lexicon = build_lexicon(settings)
    model = build_local_model(
        args.model, cache=settings.cache_dir.expanduser(), threads=args.threads
    )
    items = sentences_with_answers(args.half, args.sample)
    model.load()  # type: ignore[attr-defined]
    dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    held = raw = kept = 0
    start = time.perf_counter()
    for qid, german, answers in items:
        english = cleaned("".join(c.text for c in model.stream(translation_messages(german, "en"))))
        share = carried(english, german, "de", lexicon)
        ok = (
            keeps_numbers(english, german, "en")
            and language_of(english) in (None, "en")
            and (share is None or share >= TRANSLATION_COVERAGE)
        )
        holds = contains_answer(english if ok else german, answers, "en") > 0
        held, kept = held + holds, kept + ok
        raw += contains_answer(english, answers, "en") > 0
        if dump:
            line = {"id": qid, "de": german, "en": english, "kept": ok, "holds": holds}
            dump.write(json.dumps(line | {"gold": answers}, ensure_ascii=False) + "\n")
    n = len(items)
    print(
        f"{args.half} half, {n} sentences: holds the English gold {held / n:.3f} after the "
        f"check ({held}), {raw / n:.3f} before it; kept {kept / n:.3f}; "
        f"{(time.perf_counter() - start) / n:.1f} s per sentence"
    )


if __name__ == "__main__":
    main()
