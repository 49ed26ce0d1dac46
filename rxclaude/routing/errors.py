"""What routing reports: the :class:`HandlerError` item, and the errors that end a stream.

A handler that raises does not end the stream: its exception becomes a
:class:`HandlerError`, an item in the stream right after the message it failed on. The
:class:`RoutingError` family is what ``route_by_type`` itself ends a stream with.
"""

from __future__ import annotations

from rxclaude.messages import Message
from rxclaude.messages.kinds import Kind, register_kinds
from rxclaude.routing.handler import Handler, RouteKey, handler_name


class HandlerError(Message, kw_only=True, gc=True):
    """A handler raised: an item in the stream, right after the message it failed on.

    ``type`` is ``"handler_error"`` and ``raw`` is ``None``; ``offset`` and
    ``received_at`` are the failed message's, and ``nbytes`` is 0 because the item adds
    no bytes to the stream (byte totals downstream stay exact).

    Attributes:
        error: the exception the handler raised.
        message: the message being handled.
        handler: the handler as registered (callable or handler object).
    """

    type: str = "handler_error"
    raw: None = None
    error: Exception
    message: Message
    handler: Handler

    def __post_init__(self) -> None:
        self.offset = self.message.offset
        self.received_at = self.message.received_at

    def __str__(self) -> str:
        return f"{handler_name(self.handler)} raised {self.error!r} on {self.message!r}"

    def __repr__(self) -> str:
        return f"HandlerError({self})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, HandlerError)
            and other.error is self.error
            and other.handler is self.handler
            and other.message == self.message
        )

    __hash__ = None


register_kinds(HandlerError, (Kind.ERROR,))


class RoutingError(Exception):
    """Base of the errors with which ``route_by_type`` itself ends a stream."""


class HandlerFailedError(RoutingError):
    """Ends the stream of ``route_by_type(..., fatal_errors=True)`` at the first failure.

    ``error`` is the :class:`HandlerError`; the handler's exception is the ``__cause__``.
    """

    def __init__(self, error: HandlerError) -> None:
        super().__init__(str(error))
        self.error = error
        self.__cause__ = error.error


class HandlerAbortedError(RoutingError):
    """Ends an async stream whose handler raised a ``BaseException`` that is no ``Exception``.

    ``SystemExit``, ``KeyboardInterrupt`` and ``GeneratorExit`` ask to stop, not to report:
    they never become a :class:`HandlerError` item. In async mode the stream ends with this
    error (whatever ``fatal_errors``) right after the message the handler was given; no
    handler runs after it. Re-raise ``error`` to act on it (``raise aborted.error`` exits
    with a ``SystemExit``'s code). In sync mode the exception propagates to the caller of
    ``on_next``, as from any code on that thread.

    Attributes:
        error: the exception the handler raised (also the ``__cause__``).
        message: the message being handled.
        handler: the handler as registered.
    """

    def __init__(self, error: BaseException, message: Message, handler: Handler) -> None:
        super().__init__(f"{handler_name(handler)} raised {error!r} on {message!r}")
        self.error = error
        self.message = message
        self.handler = handler
        self.__cause__ = error


class CompletionTimeoutError(RoutingError, TimeoutError):
    """Handlers still ran ``completion_timeout`` seconds after an async stream's source completed.

    The stream ends with this error instead of completing; the handlers still running are
    abandoned as at dispose, and the queued messages are dropped.

    Attributes:
        timeout: the ``completion_timeout`` that ran out, in seconds.
        running: each handler still running (as registered), with its message.
        queued: lane tasks still queued (a message counts once per lane it waits in).
    """

    def __init__(
        self, timeout: float, running: tuple[tuple[Handler, Message], ...], queued: int
    ) -> None:
        handlers = "; ".join(
            f"{handler_name(handler)} on the {message.type!r} message at offset {message.offset}"
            for handler, message in running
        )
        super().__init__(
            f"route_by_type: {len(running)} handler(s) still running {timeout} s after the "
            f"source completed: {handlers or 'none (between two calls)'}; "
            f"{queued} queued task(s) dropped"
        )
        self.timeout = timeout
        self.running = running
        self.queued = queued


class RoutingDeadlockError(RoutingError, RuntimeError):
    """An async handler fed its own source, and waiting for room in a full lane never ends.

    The source's ``on_next`` ran on a worker thread and found lane ``lane`` full, where
    only workers that cannot go on (this one, or workers waiting in turn for it) could make
    room. Instead of waiting forever, the stream ends with this error and that message is
    dropped, as ``backpressure`` does with ``BackpressureDeadlockError``.

    Attributes:
        lane: the route key of the full lane.
        capacity: its ``lane_capacity``.
    """

    def __init__(self, lane: RouteKey, capacity: int) -> None:
        name = str(lane) if isinstance(lane, Kind) else repr(lane)
        super().__init__(
            f"route_by_type: a handler passed a message to its own source, and lane {name} "
            f"is full (lane_capacity={capacity}); only workers that are waiting themselves "
            "could make room, so waiting would deadlock. Raise lane_capacity or max_workers, "
            "or feed the source from another thread."
        )
        self.lane = lane
        self.capacity = capacity


__all__ = [
    "CompletionTimeoutError",
    "HandlerAbortedError",
    "HandlerError",
    "HandlerFailedError",
    "RoutingDeadlockError",
    "RoutingError",
]
