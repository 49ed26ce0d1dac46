"""What a session writes on the CLI's stdin, and the errors of the control protocol.

Every line is one compact JSON object and ``\\n`` (``--input-format stream-json``): a user
turn, a ``control_request`` of the host's, or the ``control_response`` to one of the CLI's.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rxclaude.messages import ClaudeMessage, ContentBlock
from rxclaude.messages.fields import JSONObject
from rxclaude.sources import find_claude

SESSION_FLAGS = ("--input-format", "stream-json", "--output-format", "stream-json", "--verbose")
"""The flags every session's CLI gets."""

PERMISSION_FLAGS = ("--permission-prompt-tool", "stdio")
"""Added when the session answers permission prompts: they come as ``can_use_tool``."""

Content = str | Sequence[Mapping[str, Any] | ContentBlock]
"""A user turn: text, or content blocks (JSON objects or the model's typed blocks)."""


def session_argv(
    claude: str | os.PathLike[str] | Sequence[str] | None,
    args: Sequence[str],
    answers_permissions: bool,
) -> list[str]:
    """The command of a session: ``claude`` (a path, an argument list that starts the CLI,
    or None for :func:`~rxclaude.find_claude`'s), :data:`SESSION_FLAGS`, the
    :data:`PERMISSION_FLAGS` if the host answers permission prompts, then ``args``.

    Raises:
        FileNotFoundError: ``claude`` is None and no CLI was found.
    """
    if claude is None:
        found = find_claude()
        if found is None:
            raise FileNotFoundError("the Claude Code CLI was not found")
        prefix = [found]
    elif isinstance(claude, str | os.PathLike):
        prefix = [os.fspath(claude)]
    else:
        prefix = list(claude)
    permissions = PERMISSION_FLAGS if answers_permissions else ()
    return [*prefix, *SESSION_FLAGS, *permissions, *args]


class ControlError(Exception):
    """The CLI answered a control request with an error response.

    Attributes:
        subtype: the request's subtype.
        error: the CLI's error text.
        error_code: the CLI's code (``unsupported_request``, …), when it gave one.
    """

    def __init__(self, subtype: str, error: str, error_code: str | None = None) -> None:
        code = f" ({error_code})" if error_code else ""
        super().__init__(f"the CLI refused the control request {subtype!r}{code}: {error}")
        self.subtype, self.error, self.error_code = subtype, error, error_code


class ControlTimeoutError(TimeoutError):
    """The CLI did not answer a control request in time."""

    def __init__(self, subtype: str, request_id: str, timeout: float) -> None:
        super().__init__(
            f"the CLI did not answer the control request {subtype!r} ({request_id}) "
            f"within {timeout:g} s"
        )
        self.subtype, self.request_id, self.timeout = subtype, request_id, timeout


class SessionClosedError(RuntimeError):
    """The session is not started, was closed, or its CLI ended: the operation cannot
    finish."""


@dataclass(frozen=True)
class ControlEvent:
    """One control frame, either way: ``received`` from the CLI or ``sent`` to it.

    ``message`` is the typed frame (:func:`~rxclaude.messages.control.typed_control`);
    ``at`` is ``time.perf_counter()`` when it was decoded or handed to the stdin writer.
    """

    direction: Literal["received", "sent"]
    message: ClaudeMessage
    at: float


def encode(frame: JSONObject) -> bytes:
    """One stdin line: compact JSON, ASCII only (no U+2028 surprises), and ``\\n``."""
    return (json.dumps(frame, separators=(",", ":")) + "\n").encode("ascii")


def user_turn(content: Content, session_id: str = "default") -> JSONObject:
    """A user turn frame for ``content``."""
    if isinstance(content, str):
        body: Any = content
    else:
        body = [block.raw if isinstance(block, ContentBlock) else dict(block) for block in content]
    return {
        "type": "user",
        "message": {"role": "user", "content": body},
        "parent_tool_use_id": None,
        "session_id": session_id,
    }


def success_response(request_id: str, payload: JSONObject) -> JSONObject:
    """The answer to a CLI request that the host handled."""
    response = {"subtype": "success", "request_id": request_id, "response": payload}
    return {"type": "control_response", "response": response}


def error_response(request_id: str, error: str) -> JSONObject:
    """The answer to a CLI request the host cannot or would not handle."""
    response = {"subtype": "error", "request_id": request_id, "error": error}
    return {"type": "control_response", "response": response}


class RequestIds:
    """``req_1_<prefix>``, ``req_2_<prefix>``, …: ids for the host's control requests."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            return f"req_{next(self._counter)}_{self._prefix}"


def control_request(request_id: str, subtype: str, fields: Mapping[str, Any]) -> JSONObject:
    """A host's control request frame."""
    return {
        "type": "control_request",
        "request_id": request_id,
        "request": {"subtype": subtype, **fields},
    }


__all__ = [
    "PERMISSION_FLAGS",
    "SESSION_FLAGS",
    "Content",
    "ControlError",
    "ControlEvent",
    "ControlTimeoutError",
    "RequestIds",
    "SessionClosedError",
    "control_request",
    "encode",
    "error_response",
    "session_argv",
    "success_response",
    "user_turn",
]
