"""Every error in the stream, described and kept.

Parse and handler errors, failed turns, API errors and retries, failed tool results, failed
control requests and API ``error`` events: whatever :func:`~rxclaude.messages.kinds_of`
calls ERROR.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from typing import NamedTuple

from rxclaude.handlers.base import BuiltinHandler
from rxclaude.messages import (
    ApiRetryMessage,
    AssistantMessage,
    ControlResponseMessage,
    Kind,
    Message,
    ParseError,
    ResultMessage,
    StreamEventMessage,
    UserMessage,
    kinds_of,
)
from rxclaude.routing.errors import HandlerError


class ErrorRecord(NamedTuple):
    """One error seen in the stream.

    ``source`` is ``parse`` (a :class:`~rxclaude.messages.ParseError`), ``handler`` (a
    :class:`~rxclaude.routing.HandlerError`), ``result`` (a failed turn), ``api_retry``,
    ``api_error`` (the CLI's synthetic assistant message), ``tool_result``, ``control``
    (a failed control request) or ``stream`` (an API ``error`` event).
    """

    source: str
    description: str
    message: Message


class ErrorHandler(BuiltinHandler):
    """Collects every error: parse and handler errors, failed turns, API and tool errors.

    A ``user`` frame with several failed tool results makes one record per result.
    Messages that are not errors (see :func:`~rxclaude.routing.kinds_of`) are ignored.

    Args:
        keep: records kept in ``errors`` (the most recent; ``None`` keeps all). Each holds
            its message, so the default is short.
    """

    kinds = (Kind.ERROR,)

    def __init__(self, *, priority: int = 0, keep: int | None = 100) -> None:
        super().__init__(priority=priority)
        self._errors: deque[ErrorRecord] = deque(maxlen=keep)
        self._by_source: Counter[str] = Counter()

    def handle(self, message: Message) -> None:
        if Kind.ERROR not in kinds_of(message):
            return
        records = [ErrorRecord(source, text, message) for source, text in _describe(message)]
        with self._lock:
            self._errors.extend(records)
            self._by_source.update(record.source for record in records)

    @property
    def errors(self) -> list[ErrorRecord]:
        """The errors, oldest first."""
        with self._lock:
            return list(self._errors)

    @property
    def count(self) -> int:
        """Errors seen (including those no longer kept)."""
        with self._lock:
            return sum(self._by_source.values())

    @property
    def by_source(self) -> dict[str, int]:
        """Errors seen per ``source``."""
        with self._lock:
            return dict(self._by_source)


def _describe(message: Message) -> list[tuple[str, str]]:
    """``(source, description)`` of each error an error message reports."""
    if isinstance(message, ParseError):
        return [("parse", str(message))]
    if isinstance(message, HandlerError):
        return [("handler", str(message))]
    if isinstance(message, ResultMessage):
        detail = "; ".join(message.errors) or message.result or message.terminal_reason or ""
        return [("result", f"{message.subtype}: {detail}")]
    if isinstance(message, ApiRetryMessage):
        return [
            (
                "api_retry",
                f"attempt {message.attempt} of {message.max_retries} failed "
                f"(HTTP {message.error_status}, {message.error})",
            )
        ]
    if isinstance(message, AssistantMessage) and message.is_api_error:
        return [("api_error", f"{message.error or 'api_error'}: {message.text}")]
    if isinstance(message, UserMessage):
        return [
            ("tool_result", f"{result.tool_use_id}: {result.text}")
            for result in message.tool_results
            if result.is_error
        ]
    if isinstance(message, ControlResponseMessage):
        return [("control", f"request {message.request_id}: {message.error}")]
    if isinstance(message, StreamEventMessage):
        return [("stream", json.dumps(message.event.get("error"), ensure_ascii=False))]
    return [("other", repr(message))]


__all__ = ["ErrorHandler", "ErrorRecord"]
