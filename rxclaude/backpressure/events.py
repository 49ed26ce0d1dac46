"""What ``backpressure`` reports: its events, its statistics, and the hub that emits the
events of every subscription on one Observable.

Events are queued under the buffer lock, so they keep their order, and emitted after it is
released, serialised, so that an observer may call back into the operator. They are only
built while ``Backpressure.events`` has observers.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from reactivex.subject import Subject

from rxclaude import _html

__all__ = [
    "BackpressureEvent",
    "BackpressureEventKind",
    "BackpressureStatistics",
    "EventHub",
]


class BackpressureEventKind(Enum):
    """The kinds of ``BackpressureEvent``."""

    DROPPED = "dropped"
    """An item was discarded by the policy; ``item`` holds it."""
    BLOCKED = "blocked"
    """A producer started waiting for room (``Policy.BLOCK``)."""
    UNBLOCKED = "unblocked"
    """A producer stopped waiting; ``blocked_for`` says how long it waited."""
    RESIZED = "resized"
    """``Adaptive`` or ``Backpressure.resize`` changed the capacity from ``previous_capacity``
    to ``capacity``."""
    SLOW_CONSUMER = "slow_consumer"
    """The consumer is not keeping up; rates are over the congestion that led here."""
    RECOVERED = "recovered"
    """The consumer caught up again; rates are over the slow period."""


@dataclass(frozen=True, slots=True)
class BackpressureEvent:
    """Something that happened in a ``backpressure`` buffer.

    ``size`` and ``capacity`` describe the buffer right after the event. The remaining
    fields are set only for the kinds that name them, and are None otherwise.
    """

    kind: BackpressureEventKind
    time: datetime
    """The operator scheduler's ``now`` (wall-clock UTC without a scheduler)."""
    size: int
    capacity: int
    item: Any = None
    """DROPPED: the discarded item."""
    previous_capacity: int | None = None
    """RESIZED: the capacity before the change."""
    blocked_for: float | None = None
    """UNBLOCKED: seconds the producer waited."""
    producer_rate: float | None = None
    """SLOW_CONSUMER, RECOVERED: items per second accepted from the source."""
    consumer_rate: float | None = None
    """SLOW_CONSUMER, RECOVERED: items per second handed downstream."""


@dataclass(frozen=True, slots=True)
class BackpressureStatistics:
    """A snapshot of one subscription's buffer.

    Always ``produced == delivered + dropped + size + discarded``. Once the subscription
    has ended (its terminal signal delivered, or disposed) ``size`` is 0, so
    ``produced == delivered + dropped + discarded``, and the counts no longer change:
    ``delivered`` is then exactly the number of items the downstream observer received
    (an ``on_next`` still running when ``dispose`` returns included), and every other
    item is ``dropped`` or ``discarded``.
    """

    capacity: int
    """Current capacity (changes with ``Adaptive`` and ``Backpressure.resize``)."""
    size: int
    """Items accepted but not yet handed downstream."""
    peak_size: int
    """Largest ``size`` so far."""
    produced: int
    """Items the source delivered to the operator, whatever became of them."""
    delivered: int
    """Items handed to downstream ``on_next`` (while running: the one in hand included)."""
    dropped: int
    """Items discarded by the policy (each passed to ``on_drop``)."""
    discarded: int
    """Items lost because the subscription ended (dispose, overflow, deadlock) first:
    buffered, taken by the consumer but not handed on, or held by a waiting producer."""
    blocked_time: float
    """Seconds producers spent waiting for room, including waits in progress."""
    producers_waiting: int
    """Producers waiting for room right now."""
    slow_consumer: bool
    """Whether a slow consumer is currently reported (needs ``SlowConsumer``)."""

    def _repr_html_(self) -> str:
        return _html.fields_table(self, "BackpressureStatistics")


class EventHub:
    """Emits events published from any thread on one Subject: serialised, in publish order."""

    def __init__(self) -> None:
        self.subject: Subject[BackpressureEvent] = Subject()
        self._lock = threading.Lock()
        self._queue: deque[BackpressureEvent] = deque()
        self._emitting = False

    @property
    def listening(self) -> bool:
        return bool(self.subject.observers)

    def publish(self, event: BackpressureEvent) -> None:
        """Queues an event; callers hold their buffer lock, which fixes the order."""
        with self._lock:
            self._queue.append(event)

    def flush(self) -> None:
        """Emits the queued events unless another thread is already doing so."""
        with self._lock:
            if self._emitting:
                return
            self._emitting = True
        while True:
            with self._lock:
                if not self._queue:
                    self._emitting = False
                    return
                event = self._queue.popleft()
            try:
                self.subject.on_next(event)
            except BaseException:
                with self._lock:
                    self._emitting = False
                raise
