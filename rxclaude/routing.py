"""``route_by_type``: run registered handlers on every message, by frame type and by kind.

A :class:`Router` holds handler registrations. Each registration names a *route key*:

* a frame ``type`` string (``"assistant"``, ``"user"``, ``"system"``, ``"result"``,
  ``"stream_event"``, ``"parse_error"``, ``"handler_error"``, any future type), or ``"*"``
  for every message;
* a semantic :class:`Kind`, computed per message by :func:`kinds_of`:

  ====================================================  ====================================
  message                                               kinds
  ====================================================  ====================================
  ``assistant`` with a ``text`` block                   TEXT
  ``assistant`` with a ``tool_use`` /                   TOOL_USE
  ``server_tool_use`` / ``mcp_tool_use`` block or a
  server ``*_tool_result`` block
  ``assistant`` that is an API error (synthetic         ERROR (plus TEXT: it carries the
  ``<synthetic>`` model, ``is_api_error_message``, or   error text)
  an ``error`` field)
  ``assistant`` with only ``thinking`` blocks           (none)
  ``user`` with a ``tool_result`` block                 TOOL_USE (+ ERROR if one has
                                                        ``is_error``)
  ``user`` prompt (text only)                           (none)
  ``stream_event`` ``content_block_delta`` with a       TEXT, PROGRESS
  ``text_delta``
  ``stream_event`` ``message_stop`` whose frame         TEXT, PROGRESS (streamed text was
  carries ``abandoned_blocks``                          withdrawn)
  ``stream_event`` ``error``                            ERROR, PROGRESS
  any other ``stream_event`` (``message_start``,        PROGRESS
  block start/stop, thinking/signature/
  ``input_json_delta``, ``message_delta``)
  ``system``/``init``                                   SYSTEM, METADATA
  ``system``/``status``, ``session_state_changed``      SYSTEM, STATUS
  ``system``/``api_retry``                              SYSTEM, ERROR
  ``system``/``thinking_tokens``, ``task_progress``     SYSTEM, PROGRESS
  any other ``system`` subtype                          SYSTEM
  ``result``                                            COMPLETE, METADATA (+ ERROR if
                                                        ``is_error``)
  ``rate_limit_event``                                  STATUS
  ``tool_progress``                                     PROGRESS
  ``control_response`` with an error                    ERROR
  :class:`~rxclaude.messages.ParseError`,               ERROR
  :class:`HandlerError`
  anything else (``control_request``, unknown types,    (none: route them by ``type``)
  ``assemble_partials`` items)
  ====================================================  ====================================

  Per-frame ``usage`` does not make an ``assistant`` frame METADATA: it repeats per
  request and is not final; the ``result`` frame carries the totals and the cost.

Ordering. The handlers matched by a message (through its type, ``"*"`` and each of its
kinds) run once each, highest priority first; ties run in registration order. A handler
registered under several matching keys runs once, at its highest matching priority.

Modes. ``mode="sync"`` runs the handlers on the thread that delivers the message, then
passes the message on. ``mode="async"`` hands the message to a bounded pool of worker
threads and passes it on at once; handlers may finish after the message moved on. There
is one serial *lane* per route key, drained by at most one worker at a time, so every
kind's messages are handled in input order. A handler always runs on one lane — the key of
its earliest registration — so it sees its messages in input order and is never called
from two threads at once, and the handlers of one lane run in priority order. When a lane
is full the producer waits: that is backpressure into the operator upstream. The source's
completion (or error) waits for the handlers to finish before it passes on, for at most
``completion_timeout`` seconds if given: a completion then becomes
:class:`CompletionTimeoutError`, naming the handlers still running. Disposing an async
stream drops its queued messages, stops the handlers between two calls and waits up to
``dispose_timeout`` (1 s by default) for the running ones; a handler still running then is
abandoned (its daemon worker ends when it returns, and what it does after is ignored).
A handler may feed the stream's own source. Where the lane it feeds is full and only
workers that are waiting themselves could make room (its own lane, a single worker, workers
waiting for each other's lanes), the stream ends with :class:`RoutingDeadlockError` instead
of hanging; a handler completing its own source completes the stream once the handlers are
done.

Errors. A handler that raises does not end the stream: the exception becomes a
:class:`HandlerError` item, counted on the router, routed to ``"handler_error"``,
``Kind.ERROR`` and ``"*"`` handlers, and passed on right after the message whose handler
failed (in async mode: as soon as the failure is known, never before that message). A
handler failing on a :class:`HandlerError` yields another ``HandlerError`` that is counted
and passed on but not routed again, so an ERROR handler that raises cannot loop. With
``fatal_errors=True`` the first failure ends the stream with :class:`HandlerFailedError`
instead (counted, neither routed nor passed on).

A handler raising a ``BaseException`` that is no ``Exception`` (``SystemExit``,
``KeyboardInterrupt``, ``GeneratorExit``) asks to stop: in sync mode it propagates to the
caller of ``on_next``; in async mode the stream ends with :class:`HandlerAbortedError` right
after the message, and no handler runs after it (counted, neither routed nor passed on). In
async mode, when passing an item on raises on a worker thread (a ``HandlerError`` handed
downstream), the stream ends with that exception; if ending it raises too, the routing stops
and the exception ends that worker through ``threading.excepthook``. No worker dies silently
and nothing waits for a dead one.

Registrations can change while streams run: the router rebuilds its per-key handler lists
under a lock and publishes them copy-on-write, so routing reads them without locking.
Arguments are checked where they are given (``route_by_type``, :meth:`Router.register`,
:meth:`Router.on`), never at the first message.
"""

