"""The ``result`` frame that ends each turn: text, error, cost, turns."""

from __future__ import annotations

import threading
from collections import deque

from rxclaude.handlers.base import BuiltinHandler
from rxclaude.messages import Kind, Message, ResultMessage


class CompleteHandler(BuiltinHandler):
    """The final ``result`` of each turn: text, error, cost, turns.

    The properties describe the latest result; ``results`` keeps the last ``keep``.
    ``wait(timeout)`` blocks until a result has arrived.
    """

    kinds = (Kind.COMPLETE,)

    def __init__(self, *, priority: int = 0, keep: int | None = 100) -> None:
        super().__init__(priority=priority)
        self._results: deque[ResultMessage] = deque(maxlen=keep)
        self._last: ResultMessage | None = None
        self._arrived = threading.Event()

    def handle(self, message: Message) -> None:
        if isinstance(message, ResultMessage):
            with self._lock:
                self._results.append(message)
                self._last = message
            self._arrived.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a result; True once one has arrived, False on timeout."""
        return self._arrived.wait(timeout)

    @property
    def last(self) -> ResultMessage | None:
        """The latest ``result`` frame."""
        return self._last

    @property
    def results(self) -> list[ResultMessage]:
        """The kept ``result`` frames, oldest first."""
        with self._lock:
            return list(self._results)

    @property
    def completed(self) -> bool:
        """True once a result has arrived."""
        return self._last is not None

    @property
    def result(self) -> str | None:
        """The final text (success subtype only)."""
        last = self._last
        return last.result if last is not None else None

    @property
    def is_error(self) -> bool:
        """True when the latest turn failed."""
        last = self._last
        return last.is_error if last is not None else False

    @property
    def subtype(self) -> str | None:
        """``success`` or an error subtype (``error_max_turns``, …)."""
        last = self._last
        return last.subtype if last is not None else None

    @property
    def errors(self) -> list[str]:
        """The error descriptions of an error subtype."""
        last = self._last
        return last.errors if last is not None else []

    @property
    def cost_usd(self) -> float | None:
        """The session's estimated cost so far, as the latest result reports it."""
        last = self._last
        return last.total_cost_usd if last is not None else None

    @property
    def num_turns(self) -> int | None:
        """Model round-trips of the latest turn."""
        last = self._last
        return last.num_turns if last is not None else None

    @property
    def duration_ms(self) -> float | None:
        """Wall time of the latest turn."""
        last = self._last
        return last.duration_ms if last is not None else None


__all__ = ["CompleteHandler"]
