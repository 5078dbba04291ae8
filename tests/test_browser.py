"""The app in a real browser: headless Debian Chromium driven by Playwright, against
``streamlit run app.py`` on a free loopback port with a temporary index.

Needs /usr/bin/chromium and the ``playwright`` package (no ``playwright install``: the
Debian binary is launched by path). Without them the tests skip, unless
REQUIRE_BROWSER_TESTS=1 (set by .ci/run), where they fail. Screenshots go to
$BROWSER_SCREENSHOTS (default: out/screenshots).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", ROOT / "out" / "screenshots"))
WAIT_MS = 120_000
OWLS = (
    "The owls of Hohenlohe hunt at night over the wheat fields. Each pair of owls keeps "
    "the same barn for many years, and the farmers leave a window open for them."
)
LLAMAS = (
    "The llama parade of Quillacollo is held every October. The parade starts at the "
    "old stone bridge and ends at the market square, where the llamas are given apples.\n"
)


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install -y chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[test]'"
    return None


if (why := _missing()) is not None:
    if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
        raise RuntimeError(f"browser tests are required here, but {why}")
    pytest.skip(why, allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

expect.set_options(timeout=WAIT_MS)  # the first answer waits for the model and the index


class Canary(BaseHTTPRequestHandler):
    """Records every request: a document's content must never make the browser send one.
    It is also a hostile web server: /bad-reason answers 404 with Markdown in its reason
    phrase, /titled serves an article whose title is Markdown."""

    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:  # the http.server interface
        Canary.hits.append(self.path)
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/bad-reason":
            self.send_response(404, f"Gone ![r]({base}/reason.png) :red[red] [link]({base}/l)")
            self.end_headers()
            return
        if self.path == "/titled":
            title = f"Owls ![t]({base}/title.png) :red[red]"
            body = f"<html><head><title>{title}</title></head><body><article><p>{OWLS}</p>"
            data = (body + "</article></body></html>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hostile_text(canary: str) -> str:
    """A document whose text would run script or fetch from the canary if rendered."""
    return (
        "The zebra festival happens every spring in the village of Oberau. "
        f"<script>window.pwned = 1; fetch('{canary}/script')</script> "
        f'The zebras dance at noon on the green. <img src="{canary}/img.png" '
        f"onerror=\"window.pwned = 2; fetch('{canary}/onerror')\"> "
        f"Visitors bring carrots for the zebras. ![zebra]({canary}/markdown.png) "
        "The festival ends with a parade of zebra costumes.\n"
    )


@pytest.fixture(scope="module")
def canary() -> Iterator[str]:
    """A loopback web server that records requests; its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the app's corpus and index."""
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="module")
def app_url(app_dir: Path, canary: str) -> Iterator[str]:
    """The app, started headless on a free port over a corpus of two documents."""
    base = app_dir
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "tokayev-visit.de.txt", corpus)
    (corpus / "zebras.txt").write_text(hostile_text(canary), encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "ASSISTANT_INDEX": str(base / "index"),
        "ASSISTANT_CORPUS": str(corpus),
        "ASSISTANT_ALLOW_PRIVATE_URLS": "true",  # the hostile web server is on loopback
        # an LLM answer (one test switches to a fake one) is flagged unless nearly verbatim
        "ASSISTANT_SUPPORT_THRESHOLD": "0.99",
        "ASSISTANT_SUPPORT_THRESHOLD_CROSSLINGUAL": "0.99",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("ASSISTANT_ADMIN_PASSWORD", None)
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false"]  # fmt: skip
    log = (base / "streamlit.log").open("w")
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def wait_healthy(url: str, proc: subprocess.Popen[Any], seconds: float = 60) -> None:
    """Until Streamlit answers its health check (or fail if it exits or takes too long)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not start within {seconds} s")


@pytest.fixture(scope="module")
def page(app_url: str) -> Iterator[Page]:
    """One browser tab on the app, shared by the tests in order (one conversation)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        tab = browser.new_page(viewport={"width": 1200, "height": 1300})
        tab.set_default_timeout(WAIT_MS)
        tab.goto(app_url)
        expect(tab.get_by_text("2 documents ·")).to_be_visible(timeout=WAIT_MS)
        yield tab
        browser.close()


def ask(page: Page, question: str) -> Any:
    """Ask on the chat page in a new conversation; the reply once its answer is shown."""
    page.get_by_role("button", name="New conversation").click()
    messages = page.locator('[data-testid="stChatMessage"]')
    expect(messages).to_have_count(0)
    box = page.get_by_placeholder("Ask about your articles")
    box.fill(question)
    box.press("Enter")
    expect(messages).to_have_count(2)
    reply = messages.nth(1)
    expect(
        reply.get_by_text("Sources", exact=True).or_(
            reply.get_by_text("Closest passages", exact=True)
        )
    ).to_be_visible()
    return reply


#: The request the page itself sends to the canary once it has drawn what it shows.
SETTLED = "/settled"


def settled(page: Page, canary: str) -> list[str]:
    """The canary's hits besides ``SETTLED``, once the page has drawn two frames and a
    request it sends after them has reached the canary: any request or handler the shown text
    could set off was started before that one (a positive condition, not a fixed wait)."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.evaluate(f"() => fetch('{canary}{SETTLED}', {{mode: 'no-cors'}}).then(() => null)")
    assert SETTLED in Canary.hits  # the canary was reachable from the page
    return [hit for hit in Canary.hits if hit != SETTLED]


def shoot(page: Page, name: str) -> None:
    """A screenshot of the whole page (Streamlit scrolls inside its main block, so the
    viewport is first grown to the content's height)."""
    height = page.evaluate(
        "document.querySelector('[data-testid=stMainBlockContainer]').scrollHeight"
    )
    size = page.viewport_size or {"width": 1200, "height": 1300}
    page.set_viewport_size({"width": size["width"], "height": max(int(height) + 160, 800)})
    page.wait_for_timeout(500)
    page.screenshot(path=SHOTS / name)
    page.set_viewport_size(size)


def test_chat_answers_with_markers_and_highlighted_sources(page: Page) -> None:
    reply = ask(page, "What do experts expect from the visit?")

    expect(reply).to_contain_text("[1]")
    expect(reply.locator("mark").first).to_be_visible()
    expect(reply).to_contain_text("Tokayev visit")
    expect(reply.get_by_text("tokayev-visit.de.txt").first).to_be_visible()
    shoot(page, "chat.png")


def test_an_uploaded_file_is_answered_from(page: Page, tmp_path: Path) -> None:
    article = tmp_path / "llama parade.txt"
    article.write_text(LLAMAS, encoding="utf-8")
    page.get_by_role("link", name="Library").click()
    expect(page.get_by_role("heading", name="Library")).to_be_visible()

    page.locator('input[type="file"]').set_input_files(article)
    expect(page.get_by_text("llama parade.txt")).to_be_visible()
    page.get_by_role("button", name="Add the files").click()
    expect(page.get_by_text("1 added, 0 updated, 0 unchanged", exact=True)).to_be_visible()
    expect(page.get_by_text("3 documents")).to_be_visible()
    shoot(page, "library.png")

    page.get_by_role("link", name="Chat").click()
    reply = ask(page, "Where does the llama parade start?")
    expect(reply).to_contain_text("old stone bridge")
    expect(reply.get_by_text("llama_parade.txt").first).to_be_visible()


def test_a_hostile_document_runs_no_script_and_loads_nothing(page: Page, canary: str) -> None:
    Canary.hits.clear()
    reply = ask(page, "When do the zebras dance?")

    expect(reply).to_contain_text("<script>window.pwned = 1")  # shown as text
    expect(reply).to_contain_text("onerror=")
    expect(reply).to_contain_text("![zebra](")
    hits = settled(page, canary)
    shoot(page, "hostile.png")
    assert all(frame.evaluate("typeof window.pwned") == "undefined" for frame in page.frames)
    assert reply.locator("img, script").count() == 0
    assert hits == []


def test_the_settings_and_evaluation_pages_open(page: Page) -> None:
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    expect(page.get_by_text("Passages retrieved per question (k)")).to_be_visible()
    shoot(page, "settings.png")

    page.get_by_role("link", name="Evaluation").click()
    expect(page.get_by_role("heading", name="Evaluation")).to_be_visible()
    expect(page.get_by_text("Upload a question set")).to_be_visible()
    expect(page.get_by_text("open to everyone who can reach the app")).to_be_visible()
    shoot(page, "evaluation.png")


def test_outside_text_in_errors_titles_and_warnings_loads_nothing(
    page: Page, canary: str, app_dir: Path
) -> None:
    """A server's reason phrase (Library error), a page's title (progress, status, list) and
    an LLM sentence flagged as unsupported (st.warning) are shown as text: no request."""
    from fake_llm_server import FakeLLMServer

    Canary.hits.clear()
    page.get_by_role("link", name="Library").click()
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    page.get_by_role("tab", name="Add a web page").click()
    box = page.get_by_placeholder("https://…")
    box.fill(f"{canary}/titled")
    page.get_by_role("button", name="Fetch and add").click()
    expect(page.get_by_text("Adding the web page: 1 added, 0 updated")).to_be_visible()
    box.fill(f"{canary}/bad-reason")
    page.get_by_role("button", name="Fetch and add").click()
    error = page.get_by_text("the server answered 404 Gone")
    expect(error).to_contain_text(":red[red] [link](")  # the reason phrase, as text
    shoot(page, "hostile-library.png")

    reply = "Penguins fly to the moon every winter ![w]({}/warning.png) :red[red] [1]."
    llm = FakeLLMServer(lambda body: reply.format(canary))
    prefs = app_dir / "index" / "ui-settings.json"
    prefs.write_text(json.dumps({"answerer": "openai", "llm_model": "fake",
                                 "llm_base_url": f"{llm.url}/v1"}), encoding="utf-8")  # fmt: skip
    try:
        page.get_by_role("link", name="Chat").click()
        answer = ask(page, "When do the zebras dance?")
        expect(answer.get_by_text("Not supported by its sources")).to_be_visible()
        expect(answer.get_by_text("Penguins fly to the moon").first).to_be_visible()
    finally:
        prefs.unlink()
        llm.close()
    hits = settled(page, canary)
    shoot(page, "hostile-warning.png")
    assert llm.requests, "the LLM answered"
    assert sorted(set(hits)) == ["/bad-reason", "/titled"]  # the app's own fetches