from __future__ import annotations

import inspect
import itertools
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from types import MethodType
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable, SingleAssignmentDisposable

from rxclaude.messages import Message
from rxclaude.messages.kinds import KIND_SETS, Kind, kind_mask, kinds_of, register_kinds

if TYPE_CHECKING:
    from rxclaude.handlers import DefaultRouter


ALL = "*"
"""The route key that matches every message."""

RouteKey: TypeAlias = Kind | str
"""What a handler is registered under: a :class:`Kind`, a frame type, or ``"*"``."""


class MessageHandler(Protocol):
    """A handler object: ``handle(message)`` plus the ``priority`` it registers with."""

    @property
    def priority(self) -> int:
        """Handlers with a higher priority run first."""
        ...

    def handle(self, message: Message) -> object:
        """Process one message; raising makes a :class:`HandlerError`."""
        ...


Handler: TypeAlias = Callable[[Message], object] | MessageHandler
"""A callable ``handler(message)`` or a :class:`MessageHandler` object."""


def entry_point(handler: Handler) -> Callable[[Message], object]:
    """What to call for ``handler``: its ``handle`` method if it has one, else itself.

    Raises ``TypeError`` if there is nothing to call, or if its signature (where Python
    knows one) cannot take the message as its one positional argument.
    """
    handle = getattr(handler, "handle", None)
    call: Callable[[Message], object]
    if callable(handle):
        call = handle
    elif callable(handler):
        call = handler
    else:
        raise TypeError(f"handler must be callable or have a handle() method: {handler!r}")
    try:
        signature = inspect.signature(call, follow_wrapped=False)
    except (TypeError, ValueError):  # some built-ins have no signature to check
        return call
    try:
        signature.bind(None)
    except TypeError:
        raise TypeError(
            "handler must take the message as its one positional argument: "
            f"{handler_name(handler)}{signature}"
        ) from None
    return call


def _check_priority(priority: object) -> int:
    """``priority`` checked: an ``int`` (not a ``bool``)."""
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise TypeError(f"priority must be an int, not {priority!r}")
    return priority


def _check_key(key: object) -> None:
    if not isinstance(key, Kind | str):
        raise TypeError(f"route key must be a Kind or a frame type string, not {key!r}")


def handler_name(handler: object) -> str:
    """A short readable name for a handler (its qualified name, or its class name)."""
    name = getattr(handler, "__qualname__", None)
    return name if isinstance(name, str) else type(handler).__name__


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


