"""Cold start: `import assistant`, `assistant --help`, `assistant ask` to the first answer, and
the chat page from `streamlit run` to ready (health, then a headless Chromium page load until
the chat input shows).

    .venv/bin/python bench/startup.py [--quick] [--runs N]

The index holds corpus/ (ingested once, before timing). Every figure is a fresh process; the
median of ``--runs`` runs (3; 1 with --quick) is printed.
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


def run(*args: str, env: dict[str, str]) -> float:
    """Seconds a command takes; it must succeed."""
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, env=env, cwd=ROOT)
    return time.perf_counter() - started


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
    """Print the cold-start table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one run of each")
    parser.add_argument("--runs", type=int)
    args = parser.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ASSISTANT_INDEX": str(Path(tmp) / "index"),
               "PYTHONPATH": str(ROOT)}  # fmt: skip
        py = sys.executable
        run(py, "-m", "assistant", "ingest", str(ROOT / "corpus"), env=env)
        measures: dict[str, Callable[[], float | None]] = {
            "`import assistant`": lambda: run(py, "-c", "import assistant", env=env),
            "`assistant --help`": lambda: run(py, "-m", "assistant", "--help", env=env),
            "`assistant ask` → first answer": lambda: run(
                py, "-m", "assistant", "ask", QUESTION, env=env
            ),
        }
        table = {name: [measure() for _ in range(runs)] for name, measure in measures.items()}
        app = [app_start(env) for _ in range(runs)]
    table["app: `streamlit run` → health"] = [h for h, _ in app]
    table["app: `streamlit run` → chat input in Chromium"] = [r for _, r in app]
    print(f"| step (fresh process, median of {runs}) | seconds |")
    print("|---|---|")
    for name, values in table.items():
        known = [v for v in values if v is not None]
        cell = f"{statistics.median(known):.2f}" if known else "n/a (no Chromium/playwright)"
        print(f"| {name} | {cell} |")


if __name__ == "__main__":
    main()
