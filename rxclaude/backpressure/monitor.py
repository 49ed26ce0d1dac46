"""The monitor of one ``backpressure`` buffer: watermarks, adaptive sizing and slow-consumer
detection, as one object the buffer consults.

Design decisions:

* **When it is consulted.** A buffer has a monitor only with ``Adaptive`` or
  ``SlowConsumer``; without one it never takes these branches, and its producer's fast path
  stays an append under the lock. With one, every item takes the buffer's slow path, which
  consults the monitor under the buffer lock: whenever an item arrives, a producer starts
  or stops waiting, the consumer finishes a batch, the capacity is set by
  ``Backpressure.resize``, and at the next deadline of a watched window. The monitor keeps
  a single timer per subscription for those deadlines, on the operator's scheduler or,
  without one, on RxPY's ``TimeoutScheduler``.
* **Clock.** Windows are measured on the operator's clock: the scheduler's ``now`` when a
  scheduler is given (ticks under ``TestScheduler``), otherwise ``time.monotonic``.
* **Hysteresis.** The occupancy counts as high from reaching the high watermark (or a
  producer waiting) until it falls to the low one, and as low from then on: that keeps
  ``BLOCK``'s refills (the buffer dips to three quarters) and the consumer's batches from
  restarting the windows.
* **Adaptive sizing.** The capacity doubles per window high and halves per window low
  (never below the size plus one, so nothing overflows), and each resize, ``Adaptive``'s or
  ``Backpressure.resize``'s, starts the windows afresh at the new capacity.
* **Slow consumer.** Slow after a window high or a producer waiting longer than
  ``blocked_threshold``; recovered once the occupancy is low again. The rates in the events
  are over the congestion that led to the report, and over the slow period.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from reactivex import abc
from reactivex.disposable import SerialDisposable

from rxclaude.backpressure.events import BackpressureEventKind
from rxclaude.backpressure.settings import Adaptive, SlowConsumer

__all__ = ["Band", "Monitor", "Watched"]


class _Thresholds(Protocol):
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def window(self) -> float: ...


_Config = TypeVar("_Config", bound=_Thresholds)


@dataclass(slots=True)
class Band(Generic[_Config]):
    """Which watermark the occupancy last reached, and since when (hysteresis).

    It is high from reaching ``config.high`` (or a producer having to wait) until it falls
    to ``config.low``, and low from then until it is high again; neither before the
    first sample and right after a resize.
    """

    config: _Config
    high_since: float | None = None
    low_since: float | None = None

    def sample(self, size: int, capacity: int, producers_waiting: bool, now: float) -> bool:
        """Updates the band; True when it has just become high."""
        if producers_waiting or size >= self.config.high * capacity:
            self.low_since = None
            if self.high_since is None:
                self.high_since = now
                return True
        elif size <= self.config.low * capacity:
            self.high_since = None
            if self.low_since is None:
                self.low_since = now
        return False

    def high_until(self) -> float | None:
        """When a window spent high ends (None while not high)."""
        return None if self.high_since is None else self.high_since + self.config.window

    def low_until(self) -> float | None:
        """When a window spent low ends (None while not low)."""
        return None if self.low_since is None else self.low_since + self.config.window


class Watched(Protocol):
    """What the monitor reads and does on the buffer it watches (its lock held)."""

    @property
    def capacity(self) -> int: ...
    @property
    def handed(self) -> int:
        """Items handed downstream so far."""

    @property
    def block_starts(self) -> list[float]:
        """When each producer waiting for room began to wait."""

    def size(self) -> int: ...
    def produced(self) -> int: ...
    def publish(self, kind: BackpressureEventKind, **details: Any) -> None: ...
    def set_capacity(self, capacity: int) -> None:
        """Changes the capacity, wakes producers when it grows, publishes ``RESIZED``."""


_Mark = tuple[float, int, int]
"""(time, produced, handed) when a period began: what its rates are measured from."""


def _rate(count: int, since_count: int, now: float, since: float) -> float | None:
    return (count - since_count) / (now - since) if now > since else None


class Monitor:
    """Samples one buffer's occupancy for ``Adaptive`` and ``SlowConsumer``."""

    def __init__(
        self,
        adaptive: Adaptive | None,
        slow_consumer: SlowConsumer | None,
        time_scheduler: abc.SchedulerBase,
        clock: Callable[[], float],
    ) -> None:
        self._load = None if adaptive is None else Band(adaptive)
        self._congestion = None if slow_consumer is None else Band(slow_consumer)
        self._congestion_start: _Mark | None = None
        self._slow_since: _Mark | None = None
        self._time_scheduler = time_scheduler
        self._clock = clock
        self._timer_lock = threading.RLock()
        self._timer = SerialDisposable()
        self._timer_due: float | None = None

    @property
    def slow(self) -> bool:
        """Whether a slow consumer is currently reported."""
        return self._slow_since is not None

    def observe(self, buffer: Watched, now: float) -> float | None:
        """Samples the occupancy (buffer lock held), resizes and reports as the thresholds
        say, and returns the earliest time at which a watched window can end."""
        size, waiting = buffer.size(), bool(buffer.block_starts)
        load = self._load
        if load is not None:
            load.sample(size, buffer.capacity, waiting, now)
            self._adapt(buffer, load, size, waiting, now)
        congestion = self._congestion
        if congestion is not None:
            if congestion.sample(size, buffer.capacity, waiting, now):
                self._congestion_start = (now, buffer.produced(), buffer.handed)
            self._watch_consumer(buffer, congestion, now)
        return self._next_deadline(buffer)

    def resize(self, buffer: Watched, capacity: int, now: float) -> None:
        """Sets the capacity for ``Backpressure.resize`` (buffer lock held)."""
        self._resize(buffer, capacity, buffer.size(), bool(buffer.block_starts), now)

    def _resize(self, buffer: Watched, capacity: int, size: int, waiting: bool, now: float) -> None:
        buffer.set_capacity(capacity)
        load = self._load
        if load is not None:
            # The next resize needs a whole window at the new capacity.
            load.high_since = load.low_since = None
            load.sample(size, capacity, waiting, now)

    def _shrunk_capacity(self, buffer: Watched, adaptive: Adaptive) -> int:
        """Half the capacity, within bounds, and above the size so nothing overflows."""
        return max(adaptive.min_size, buffer.capacity // 2, buffer.size() + 1)

    def _adapt(
        self, buffer: Watched, load: Band[Adaptive], size: int, waiting: bool, now: float
    ) -> None:
        adaptive, previous = load.config, buffer.capacity
        grow_at, shrink_at = load.high_until(), load.low_until()
        if grow_at is not None and now >= grow_at and previous < adaptive.max_size:
            capacity = min(adaptive.max_size, previous * 2)
        elif shrink_at is not None and now >= shrink_at:
            capacity = self._shrunk_capacity(buffer, adaptive)
            if capacity >= previous:
                return
        else:
            return
        self._resize(buffer, capacity, size, waiting, now)

    def _watch_consumer(self, buffer: Watched, congestion: Band[SlowConsumer], now: float) -> None:
        if self._slow_since is None:
            congested_until = congestion.high_until()
            congested_long = congested_until is not None and now >= congested_until
            block_starts = buffer.block_starts
            blocked_long = bool(block_starts) and (
                now >= min(block_starts) + congestion.config.blocked_threshold
            )
            if congested_long or blocked_long:
                self._slow_since = (now, buffer.produced(), buffer.handed)
                self._publish_rates(
                    buffer, BackpressureEventKind.SLOW_CONSUMER, self._congestion_start, now
                )
        elif congestion.low_since is not None:
            since, self._slow_since = self._slow_since, None
            self._publish_rates(buffer, BackpressureEventKind.RECOVERED, since, now)

    @staticmethod
    def _publish_rates(
        buffer: Watched, kind: BackpressureEventKind, since: _Mark | None, now: float
    ) -> None:
        if since is None:
            buffer.publish(kind)
            return
        started, produced, handed = since
        buffer.publish(
            kind,
            producer_rate=_rate(buffer.produced(), produced, now, started),
            consumer_rate=_rate(buffer.handed, handed, now, started),
        )

    def _next_deadline(self, buffer: Watched) -> float | None:
        """The earliest time at which a watched window can end."""
        deadlines: list[float | None] = []
        if self._load is not None:
            adaptive = self._load.config
            if buffer.capacity < adaptive.max_size:
                deadlines.append(self._load.high_until())
            if self._shrunk_capacity(buffer, adaptive) < buffer.capacity:
                deadlines.append(self._load.low_until())
        if self._congestion is not None and self._slow_since is None:
            deadlines.append(self._congestion.high_until())
            if buffer.block_starts:
                threshold = self._congestion.config.blocked_threshold
                deadlines.append(min(buffer.block_starts) + threshold)
        return min((d for d in deadlines if d is not None), default=None)

    # -- the timer for the next deadline (called without the buffer lock) --------------

    def arm(self, deadline: float, on_due: Callable[[], None]) -> None:
        """Calls ``on_due`` at ``deadline``, unless an earlier call is already due."""
        with self._timer_lock:
            if self._timer_due is not None and self._timer_due <= deadline:
                return
            self._timer_due = deadline
            delay = max(0.0, deadline - self._clock())

            def due(_scheduler: abc.SchedulerBase, _state: Any = None) -> None:
                with self._timer_lock:
                    self._timer_due = None
                on_due()

            self._timer.disposable = self._time_scheduler.schedule_relative(delay, due)

    def stop(self) -> None:
        """Cancels the timer for good (the subscription has ended)."""
        self._timer.dispose()