@dataclass(frozen=True)
class RouterStatistics:
    """A snapshot of what a router has routed, over all its streams so far.

    Attributes:
        messages: messages routed (``HandlerError`` items included).
        by_type: messages routed per frame ``type``.
        by_kind: messages routed per :class:`Kind` (a message counts once per kind; every
            kind is present).
        handler_errors: handler calls that raised.
    """

    messages: int
    by_type: dict[str, int]
    by_kind: dict[Kind, int]
    handler_errors: int


_Call: TypeAlias = tuple[Callable[[Message], object], "_Registration"]
"""A handler's bound entry point and the registration it comes from."""


def _identity(handler: object) -> object:
    """What makes two registrations the same handler (bound methods are made afresh)."""
    if isinstance(handler, MethodType):
        return (id(handler.__self__), id(handler.__func__))
    return id(handler)


@dataclass(frozen=True, slots=True)
class _Registration:
    key: RouteKey
    handler: Handler
    call: Callable[[Message], object]
    priority: int
    order: int
    identity: object


@dataclass(frozen=True, slots=True)
class _Plan:
    """The handlers of one (frame type, kinds) combination, in the order they run."""

    calls: tuple[_Call, ...]
    lanes: tuple[tuple[RouteKey, tuple[_Call, ...]], ...]
    """``calls`` grouped by each handler's lane (its earliest registration's key)."""


class _Snapshot:
    """An immutable set of registrations and the plans derived from it (memoised)."""

    def __init__(self, registrations: tuple[_Registration, ...]) -> None:
        self.registrations = registrations
        self._by_key: dict[RouteKey, list[_Registration]] = {}
        self._lane: dict[object, RouteKey] = {}
        for registration in registrations:
            self._by_key.setdefault(registration.key, []).append(registration)
            self._lane.setdefault(registration.identity, registration.key)
        self._plans: dict[tuple[str, int], _Plan] = {}

    def plan(self, frame_type: str, mask: int) -> _Plan:
        plan = self._plans.get((frame_type, mask))
        if plan is None:
            plan = self._plans[(frame_type, mask)] = self._make_plan(frame_type, mask)
        return plan

    def _make_plan(self, frame_type: str, mask: int) -> _Plan:
        keys: list[RouteKey] = [frame_type, ALL, *KIND_SETS[mask]]
        chosen: dict[object, _Registration] = {}
        for key in keys:
            for registration in self._by_key.get(key, ()):
                best = chosen.get(registration.identity)
                if best is None or (registration.priority, -registration.order) > (
                    best.priority,
                    -best.order,
                ):
                    chosen[registration.identity] = registration
        ordered = sorted(chosen.values(), key=lambda r: (-r.priority, r.order))
        calls = tuple((registration.call, registration) for registration in ordered)
        lanes: dict[RouteKey, list[_Call]] = {}
        for call in calls:
            lanes.setdefault(self._lane[call[1].identity], []).append(call)
        return _Plan(calls, tuple((key, tuple(group)) for key, group in lanes.items()))


class _Route:
    """One stream's view of a plan, with the stream's own count of messages routed."""

    __slots__ = ("calls", "count", "frame_type", "lanes", "mask")

    def __init__(self, frame_type: str, mask: int, plan: _Plan) -> None:
        self.frame_type = frame_type
        self.mask = mask
        self.calls = plan.calls
        self.lanes = plan.lanes
        self.count = 0


class _RouteTable:
    """The routes of one subscription, by frame type then kind mask.

    Reads are lock-free; routes are created, and updated when registrations change, under
    the router's lock. Each stream counts into its own routes (one writer per count).
    """

    def __init__(self, router: Router) -> None:
        self.router = router
        self.by_type: dict[str, list[_Route | None]] = {}
        self.routes: list[_Route] = []

    def route(self, message: Message) -> _Route:
        mask = kind_mask(message)
        table = self.by_type.get(message.type)
        route = table[mask] if table is not None else None
        return route if route is not None else self.resolve(message.type, mask)

    def resolve(self, frame_type: str, mask: int) -> _Route:
        with self.router._lock:
            table = self.by_type.get(frame_type)
            if table is None:
                table = self.by_type[frame_type] = [None] * len(KIND_SETS)
            route = table[mask]
            if route is None:
                route = table[mask] = _Route(
                    frame_type, mask, self.router._snapshot.plan(frame_type, mask)
                )
                self.routes.append(route)
            return route

    def close(self) -> None:
        self.router._retire(self)


