"""``measure(metrics)``: counts, throughput and latency of a message stream.

``measure`` passes every message on unchanged and records it in a :class:`StreamMetrics`;
``metrics.snapshot()`` returns a frozen :class:`MetricsSnapshot`, and
``metrics.observe(interval)`` emits one every ``interval`` seconds.

Design decisions:

* **One clock per** :class:`StreamMetrics`. With ``scheduler=`` every figure is read from
  ``scheduler.now`` (ticks as seconds under ``TestScheduler``); without one, durations and
  throughput windows use ``time.monotonic`` (cheap, immune to wall-clock steps) and
  latency is wall-clock UTC minus ``received_at``, which ``parse_json_frames`` stamps
  from the current-thread scheduler's wall clock. Give the metrics the scheduler that
  stamps ``received_at``; a negative latency (clocks that disagree) counts as 0.
* **Latency** is the clock at the end of the message's handling downstream (when the
  downstream ``on_next`` returns: placed last, ``measure`` sees the whole pipeline's
  handling) minus ``received_at``; **processing time** is the time spent in that
  downstream ``on_next``. Both are *sampled*: every ``sample_every``-th message of each
  stream (default 16; set 1 to time every message), because reading a wall clock and
  converting ``received_at`` cost more than everything else ``measure`` does per message.
  Counts and bytes are never sampled.
* **Latency distribution**: :class:`LatencyHistogram`, log buckets with 32 linear
  sub-buckets per power of two, from 2**-20 s (about 1 µs) to 2**14 s (about 4.5 h):
  1058 counters whatever the number of samples, percentiles within 1/64 (1.6 %) of the
  exact nearest-rank value, and exact ``min``, ``max`` and ``mean``.
* **Throughput**: overall = totals / ``elapsed``, the time from the first subscription
  to now, or to the end of the last stream when none runs. Windowed = what arrived in the
  last ``window`` seconds (default 10) / ``window`` (or ``elapsed`` if shorter), kept as a
  ring of ``window_buckets`` per-period totals, so the window is exact to one bucket
  (1 s by default). Each message reads the clock once, to find its bucket.
* **Error rate** = (parse errors + handler errors) / messages received: failures of the
  pipeline (bad input, handlers that raised). What Claude reports as errors (failed
  turns, API retries, failed tools) is in ``by_kind[Kind.ERROR]``.
* **Kinds** come from :func:`~rxclaude.messages.kinds.kinds_of`, a cheap look at each message
  that still costs about a third of ``measure``'s time per message. When ``measure``
  follows ``route_by_type(router)``, pass ``router=router``: the per-kind counts are then
  the router's (``router.statistics().by_kind`` since it was attached, which also counts
  its other streams) and messages are not classified twice.
* **Thread safety without a lock per message.** Each subscription counts into its own
  recorder, written only by the thread delivering that stream (Rx delivers one item at a
  time), so no update is lost; a lock is taken only to add a frame type, to close a
  throughput bucket, for sampled timings and by ``snapshot``, which sums the recorders
  of running streams with the totals of finished ones. Counts are exact; a snapshot taken
  while messages flow may see the message in flight in some fields and not yet in others.
* **Backpressure**: ``attach_backpressure(bp)`` (or ``measure(..., backpressure=bp)``)
  counts the events of ``bp.events`` from then on, and each snapshot reads
  ``bp.statistics()`` for buffer utilisation (summed over attached buffers).
* **Spools**: ``attach_spool(source)`` (or ``measure(..., spool=source)``) with the
  observable of ``from_cli`` (or ``from_reader(..., spool=True)``): each snapshot reads
  ``source.statistics()`` for the bytes waiting in memory and on disk and their peaks
  (summed over attached sources, held weakly like backpressures).
* ``bytes_processed`` sums ``message.nbytes``: the frames' bytes without line terminators
  (parse errors included); synthesized items (``HandlerError``, partials) add 0.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reactivex import Observable, abc
from reactivex import interval as interval_timer
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable, Disposable

from rxclaude.backpressure import (
    Backpressure,
    BackpressureEvent,
    BackpressureEventKind,
    BackpressureStatistics,
    check_seconds,
)
from rxclaude.messages import Message
from rxclaude.messages.kinds import KIND_SETS, Kind, kind_mask
from rxclaude.routing import Router
from rxclaude.spool import SpooledSource, SpoolStatistics

__all__ = [
    "LatencyHistogram",
    "MetricsSnapshot",
    "StreamMetrics",
    "measure",
]

_SUB_BUCKETS = 32
_LOWEST_EXPONENT = -19  # frexp exponent of 2**-20 s: the lowest bucket starts there
_OCTAVES = 33  # up to 2**14 s
_BUCKETS = 2 + _OCTAVES * _SUB_BUCKETS  # the first below 2**-20 s, the last from 2**14 s
_LOWEST = 2.0**-20


class LatencyHistogram:
    """Durations in seconds in bounded memory: log buckets, 32 linear steps per octave.

    ``percentile(q)`` is within ``RELATIVE_ERROR`` (1/64) of the exact nearest-rank
    percentile for values from 2**-20 s (about 1 µs) to 2**14 s; smaller values read as
    the smallest one recorded, larger ones as the largest, and every answer is clamped to
    the exact ``min`` and ``max``.
    Not thread-safe by itself: :class:`StreamMetrics` records under its lock, and
    snapshots hold copies.
    """

    RELATIVE_ERROR = 1 / (2 * _SUB_BUCKETS)

    __slots__ = ("_counts", "count", "max", "min", "total")

    def __init__(self) -> None:
        self._counts = [0] * _BUCKETS
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = 0.0

    def record(self, seconds: float) -> None:
        """Adds one duration; negative ones count as 0."""
        seconds = max(seconds, 0.0)
        self._counts[_bucket(seconds)] += 1
        self.count += 1
        self.total += seconds
        self.min = min(self.min, seconds)
        self.max = max(self.max, seconds)

    def merge(self, other: LatencyHistogram) -> None:
        """Adds ``other``'s samples to this histogram."""
        if not other.count:
            return
        self._counts = [a + b for a, b in zip(self._counts, other._counts, strict=True)]
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def copy(self) -> LatencyHistogram:
        """An independent copy."""
        duplicate = LatencyHistogram()
        duplicate.merge(self)
        return duplicate

    @property
    def mean(self) -> float:
        """The exact mean (0.0 without samples)."""
        return self.total / self.count if self.count else 0.0

    def percentile(self, q: float) -> float:
        """The nearest-rank ``q``-th percentile, ``0 <= q <= 100`` (0.0 without samples)."""
        if not 0 <= q <= 100:
            raise ValueError(f"percentile needs 0 <= q <= 100, got {q}")
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(q / 100 * self.count))
        seen = 0
        for index, count in enumerate(self._counts):
            seen += count
            if seen >= rank:
                if index == 0:  # below the resolution: the smallest value is as good
                    return self.min
                if index == _BUCKETS - 1:  # beyond the range: the largest one
                    return self.max
                return min(max(_midpoint(index), self.min), self.max)
        return self.max  # unreachable: the counts add up to ``count``


