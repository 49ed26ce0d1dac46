""":class:`StreamMetrics`: the figures that ``measure`` operators record into.

It holds the finished streams' totals, a recorder per running stream, the throughput
window's ring of closed buckets, and the attached backpressures, spools and routers; a
snapshot sums them under the lock. :meth:`StreamMetrics._recording_observer` is the hot path
``measure`` runs per message (:func:`unclassified` gives it the kinds of a message that
routing did not classify);
the design (clocks, sampling, thread safety) is in
:mod:`rxclaude.metrics`.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import Counter
from collections.abc import Callable

from reactivex import Observable, abc
from reactivex import interval as interval_timer
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable

from rxclaude.backpressure import (
    Backpressure,
    BackpressureEvent,
    BackpressureEventKind,
    check_seconds,
)
from rxclaude.messages import Message
from rxclaude.messages.kinds import Kind, kind_mask
from rxclaude.metrics.recorders import AttachedRouter, Clock, Recorder, Totals
from rxclaude.metrics.snapshot import MetricsSnapshot, make_snapshot
from rxclaude.routing import Router
from rxclaude.sources import SpooledSource

__all__ = ["StreamMetrics"]


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
        self._clock = Clock(scheduler)
        self._bucket_width = window / window_buckets
        self._lock = threading.Lock()
        self._finished = Totals()
        self._recorders: list[Recorder] = []
        # Closed buckets of every stream: slot -> [bucket index, messages, bytes].
        self._ring = [[-1, 0, 0] for _ in range(window_buckets)]
        self._started: float | None = None
        self._stopped = 0.0
        # Held weakly: a finished pipeline's operators must not live as long as the metrics.
        self._backpressures: list[tuple[weakref.ref[Backpressure], abc.DisposableBase]] = []
        self._spools: list[weakref.ref[SpooledSource]] = []
        self._events: Counter[BackpressureEventKind] = Counter()
        self._event_subscriptions = CompositeDisposable()
        self._routers: dict[int, AttachedRouter] = {}  # by id(router)
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
                attached = self._routers[id(router)] = AttachedRouter(router, pinned=True)
            attached.pinned = True

    def _count_event(self, event: BackpressureEvent) -> None:
        with self._lock:
            self._events[event.kind] += 1

    def close(self) -> None:
        """Stop counting backpressure events (the figures stay readable)."""
        self._event_subscriptions.dispose()

    # -- streams ----------------------------------------------------------------------

    def _open(self, router: Router | None) -> Recorder:
        recorder = Recorder(router)
        now = self._clock.seconds()
        with self._lock:
            if self._started is None:
                self._started = now
            self._recorders.append(recorder)
            if router is not None:
                attached = self._routers.get(id(router))
                if attached is None:
                    attached = self._routers[id(router)] = AttachedRouter(router, pinned=False)
                attached.streams += 1
        return recorder

    def _close(self, recorder: Recorder) -> None:
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

    def _close_bucket(self, recorder: Recorder) -> None:
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

    def _next_bucket(self, recorder: Recorder, now: float) -> None:
        """Closes the open bucket and opens the one ``now`` falls in."""
        with self._lock:
            self._close_bucket(recorder)
            recorder.bucket = math.floor(now / self._bucket_width)
            recorder.bucket_end = (recorder.bucket + 1) * self._bucket_width

    def _sample(self, recorder: Recorder, processing: float, latency: float) -> None:
        with self._lock:
            recorder.processed += 1
            recorder.processing_time += processing
            recorder.latency.record(latency)

    def _recording_observer(
        self, observer: abc.ObserverBase[Message], recorder: Recorder, classify: bool
    ) -> Callable[[Message, int], None]:
        """The hot path: count a message (by ``mask``, its kinds, when ``classify``), pass
        it on, time every n-th one. :func:`unclassified` adapts it to a plain ``on_next``."""
        seconds, since = self._clock.seconds, self._clock.since
        by_type, by_kind_mask = recorder.by_type, recorder.by_kind_mask
        emit = observer.on_next
        sample_every = self.sample_every
        countdown = sample_every

        def on_next(message: Message, mask: int) -> None:
            nonlocal countdown
            now = seconds()
            if now >= recorder.bucket_end:
                self._next_bucket(recorder, now)
            frame_type = message.type
            by_type[frame_type] = by_type.get(frame_type, 0) + 1
            if classify:
                by_kind_mask[mask] += 1
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
            totals = Totals()
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
        return make_snapshot(
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
    def _routed_kinds(detached: dict[Kind, int], routers: list[AttachedRouter]) -> dict[Kind, int]:
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

            observe(1.0)
            result:  ----s1----s2----s3-...   (never completes; dispose to stop)

        Raises:
            TypeError: ``interval`` is not a number (a bool is not).
            ValueError: ``interval`` is not positive and finite.
        """
        check_seconds("interval", interval)
        timer: Observable[int] = interval_timer(interval, scheduler=scheduler or self.scheduler)
        return timer.pipe(ops.map(lambda _tick: self.snapshot()))


def unclassified(
    record: Callable[[Message, int], None], classify: bool
) -> Callable[[Message], None]:
    """``on_next`` for messages that come without their kind mask: ``record`` with the mask
    computed here (when it counts kinds at all)."""
    if not classify:
        return lambda message: record(message, 0)
    return lambda message: record(message, kind_mask(message))
