"""The full evaluation (library code, assistant.evaluation) on xquad-dev.

    .venv/bin/python bench/eval_xquad.py [--questions en|de] [--limit N] [--out DIR]

The 12 German articles are indexed in a temp dir; the German questions, or the English
ones matched by id, are asked; the report lands in --out (default out/eval/xquad-LANG).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import require_xquad
from tqdm import tqdm

from assistant.config import Settings
from assistant.datasets import import_squad, load_dataset, write_dataset
from assistant.evaluation import run_evaluation
from assistant.factory import build_assistant
from assistant.reports import summary_table


def main() -> None:
    """Import, index, evaluate, print the metrics."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", choices=("en", "de"), default="en")
    parser.add_argument("--limit", type=int, help="ask only the first N questions")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    data = require_xquad()
    other = data / "xquad-dev.en.json" if args.questions == "en" else None
    out = args.out or Path("out") / "eval" / f"xquad-{args.questions}"
    with tempfile.TemporaryDirectory() as tmp:
        dataset = Path(tmp) / "questions.jsonl"
        files, _ = import_squad(data / "xquad-dev.de.json", Path(tmp) / "a", dataset, other)
        if args.limit:
            write_dataset(load_dataset(dataset)[: args.limit], dataset)
        assistant = build_assistant(Settings(index=Path(tmp) / "index"))
        assistant.ingest(files)
        started = time.perf_counter()
        with tqdm(total=len(load_dataset(dataset)), desc="eval") as bar:
            report = run_evaluation(
                assistant, dataset, out, progress=lambda done, _t, _q: bar.update(done - bar.n)
            )
        assistant.close()
    print(summary_table(report.metrics, report.comparison))
    print(f"{time.perf_counter() - started:.0f} s; report: {out}/report.md")


if __name__ == "__main__":
    main()