def _bucket(seconds: float) -> int:
    if seconds < _LOWEST:
        return 0
    mantissa, exponent = math.frexp(seconds)  # seconds = mantissa * 2**exponent, 0.5 <= m < 1
    octave = exponent - _LOWEST_EXPONENT
    if octave >= _OCTAVES:
        return _BUCKETS - 1
    return 1 + octave * _SUB_BUCKETS + int((mantissa - 0.5) * 2 * _SUB_BUCKETS)


def _midpoint(index: int) -> float:
    octave, step = divmod(index - 1, _SUB_BUCKETS)
    return math.ldexp(0.5 + (step + 0.5) / (2 * _SUB_BUCKETS), octave + _LOWEST_EXPONENT)


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """The figures of a :class:`StreamMetrics` at one moment (times in seconds)."""

    elapsed: float
    """From the first subscription to now, or to the end of the last stream if none runs."""
    streams_active: int
    messages_received: int
    """Items that passed through ``measure`` (``HandlerError`` items and partials too)."""
    bytes_processed: int
    """Sum of ``nbytes``: the frames' bytes without their line terminators."""
    parse_errors: int
    handler_errors: int
    """``HandlerError`` items that passed through."""
    error_rate: float
    """(parse_errors + handler_errors) / messages_received (0.0 before any message)."""
    backpressure_events: int
    backpressure_events_by_kind: dict[BackpressureEventKind, int]
    avg_processing_time: float
    """Mean time in the downstream ``on_next``, over the sampled messages."""
    latency_p50: float
    latency_p90: float
    latency_p99: float
    latency_max: float
    latency: LatencyHistogram
    """This snapshot's own copy of the distribution (``latency.count`` = samples)."""
    messages_per_second: float
    bytes_per_second: float
    window: float
    """The length of the sliding window, in seconds."""
    window_messages_per_second: float
    window_bytes_per_second: float
    buffer_capacity: int
    buffer_size: int
    buffer_utilisation: float
    """buffer_size / buffer_capacity of the attached backpressure buffers (0.0 if none)."""
    buffer_peak_utilisation: float
    """Their peak size / capacity."""
    by_type: dict[str, int] = field(default_factory=dict)
    by_kind: dict[Kind, int] = field(default_factory=dict)
    """Messages per :class:`~rxclaude.routing.Kind` (once per kind; every kind present)."""
    spool_memory_bytes: int = 0
    """Bytes waiting in the attached sources' spools, in memory (0 with none attached)."""
    spool_disk_bytes: int = 0
    """Bytes waiting in their temporary files."""
    spool_peak_memory_bytes: int = 0
    spool_peak_disk_bytes: int = 0
    spool_peak_bytes: int = 0
    """The sum of each spool's peak of bytes waiting, memory and disk together."""
    spool_spilled_bytes: int = 0
    """Bytes written to the spools' temporary files in all."""


