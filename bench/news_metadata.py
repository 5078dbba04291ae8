"""News-page metadata (title, author, date) against trafilatura's own test pages.

    .venv/bin/python bench/news_metadata.py PATH/TO/trafilatura/tests [--half tune|report]

PATH is the `tests` folder of a checkout of https://github.com/adbar/trafilatura: its
``evaldata.json`` holds the known title, author and date of the pages in ``eval/`` and
``cache/`` (the pages are read from there, never copied into this repository). Prints, side
by side in one run, how many each method gets right: plain ``trafilatura.bare_extraction``
(what the loader did before) and ``assistant.loading.page_metadata``. ``--half`` picks every
other page (sorted by file name): ``tune`` to tune on, ``report`` for the figures.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.loading import page_metadata  # noqa: E402

FIELDS = ("title", "author", "date")


def norm(value: object) -> str:
    """Gold and found values compared without case, spacing or list joiners."""
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    return re.sub(r"\s+", " ", str(value or "")).strip().casefold()


def pages(folder: Path, half: str | None) -> list[tuple[dict, bytes]]:
    """(gold, html) of every page with gold metadata whose file is present."""
    data = json.loads((folder / "evaldata.json").read_text(encoding="utf-8"))
    found = []
    for _url, item in sorted(data.items(), key=lambda kv: kv[1].get("file", "")):
        if not any(field in item for field in FIELDS):
            continue
        path = next(
            (p for s in ("cache", "eval") if (p := folder / s / item["file"]).is_file()), None
        )
        if path is not None:
            found.append((item, path.read_bytes()))
    if half:
        found = found[half == "report" :: 2]
    return found


def plain(html: bytes) -> dict[str, str | None]:
    """What the loader took before: trafilatura's defaults."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    if doc is None:
        return dict.fromkeys(FIELDS)
    return {"title": doc.title, "author": doc.author, "date": doc.date}


def ours(html: bytes) -> dict[str, str | None]:
    """The loader's metadata now."""
    found = page_metadata(html)
    return {"title": found.title, "author": found.author, "date": found.date}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tests", type=Path, help="trafilatura's tests/ folder")
    parser.add_argument("--half", choices=["tune", "report"])
    parser.add_argument("--show", action="store_true", help="print the misses (ours)")
    args = parser.parse_args()
    items = pages(args.tests, args.half)
    right = {name: dict.fromkeys(FIELDS, 0) for name in ("plain", "ours", "lost")}
    totals = dict.fromkeys(FIELDS, 0)
    for gold, html in items:
        results = {"plain": plain(html), "ours": ours(html)}
        for field in FIELDS:
            if field not in gold:
                continue
            totals[field] += 1
            hits = {
                name: norm(found[field]) == norm(gold[field]) for name, found in results.items()
            }
            for name, hit in hits.items():
                right[name][field] += hit
            right["lost"][field] += hits["plain"] and not hits["ours"]
            if args.show and norm(results["ours"][field]) != norm(gold[field]):
                print(
                    f"{field} {gold['file']}: gold {gold[field]!r} ours {results['ours'][field]!r}"
                )
    print(f"{len(items)} pages ({args.half or 'all'})")
    print("lost: pages plain got right and ours got wrong")
    print(f"{'field':8} {'pages':>6} {'plain':>7} {'ours':>7} {'lost':>7}")
    for field in FIELDS:
        counts = " ".join(f"{right[name][field]:7d}" for name in ("plain", "ours", "lost"))
        print(f"{field:8} {totals[field]:6d} {counts}")


if __name__ == "__main__":
    main()
