"""Tool calls paired with their results: name, input, duration, error."""

from __future__ import annotations

import json
from collections import deque
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from rxclaude.handlers.base import BuiltinHandler, bound
from rxclaude.messages import AssistantMessage, Kind, Message, ResultMessage, UserMessage
from rxclaude.messages.content import (
    SERVER_TOOL_RESULT_SUFFIX,
    TOOL_USE_BLOCK_TYPES,
    ServerToolResultBlock,
    ToolResultBlock,
    ToolUseBlock,
)


class ToolCall(NamedTuple):
    """One tool call and, once it has arrived, its result.

    Times are the ``received_at`` of the frames carrying the ``tool_use`` and the result.
    A result whose ``tool_use`` was never seen has ``name=None`` and ``started_at=None``;
    a call given up as unanswered has no result, and ``finished_at=None``.
    """

    id: str
    name: str | None
    input: dict[str, Any]
    started_at: datetime | None
    parent_tool_use_id: str | None = None
    finished_at: datetime | None = None
    result_text: str | None = None
    is_error: bool | None = None

    @property
    def finished(self) -> bool:
        """True once the result has arrived."""
        return self.finished_at is not None

    @property
    def duration(self) -> timedelta | None:
        """From the ``tool_use`` to its result (``None`` while running or if unpaired)."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class ToolUseHandler(BuiltinHandler):
    """Pairs each ``tool_use`` block with its ``tool_result``: name, input, duration, error.

    Client tools are answered by ``tool_result`` blocks in ``user`` frames; server tools
    (``server_tool_use``) by ``*_tool_result`` blocks in later ``assistant`` frames.
    Subagents' calls are included (``parent_tool_use_id`` names the subagent's call).

    A call is given up as unanswered when it is a main-conversation call still running as
    its session's ``result`` arrives (the turn ended without answering it: the handler is
    registered under COMPLETE too), or the oldest of more than ``keep_running`` running
    calls. It then leaves ``running`` for ``calls``, unfinished, and counts in
    ``unanswered_calls``; a result arriving for it later counts as unpaired.

    Args:
        keep: finished and given-up calls kept in ``calls`` (the most recent; ``None``
            keeps all).
        keep_running: running calls kept at most (``None``: no bound).
        result_chars: results are cut to this many characters (``None``: never cut).
    """

    kinds = (Kind.TOOL_USE, Kind.COMPLETE)

    def __init__(
        self,
        *,
        priority: int = 0,
        keep: int | None = 1000,
        keep_running: int | None = 1000,
        result_chars: int | None = 4096,
    ) -> None:
        super().__init__(priority=priority)
        self._result_chars = result_chars
        self._keep_running = bound("keep_running", keep_running)
        self._running: dict[str, ToolCall] = {}
        self._session_of_main_call: dict[str, str | None] = {}
        self._finished: deque[ToolCall] = deque(maxlen=keep)
        self._started_by_name: dict[str, int] = {}
        self._count = 0
        self._error_count = 0
        self._unpaired_results = 0
        self._unanswered_calls = 0

    def handle(self, message: Message) -> None:
        if isinstance(message, ResultMessage):
            self._end_turn(message.session_id)
            return
        if not isinstance(message, AssistantMessage | UserMessage):
            return
        content = message.message.get("content")
        if not isinstance(content, list):
            return
        for raw in content:
            block_type = raw.get("type") if isinstance(raw, dict) else None
            if not isinstance(block_type, str):
                continue
            if block_type == "tool_result":
                result = ToolResultBlock(raw)
                self._finish(message, result.tool_use_id, result.text, result.is_error)
            elif block_type in TOOL_USE_BLOCK_TYPES:
                self._start(message, ToolUseBlock(raw))
            elif block_type.endswith(SERVER_TOOL_RESULT_SUFFIX):
                server_result = ServerToolResultBlock(raw)
                payload = server_result.content
                failed = isinstance(payload, dict) and str(payload.get("type")).endswith("_error")
                self._finish(message, server_result.tool_use_id, _as_text(payload), failed)

    def _start(self, message: Message, block: ToolUseBlock) -> None:
        name = block.name
        call = ToolCall(
            block.id or "", name, block.input, message.received_at, message.parent_tool_use_id
        )
        self._running[call.id] = call
        if call.parent_tool_use_id is None:
            self._session_of_main_call[call.id] = message.session_id
        self._count += 1
        self._started_by_name[name or ""] = self._started_by_name.get(name or "", 0) + 1
        if self._keep_running is not None and len(self._running) > self._keep_running:
            self._give_up(next(iter(self._running)))

    def _end_turn(self, session: str | None) -> None:
        """Give up the session's main-conversation calls: its turn ended without answers."""
        for call_id, call_session in list(self._session_of_main_call.items()):
            if call_session == session:
                self._give_up(call_id)

    def _give_up(self, call_id: str) -> None:
        """Move a running call to the finished ones, unanswered."""
        with self._lock:
            self._finished.append(self._running.pop(call_id))
        self._session_of_main_call.pop(call_id, None)
        self._unanswered_calls += 1

    def _finish(self, message: Message, call_id: str | None, text: str, failed: bool) -> None:
        if self._result_chars is not None:
            text = text[: self._result_chars]
        started = self._running.get(call_id or "")
        if started is None:
            self._unpaired_results += 1
            started = ToolCall(call_id or "", None, {}, None, message.parent_tool_use_id)
        finished = ToolCall(
            started.id,
            started.name,
            started.input,
            started.started_at,
            started.parent_tool_use_id,
            message.received_at,
            text,
            failed,
        )
        with self._lock:  # readers must never see the call in neither list, nor in both
            self._running.pop(finished.id, None)
            self._finished.append(finished)
        self._session_of_main_call.pop(finished.id, None)
        self._error_count += failed

    @property
    def calls(self) -> list[ToolCall]:
        """Finished and given-up calls in the order they ended, then running ones."""
        with self._lock:
            return [*self._finished, *self._running.values()]

    @property
    def running(self) -> list[ToolCall]:
        """Calls still waiting for their result, in start order."""
        with self._lock:
            return list(self._running.values())

    @property
    def count(self) -> int:
        """Tool calls started."""
        return self._count

    @property
    def error_count(self) -> int:
        """Results that reported an error."""
        return self._error_count

    @property
    def unpaired_results(self) -> int:
        """Results whose ``tool_use`` was never seen (or was given up)."""
        return self._unpaired_results

    @property
    def unanswered_calls(self) -> int:
        """Calls given up as unanswered."""
        return self._unanswered_calls

    @property
    def by_name(self) -> dict[str, int]:
        """Calls started per tool name."""
        return dict(self._started_by_name)


def _as_text(content: object) -> str:
    if isinstance(content, str):
        return content
    return "" if content is None else json.dumps(content, ensure_ascii=False)


__all__ = ["ToolCall", "ToolUseHandler"]