class _Clock:
    """Seconds for durations and windows, and the latency of a ``received_at`` stamp."""

    def __init__(self, scheduler: abc.SchedulerBase | None) -> None:
        self.seconds: Callable[[], float]
        self.since: Callable[[datetime], float]
        if scheduler is None:
            self.seconds = time.monotonic
            self.since = _wall_clock_since
        else:
            to_seconds = scheduler.to_seconds
            self.seconds = lambda: to_seconds(scheduler.now)
            self.since = lambda stamp: (scheduler.now - stamp).total_seconds()


def _wall_clock_since(stamp: datetime) -> float:
    return (datetime.now(UTC) - stamp).total_seconds()


class _Totals:
    """Counts by frame type and by kind set, bytes, and sampled timings."""

    __slots__ = (
        "by_kind_mask",
        "by_type",
        "bytes",
        "latency",
        "messages",
        "processed",
        "processing_time",
    )

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.by_type: dict[str, int] = {}
        self.by_kind_mask = [0] * len(KIND_SETS)  # messages per kind set, by its bit mask
        self.latency = LatencyHistogram()
        self.processed = 0  # sampled messages whose processing time was taken
        self.processing_time = 0.0

    def add(self, other: _Totals) -> None:
        self.messages += other.messages
        self.bytes += other.bytes
        # dict() copies atomically under the GIL while the writer may add keys.
        for frame_type, count in dict(other.by_type).items():
            self.by_type[frame_type] = self.by_type.get(frame_type, 0) + count
        pairs = zip(self.by_kind_mask, other.by_kind_mask, strict=True)
        self.by_kind_mask = [mine + theirs for mine, theirs in pairs]
        self.latency.merge(other.latency)
        self.processed += other.processed
        self.processing_time += other.processing_time


class _Recorder(_Totals):
    """One subscription's counts, plus its open throughput bucket."""

    __slots__ = ("bucket", "bucket_bytes", "bucket_end", "bucket_messages", "closed", "router")

    def __init__(self, router: Router | None) -> None:
        super().__init__()
        self.bucket = -1  # index of the open bucket; its totals start at bucket_*
        self.bucket_end = -math.inf
        self.bucket_messages = 0
        self.bucket_bytes = 0
        self.closed = False
        self.router = router  # whose per-kind counts this stream's kinds are read from