class Router:
    """Handler registrations by route key, shared by any number of ``route_by_type`` streams.

    Thread-safe: register and unregister at any time, also while streams run and from
    handlers; a change applies from the next message each stream routes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._order = itertools.count()
        self._snapshot = _Snapshot(())
        self._tables: list[_RouteTable] = []
        self._retired: Counter[tuple[str, int]] = Counter()
        self._handler_errors = 0

    @classmethod
    def default(cls) -> DefaultRouter:
        """A router with one of each built-in handler registered (see :mod:`rxclaude.handlers`).

        Their results are readable as ``router.handlers.text.text``,
        ``router.handlers.complete.cost_usd``, and so on.
        """
        from rxclaude.handlers import DefaultRouter  # noqa: PLC0415 (handlers imports us)

        return DefaultRouter()

    def register(self, key: RouteKey, handler: Handler, priority: int | None = None) -> Disposable:
        """Run ``handler`` on every message routed to ``key``.

        Args:
            key: a :class:`Kind`, a frame ``type`` string, or ``"*"`` for every message.
            handler: a callable ``handler(message)``, or an object with ``handle(message)``
                (used in preference when both exist).
            priority: higher runs first; defaults to the handler's ``priority`` attribute
                if it has one that is not ``None``, else 0.

        Returns:
            A disposable that removes this registration.

        Raises:
            TypeError: a bad ``key``; a ``handler`` that cannot take a message (see
                :func:`entry_point`); a ``priority``, or without one the handler's
                ``priority`` attribute, that is not an ``int`` (``bool`` included).
        """
        _check_key(key)
        call = entry_point(handler)
        if priority is None:
            own = getattr(handler, "priority", None)
            priority = 0 if own is None else _check_priority(own)
        else:
            priority = _check_priority(priority)
        registration = _Registration(
            key, handler, call, priority, next(self._order), _identity(handler)
        )
        with self._lock:
            self._publish((*self._snapshot.registrations, registration))

        def remove() -> None:
            self._remove(lambda r: r is registration)

        return Disposable(remove)

    def unregister(self, key: RouteKey, handler: Handler) -> bool:
        """Remove every registration of ``handler`` under ``key``; False if there was none."""
        identity = _identity(handler)
        return self._remove(lambda r: r.key == key and r.identity == identity)

    def on(self, key: RouteKey, *, priority: int = 0) -> Observable[Message]:
        """A hot Observable of the messages routed to ``key`` while it is subscribed.

        Each subscription registers its observer as a handler (with ``priority``) and
        unregisters it when disposed; it never completes, as a router outlives its
        streams. An observer that raises makes a :class:`HandlerError` like any handler.
        ``key`` and ``priority`` are checked here, as :meth:`register` checks them.
        """
        _check_key(key)
        _check_priority(priority)

        def subscribe(
            observer: abc.ObserverBase[Message], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            return self.register(key, observer.on_next, priority)

        return Observable(subscribe)

    def statistics(self) -> RouterStatistics:
        """Counts over every stream this router has routed, running streams included."""
        with self._lock:
            counts = Counter(self._retired)
            for table in self._tables:
                for route in table.routes:
                    counts[(route.frame_type, route.mask)] += route.count
            handler_errors = self._handler_errors
        by_type: Counter[str] = Counter()
        by_kind = dict.fromkeys(Kind, 0)
        for (frame_type, mask), count in counts.items():
            by_type[frame_type] += count
            for kind in KIND_SETS[mask]:
                by_kind[kind] += count
        return RouterStatistics(sum(by_type.values()), dict(by_type), by_kind, handler_errors)

    def _remove(self, matches: Callable[[_Registration], bool]) -> bool:
        with self._lock:
            registrations = self._snapshot.registrations
            kept = tuple(r for r in registrations if not matches(r))
            if len(kept) == len(registrations):
                return False
            self._publish(kept)
            return True

    def _publish(self, registrations: tuple[_Registration, ...]) -> None:
        """Swap in a new snapshot and re-plan every live route (caller holds the lock)."""
        snapshot = self._snapshot = _Snapshot(registrations)
        for table in self._tables:
            for route in table.routes:
                plan = snapshot.plan(route.frame_type, route.mask)
                route.calls = plan.calls
                route.lanes = plan.lanes

    def _open_table(self) -> _RouteTable:
        table = _RouteTable(self)
        with self._lock:
            self._tables.append(table)
        return table

    def _retire(self, table: _RouteTable) -> None:
        with self._lock:
            if table in self._tables:
                self._tables.remove(table)
                for route in table.routes:
                    self._retired[(route.frame_type, route.mask)] += route.count

    def _handler_error(
        self, error: Exception, message: Message, registration: _Registration
    ) -> HandlerError:
        self._count_failure()
        return HandlerError(error=error, message=message, handler=registration.handler)

    def _count_failure(self) -> None:
        with self._lock:
            self._handler_errors += 1


Mode = Literal["sync", "async"]


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
            observer: abc.ObserverBase[Message],
            subscribe_scheduler: abc.SchedulerBase | None = None,
        ) -> abc.DisposableBase:
            table = router._open_table()
            upstream = SingleAssignmentDisposable()
            if mode == "sync":
                on_next, on_error, on_completed, stop = _sync_stream(
                    router, table, observer, upstream, fatal_errors
                )
            else:
                routing = _AsyncRouting(
                    router,
                    table,
                    observer,
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

        return Observable(subscribe)

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


_Callbacks: TypeAlias = tuple[
    Callable[[Message], None],
    Callable[[Exception], None],
    Callable[[], None],
    Callable[[], None],
]
"""``on_next``, ``on_error`` and ``on_completed`` for the source, and a ``stop`` action."""


def _sync_stream(
    router: Router,
    table: _RouteTable,
    observer: abc.ObserverBase[Message],
    upstream: abc.DisposableBase,
    fatal_errors: bool,
) -> _Callbacks:
    """Handlers on the delivering thread; HandlerErrors right after their message."""
    stopped = False
    by_type = table.by_type
    resolve = table.resolve
    emit = observer.on_next

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
            if not isinstance(failure.message, HandlerError):
                route = table.route(failure)
                route.count += 1
                nested = run(failure, route)
            emit(failure)
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
        failures = run(message, route)
        emit(message)
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


_Task: TypeAlias = tuple[Message, tuple[_Call, ...], int]
"""A message, the handlers of one lane to run on it, and its sequence number."""

_Idle: TypeAlias = Literal["idle", "closed", "late"]


class _Worker:
    """A pool thread and what it runs, read for timeout reports and deadlock checks.

    ``lane`` (the lane of its task) and ``waiting_for`` (a full lane its handler waits for)
    change under the pool's lock; ``message`` and ``call`` (the registration whose handler
    is running) are set by the routing's ``run`` without it.
    """

    __slots__ = ("call", "lane", "message", "thread", "waiting_for")

    def __init__(self, target: Callable[[_Worker], None], name: str) -> None:
        self.lane: RouteKey | None = None
        self.waiting_for: RouteKey | None = None
        self.message: Message | None = None
        self.call: _Registration | None = None
        self.thread = threading.Thread(target=target, args=(self,), name=name, daemon=True)


class _Lanes:
    """Serial FIFO lanes drained by a fixed pool of worker threads.

    A lane is run by at most one worker at a time, so its tasks run in order; a worker
    takes one task, then puts the lane back at the end of the ready queue (fairness).
    ``submit`` waits while the lane holds ``capacity`` tasks. If ``run`` raises, the worker
    releases the lane, calls ``crashed`` and lets the exception end the thread.
    """

    def __init__(
        self,
        workers: int,
        capacity: int,
        run: Callable[[_Task, _Worker], None],
        crashed: Callable[[BaseException], None],
    ) -> None:
        self._run = run
        self._crashed = crashed
        self._capacity = capacity
        lock = threading.Lock()
        self._work_ready = threading.Condition(lock)
        self._space_or_idle = threading.Condition(lock)
        self._queues: dict[RouteKey, deque[_Task]] = {}
        self._ready: deque[RouteKey] = deque()
        self._active: set[RouteKey] = set()
        self._unfinished = 0
        self._closed = False
        self._closed_until: float | None = None
        self._workers = [_Worker(self._work, f"rxclaude-route-{n}") for n in range(workers)]
        for worker in self._workers:
            worker.thread.start()
        self._by_thread = {worker.thread.ident: worker for worker in self._workers}

    def submit(self, key: RouteKey, task: _Task, *, wait: bool = True) -> None:
        """Queue ``task`` on lane ``key``; with ``wait``, first wait for room in the lane.

        Raises :class:`RoutingDeadlockError` instead of waiting when that would never end.
        """
        with self._work_ready:
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
            if wait and len(queue) >= self._capacity and not self._closed:
                self._wait_for_room(key, queue)
            if self._closed:
                return
            queue.append(task)
            self._unfinished += 1
            if key not in self._active:
                self._active.add(key)
                self._ready.append(key)
                self._work_ready.notify()

    def _wait_for_room(self, key: RouteKey, queue: deque[_Task]) -> None:
        """Wait while lane ``key`` is full and the pool open (lock held)."""
        waiter = self._current_worker()
        if waiter is not None:
            if self._would_deadlock(waiter, key):
                raise RoutingDeadlockError(key, self._capacity)
            waiter.waiting_for = key
        try:
            while len(queue) >= self._capacity and not self._closed:
                self._space_or_idle.wait()
        finally:
            if waiter is not None:
                waiter.waiting_for = None

    def _would_deadlock(self, waiter: _Worker, key: RouteKey) -> bool:
        """Whether ``waiter`` waiting for room in lane ``key`` would wait forever (lock held).

        Room comes when the lane's next task is taken: after the task of the worker running
        the lane, or, if none does, by any worker not waiting itself. A chain of workers,
        each waiting for the lane of the next, that comes back never moves.
        """
        seen: list[_Worker] = []
        lane = key
        while True:
            owner = next((worker for worker in self._workers if worker.lane == lane), None)
            if owner is None:
                return all(
                    worker is waiter or worker.waiting_for is not None for worker in self._workers
                )
            if owner is waiter or owner in seen:
                return True
            if owner.waiting_for is None:
                return False
            seen.append(owner)
            lane = owner.waiting_for

    def wait_idle(self, deadline: float | None) -> _Idle:
        """Wait until every queued task has run, the pool closes, or ``deadline`` passes."""
        with self._space_or_idle:
            while self._unfinished and not self._closed:
                if deadline is None:
                    self._space_or_idle.wait()
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return "late"
                    self._space_or_idle.wait(left)
            return "closed" if self._closed else "idle"

    def idle(self) -> bool:
        with self._work_ready:
            return self._unfinished == 0

    def on_worker(self) -> bool:
        """Whether the calling thread is one of the pool's workers."""
        return self._current_worker() is not None

    def _current_worker(self) -> _Worker | None:
        """The calling thread's worker record (idents of ended threads are reused)."""
        worker = self._by_thread.get(threading.get_ident())
        return (
            worker if worker is not None and worker.thread is threading.current_thread() else None
        )

    def busy(self) -> tuple[tuple[tuple[Handler, Message], ...], int]:
        """The handlers running, each with its message, and the number of tasks queued."""
        with self._work_ready:
            queued = sum(len(queue) for queue in self._queues.values())
        running = []
        for worker in self._workers:
            call, message = worker.call, worker.message
            if call is not None and message is not None:
                running.append((call.handler, message))
        return tuple(running), queued

    def close(self, timeout: float) -> None:
        """Drop queued tasks and stop the workers once their running task is done.

        Called from outside the pool, waits up to ``timeout`` seconds in all for the
        workers to end, and never past the deadline of an earlier ``close``; a worker still
        running a handler then is abandoned (a daemon thread that ends when its handler
        returns). Called from a worker (a handler, or a
        downstream observer, disposing the stream), it only signals: the workers end by
        themselves, and two workers never join each other.
        """
        with self._work_ready:
            deadline = time.monotonic() + timeout
            if self._closed_until is not None:
                deadline = min(deadline, self._closed_until)
            self._closed_until = deadline
            self._closed = True
            self._queues.clear()
            self._ready.clear()
            self._work_ready.notify_all()
            self._space_or_idle.notify_all()
        if not self.on_worker():
            for worker in self._workers:
                worker.thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self, worker: _Worker) -> None:
        finished: RouteKey | None = None
        while True:
            with self._work_ready:
                if finished is not None:
                    self._release(worker, finished)
                while not self._ready and not self._closed:
                    self._work_ready.wait()
                if self._closed:
                    return
                finished = worker.lane = self._ready.popleft()
                task = self._queues[finished].popleft()
                self._space_or_idle.notify_all()
            try:
                self._run(task, worker)
            except BaseException as error:
                with self._work_ready:
                    self._release(worker, finished)
                self._crashed(error)
                raise

    def _release(self, worker: _Worker, key: RouteKey) -> None:
        """Count ``worker``'s finished task of lane ``key``, queue the lane again (lock held)."""
        worker.lane = None
        self._unfinished -= 1
        if self._queues.get(key):
            self._ready.append(key)
        else:
            self._active.discard(key)
        if self._unfinished == 0:
            self._space_or_idle.notify_all()


