"""The CLI's status, session state and rate limits, with their history."""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any, NamedTuple

from rxclaude.handlers.base import BuiltinHandler
from rxclaude.messages import (
    Kind,
    Message,
    RateLimitEventMessage,
    StatusMessage,
    SystemMessage,
)


class StatusChange(NamedTuple):
    """A status report: ``source`` is ``status``, ``session_state`` or ``rate_limit``."""

    at: datetime
    source: str
    value: str | None
    message: Message


class StatusHandler(BuiltinHandler):
    """The CLI's status (``requesting``, ``compacting``, idle), session state, rate limits.

    Args:
        keep: changes kept in ``history`` (the most recent; ``None`` keeps all).
    """

    kinds = (Kind.STATUS,)

    def __init__(self, *, priority: int = 0, keep: int | None = 100) -> None:
        super().__init__(priority=priority)
        self._current: str | None = None
        self._session_state: str | None = None
        self._rate_limit: Message | None = None
        self._history: deque[StatusChange] = deque(maxlen=keep)

    def handle(self, message: Message) -> None:
        if isinstance(message, StatusMessage):
            source, value = "status", message.status
        elif isinstance(message, RateLimitEventMessage):
            source, value = "rate_limit", message.status
        elif isinstance(message, SystemMessage) and message.subtype == "session_state_changed":
            state = message.raw.get("state")
            source, value = "session_state", state if isinstance(state, str) else None
        else:
            return
        if source == "status":
            self._current = value
        elif source == "session_state":
            self._session_state = value
        else:
            self._rate_limit = message
        self._history.append(StatusChange(message.received_at, source, value, message))

    @property
    def current(self) -> str | None:
        """The latest ``system/status`` value; ``None`` when idle (or none seen)."""
        return self._current

    @property
    def session_state(self) -> str | None:
        """The latest ``session_state_changed`` state (``idle``, ``running``, …)."""
        return self._session_state

    @property
    def rate_limit(self) -> dict[str, Any] | None:
        """The latest ``rate_limit_info`` (``status``, ``resetsAt``, …)."""
        latest = self._rate_limit
        if isinstance(latest, RateLimitEventMessage):
            return dict(latest.rate_limit_info)
        return None

    @property
    def history(self) -> list[StatusChange]:
        """Status changes, oldest first."""
        return list(self._history)


__all__ = ["StatusChange", "StatusHandler"]