class _AttachedRouter:
    """A router whose per-kind counts the metrics report, and who keeps it attached."""

    __slots__ = ("baseline", "pinned", "router", "streams")

    def __init__(self, router: Router, *, pinned: bool) -> None:
        self.router = router
        self.baseline = router.statistics().by_kind
        self.pinned = pinned  # attach_router() was called: attached for good
        self.streams = 0  # open measured streams that route through it

    def routed_since_attached(self) -> dict[Kind, int]:
        counts = self.router.statistics().by_kind
        return {kind: counts[kind] - self.baseline[kind] for kind in Kind}


class StreamMetrics:
    """Thread-safe figures of the streams that ``measure`` operators record into.

    Args:
        scheduler: the clock (``scheduler.now``); by default ``time.monotonic`` for
            durations and the wall clock for latency.
        window: seconds of the sliding throughput window.
        window_buckets: how many periods the window is kept as (its resolution).
        sample_every: time the handling of every n-th message of each stream.
    """

    def __init__(
        self,
        *,
        scheduler: abc.SchedulerBase | None = None,
        window: float = 10.0,
        window_buckets: int = 10,
        sample_every: int = 16,
    ) -> None:
        if not window > 0:
            raise ValueError(f"window must be > 0 seconds, got {window}")
        if window_buckets < 1:
            raise ValueError(f"window_buckets must be >= 1, got {window_buckets}")
        if sample_every < 1:
            raise ValueError(f"sample_every must be >= 1, got {sample_every}")
        self.scheduler = scheduler
        self.window = window
        self.sample_every = sample_every
        self._clock = _Clock(scheduler)
        self._bucket_width = window / window_buckets
        self._lock = threading.Lock()
        self._finished = _Totals()
        self._recorders: list[_Recorder] = []
        # Closed buckets of every stream: slot -> [bucket index, messages, bytes].
        self._ring = [[-1, 0, 0] for _ in range(window_buckets)]
        self._started: float | None = None
        self._stopped = 0.0
        # Held weakly: a finished pipeline's operators must not live as long as the metrics.
        self._backpressures: list[tuple[weakref.ref[Backpressure], abc.DisposableBase]] = []
        self._spools: list[weakref.ref[SpooledSource]] = []
        self._events: Counter[BackpressureEventKind] = Counter()
        self._event_subscriptions = CompositeDisposable()
        self._routers: dict[int, _AttachedRouter] = {}  # by id(router)
        self._kinds_of_detached: dict[Kind, int] = dict.fromkeys(Kind, 0)

    # -- backpressure -----------------------------------------------------------------

    def attach_backpressure(self, backpressure: Backpressure) -> None:
        """Count ``backpressure``'s events from now on and report its buffer's utilisation
        (for as long as something else keeps the operator alive: it is held weakly)."""
        subscription = backpressure.events.subscribe(self._count_event)
        with self._lock:
            collected = self._forget_collected_backpressures()
            known = any(reference() is backpressure for reference, _ in self._backpressures)
            if not known:
                self._backpressures.append((weakref.ref(backpressure), subscription))
        self._drop_subscriptions(collected)
        if known:
            subscription.dispose()
        else:
            self._event_subscriptions.add(subscription)

    def _forget_collected_backpressures(self) -> list[abc.DisposableBase]:
        """Drops the backpressures that no longer exist (lock held); returns their event
        subscriptions. Pruned here rather than in a weakref callback, which the garbage
        collector could run on a thread that holds the lock."""
        live, collected = [], []
        for reference, subscription in self._backpressures:
            if reference() is None:
                collected.append(subscription)
            else:
                live.append((reference, subscription))
        self._backpressures = live
        return collected

    def _drop_subscriptions(self, subscriptions: list[abc.DisposableBase]) -> None:
        for subscription in subscriptions:
            self._event_subscriptions.remove(subscription)

    def attach_spool(self, source: SpooledSource) -> None:
        """Report the spool figures of ``source`` (``from_cli``'s observable) in every
        snapshot, for as long as something else keeps it alive: it is held weakly."""
        with self._lock:
            self._spools = [reference for reference in self._spools if reference() is not None]
            if not any(reference() is source for reference in self._spools):
                self._spools.append(weakref.ref(source))

    def attach_router(self, router: Router) -> None:
        """Take per-kind counts from ``router`` (what it routes from now on), for good.

        ``measure(metrics, router=router)`` attaches it only while its streams run: their
        kinds are then read from the router instead of classifying every message again.
        """
        with self._lock:
            attached = self._routers.get(id(router))
            if attached is None:
                attached = self._routers[id(router)] = _AttachedRouter(router, pinned=True)
            attached.pinned = True

    def _count_event(self, event: BackpressureEvent) -> None:
        with self._lock:
            self._events[event.kind] += 1

    def close(self) -> None:
        """Stop counting backpressure events (the figures stay readable)."""
        self._event_subscriptions.dispose()

    # -- streams ----------------------------------------------------------------------

    def _open(self, router: Router | None) -> _Recorder:
        recorder = _Recorder(router)
        now = self._clock.seconds()
        with self._lock:
            if self._started is None:
                self._started = now
            self._recorders.append(recorder)
            if router is not None:
                attached = self._routers.get(id(router))
                if attached is None:
                    attached = self._routers[id(router)] = _AttachedRouter(router, pinned=False)
                attached.streams += 1
        return recorder

    def _close(self, recorder: _Recorder) -> None:
        now = self._clock.seconds()
        with self._lock:
            if recorder.closed:
                return
            recorder.closed = True
            self._close_bucket(recorder)
            self._recorders.remove(recorder)
            self._finished.add(recorder)
            if recorder.router is not None:
                self._detach_router(recorder.router)
            if not self._recorders:
                self._stopped = now

    def _close_bucket(self, recorder: _Recorder) -> None:
        """Moves the recorder's open bucket into the ring (lock held)."""
        messages = recorder.messages - recorder.bucket_messages
        if not messages:
            return
        slot = self._ring[recorder.bucket % len(self._ring)]
        if slot[0] != recorder.bucket:
            slot[:] = [recorder.bucket, 0, 0]
        slot[1] += messages
        slot[2] += recorder.bytes - recorder.bucket_bytes
        recorder.bucket_messages = recorder.messages
        recorder.bucket_bytes = recorder.bytes

    def _detach_router(self, router: Router) -> None:
        """One stream routed through ``router`` has ended; when it was the last one, keep
        the router's counts and let go of the router (lock held)."""
        attached = self._routers[id(router)]
        attached.streams -= 1
        if attached.streams == 0 and not attached.pinned:
            del self._routers[id(router)]
            for kind, count in attached.routed_since_attached().items():
                self._kinds_of_detached[kind] += count

    def _next_bucket(self, recorder: _Recorder, now: float) -> None:
        """Closes the open bucket and opens the one ``now`` falls in."""
        with self._lock:
            self._close_bucket(recorder)
            recorder.bucket = math.floor(now / self._bucket_width)
            recorder.bucket_end = (recorder.bucket + 1) * self._bucket_width

    def _sample(self, recorder: _Recorder, processing: float, latency: float) -> None:
        with self._lock:
            recorder.processed += 1
            recorder.processing_time += processing
            recorder.latency.record(latency)

    def _recording_observer(
        self, observer: abc.ObserverBase[Message], recorder: _Recorder, classify: bool
    ) -> Callable[[Message], None]:
        """The hot path: count ``message``, pass it on, time every n-th one."""
        seconds, since = self._clock.seconds, self._clock.since
        by_type, by_kind_mask = recorder.by_type, recorder.by_kind_mask
        emit = observer.on_next
        sample_every = self.sample_every
        countdown = sample_every

        def on_next(message: Message) -> None:
            nonlocal countdown
            now = seconds()
            if now >= recorder.bucket_end:
                self._next_bucket(recorder, now)
            frame_type = message.type
            by_type[frame_type] = by_type.get(frame_type, 0) + 1
            if classify:
                by_kind_mask[kind_mask(message)] += 1
            recorder.messages += 1
            recorder.bytes += message.nbytes
            countdown -= 1
            if countdown:
                emit(message)
                return
            countdown = sample_every
            emit(message)
            self._sample(recorder, seconds() - now, since(message.received_at))

        return on_next

    # -- reading ----------------------------------------------------------------------

    def snapshot(self) -> MetricsSnapshot:
        """The figures now, over every stream recorded so far."""
        now = self._clock.seconds()
        with self._lock:
            totals = _Totals()
            totals.add(self._finished)
            for recorder in self._recorders:
                totals.add(recorder)
            window_messages, window_bytes = self._window_totals(now)
            if self._started is None:
                elapsed = 0.0
            else:
                elapsed = (now if self._recorders else self._stopped) - self._started
            streams_active = len(self._recorders)
            events = dict(self._events)
            collected = self._forget_collected_backpressures()
            backpressures = [bp for reference, _ in self._backpressures if (bp := reference())]
            routed_kinds = dict(self._kinds_of_detached)
            routers = list(self._routers.values())
            spools = [source for reference in self._spools if (source := reference())]
        self._drop_subscriptions(collected)
        return _make_snapshot(
            totals,
            elapsed=elapsed,
            streams_active=streams_active,
            window=self.window,
            window_messages=window_messages,
            window_bytes=window_bytes,
            events=events,
            buffers=[bp.statistics() for bp in backpressures],
            routed_kinds=self._routed_kinds(routed_kinds, routers),
            spools=[source.statistics() for source in spools],
        )

    @staticmethod
    def _routed_kinds(detached: dict[Kind, int], routers: list[_AttachedRouter]) -> dict[Kind, int]:
        """Messages per kind counted by routers while attached (``detached``: by those let
        go of already)."""
        by_kind = dict(detached)
        for attached in routers:
            for kind, count in attached.routed_since_attached().items():
                by_kind[kind] += count
        return by_kind

    def _window_totals(self, now: float) -> tuple[int, int]:
        """Messages and bytes of the buckets in the window ending now (lock held)."""
        newest = math.floor(now / self._bucket_width)
        oldest = newest - len(self._ring) + 1
        messages = bytes_ = 0
        for index, slot_messages, slot_bytes in self._ring:
            if oldest <= index <= newest:
                messages += slot_messages
                bytes_ += slot_bytes
        for recorder in self._recorders:
            if oldest <= recorder.bucket <= newest:
                messages += recorder.messages - recorder.bucket_messages
                bytes_ += recorder.bytes - recorder.bucket_bytes
        return messages, bytes_

    def observe(
        self, interval: float, scheduler: abc.SchedulerBase | None = None
    ) -> Observable[MetricsSnapshot]:
        """A snapshot every ``interval`` seconds, on ``scheduler`` (default: the metrics').

        .. code-block:: text

            observe(1.0):  ----s1----s2----s3-...   (never completes; dispose to stop)

        Raises:
            TypeError: ``interval`` is not a number (a bool is not).
            ValueError: ``interval`` is not positive and finite.
        """
        check_seconds("interval", interval)
        timer: Observable[int] = interval_timer(interval, scheduler=scheduler or self.scheduler)
        return timer.pipe(ops.map(lambda _tick: self.snapshot()))


