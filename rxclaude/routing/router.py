"""The :class:`Router`: handler registrations, the plans derived from them, statistics.

Registrations are published copy-on-write: each change builds a new immutable
``_Snapshot``, whose per-(frame type, kind mask) plans are memoised, and re-plans the live
routes of every stream under the router's lock. Each stream reads its ``_RouteTable``
without locking and counts into its own routes; :meth:`Router.statistics` adds them up.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import MethodType
from typing import Any, TypeAlias

from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxclaude import _html
from rxclaude.messages import Message
from rxclaude.messages.kinds import KIND_SETS, Kind, kind_mask
from rxclaude.routing.errors import HandlerError
from rxclaude.routing.handler import (
    ALL,
    Handler,
    RouteKey,
    check_key,
    check_priority,
    entry_point,
)


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

    def _repr_html_(self) -> str:
        return _html.fields_table(self, "RouterStatistics")


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
    def default(cls) -> Any:
        """A router with one of each built-in handler registered: a
        :class:`rxclaude.handlers.DefaultRouter`.

        Their results are readable as ``router.handlers.text.text``,
        ``router.handlers.complete.cost_usd``, and so on. Routing does not know the built-in
        handlers, so this returns ``Any`` to type checkers (annotate the variable as a
        ``DefaultRouter``, or call ``DefaultRouter()``, for the precise type):
        :mod:`rxclaude.handlers` sets the factory when it is imported, and importing
        ``rxclaude`` or any module in it imports it.

        Raises:
            RuntimeError: no factory was set (see :func:`set_default_router_factory`).
        """
        factory = _default_router_factory
        if factory is None:
            raise RuntimeError(
                "Router.default(): no default router factory is set; importing "
                "rxclaude.handlers sets it (importing rxclaude does)"
            )
        return factory()

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
        check_key(key)
        call = entry_point(handler)
        if priority is None:
            own = getattr(handler, "priority", None)
            priority = 0 if own is None else check_priority(own)
        else:
            priority = check_priority(priority)
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
        check_key(key)
        check_priority(priority)

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


_default_router_factory: Callable[[], Router] | None = None
"""What :meth:`Router.default` calls; set by :mod:`rxclaude.handlers` when imported."""


def set_default_router_factory(factory: Callable[[], Router]) -> None:
    """Make ``factory`` what :meth:`Router.default` calls to build a router.

    :mod:`rxclaude.handlers` sets :class:`~rxclaude.handlers.DefaultRouter` when it is
    imported, so that routing needs no import of the handlers built on it.
    """
    global _default_router_factory  # noqa: PLW0603 (the one setting, made once at import)
    if not callable(factory):
        raise TypeError(f"factory must be callable, not {factory!r}")
    _default_router_factory = factory


__all__ = [
    "Router",
    "RouterStatistics",
    "set_default_router_factory",
]
