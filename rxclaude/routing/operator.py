"""``route_by_type``, the operator: its arguments, and its output.

In sync mode the handlers run on the thread that delivers the message
(:mod:`rxclaude.routing.sync_stream`, the per-message hot path); the async path (worker
lanes) is in :mod:`rxclaude.routing.async_stream`.

The output is a :class:`RoutedObservable`: ``measure`` placed right after it subscribes
through :meth:`RoutedObservable.subscribe_classified` and gets each message with the kind
mask routing computed for it, so that no message is classified twice; everything else
subscribes the usual way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, TypeAlias

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable, SingleAssignmentDisposable

from rxclaude.messages import Message
from rxclaude.routing.async_stream import _AsyncRouting
from rxclaude.routing.router import Router
from rxclaude.routing.sync_stream import ClassifiedObserver, sync_stream

Mode = Literal["sync", "async"]


_Connect: TypeAlias = Callable[
    [abc.ObserverBase[Message] | ClassifiedObserver, abc.SchedulerBase | None],
    abc.DisposableBase,
]


class RoutedObservable(Observable[Message]):
    """``route_by_type``'s output: an Observable that can also hand a fused operator each
    message together with its kind mask (:meth:`subscribe_classified`)."""

    def __init__(self, connect: _Connect) -> None:
        super().__init__(connect)
        self._connect = connect

    def subscribe_classified(
        self, observer: ClassifiedObserver, *, scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        """Subscribe ``observer``: the same items and signals as ``subscribe`` gives, in
        sync mode through ``on_next_classified``."""
        return self._connect(observer, scheduler)


def route_by_type(
    router: Router,
    *,
    mode: Mode = "sync",
    scheduler: abc.SchedulerBase | None = None,
    max_workers: int = 4,
    lane_capacity: int = 256,
    fatal_errors: bool = False,
    dispose_timeout: float = 1.0,
    completion_timeout: float | None = None,
) -> Callable[[Observable[Message]], Observable[Message]]:
    """Run ``router``'s handlers on every message, then pass the message on.

    Every message goes downstream unchanged and in order, so ``measure`` and other
    operators can follow. A handler that raises adds a :class:`HandlerError` item after the
    message (see the module docstring for ordering, modes and errors). In async mode the
    stream can also end with a :class:`RoutingError`: :class:`HandlerAbortedError` (a
    handler raised ``SystemExit`` or the like), :class:`RoutingDeadlockError` (a handler
    fed its own full lane), :class:`CompletionTimeoutError` (``completion_timeout``).

    .. code-block:: text

        messages:  -a--s--r--|      (a: assistant, s: stream_event, r: result)
        route_by_type(router)       handlers run on a, s, r as they pass
        output:    -a--s--r--|

        with a TEXT handler that raises on a:
        output:    -(a,E)--s--r--|  (E: HandlerError about a, right after a)

    Args:
        router: the registrations to apply; they may change while the stream runs.
        mode: ``"sync"`` runs handlers on the delivering thread before passing the message
            on; ``"async"`` runs them on ``max_workers`` threads, one serial lane per
            route key, and passes the message on at once.
        scheduler: handed on to the source when subscribing (by default the
            subscriber's); handlers do not use it.
        max_workers: worker threads of the async pool.
        lane_capacity: async messages queued per lane before the producer waits (or,
            for a handler feeding its own source that could only wait forever, the stream
            ends with :class:`RoutingDeadlockError`).
        fatal_errors: end the stream with :class:`HandlerFailedError` at the first
            handler error instead of passing a :class:`HandlerError` on.
        dispose_timeout: how long disposing an async stream waits, in seconds and in all,
            for the handlers still running (the same bound applies wherever the stream
            stops its workers). Dispose returns within it, plus the time the source takes
            to dispose; a worker whose handler is still running then is abandoned: a daemon
            thread that ends when its handler returns, whose results are ignored. Within
            the bound, no handler runs once dispose has returned.
        completion_timeout: how long, in seconds, the completion of an async stream waits
            for its handlers (and the handlers of the errors they raise); ``None`` waits
            as long as they run. Past it the stream ends with
            :class:`CompletionTimeoutError`, naming the handlers still running, which are
            abandoned as at dispose. An upstream error waits as long, then passes on
            unchanged.

    Raises:
        TypeError: an argument of the wrong type (``bool`` is no ``int``).
        ValueError: a bad ``mode``, a count below 1, a timeout that is negative, NaN or
            infinite.
    """
    if not isinstance(router, Router):
        raise TypeError(f"router must be a Router, not {router!r}")
    if mode not in ("sync", "async"):
        raise ValueError(f'mode must be "sync" or "async", not {mode!r}')
    if scheduler is not None and not isinstance(scheduler, abc.SchedulerBase):
        raise TypeError(f"scheduler must be a reactivex scheduler or None, not {scheduler!r}")
    _check_count("max_workers", max_workers)
    _check_count("lane_capacity", lane_capacity)
    if not isinstance(fatal_errors, bool):
        raise TypeError(f"fatal_errors must be a bool, not {fatal_errors!r}")
    _check_seconds("dispose_timeout", dispose_timeout)
    if completion_timeout is not None:
        _check_seconds("completion_timeout", completion_timeout)

    def operator(source: Observable[Message]) -> Observable[Message]:
        def subscribe(
            observer: abc.ObserverBase[Message] | ClassifiedObserver,
            subscribe_scheduler: abc.SchedulerBase | None = None,
        ) -> abc.DisposableBase:
            table = router._open_table()
            upstream = SingleAssignmentDisposable()
            if mode == "sync":
                on_next, on_error, on_completed, stop = sync_stream(
                    router, table, observer, upstream, fatal_errors
                )
            else:
                routing = _AsyncRouting(
                    router,
                    table,
                    observer,  # type: ignore[arg-type]  # uses on_next/on_error/on_completed
                    upstream,
                    fatal_errors=fatal_errors,
                    max_workers=max_workers,
                    lane_capacity=lane_capacity,
                    dispose_timeout=dispose_timeout,
                    completion_timeout=completion_timeout,
                )
                on_next, on_error, on_completed, stop = (
                    routing.on_next,
                    routing.on_error,
                    routing.on_completed,
                    routing.stop,
                )
            upstream.disposable = source.subscribe(
                on_next, on_error, on_completed, scheduler=scheduler or subscribe_scheduler
            )
            return CompositeDisposable(upstream, Disposable(stop), Disposable(table.close))

        return RoutedObservable(subscribe)

    return operator


def _check_count(name: str, value: int) -> None:
    """``value`` must be an ``int`` (not a ``bool``) of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")


def _check_seconds(name: str, value: float) -> None:
    """``value`` must be a finite number of seconds, at least 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if not 0 <= value < math.inf:
        raise ValueError(f"{name} must be finite and at least 0, not {value!r}")


__all__ = ["ClassifiedObserver", "Mode", "RoutedObservable", "route_by_type"]