def _make_snapshot(
    totals: _Totals,
    *,
    elapsed: float,
    streams_active: int,
    window: float,
    window_messages: int,
    window_bytes: int,
    events: dict[BackpressureEventKind, int],
    buffers: list[BackpressureStatistics],
    routed_kinds: dict[Kind, int],
    spools: list[SpoolStatistics],
) -> MetricsSnapshot:
    by_kind = dict(routed_kinds)
    for mask, count in enumerate(totals.by_kind_mask):
        if count:
            for kind in KIND_SETS[mask]:
                by_kind[kind] += count
    messages = totals.messages
    parse_errors = totals.by_type.get("parse_error", 0)
    handler_errors = totals.by_type.get("handler_error", 0)
    window_span = min(window, elapsed)
    capacity = sum(stats.capacity for stats in buffers)
    size = sum(stats.size for stats in buffers)
    peak = sum(stats.peak_size for stats in buffers)
    latency = totals.latency
    return MetricsSnapshot(
        elapsed=elapsed,
        streams_active=streams_active,
        messages_received=messages,
        bytes_processed=totals.bytes,
        parse_errors=parse_errors,
        handler_errors=handler_errors,
        error_rate=(parse_errors + handler_errors) / messages if messages else 0.0,
        backpressure_events=sum(events.values()),
        backpressure_events_by_kind=events,
        avg_processing_time=(
            totals.processing_time / totals.processed if totals.processed else 0.0
        ),
        latency_p50=latency.percentile(50),
        latency_p90=latency.percentile(90),
        latency_p99=latency.percentile(99),
        latency_max=latency.max,
        latency=latency,
        messages_per_second=messages / elapsed if elapsed > 0 else 0.0,
        bytes_per_second=totals.bytes / elapsed if elapsed > 0 else 0.0,
        window=window,
        window_messages_per_second=window_messages / window_span if window_span > 0 else 0.0,
        window_bytes_per_second=window_bytes / window_span if window_span > 0 else 0.0,
        buffer_capacity=capacity,
        buffer_size=size,
        buffer_utilisation=size / capacity if capacity else 0.0,
        buffer_peak_utilisation=peak / capacity if capacity else 0.0,
        by_type=totals.by_type,
        by_kind=by_kind,
        spool_memory_bytes=sum(spool.memory_bytes for spool in spools),
        spool_disk_bytes=sum(spool.disk_bytes for spool in spools),
        spool_peak_memory_bytes=sum(spool.peak_memory_bytes for spool in spools),
        spool_peak_disk_bytes=sum(spool.peak_disk_bytes for spool in spools),
        spool_peak_bytes=sum(spool.peak_bytes for spool in spools),
        spool_spilled_bytes=sum(spool.spilled_bytes for spool in spools),
    )


