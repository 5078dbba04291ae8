"""A local HTTP server that speaks the wire protocols of an OpenAI-compatible server
(``/v1/chat/completions``, JSON and SSE streaming) and of Ollama (``/api/chat``, NDJSON).

It stands in for a real LLM server, which cannot run here: the answer it sends is written by
the test (a function of the request), and every request body it receives is recorded, so a
test can check exactly what the model was given.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], str]


def pieces(text: str) -> list[str]:
    """The reply cut into token-like pieces (words with their following blanks)."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


class FakeLLMServer:
    """Serves on 127.0.0.1 on a free port until ``close``; ``requests`` holds the bodies."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The server's base URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                text = server.reply(body)
                if self.path == "/v1/chat/completions":
                    self._openai(body, text)
                elif self.path == "/api/chat":
                    self._ollama(body, text)
                else:
                    self.send_error(404)

            def _openai(self, body: dict[str, Any], text: str) -> None:
                base = {"id": "cmpl-1", "created": int(time.time()), "model": body["model"]}
                if not body.get("stream"):
                    message = {"role": "assistant", "content": text}
                    choice = {"index": 0, "message": message, "finish_reason": "stop"}
                    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
                    out = base | {"object": "chat.completion", "choices": [choice]}
                    self._send("application/json", [json.dumps(out | {"usage": usage})])
                    return
                chunks = [{"role": "assistant", "content": ""}] + [
                    {"content": p} for p in pieces(text)
                ]
                events = [
                    base | {"object": "chat.completion.chunk",
                            "choices": [{"index": 0, "delta": d, "finish_reason": None}]}
                    for d in chunks
                ]  # fmt: skip
                events.append(
                    base | {"object": "chat.completion.chunk",
                            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                )  # fmt: skip
                lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
                self._send("text/event-stream", lines)

            def _ollama(self, body: dict[str, Any], text: str) -> None:
                base = {"model": body["model"], "created_at": "2026-01-01T00:00:00Z"}
                done = base | {
                    "message": {"role": "assistant", "content": ""},
                    "done": True, "done_reason": "stop", "total_duration": 1,
                    "prompt_eval_count": 1, "eval_count": 1,
                }  # fmt: skip
                if body.get("stream") is False:
                    done["message"]["content"] = text
                    self._send("application/json", [json.dumps(done)])
                    return
                lines = [
                    json.dumps(base | {"message": {"role": "assistant", "content": p},
                                       "done": False}) + "\n"
                    for p in pieces(text)
                ] + [json.dumps(done) + "\n"]  # fmt: skip
                self._send("application/x-ndjson", lines)

            def _send(self, content_type: str, parts: list[str]) -> None:
                data = "".join(parts).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
