"""``backpressure(policy)``: a bounded buffer with an overflow policy at a thread boundary.

RxPY has no backpressure, and ``observe_on`` queues without limit (ReactiveX/RxPY#582).
This operator owns the asynchronous boundary instead: the producer (whichever thread calls
``on_next``) appends to a bounded buffer, and a consumer delivers the buffered items
downstream, in order and one thread at a time. When the buffer is full the policy decides::

    source:            -0-1-2-3-4-5-|
    backpressure(DROP_OLDEST, buffer_size=2), consumer busy on 0:
    result:            -0---------4-5-|   dropped: 1, 2, 3

    backpressure(DROP_NEWEST, buffer_size=2), consumer busy on 0:
    result:            -0---------1-2-|   dropped: 3, 4, 5

    backpressure(BLOCK, buffer_size=2), consumer busy on 0 (the producer waits at 3):
    result:            -0---------1-2-3-4-5-|

    backpressure(ERROR, buffer_size=2), consumer busy on 0:
    result:            -0---------1-2-#   BufferOverflowError, dropped: 3

Design decisions:

* **Consumer.** Without a scheduler each subscription gets a daemon consumer thread that
  waits on a ``threading.Condition``, takes *everything* buffered in one go (swapping the
  deque under the lock) and delivers that batch outside the lock. With ``scheduler=`` a
  drain action is scheduled on it instead; each action delivers one batch and schedules the
  next one. Either way there is one hand-over per batch, never one thread hop per item.
* **Capacity accounting.** An item counts against the capacity until it is handed to
  downstream ``on_next``, even after the consumer has taken it into its batch: the producer
  is never more than ``capacity`` items (plus the one in the consumer's hand) ahead of the
  consumer. The first item of a batch is in the consumer's hand as soon as the batch is
  taken, so a full buffer always has an item the consumer has not yet taken, which is the
  one ``DROP_OLDEST`` evicts. The consumer publishes its progress by assigning a plain int,
  without the lock; a stale read only makes the buffer look fuller.
* **Producer cost.** Enqueueing is an append and a peak-size check under one lock, plus a
  notify only when the consumer is idle; ``produced`` is derived from the other counters.
  The consumer hands delivered items back, and the producer releases two of them per new
  item: objects are freed on the thread that allocated them, at the pace they are made.
  Freeing a whole batch at once, cache-cold on the other CPU, made glibc trim and regrow
  its heap every batch; in the benchmark this raised the throughput with ``BLOCK`` from
  0.59 to 0.65 of the pipeline without the stage (0.74 to 0.86 in a fresh process).
  A consumer wakes blocked producers once a quarter of the capacity is free, or when it
  takes the next batch.
* **Fusion with the parser.** Placed right after ``parse_json_frames``, the operator takes
  each decoded chunk's messages as one list (``BatchingObservable.subscribe_batches``): one
  lock, one peak check and at most one wake-up per chunk when they fit; otherwise it falls
  back to item by item, so the policies see exactly what they would have. Items, order and
  terminal signals are the same as through a plain ``subscribe`` (measured in memory, 200,000
  items into a no-op consumer: 0.35 µs an item one by one, 0.24 µs in lists of 274). The
  price: while ``BLOCK`` holds the parser, the rest of its chunk's messages are already
  decoded and wait in its hand, not just their bytes (one chunk's worth: 64 KiB from
  ``from_cli``, 512 KiB from ``from_file``).
* **Garbage collection.** Buffered messages outlive CPython's young collections and get
  promoted, which triggers full collections that walk every tracked object in the process.
  ``Message`` is therefore not tracked by the cyclic collector (``gc=False``); on the
  benchmark's 100 MB corpus, in a process that had imported the official SDK, this cut the
  collector's time with ``BLOCK`` from 67-88 ms to 27-37 ms a run.
* **Terminal signals** (source completion or error, overflow, a failing ``on_drop``, a
  detected deadlock) queue behind the buffered items and end the subscription; the
  operator then stops accepting items and disposes its source subscription where it ended
  the stream itself. **Dispose** discards the buffer, stops the drain between two items and
  releases blocked producers at once. An exception from downstream ``on_next`` disposes
  the subscription and propagates out of the consumer thread (``threading.excepthook``) or
  out of the scheduled drain action, as it would out of any RxPY scheduler.
* **Accounting at dispose.** The consumer calls the subscriber's callbacks directly: RxPY's
  auto-detach observer drops items from the moment its ``dispose`` begins, before that
  reaches this operator, and items handed to it meanwhile (hundreds, when the disposing
  thread waited for the lock) reached nobody yet counted as delivered. The consumer and
  ``dispose`` take a batch's items from one iterator, so each is either delivered or
  discarded, and the statistics are final when ``dispose`` returns.
* **Deadlock detection (BLOCK).** Waiting is refused with ``BackpressureDeadlockError`` when
  the waiting thread is the one that drains: the consumer thread itself (a handler feeding
  its own source), a thread running a drain action, or, for schedulers that run every
  action on one thread, the thread that ran the last drain. Before the first drain ran, a
  ``CurrentThreadScheduler`` or a virtual-time scheduler is assumed to drain on the
  producer's thread. Thread-spawning schedulers (``NewThreadScheduler``,
  ``ThreadPoolScheduler``, ``TimeoutScheduler``) only deadlock through re-entrance.
* **Monitoring.** ``Adaptive`` and ``SlowConsumer`` sample the occupancy whenever an item
  arrives, a producer starts or stops waiting, the consumer finishes a batch, and at the
  next deadline of a watched window (a single timer per subscription, on ``scheduler`` or,
  without one, on RxPY's ``TimeoutScheduler``). Windows are measured on the operator's
  clock: the scheduler's ``now`` when a scheduler is given (ticks under ``TestScheduler``),
  otherwise ``time.monotonic``. The occupancy counts as high from reaching the high
  watermark (or a producer waiting) until it falls to the low one, and as low from then on:
  that hysteresis keeps ``BLOCK``'s refills (the buffer dips to three quarters) and the
  consumer's batches from restarting the windows. Capacity doubles per window high and
  halves per window low, and each resize starts afresh.
* **Resizing.** ``Backpressure.resize(n)`` sets the capacity of every running subscription
  and of later ones (clamped into ``Adaptive``'s bounds) through the path ``Adaptive``
  takes: under the buffer lock, waking waiting producers when it grows, publishing
  ``RESIZED``; it adds no work per item. Shrinking below the size drops nothing: new items
  wait or meet the policy until there is room (``DROP_OLDEST`` evicts the new item itself
  while the consumer holds every buffered one).
* **Observability.** ``backpressure(...)`` returns a ``Backpressure`` operator object:
  ``statistics()`` snapshots its most recent subscription (trio-style frozen dataclass) and
  ``events`` is a hot Observable of every subscription's ``BackpressureEvent``s. Events are
  queued under the buffer lock, so they keep their order, and emitted after it is released,
  serialised. They are only built while ``events`` has observers.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, cast

from reactivex import Observable, abc
from reactivex.disposable import Disposable, SerialDisposable, SingleAssignmentDisposable
from reactivex.internal import default_error, noop
from reactivex.scheduler import (
    CurrentThreadScheduler,
    NewThreadScheduler,
    TimeoutScheduler,
    VirtualTimeScheduler,
)
from reactivex.subject import Subject

from rxclaude._batches import BatchingObservable

__all__ = [
    "DEFAULT_BUFFER_SIZE",
    "Adaptive",
    "Backpressure",
    "BackpressureDeadlockError",
    "BackpressureEvent",
    "BackpressureEventKind",
    "BackpressureStatistics",
    "BufferOverflowError",
    "Policy",
    "SlowConsumer",
    "backpressure",
]

_T = TypeVar("_T")

DEFAULT_BUFFER_SIZE = 1024
"""Capacity of ``backpressure`` (and of ``StreamHandler``) unless told otherwise."""

_consumer_thread_numbers = itertools.count(1)


class Policy(Enum):
    """What ``backpressure`` does with an item that arrives while the buffer is full."""

    DROP_OLDEST = "drop_oldest"
    """Evict the oldest buffered item and enqueue the new one (Akka ``dropHead``)."""
    DROP_NEWEST = "drop_newest"
    """Discard the incoming item (Akka ``dropNew``; *not* RxJava's ``DROP_LATEST``)."""
    BLOCK = "block"
    """Make the producer's ``on_next`` wait until there is room."""
    ERROR = "error"
    """End the stream with ``BufferOverflowError``."""


class BufferOverflowError(Exception):
    """``Policy.ERROR``: an item arrived while the buffer held ``capacity`` items."""

    def __init__(self, capacity: int) -> None:
        super().__init__(
            f"backpressure buffer overflow: an item arrived while all {capacity} places "
            "were taken (Policy.ERROR)"
        )
        self.capacity = capacity

    def __reduce__(self) -> tuple[type[BufferOverflowError], tuple[int]]:
        return (type(self), (self.capacity,))


class BackpressureDeadlockError(RuntimeError):
    """``Policy.BLOCK`` would make the thread that drains the buffer wait for itself."""


def check_buffer_size(buffer_size: int, name: str = "buffer_size") -> None:
    """Raises ``TypeError`` unless ``buffer_size`` is an int (a bool is not), and
    ``ValueError`` if it is smaller than 1."""
    if not isinstance(buffer_size, int) or isinstance(buffer_size, bool):
        raise TypeError(f"{name} must be an int, not {type(buffer_size).__name__}")
    if buffer_size < 1:
        raise ValueError(f"{name} must be >= 1, got {buffer_size}")


def _check_number(name: str, value: object, unit: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number{unit}, not {type(value).__name__}")


def check_seconds(name: str, seconds: float) -> None:
    """Raises ``TypeError`` unless ``seconds`` is a real number (a bool is not), and
    ``ValueError`` unless it is positive and finite."""
    _check_number(name, seconds, " of seconds")
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{name} must be a positive, finite number of seconds, got {seconds}")


def _check_watermarks(owner: str, low: float, high: float) -> None:
    _check_number(f"{owner}.low", low)
    _check_number(f"{owner}.high", high)
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"{owner} needs 0 <= low < high <= 1, got low={low}, high={high}")


@dataclass(frozen=True, slots=True)
class Adaptive:
    """Let the capacity follow the load, between ``min_size`` and ``max_size``.

    The occupancy is *high* from the moment it reaches ``high`` (a fraction of the
    capacity), or a producer has to wait, until it falls to ``low``; it is *low* from then
    until it is high again. The capacity doubles (up to ``max_size``) after ``window``
    seconds high, and halves (down to ``min_size``) after ``window`` seconds low. After a
    resize the occupancy has to reach a watermark of the new capacity again.
    """

    min_size: int
    max_size: int
    high: float = 0.8
    low: float = 0.2
    window: float = 1.0

    def __post_init__(self) -> None:
        check_buffer_size(self.min_size, "Adaptive.min_size")
        check_buffer_size(self.max_size, "Adaptive.max_size")
        if not self.min_size <= self.max_size:
            raise ValueError(
                f"Adaptive needs 1 <= min_size <= max_size, "
                f"got min_size={self.min_size}, max_size={self.max_size}"
            )
        _check_watermarks("Adaptive", self.low, self.high)
        check_seconds("Adaptive.window", self.window)


@dataclass(frozen=True, slots=True)
class SlowConsumer:
    """When to report a slow consumer, and when it has recovered.

    The consumer is slow once the occupancy has been high (as in ``Adaptive``: from
    reaching ``high`` until falling to ``low``) for ``window`` seconds, or a producer has
    waited longer than ``blocked_threshold`` seconds. It has recovered once the occupancy
    has fallen to ``low`` with no producer waiting.
    """

    window: float = 1.0
    blocked_threshold: float = 0.5
    high: float = 0.8
    low: float = 0.2

    def __post_init__(self) -> None:
        check_seconds("SlowConsumer.window", self.window)
        check_seconds("SlowConsumer.blocked_threshold", self.blocked_threshold)
        _check_watermarks("SlowConsumer", self.low, self.high)


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


@dataclass(frozen=True, slots=True)
class _Settings:
    policy: Policy
    capacity: int
    scheduler: abc.SchedulerBase | None
    on_drop: Callable[[Any], object] | None
    adaptive: Adaptive | None
    slow_consumer: SlowConsumer | None


class _EventHub:
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


class _Observer(Protocol):
    """The downstream: an ``abc.ObserverBase``, or a subscriber's callbacks (``_Callbacks``)."""

    def on_next(self, value: Any, /) -> None: ...
    def on_error(self, error: Exception, /) -> None: ...
    def on_completed(self) -> None: ...


class _Callbacks(NamedTuple):
    """A subscriber's callbacks, which the consumer calls without RxPY's auto-detach
    observer in between (see **Dispose** in the module's docstring)."""

    on_next: Callable[[Any], None]
    on_error: Callable[[Exception], None]
    on_completed: Callable[[], None]

    @classmethod
    def of(
        cls,
        on_next: abc.ObserverBase[Any] | abc.OnNext[Any] | None,
        on_error: abc.OnError | None,
        on_completed: abc.OnCompleted | None,
    ) -> _Callbacks:
        """The callbacks ``Observable.subscribe`` would call for these arguments."""
        if isinstance(on_next, abc.ObserverBase) or callable(getattr(on_next, "on_next", None)):
            observer = cast(abc.ObserverBase[Any], on_next)
            return cls(observer.on_next, observer.on_error, observer.on_completed)
        return cls(on_next or noop, on_error or default_error, on_completed or noop)


class _Ended(abc.ObserverBase[Any]):
    """Stands in for the downstream observer once a subscription is over."""

    def on_next(self, value: Any) -> None:
        pass

    def on_error(self, error: Exception) -> None:
        pass

    def on_completed(self) -> None:
        pass


_ENDED = _Ended()


@dataclass(slots=True)
class _AfterLock:
    """Work decided under the buffer lock and done once it is released."""

    schedule_drain: bool = False
    dispose_upstream: bool = False
    deadline: float | None = None
    dropped: list[Any] = field(default_factory=list)


class _Thresholds(Protocol):
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def window(self) -> float: ...


_Config = TypeVar("_Config", bound=_Thresholds)


@dataclass(slots=True)
class _Band(Generic[_Config]):
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


def _rate(count: int, since_count: int, now: float, since: float) -> float | None:
    return (count - since_count) / (now - since) if now > since else None


class _BoundedBuffer(abc.ObserverBase[Any], abc.DisposableBase):
    """The state of one subscription: buffer, counters, consumer and monitors."""

    def __init__(
        self,
        settings: _Settings,
        observer: _Observer,
        hub: _EventHub,
        on_close: Callable[[_BoundedBuffer], None] | None = None,
    ) -> None:
        self._settings = settings
        self._on_close = on_close  # when it ends; twice if dispose races the end
        self._policy = settings.policy
        self._on_drop = settings.on_drop
        self._observer: _Observer = observer
        self._hub = hub
        self._scheduler = settings.scheduler
        self._monitored = settings.adaptive is not None or settings.slow_consumer is not None
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._pending: deque[Any] = deque()
        self._capacity = settings.capacity
        self._refill = max(1, self._capacity // 4)
        # Every item that arrives ends up counted in exactly one of: _pending, _taken
        # (by the consumer, of which _handed went downstream or is in its hand), _dropped,
        # _lost (arrived, or waited for room, while the subscription ended) or _cleared
        # (buffered when it was disposed).
        self._taken = 0
        self._handed = 0
        # The items of the consumer's batch it has not taken yet. The consumer and dispose
        # both take from this one iterator, each ``next`` atomic under the GIL: an item the
        # consumer took is delivered, one that dispose took is not, and none is both.
        self._unhanded: Iterator[Any] = iter(())
        self._dropped = 0
        self._lost = 0
        self._cleared = 0
        self._peak_size = 0
        self._blocked_time = 0.0
        self._block_starts: list[float] = []
        self._sleepers = 0  # producers in _not_full.wait() not notified yet
        self._accepting = True
        # on_next takes its fast path below this size: 0 to route every item to _offer.
        self._fast_limit = 0 if self._monitored else settings.capacity
        self._disposed = False
        self._terminal: Callable[[], None] | None = None
        # Threaded: the consumer waits for a notify. Scheduled: no drain is scheduled.
        self._idle = self._scheduler is not None
        self._drain_thread: int | None = None
        self._draining = False
        self._upstream = SingleAssignmentDisposable()
        # Items the consumer delivered, released by the producer (see on_next).
        self._retired: deque[Any] = deque()
        # Stamps events and runs the monitoring timer; _clock measures durations.
        self._time_scheduler: abc.SchedulerBase
        self._clock: Callable[[], float]
        if self._scheduler is None:
            self._time_scheduler = TimeoutScheduler.singleton()
            self._clock = time.monotonic
        else:
            scheduler = self._scheduler
            self._time_scheduler = scheduler
            self._clock = lambda: scheduler.to_seconds(scheduler.now)
        self._timer_lock = threading.RLock()
        self._timer = SerialDisposable()
        self._timer_due: float | None = None
        adaptive, slow = settings.adaptive, settings.slow_consumer
        self._load = None if adaptive is None else _Band(adaptive)
        self._congestion = None if slow is None else _Band(slow)
        # (time, produced, delivered) when the congestion began / the consumer became slow
        self._congestion_start: tuple[float, int, int] | None = None
        self._slow_since: tuple[float, int, int] | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Starts the consumer thread (without a scheduler)."""
        if self._scheduler is None:
            consumer = threading.Thread(
                target=self._run_consumer,
                name=f"rxclaude-backpressure-{next(_consumer_thread_numbers)}",
                daemon=True,
            )
            consumer.start()
            self._drain_thread = consumer.ident

    def attach(self, upstream: abc.DisposableBase) -> None:
        self._upstream.disposable = upstream

    def dispose(self) -> None:
        self._dispose()

    def _dispose(self) -> bool:
        """Ends the subscription; False if it had already ended (or begun to)."""
        with self._lock:
            if self._disposed:
                return False
            self._disposed = True
            self._stop_accepting()
            self._cleared += len(self._pending)
            self._pending.clear()
            # What the consumer has taken it delivers: that is all it ever delivers.
            self._handed = self._taken - len(list(self._unhanded))
            self._not_empty.notify_all()
        self._retired.clear()
        self._upstream.dispose()
        self._timer.dispose()
        self._closed()
        self._let_go_of_downstream()
        return True

    def _closed(self) -> None:
        if self._on_close is not None:
            self._on_close(self)

    def _let_go_of_downstream(self) -> None:
        """Drops the references to the observers downstream once the subscription is over,
        so that ``Backpressure``, which keeps its latest buffer for ``statistics()``, does
        not keep a finished pipeline alive."""
        self._observer = _ENDED
        self._terminal = None

    # -- producer side ----------------------------------------------------------------

    def on_next(self, value: Any) -> None:
        retired = self._retired
        if retired:
            # Release delivered items here, on the thread that allocated them, two per
            # new item: memory is returned as fast as it is taken, never in bursts.
            # Another producer may empty it first (on_next from several threads).
            try:
                retired.popleft()
                retired.popleft()
            except IndexError:
                pass
        # acquire/release rather than ``with``: on this hot path the statement's special
        # method calls cost about 15 % of the whole hand-off (0.52 against 0.44 µs an item).
        lock = self._lock
        lock.acquire()
        try:
            size = len(self._pending) + self._taken - self._handed
            if size >= self._fast_limit:
                slow = True
            else:
                slow = False
                self._pending.append(value)
                if size >= self._peak_size:
                    self._peak_size = size + 1
                if not self._idle:
                    return
                schedule_drain = self._wake_consumer()
        finally:
            lock.release()
        if slow:
            self._offer(value)
        elif schedule_drain:
            self._schedule_drain()

    def on_next_batch(self, items: list[Any]) -> None:
        """``on_next`` for each of ``items`` (from a fused source such as
        ``parse_json_frames``): one lock for the whole list when it fits."""
        count = len(items)
        retired = self._retired
        try:  # the same release pace as on_next: two delivered items per new one
            for _ in range(min(2 * count, len(retired))):
                retired.popleft()
        except IndexError:  # another producer emptied it first
            pass
        lock = self._lock
        lock.acquire()
        try:
            size = len(self._pending) + self._taken - self._handed
            fits = size + count <= self._fast_limit
            if fits:
                self._pending.extend(items)
                self._peak_size = max(self._peak_size, size + count)
                schedule_drain = self._idle and self._wake_consumer()
        finally:
            lock.release()
        if not fits:
            for item in items:
                self.on_next(item)
        elif schedule_drain:
            self._schedule_drain()

    def on_error(self, error: Exception) -> None:
        self._end(functools.partial(self._observer.on_error, error), dispose_upstream=False)

    def on_completed(self) -> None:
        self._end(self._observer.on_completed, dispose_upstream=False)

    def _offer(self, item: Any) -> None:
        """The slow path of ``on_next``: a full buffer, or monitoring to do."""
        after = _AfterLock()
        block_start: float | None = None
        with self._lock:
            if not self._accepting:
                return
            now = self._clock() if self._monitored else 0.0
            if self._size() < self._capacity:
                self._enqueue(item, after)
            elif self._policy is not Policy.BLOCK:
                self._overflow(item, after)
            elif self._blocking_would_deadlock():
                self._lost += 1  # the ending subscription cannot take it
                self._end_locked(
                    functools.partial(self._observer.on_error, self._deadlock_error()), after
                )
            else:
                block_start = now if self._monitored else self._clock()
                self._block_starts.append(block_start)
                self._publish(BackpressureEventKind.BLOCKED)
            if self._monitored:
                self._observe(now, after)
        self._after_lock(after)
        if block_start is not None:
            self._wait_for_room(item, block_start)

    def _wait_for_room(self, item: Any, start: float) -> None:
        after = _AfterLock()
        with self._lock:
            while self._accepting and self._size() >= self._capacity:
                self._sleepers += 1
                self._not_full.wait()
            now = self._clock()
            self._block_starts.remove(start)
            self._blocked_time += now - start
            if self._accepting:  # otherwise ``_stop_accepting`` counted the item as lost
                self._enqueue(item, after)
                self._publish(BackpressureEventKind.UNBLOCKED, blocked_for=now - start)
            if self._monitored and not self._disposed:
                self._observe(now, after)
        self._after_lock(after)

    def _stop_accepting(self) -> None:
        """Refuses items from now on (lock held). The items of the producers waiting for
        room are lost: counted here, so the statistics no longer change once it ends."""
        if self._accepting:
            self._accepting = False
            self._fast_limit = 0
            self._lost += len(self._block_starts)
            self._wake_producers()

    def _wake_producers(self) -> None:
        """Wakes the producers waiting for room (lock held)."""
        if self._sleepers:
            self._sleepers = 0
            self._not_full.notify_all()

    def _overflow(self, item: Any, after: _AfterLock) -> None:
        """Applies a dropping policy (DROP_OLDEST, DROP_NEWEST, ERROR) to a full buffer."""
        self._dropped += 1
        if self._policy is Policy.DROP_OLDEST:
            # The oldest item the consumer has not taken: one in a full buffer (see
            # above), the new one when a resize shrank it below what the consumer took.
            self._pending.append(item)
            dropped = self._pending.popleft()
        else:
            dropped = item
        after.dropped.append(dropped)
        self._publish(BackpressureEventKind.DROPPED, item=dropped)
        if self._policy is Policy.ERROR:
            error = BufferOverflowError(self._capacity)
            self._end_locked(functools.partial(self._observer.on_error, error), after)

    def _enqueue(self, item: Any, after: _AfterLock) -> None:
        size = self._size()
        self._pending.append(item)
        if size >= self._peak_size:
            self._peak_size = size + 1
        if self._idle and self._wake_consumer():
            after.schedule_drain = True

    def _end(self, terminal: Callable[[], None], *, dispose_upstream: bool) -> None:
        after = _AfterLock()
        with self._lock:
            self._end_locked(terminal, after)
        after.dispose_upstream = after.dispose_upstream and dispose_upstream
        self._after_lock(after)

    def _end_locked(self, terminal: Callable[[], None], after: _AfterLock) -> None:
        """Stops accepting items; ``terminal`` is delivered after the buffered items."""
        if not self._accepting:
            return
        self._stop_accepting()
        self._terminal = terminal
        after.dispose_upstream = True
        if self._idle and self._wake_consumer():
            after.schedule_drain = True

    def _blocking_would_deadlock(self) -> bool:
        this_thread = threading.get_ident()
        scheduler = self._scheduler
        if scheduler is None:
            return this_thread == self._drain_thread
        if self._drain_thread is None:
            return isinstance(scheduler, CurrentThreadScheduler | VirtualTimeScheduler)
        if this_thread != self._drain_thread:
            return False
        return self._draining or not isinstance(scheduler, NewThreadScheduler | TimeoutScheduler)

    def _deadlock_error(self) -> BackpressureDeadlockError:
        return BackpressureDeadlockError(
            f"Policy.BLOCK: the buffer is full (capacity {self._capacity}) and on_next was "
            "called on the thread that drains it (a consumer feeding its own source, or a "
            "scheduler that drains on the producer's thread); waiting would deadlock. "
            "Drain on another thread, or use a dropping policy."
        )

    # -- consumer side ----------------------------------------------------------------

    def _wake_consumer(self) -> bool:
        """Wakes the idle consumer (lock held); True if a drain must be scheduled."""
        self._idle = False
        if self._scheduler is None:
            self._not_empty.notify()
            return False
        return True

    def _schedule_drain(self) -> None:
        assert self._scheduler is not None
        # Not kept for cancelling: a drain that runs after dispose does nothing.
        self._scheduler.schedule(self._drain_action)

    def _drain_action(self, _scheduler: abc.SchedulerBase, _state: Any = None) -> None:
        try:
            again = self._drain_once(wait=False)
        except BaseException:
            self.dispose()
            raise
        if again:
            self._schedule_drain()

    def _run_consumer(self) -> None:
        try:
            while self._drain_once(wait=True):
                pass
        except BaseException:
            self.dispose()
            raise

    def _drain_once(self, *, wait: bool) -> bool:
        """Delivers one batch, or the terminal signal; True while more may follow."""
        taken = self._take(wait=wait)
        if taken is None:
            return False
        batch, unhanded, first = taken
        try:
            if not batch:
                self._finish()
                return False
            deliver = self._observer.on_next
            # Ends early when dispose takes the rest: dispose stops it between two items.
            for position, item in enumerate(unhanded, first):
                self._handed = position
                try:
                    deliver(item)
                except Exception as error:
                    self._downstream_failed(error)
                    return False
                if self._sleepers and self._capacity - self._size() >= self._refill:
                    with self._lock:
                        self._wake_producers()
            if self._disposed:
                return False
            self._retired.extend(batch)
            if self._monitored:
                self._observe_now()
            return True
        finally:
            self._draining = False

    def _downstream_failed(self, error: Exception) -> None:
        """Downstream ``on_next`` raised on the consumer's thread, where no caller can
        catch it: the subscription ends (the producer is released, buffered items are
        discarded) and the error goes downstream as ``on_error``, unless a dispose came
        first: after one, nothing more goes downstream."""
        observer = self._observer
        if self._dispose():
            observer.on_error(error)

    def _take(self, *, wait: bool) -> tuple[deque[Any], Iterator[Any], int] | None:
        """Takes everything buffered, the iterator to deliver it from (shared with dispose,
        see ``_unhanded``), and the position of its first item.

        Returns an empty batch when only the terminal signal is left, and None when there
        is nothing to do (disposed, or, without ``wait``, an empty buffer).
        """
        with self._lock:
            while wait and not (self._pending or self._terminal is not None or self._disposed):
                self._idle = True
                self._not_empty.wait()
            self._idle = False
            if self._disposed:
                return None
            batch = self._pending
            first = self._taken + 1
            if batch:
                self._pending = deque()
                self._taken += len(batch)
                self._handed = first  # the first item is in the consumer's hand from now on
                self._unhanded = iter(batch)
            elif self._terminal is None:
                self._idle = True
                return None
            self._drain_thread = threading.get_ident()
            self._draining = True
            self._wake_producers()
            return batch, self._unhanded, first

    def _finish(self) -> None:
        """Delivers the terminal signal once everything buffered has been delivered."""
        with self._lock:
            if self._disposed:  # a dispose came first: nothing more goes downstream
                return
            terminal = self._terminal
            self._disposed = True
        self._retired.clear()
        self._upstream.dispose()
        self._timer.dispose()
        self._closed()
        try:
            if terminal is not None:
                terminal()
        finally:
            self._let_go_of_downstream()

    # -- monitoring -------------------------------------------------------------------

    def _size(self) -> int:
        return len(self._pending) + self._taken - self._handed

    def _produced(self) -> int:
        return len(self._pending) + self._taken + self._dropped + self._lost + self._cleared

    def _publish(self, kind: BackpressureEventKind, **details: Any) -> None:
        if self._hub.listening:
            event = BackpressureEvent(
                kind, self._time_scheduler.now, self._size(), self._capacity, **details
            )
            self._hub.publish(event)

    def _observe(self, now: float, after: _AfterLock) -> None:
        """Samples the occupancy for ``Adaptive`` and ``SlowConsumer`` (lock held)."""
        size, waiting = self._size(), bool(self._block_starts)
        if self._load is not None:
            self._load.sample(size, self._capacity, waiting, now)
            self._adapt(self._load, size, waiting, now)
        if self._congestion is not None:
            if self._congestion.sample(size, self._capacity, waiting, now):
                self._congestion_start = (now, self._produced(), self._handed)
            self._watch_consumer(self._congestion, now)
        after.deadline = self._next_deadline()

    def _shrunk_capacity(self, adaptive: Adaptive) -> int:
        """Half the capacity, within bounds, and above the size so nothing overflows."""
        return max(adaptive.min_size, self._capacity // 2, self._size() + 1)

    def _adapt(self, load: _Band[Adaptive], size: int, waiting: bool, now: float) -> None:
        adaptive, previous = load.config, self._capacity
        grow_at, shrink_at = load.high_until(), load.low_until()
        if grow_at is not None and now >= grow_at and previous < adaptive.max_size:
            capacity = min(adaptive.max_size, previous * 2)
        elif shrink_at is not None and now >= shrink_at:
            capacity = self._shrunk_capacity(adaptive)
            if capacity >= previous:
                return
        else:
            return
        self._set_capacity(capacity, size, waiting, now)

    def _set_capacity(self, capacity: int, size: int, waiting: bool, now: float) -> None:
        """Changes the capacity (lock held), for ``Adaptive`` and ``Backpressure.resize``.

        Growing wakes the producers waiting for room. Shrinking below the size drops
        nothing: items that arrive before there is room again wait (``BLOCK``) or meet
        the policy. With ``Adaptive``, the windows start afresh at the new capacity.
        """
        previous = self._capacity
        self._capacity = capacity
        self._refill = max(1, capacity // 4)
        if self._fast_limit:  # accepting, unmonitored: the fast path runs below capacity
            self._fast_limit = capacity
        if capacity > previous:
            self._wake_producers()
        self._publish(BackpressureEventKind.RESIZED, previous_capacity=previous)
        load = self._load
        if load is not None:
            # The next resize needs a whole window at the new capacity.
            load.high_since = load.low_since = None
            load.sample(size, capacity, waiting, now)

    def resize(self, capacity: int) -> _AfterLock | None:
        """Sets the capacity (``Backpressure.resize``), and returns what ``_after_lock``
        has to do; None when the capacity is unchanged or the subscription has ended (its
        statistics report the new capacity, nothing else happens)."""
        after = _AfterLock()
        with self._lock:
            if self._disposed:
                self._capacity = capacity
                return None
            if capacity == self._capacity:
                return None
            now = self._clock() if self._monitored else 0.0
            self._set_capacity(capacity, self._size(), bool(self._block_starts), now)
            if self._monitored:
                self._observe(now, after)
        return after

    def _watch_consumer(self, congestion: _Band[SlowConsumer], now: float) -> None:
        if self._slow_since is None:
            congested_until = congestion.high_until()
            congested_long = congested_until is not None and now >= congested_until
            blocked_long = bool(self._block_starts) and (
                now >= min(self._block_starts) + congestion.config.blocked_threshold
            )
            if congested_long or blocked_long:
                self._slow_since = (now, self._produced(), self._handed)
                self._publish_rates(
                    BackpressureEventKind.SLOW_CONSUMER, self._congestion_start, now
                )
        elif congestion.low_since is not None:
            since, self._slow_since = self._slow_since, None
            self._publish_rates(BackpressureEventKind.RECOVERED, since, now)

    def _publish_rates(
        self, kind: BackpressureEventKind, since: tuple[float, int, int] | None, now: float
    ) -> None:
        if since is None:
            self._publish(kind)
            return
        started, produced, handed = since
        self._publish(
            kind,
            producer_rate=_rate(self._produced(), produced, now, started),
            consumer_rate=_rate(self._handed, handed, now, started),
        )

    def _next_deadline(self) -> float | None:
        """The earliest time at which a watched window can end."""
        deadlines: list[float | None] = []
        if self._load is not None:
            adaptive = self._load.config
            if self._capacity < adaptive.max_size:
                deadlines.append(self._load.high_until())
            if self._shrunk_capacity(adaptive) < self._capacity:
                deadlines.append(self._load.low_until())
        if self._congestion is not None and self._slow_since is None:
            deadlines.append(self._congestion.high_until())
            if self._block_starts:
                threshold = self._congestion.config.blocked_threshold
                deadlines.append(min(self._block_starts) + threshold)
        return min((d for d in deadlines if d is not None), default=None)

    def _arm_timer(self, deadline: float) -> None:
        with self._timer_lock:
            if self._timer_due is not None and self._timer_due <= deadline:
                return
            self._timer_due = deadline
            delay = max(0.0, deadline - self._clock())
            self._timer.disposable = self._time_scheduler.schedule_relative(delay, self._on_timer)

    def _on_timer(self, _scheduler: abc.SchedulerBase, _state: Any = None) -> None:
        with self._timer_lock:
            self._timer_due = None
        self._observe_now()

    def _observe_now(self) -> None:
        after = _AfterLock()
        with self._lock:
            if self._disposed:
                return
            self._observe(self._clock(), after)
        self._after_lock(after)

    def _after_lock(self, after: _AfterLock) -> None:
        if after.dispose_upstream:
            self._upstream.dispose()
        if after.deadline is not None:
            self._arm_timer(after.deadline)
        if after.schedule_drain:
            self._schedule_drain()
        if after.dropped and self._on_drop is not None:
            try:
                for item in after.dropped:
                    self._on_drop(item)
            except Exception as error:
                self._end(functools.partial(self._observer.on_error, error), dispose_upstream=True)
        self._hub.flush()

    # -- statistics -------------------------------------------------------------------

    def statistics(self) -> BackpressureStatistics:
        with self._lock:
            now = self._clock() if self._block_starts else 0.0
            size = 0 if self._disposed else self._size()
            produced, delivered = self._produced(), self._handed
            # After dispose, items the consumer had taken but not handed over are lost too.
            discarded = produced - delivered - self._dropped - size
            return BackpressureStatistics(
                capacity=self._capacity,
                size=size,
                peak_size=self._peak_size,
                produced=produced,
                delivered=delivered,
                dropped=self._dropped,
                discarded=discarded,
                blocked_time=self._blocked_time + sum(now - s for s in self._block_starts),
                producers_waiting=len(self._block_starts),
                slow_consumer=self._slow_since is not None,
            )


class Backpressure:
    """The operator made by ``backpressure(...)``: pass it to ``pipe``, or call it.

    It can be subscribed any number of times; each subscription has its own buffer and
    consumer. ``statistics()`` describes the most recent subscription, ``events``
    carries the events of all of them, and ``resize()`` changes all their capacities.
    """

    def __init__(self, settings: _Settings) -> None:
        self._settings = settings
        self._hub = _EventHub()
        self._latest: _BoundedBuffer | None = None
        # Guards _settings, _live and _latest; taken before a buffer's lock, never after.
        self._lock = threading.Lock()
        self._live: dict[_BoundedBuffer, None] = {}  # in subscription order

    @property
    def events(self) -> Observable[BackpressureEvent]:
        """Hot Observable of the events of every subscription to this operator."""
        return self._hub.subject

    def statistics(self) -> BackpressureStatistics:
        """A snapshot of the most recent subscription (zeros before the first one)."""
        latest = self._latest
        if latest is not None:
            return latest.statistics()
        return BackpressureStatistics(
            capacity=self._settings.capacity,
            size=0,
            peak_size=0,
            produced=0,
            delivered=0,
            dropped=0,
            discarded=0,
            blocked_time=0.0,
            producers_waiting=0,
            slow_consumer=False,
        )

    def resize(self, buffer_size: int) -> None:
        """Sets the capacity of every running subscription, and of later ones.

        Callable from any thread while streams run. With ``adaptive``, ``buffer_size`` is
        clamped into ``[min_size, max_size]``, and the capacity goes on adapting from there.
        Growing releases producers waiting for room; shrinking below the current size drops
        nothing, but until there is room again producers wait (``BLOCK``) or the policy
        applies to the items that arrive (``DROP_OLDEST`` then evicts the new item itself
        if the consumer has already taken every buffered one). Each subscription whose
        capacity changes publishes a ``RESIZED`` event. ``statistics()`` reports the new
        capacity, also when the most recent subscription has already ended.

        Raises:
            TypeError: ``buffer_size`` is not an int (a bool is not).
            ValueError: ``buffer_size`` is smaller than 1.
        """
        check_buffer_size(buffer_size)
        adaptive = self._settings.adaptive
        if adaptive is not None:
            buffer_size = min(max(buffer_size, adaptive.min_size), adaptive.max_size)
        done: list[tuple[_BoundedBuffer, _AfterLock]] = []
        # Under the lock, so that concurrent resizes leave every buffer at the same size.
        with self._lock:
            self._settings = replace(self._settings, capacity=buffer_size)
            for buffer in self._live:
                after = buffer.resize(buffer_size)
                if after is not None:
                    done.append((buffer, after))
            latest = self._latest
            if latest is not None and latest not in self._live:
                latest.resize(buffer_size)  # ended: for statistics() only
        # Timers and events (observers may call back into this operator) come after it.
        for buffer, after in done:
            buffer._after_lock(after)

    def _closed(self, buffer: _BoundedBuffer) -> None:
        with self._lock:
            self._live.pop(buffer, None)

    def __call__(self, source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: _Observer, scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            with self._lock:  # a concurrent resize reaches it, or it starts at the new size
                buffer = _BoundedBuffer(self._settings, observer, self._hub, self._closed)
                self._live[buffer] = None
                self._latest = buffer
            buffer.start()
            if isinstance(source, BatchingObservable):
                buffer.attach(source.subscribe_batches(buffer, scheduler=scheduler))
            else:
                buffer.attach(source.subscribe(buffer, scheduler=scheduler))
            return Disposable(buffer.dispose)

        return _Output(subscribe)


class _Output(Observable[_T]):
    """What ``Backpressure`` makes of a source: its consumer calls the subscriber's own
    callbacks (``_Callbacks``); RxPY's ``subscribe`` still makes the subscription (the
    trampoline, errors while subscribing) and its disposable disposes it."""

    def __init__(
        self,
        connect: Callable[[_Observer, abc.SchedulerBase | None], abc.DisposableBase],
    ) -> None:
        super().__init__(connect)
        self._connect = connect

    def subscribe(
        self,
        on_next: abc.ObserverBase[_T] | abc.OnNext[_T] | None = None,
        on_error: abc.OnError | None = None,
        on_completed: abc.OnCompleted | None = None,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        callbacks = _Callbacks.of(on_next, on_error, on_completed)

        def connect(
            _detached: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            return self._connect(callbacks, scheduler)

        return Observable(connect).subscribe(on_error=callbacks.on_error, scheduler=scheduler)


def backpressure(
    policy: Policy,
    *,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    scheduler: abc.SchedulerBase | None = None,
    on_drop: Callable[[Any], object] | None = None,
    adaptive: Adaptive | None = None,
    slow_consumer: SlowConsumer | None = None,
) -> Backpressure:
    """Puts a bounded buffer with an overflow ``policy`` between producer and consumer.

    .. marble::
        :alt: backpressure

        -0-1-2-3-4-5-|
        [  backpressure(DROP_OLDEST, buffer_size=2), consumer busy on 0  ]
        -0---------4-5-|

    Examples:
        >>> bp = backpressure(Policy.BLOCK, buffer_size=64)
        >>> source.pipe(bp).subscribe(handle)
        >>> bp.statistics().peak_size

    Args:
        policy: What to do with an item that arrives while the buffer is full.
        buffer_size: Capacity in items (the initial one with ``adaptive``, clamped into
            its bounds).
        scheduler: Drain on this scheduler instead of a dedicated consumer thread; it also
            runs the monitoring timers and provides the clock.
        on_drop: Called with every item the policy discards; if it raises, the stream
            ends with that error.
        adaptive: Grow and shrink the capacity with the load.
        slow_consumer: Report a slow consumer, and its recovery, as events.

    Returns:
        The operator, with ``statistics()``, ``events`` and ``resize()``.

    Raises:
        TypeError: An argument has the wrong type: ``policy`` is not a ``Policy``,
            ``buffer_size`` not an int (a bool is not), ``scheduler`` not a scheduler,
            ``on_drop`` not callable, ``adaptive`` or ``slow_consumer`` not one of those.
        ValueError: ``buffer_size`` is smaller than 1.
    """
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a Policy, got {policy!r}")
    check_buffer_size(buffer_size)
    if scheduler is not None and not isinstance(scheduler, abc.SchedulerBase):
        raise TypeError(f"scheduler must be a reactivex scheduler or None, got {scheduler!r}")
    if on_drop is not None and not callable(on_drop):
        raise TypeError(f"on_drop must be callable or None, got {on_drop!r}")
    if adaptive is not None and not isinstance(adaptive, Adaptive):
        raise TypeError(f"adaptive must be an Adaptive or None, got {adaptive!r}")
    if slow_consumer is not None and not isinstance(slow_consumer, SlowConsumer):
        raise TypeError(f"slow_consumer must be a SlowConsumer or None, got {slow_consumer!r}")
    capacity = buffer_size
    if adaptive is not None:
        capacity = min(max(buffer_size, adaptive.min_size), adaptive.max_size)
    return Backpressure(_Settings(policy, capacity, scheduler, on_drop, adaptive, slow_consumer))
