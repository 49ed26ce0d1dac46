"""The sync path of ``route_by_type``: the handlers on the thread that delivers the message.

The per-message hot path: ``on_next`` reads the stream's route table inline, with no call
per message beyond classifying it and running the handlers, and no call at all into a
route that has no handlers. A fused ``measure`` (a :class:`ClassifiedObserver`) gets each
message with the kind mask computed here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeAlias

from reactivex import abc

from rxclaude.messages import Message
from rxclaude.messages.kinds import kind_mask
from rxclaude.routing.errors import HandlerError, HandlerFailedError
from rxclaude.routing.router import Router, _Route, _RouteTable


class ClassifiedObserver(Protocol):
    """What a fused operator implements to receive each message with its kind mask."""

    def on_next_classified(self, message: Message, mask: int) -> None:
        """``message``, with ``mask == kind_mask(message)``."""

    def on_next(self, message: Message) -> None:
        """``message`` unclassified (the async mode's path)."""

    def on_error(self, error: Exception) -> None: ...

    def on_completed(self) -> None: ...


_Callbacks: TypeAlias = tuple[
    Callable[[Message], None],
    Callable[[Exception], None],
    Callable[[], None],
    Callable[[], None],
]
"""``on_next``, ``on_error`` and ``on_completed`` for the source, and a ``stop`` action."""


def sync_stream(
    router: Router,
    table: _RouteTable,
    observer: abc.ObserverBase[Message] | ClassifiedObserver,
    upstream: abc.DisposableBase,
    fatal_errors: bool,
) -> _Callbacks:
    """Handlers on the delivering thread; HandlerErrors right after their message."""
    stopped = False
    by_type = table.by_type
    resolve = table.resolve
    emit = observer.on_next
    # A fused measure takes each message with its kind mask.
    classified: Callable[[Message, int], None] | None = getattr(
        observer, "on_next_classified", None
    )

    def run(message: Message, route: _Route) -> list[HandlerError] | None:
        failures: list[HandlerError] | None = None
        for call, registration in route.calls:
            try:
                call(message)
            except Exception as error:
                if failures is None:
                    failures = []
                failures.append(router._handler_error(error, message, registration))
        return failures

    def deliver(failures: list[HandlerError]) -> None:
        nonlocal stopped
        for failure in failures:
            if stopped:
                return
            if fatal_errors:
                stopped = True
                upstream.dispose()
                observer.on_error(HandlerFailedError(failure))
                return
            nested = None
            if isinstance(failure.message, HandlerError):
                mask = -1
            else:
                route = table.route(failure)
                route.count += 1
                mask = route.mask
                nested = run(failure, route) if route.calls else None
            if classified is None:
                emit(failure)
            else:
                classified(failure, kind_mask(failure) if mask < 0 else mask)
            if nested is not None:
                deliver(nested)

    def on_next(message: Message) -> None:
        if stopped:
            return
        mask = kind_mask(message)
        routes = by_type.get(message.type)
        route = routes[mask] if routes is not None else None
        if route is None:
            route = resolve(message.type, mask)
        route.count += 1
        failures = run(message, route) if route.calls else None
        if classified is None:
            emit(message)
        else:
            classified(message, mask)
        if failures is not None:
            deliver(failures)

    def on_error(error: Exception) -> None:
        if not stopped:
            observer.on_error(error)

    def on_completed() -> None:
        if not stopped:
            observer.on_completed()

    def stop() -> None:
        nonlocal stopped
        stopped = True

    return on_next, on_error, on_completed, stop


__all__ = ["ClassifiedObserver", "sync_stream"]
