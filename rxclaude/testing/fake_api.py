"""A fake Anthropic Messages API on 127.0.0.1, serving one scenario to the real CLI.

``POST /v1/messages`` (any query string; the CLI adds ``?beta=true``) is answered from the
scenario (see :mod:`rxclaude.testing.scenario`): an SSE stream, a JSON message or an API error.
Anything else gets a 404 error body. Every request is appended to the request log as one
JSON line: method, path, status, the step it was answered from, whether it asked for a
stream, and its JSON body.

Stdlib only: the launcher runs it inside the network namespace.
"""

from __future__ import annotations

import contextlib
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .scenario import STALL_LIMIT, APIError, NotStreamed, Reply, Scenario, Streamed

LOOPBACK = "127.0.0.1"

_POLL_INTERVAL = 0.05
"""Seconds between the server loop's checks for ``shutdown`` (it delays the launcher's exit)."""

_NOT_FOUND = APIError(404, "not_found_error", "the fake API only serves POST /v1/messages")


class FakeAPI:
    """Serves ``scenario`` on ``127.0.0.1`` (port 0: the OS picks one) from a thread.

    Use as a context manager, or call :meth:`start` and :meth:`close`.

    Raises:
        ValueError: ``host`` is not ``127.0.0.1``: the server never listens elsewhere.
    """

    def __init__(self, scenario: Scenario, request_log: Path, *, host: str = LOOPBACK) -> None:
        if host != LOOPBACK:
            raise ValueError(f"the fake API binds {LOOPBACK} only, not {host!r}")
        self.scenario = scenario
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), _handler_class(self))
        self._log = request_log.open("a", encoding="utf-8")
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(_POLL_INTERVAL,), name="fake-api", daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL for ``ANTHROPIC_BASE_URL``."""
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def start(self) -> FakeAPI:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        with self._lock:
            self._log.close()

    def __enter__(self) -> FakeAPI:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    def reply_to(self, method: str, path: str, body: Any) -> tuple[Reply, dict[str, Any]]:
        """The reply to a request, and the request's log record."""
        record: dict[str, Any] = {"method": method, "path": path, "step": None, "stream": None}
        reply: Reply = _NOT_FOUND
        if method == "POST" and path.split("?", 1)[0] == "/v1/messages" and isinstance(body, dict):
            messages = body.get("messages")
            position = sum(
                1
                for message in (messages if isinstance(messages, list) else ())
                if isinstance(message, dict) and message.get("role") == "assistant"
            )
            streaming = body.get("stream") is True
            record.update(step=position, stream=streaming)
            reply = self._scripted_reply(position, streaming)
        record["status"] = reply.status if isinstance(reply, APIError) else 200
        record["body"] = body
        return reply, record

    def _scripted_reply(self, position: int, streaming: bool) -> Reply:
        steps = self.scenario.steps
        if position >= len(steps):
            return APIError(
                400,
                "invalid_request_error",
                f"scenario {self.scenario.name!r} has no step {position}",
            )
        step = steps[position]
        reply = step.streaming if streaming else step.non_streaming
        if reply is None:
            return APIError(
                400,
                "invalid_request_error",
                f"scenario {self.scenario.name!r} has no non-streaming reply at step {position}",
            )
        return reply

    def log(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._log.write(json.dumps(record) + "\n")
            self._log.flush()


def _handler_class(api: FakeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """The request log replaces the default stderr lines."""

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", errors="replace")
            reply, record = api.reply_to(self.command, self.path, body)
            api.log(record)
            if isinstance(reply, Streamed):
                self._stream(reply)
            elif isinstance(reply, NotStreamed):
                self._json(HTTPStatus.OK, reply.message.body())
            else:
                self._json(reply.status, reply.body())

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def do_HEAD(self) -> None:
            _, record = api.reply_to(self.command, self.path, None)
            api.log(record)
            self.send_response(HTTPStatus.NOT_FOUND)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _json(self, status: int, body: dict[str, Any]) -> None:
            encoded = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.send_header("request-id", "req_fake")
            self.end_headers()
            self.wfile.write(encoded)

        def _stream(self, reply: Streamed) -> None:
            """The events, then the end of the connection (it delimits the body)."""
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.send_header("request-id", "req_fake")
            self.end_headers()
            self.close_connection = True
            for name, data in reply.events():
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
            if reply.stall_after is not None:
                self._hold_until_closed()

        def _hold_until_closed(self) -> None:
            """Waits for the client to close the connection (end of file or a reset)."""
            self.connection.settimeout(STALL_LIMIT)
            with contextlib.suppress(OSError):
                while self.connection.recv(4096):
                    pass

    return Handler