def measure(
    metrics: StreamMetrics,
    *,
    backpressure: Backpressure | None = None,
    router: Router | None = None,
    spool: SpooledSource | None = None,
) -> Callable[[Observable[Message]], Observable[Message]]:
    """Record every message in ``metrics`` and pass it on unchanged.

    Place it last to time the whole pipeline's handling: latency runs from a frame's
    ``received_at`` to the moment downstream ``on_next`` returns (see the module
    docstring for sampling, clocks and thread safety).

    .. code-block:: text

        messages:  -a--s--E--r--|
        measure(metrics)             counts a, s, E, r; times every n-th handling
        output:    -a--s--E--r--|

    Args:
        metrics: where to record; may be shared by any number of streams and threads.
        backpressure: a ``backpressure(...)`` operator whose events and buffer
            utilisation the metrics should report (same as ``attach_backpressure``).
        router: the router of a ``route_by_type`` upstream: per-kind counts are taken
            from it while the stream runs, instead of classifying every message again.
        spool: the source (``from_cli``'s observable) whose spool figures the metrics
            should report (same as ``attach_spool``).
    """
    if backpressure is not None:
        metrics.attach_backpressure(backpressure)
    if spool is not None:
        metrics.attach_spool(spool)

    def operator(source: Observable[Message]) -> Observable[Message]:
        def subscribe(
            observer: abc.ObserverBase[Message],
            scheduler: abc.SchedulerBase | None = None,
        ) -> abc.DisposableBase:
            recorder = metrics._open(router)

            def on_error(error: Exception) -> None:
                metrics._close(recorder)
                observer.on_error(error)

            def on_completed() -> None:
                metrics._close(recorder)
                observer.on_completed()

            subscription = source.subscribe(
                metrics._recording_observer(observer, recorder, classify=router is None),
                on_error,
                on_completed,
                scheduler=scheduler,
            )
            return CompositeDisposable(subscription, Disposable(lambda: metrics._close(recorder)))

        return Observable(subscribe)

    return operator