class _AsyncRouting:
    """Handlers on worker lanes; each message passes on right after it is queued.

    Downstream calls are serialised by ``_emit_lock``. Messages are numbered; a
    HandlerError, or an exception that ends the stream, waits in ``_pending`` until its
    message has been passed on (``_emitted``). Whoever holds ``_emit_lock`` flushes
    ``_pending``; workers only *try* the lock and re-check after every release, so no worker
    ever blocks on it — which lets ``_Lanes.close`` join the workers from any thread, even
    one holding the lock. ``_halted`` stops handlers from running (dispose, an abort);
    ``_stopped`` stops anything from going downstream.
    """

    def __init__(
        self,
        router: Router,
        table: _RouteTable,
        observer: abc.ObserverBase[Message],
        upstream: abc.DisposableBase,
        *,
        fatal_errors: bool,
        max_workers: int,
        lane_capacity: int,
        dispose_timeout: float,
        completion_timeout: float | None,
    ) -> None:
        self._router = router
        self._table = table
        self._observer = observer
        self._upstream = upstream
        self._fatal_errors = fatal_errors
        self._dispose_timeout = dispose_timeout
        self._completion_timeout = completion_timeout
        self._emit_lock = threading.Lock()
        self._pending: deque[tuple[int, HandlerError | Exception]] = deque()
        self._stopped = threading.Event()
        self._halted = False
        self._failed = False
        self._sequence = 0
        self._emitted = 0
        self._lanes = _Lanes(max_workers, lane_capacity, self._run, self._crashed)

    def on_next(self, message: Message) -> None:
        if self._stopped.is_set():
            return
        route = self._table.route(message)
        route.count += 1
        self._sequence += 1
        try:
            for key, calls in route.lanes:
                self._lanes.submit(key, (message, calls, self._sequence))
        except RoutingDeadlockError as error:
            self._halted = True
            self._pending.append((0, error))
            self._drain()
            return
        with self._emit_lock:
            if self._stopped.is_set():
                return
            self._observer.on_next(message)
            self._emitted = self._sequence
            if self._pending:
                self._flush()
        if self._pending or self._failed:
            self._drain()

    def on_error(self, error: Exception) -> None:
        self._finish(lambda: self._observer.on_error(error), completing=False)

    def on_completed(self) -> None:
        self._finish(self._observer.on_completed, completing=True)

    def stop(self) -> None:
        self._halted = True
        self._stopped.set()
        self._lanes.close(self._dispose_timeout)

    def _run(self, task: _Task, worker: _Worker) -> None:
        """Run one lane's handlers on a message (on a worker thread)."""
        message, calls, number = task
        worker.message = message
        failed = False
        for call, registration in calls:
            if self._halted:
                break
            worker.call = registration
            try:
                call(message)
            except Exception as error:
                failure = self._router._handler_error(error, message, registration)
                self._pending.append((number, failure))
                failed = True
            except BaseException as error:
                self._halted = True
                self._router._count_failure()
                aborted = HandlerAbortedError(error, message, registration.handler)
                self._pending.append((number, aborted))
                failed = True
                break
        worker.call = None
        if failed:
            try:
                self._drain()
            except Exception as error:
                if self._stopped.is_set():
                    raise
                # Downstream on_next raised on this worker, where no caller can take it.
                self._halted = True
                self._pending.append((0, error))
                self._drain()

    def _crashed(self, error: BaseException) -> None:
        """Passing an item on raised on a worker and could not end the stream: stop."""
        self._halted = True
        self._stopped.set()
        self._upstream.dispose()
        self._lanes.close(0.0)

    def _flushable(self) -> bool:
        limit = self._emitted
        return any(number <= limit for number, _ in list(self._pending))

    def _flush(self) -> None:
        """Pass on (and route) what waited for its message to go; holds the lock."""
        pending = self._pending
        if self._stopped.is_set():
            pending.clear()
            return
        ready: list[tuple[int, HandlerError | Exception]] = []
        for _ in range(len(pending)):
            entry = pending.popleft()
            (ready if entry[0] <= self._emitted else pending).append(entry)
        ready.sort(key=lambda entry: entry[0])
        for _, failure in ready:
            if not isinstance(failure, HandlerError):
                self._end(failure)
                return
            if self._fatal_errors:
                self._end(HandlerFailedError(failure))
                return
            if not isinstance(failure.message, HandlerError):
                route = self._table.route(failure)
                route.count += 1
                for key, calls in route.lanes:
                    self._lanes.submit(key, (failure, calls, self._emitted), wait=False)
            self._observer.on_next(failure)

    def _end(self, error: Exception) -> None:
        """End the stream with ``error``; holds the lock."""
        self._stopped.set()
        self._halted = True
        self._failed = True
        self._pending.clear()
        self._observer.on_error(error)

    def _drain(self) -> None:
        """Flush unless another thread is flushing; loop while something flushable is left."""
        while not self._failed and self._flushable():
            if not self._emit_lock.acquire(blocking=False):
                return
            try:
                self._flush()
            finally:
                self._emit_lock.release()
        if self._failed:
            self._upstream.dispose()
            self._lanes.close(self._dispose_timeout)

    def _finish(self, terminate: Callable[[], None], *, completing: bool) -> None:
        """Wait for in-flight handlers and their errors, stop the pool, end the stream.

        After ``completion_timeout`` seconds, a completion becomes a
        :class:`CompletionTimeoutError`; an upstream error passes on unchanged. On a worker
        (a handler ending its own source), which cannot wait for its own task, a thread of
        its own waits.
        """
        lanes = self._lanes
        if lanes.on_worker():
            threading.Thread(
                target=self._finish,
                args=(terminate,),
                kwargs={"completing": completing},
                name="rxclaude-route-finish",
                daemon=True,
            ).start()
            return
        timeout = self._completion_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while (state := lanes.wait_idle(deadline)) != "closed":
            with self._emit_lock:
                if self._stopped.is_set():
                    break
                self._flush()
                if self._stopped.is_set():
                    break
                if lanes.idle() and not self._pending:
                    self._stopped.set()
                    lanes.close(self._dispose_timeout)
                    terminate()
                    return
                if state == "late" and timeout is not None:
                    self._halted = True
                    self._stopped.set()
                    late = CompletionTimeoutError(timeout, *lanes.busy())
                    lanes.close(0.0)
                    if completing:
                        self._observer.on_error(late)
                    else:
                        terminate()
                    return
        lanes.close(self._dispose_timeout)


__all__ = [
    "ALL",
    "CompletionTimeoutError",
    "Handler",
    "HandlerAbortedError",
    "HandlerError",
    "HandlerFailedError",
    "Kind",
    "MessageHandler",
    "Mode",
    "RouteKey",
    "Router",
    "RouterStatistics",
    "RoutingDeadlockError",
    "RoutingError",
    "entry_point",
    "handler_name",
    "kinds_of",
    "route_by_type",
]
