"""The host's control requests waiting for the CLI's answer, each with its deadline."""

from __future__ import annotations

import threading
from typing import Any

from reactivex import abc
from reactivex.scheduler import TimeoutScheduler

from rxclaude.interactive.protocol import ControlError, ControlTimeoutError, SessionClosedError
from rxclaude.messages import ControlResponseMessage
from rxclaude.messages.control import ControlErrorResponse, ControlSuccessResponse
from rxclaude.messages.fields import JSONObject


class _Pending:
    def __init__(
        self, subtype: str, observer: abc.ObserverBase[JSONObject], timer: abc.DisposableBase
    ) -> None:
        self.subtype, self.observer, self.timer = subtype, observer, timer


class PendingRequests:
    """Each pending request's observer gets the success response's object then the
    completion, or :class:`ControlError`, :class:`ControlTimeoutError` after its timeout,
    or :class:`SessionClosedError` when the CLI ends first; exactly one of them."""

    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    def add(
        self,
        request_id: str,
        subtype: str,
        observer: abc.ObserverBase[JSONObject],
        timeout: float,
    ) -> None:
        def expire(_: abc.SchedulerBase, __: Any = None) -> None:
            pending = self.take(request_id)
            if pending is not None:
                pending.observer.on_error(ControlTimeoutError(subtype, request_id, timeout))

        timer = TimeoutScheduler.singleton().schedule_relative(timeout, expire)
        with self._lock:
            self._pending[request_id] = _Pending(subtype, observer, timer)

    def take(self, request_id: str) -> _Pending | None:
        """Removes the request (its timer too); None if it was not pending."""
        with self._lock:
            pending = self._pending.pop(request_id, None)
        if pending is not None:
            pending.timer.dispose()
        return pending

    def drop(self, request_id: str) -> None:
        """Forgets the request: a late answer is ignored."""
        self.take(request_id)

    def resolve(self, response: ControlResponseMessage) -> None:
        """Hands the CLI's answer to its request (ignored if it timed out or was dropped)."""
        pending = self.take(response.request_id or "")
        if pending is None:
            return
        if isinstance(response, ControlSuccessResponse):
            pending.observer.on_next(response.payload)
            pending.observer.on_completed()
        else:
            code = response.error_code if isinstance(response, ControlErrorResponse) else None
            pending.observer.on_error(ControlError(pending.subtype, response.error or "", code))

    def fail_all(self, cause: Exception | None) -> None:
        """The CLI ended: every pending request fails with :class:`SessionClosedError`."""
        with self._lock:
            request_ids = list(self._pending)
        for request_id in request_ids:
            pending = self.take(request_id)
            if pending is not None:
                closed = SessionClosedError(
                    f"the CLI ended before answering {pending.subtype!r} ({request_id})"
                )
                closed.__cause__ = cause
                pending.observer.on_error(closed)


__all__ = ["PendingRequests"]
