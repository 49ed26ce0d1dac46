"""The bounded buffer of one ``backpressure`` subscription: producer, consumer, policies.

This module is longer than the others because it is one cohesive hot path: every item of
every stream passes through ``BoundedBuffer.on_next`` (or ``on_next_batch``) and the
consumer's drain loop. They, the policies' slow path, the terminal signals and the
statistics share one lock and the counters derived under it, whose invariant (every item
counted exactly once) none of them can keep alone; moving the per-item code behind
another object would add a call or an attribute lookup on every item. What does not touch
those counters lives elsewhere: the settings and errors in
:mod:`~rxclaude.backpressure.settings`, the event and statistics types in
:mod:`~rxclaude.backpressure.events`, the watermarks, adaptive sizing and slow-consumer
detection in :mod:`~rxclaude.backpressure.monitor`, the operator in
:mod:`~rxclaude.backpressure.operator`.

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
  its heap every batch (benchmarks/README.md has the figures). A consumer wakes blocked
  producers once a quarter of the capacity is free, or when it takes the next batch.
* **Fusion with the parser.** Placed right after ``parse_json_frames``, the operator takes
  each chunk's items as one list (``BatchingObservable.subscribe_batches``): one lock, one
  peak check and at most one wake-up per chunk when they fit; otherwise it falls back to
  item by item, so the policies see exactly what they would have. Under ``BLOCK`` those
  items are the chunk's undecoded lines, and the consumer decodes each one as it takes it
  (``BatchingObservable.defer_decoding``, :mod:`rxclaude.framing.deferred`): a line waits
  as one ``bytes`` instead of a decoded message's dozens of objects, which the garbage
  collector tracked and which filled the caches (``benchmarks/README.md``); the capacity
  then counts lines. The dropping policies take decoded messages, so that they drop
  messages. Items, order and terminal signals are the same as through a plain
  ``subscribe``. The price: while ``BLOCK`` holds the parser, the rest of its chunk waits
  in its hand (one chunk's worth: 64 KiB from ``from_cli``, 512 KiB from ``from_file``).
* **Garbage collection.** Buffered messages outlive CPython's young collections and get
  promoted, which triggers full collections that walk every tracked object in the process;
  that is why ``Message`` is not tracked by the cyclic collector (``gc=False``).
* **Terminal signals** (source completion or error, overflow, a failing ``on_drop``, a
  detected deadlock) queue behind the buffered items and end the subscription; the
  operator then stops accepting items and disposes its source subscription where it ended
  the stream itself. **Dispose** discards the buffer, stops the drain between two items and
  releases blocked producers at once. An exception from downstream ``on_next`` disposes
  the subscription and propagates out of the consumer thread (``threading.excepthook``) or
  out of the scheduled drain action, as it would out of any RxPY scheduler.
* **Accounting at dispose.** The consumer calls the subscriber's callbacks directly: RxPY's
  auto-detach observer drops items from the moment its ``dispose`` begins, before that
  reaches this operator, and items handed to it meanwhile (many, when the disposing thread
  waited for the lock) reached nobody yet counted as delivered. The consumer and
  ``dispose`` take a batch's items from one iterator, so each is either delivered or
  discarded, and the statistics are final when ``dispose`` returns.
* **Deadlock detection (BLOCK).** Waiting is refused with ``BackpressureDeadlockError`` when
  the waiting thread is the one that drains: the consumer thread itself (a handler feeding
  its own source), a thread running a drain action, or, for schedulers that run every
  action on one thread, the thread that ran the last drain. Before the first drain ran, a
  ``CurrentThreadScheduler`` or a virtual-time scheduler is assumed to drain on the
  producer's thread. Thread-spawning schedulers (``NewThreadScheduler``,
  ``ThreadPoolScheduler``, ``TimeoutScheduler``) only deadlock through re-entrance.
* **Resizing.** ``set_capacity`` is the one path for ``Adaptive`` and
  ``Backpressure.resize``: under the buffer lock, waking waiting producers when it grows,
  publishing ``RESIZED``; it adds no work per item. Shrinking below the size drops nothing:
  new items wait or meet the policy until there is room (``DROP_OLDEST`` evicts the new item
  itself while the consumer holds every buffered one).
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from reactivex import abc
from reactivex.disposable import SingleAssignmentDisposable
from reactivex.scheduler import (
    CurrentThreadScheduler,
    NewThreadScheduler,
    TimeoutScheduler,
    VirtualTimeScheduler,
)

from rxclaude._batches import Observer
from rxclaude.backpressure.events import (
    BackpressureEvent,
    BackpressureEventKind,
    BackpressureStatistics,
    EventHub,
)
from rxclaude.backpressure.monitor import Monitor
from rxclaude.backpressure.settings import (
    BackpressureDeadlockError,
    BufferOverflowError,
    Policy,
    Settings,
)

__all__ = ["AfterLock", "BoundedBuffer", "Observer"]

_consumer_thread_numbers = itertools.count(1)


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
class AfterLock:
    """Work decided under the buffer lock and done once it is released."""

    schedule_drain: bool = False
    dispose_upstream: bool = False
    deadline: float | None = None
    dropped: list[Any] = field(default_factory=list)


class BoundedBuffer(abc.ObserverBase[Any], abc.DisposableBase):
    """The state of one subscription: buffer, counters, consumer, and its monitor.

    ``capacity``, ``handed``, ``block_starts``, ``size()``, ``produced()``, ``publish()``
    and ``set_capacity()`` are what the monitor consults (``monitor.Watched``), with the
    lock held.
    """

    def __init__(
        self,
        settings: Settings,
        observer: Observer,
        hub: EventHub,
        on_close: Callable[[BoundedBuffer], None] | None = None,
    ) -> None:
        self._settings = settings
        self._on_close = on_close  # when it ends; twice if dispose races the end
        self._policy = settings.policy
        self._on_drop = settings.on_drop
        self._observer: Observer = observer
        self._hub = hub
        self._scheduler = settings.scheduler
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._pending: deque[Any] = deque()
        self.capacity = settings.capacity
        self._refill = max(1, self.capacity // 4)
        # Every item that arrives ends up counted in exactly one of: _pending, _taken
        # (by the consumer, of which _handed went downstream or is in its hand), _dropped,
        # _lost (arrived, or waited for room, while the subscription ended) or _cleared
        # (buffered when it was disposed).
        self._taken = 0
        self.handed = 0
        # The items of the consumer's batch it has not taken yet. The consumer and dispose
        # both take from this one iterator, each ``next`` atomic under the GIL: an item the
        # consumer took is delivered, one that dispose took is not, and none is both.
        self._unhanded: Iterator[Any] = iter(())
        self._dropped = 0
        self._lost = 0
        self._cleared = 0
        self._peak_size = 0
        self._blocked_time = 0.0
        self.block_starts: list[float] = []
        self._sleepers = 0  # producers in _not_full.wait() not notified yet
        self._accepting = True
        # on_next takes its fast path below this size: 0 to route every item to _offer.
        monitored = settings.adaptive is not None or settings.slow_consumer is not None
        self._fast_limit = 0 if monitored else settings.capacity
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
        self._monitor = (
            Monitor(settings.adaptive, settings.slow_consumer, self._time_scheduler, self._clock)
            if monitored
            else None
        )

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
            self.handed = self._taken - len(list(self._unhanded))
            self._not_empty.notify_all()
        self._retired.clear()
        self._upstream.dispose()
        self._stop_monitor()
        self._closed()
        self._let_go_of_downstream()
        return True

    def _stop_monitor(self) -> None:
        if self._monitor is not None:
            self._monitor.stop()

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
            size = len(self._pending) + self._taken - self.handed
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
            size = len(self._pending) + self._taken - self.handed
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
        after = AfterLock()
        block_start: float | None = None
        monitor = self._monitor
        with self._lock:
            if not self._accepting:
                return
            now = self._clock() if monitor is not None else 0.0
            if self.size() < self.capacity:
                self._enqueue(item, after)
            elif self._policy is not Policy.BLOCK:
                self._overflow(item, after)
            elif self._blocking_would_deadlock():
                self._lost += 1  # the ending subscription cannot take it
                self._end_locked(
                    functools.partial(self._observer.on_error, self._deadlock_error()), after
                )
            else:
                block_start = now if monitor is not None else self._clock()
                self.block_starts.append(block_start)
                self.publish(BackpressureEventKind.BLOCKED)
            if monitor is not None:
                after.deadline = monitor.observe(self, now)
        self._after_lock(after)
        if block_start is not None:
            self._wait_for_room(item, block_start)

    def _wait_for_room(self, item: Any, start: float) -> None:
        after = AfterLock()
        with self._lock:
            while self._accepting and self.size() >= self.capacity:
                self._sleepers += 1
                self._not_full.wait()
            now = self._clock()
            self.block_starts.remove(start)
            self._blocked_time += now - start
            if self._accepting:  # otherwise ``_stop_accepting`` counted the item as lost
                self._enqueue(item, after)
                self.publish(BackpressureEventKind.UNBLOCKED, blocked_for=now - start)
            if self._monitor is not None and not self._disposed:
                after.deadline = self._monitor.observe(self, now)
        self._after_lock(after)

    def _stop_accepting(self) -> None:
        """Refuses items from now on (lock held). The items of the producers waiting for
        room are lost: counted here, so the statistics no longer change once it ends."""
        if self._accepting:
            self._accepting = False
            self._fast_limit = 0
            self._lost += len(self.block_starts)
            self._wake_producers()

    def _wake_producers(self) -> None:
        """Wakes the producers waiting for room (lock held)."""
        if self._sleepers:
            self._sleepers = 0
            self._not_full.notify_all()

    def _overflow(self, item: Any, after: AfterLock) -> None:
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
        self.publish(BackpressureEventKind.DROPPED, item=dropped)
        if self._policy is Policy.ERROR:
            error = BufferOverflowError(self.capacity)
            self._end_locked(functools.partial(self._observer.on_error, error), after)

    def _enqueue(self, item: Any, after: AfterLock) -> None:
        size = self.size()
        self._pending.append(item)
        if size >= self._peak_size:
            self._peak_size = size + 1
        if self._idle and self._wake_consumer():
            after.schedule_drain = True

    def _end(self, terminal: Callable[[], None], *, dispose_upstream: bool) -> None:
        after = AfterLock()
        with self._lock:
            self._end_locked(terminal, after)
        after.dispose_upstream = after.dispose_upstream and dispose_upstream
        self._after_lock(after)

    def _end_locked(self, terminal: Callable[[], None], after: AfterLock) -> None:
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
            f"Policy.BLOCK: the buffer is full (capacity {self.capacity}) and on_next was "
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
                self.handed = position
                try:
                    deliver(item)
                except Exception as error:
                    self._downstream_failed(error)
                    return False
                if self._sleepers and self.capacity - self.size() >= self._refill:
                    with self._lock:
                        self._wake_producers()
            if self._disposed:
                return False
            self._retired.extend(batch)
            if self._monitor is not None:
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
                self.handed = first  # the first item is in the consumer's hand from now on
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
        self._stop_monitor()
        self._closed()
        try:
            if terminal is not None:
                terminal()
        finally:
            self._let_go_of_downstream()

    # -- what the monitor consults, resizing ------------------------------------------

    def size(self) -> int:
        return len(self._pending) + self._taken - self.handed

    def produced(self) -> int:
        return len(self._pending) + self._taken + self._dropped + self._lost + self._cleared

    def publish(self, kind: BackpressureEventKind, **details: Any) -> None:
        if self._hub.listening:
            event = BackpressureEvent(
                kind, self._time_scheduler.now, self.size(), self.capacity, **details
            )
            self._hub.publish(event)

    def set_capacity(self, capacity: int) -> None:
        """Changes the capacity (lock held), for ``Adaptive`` and ``Backpressure.resize``.

        Growing wakes the producers waiting for room. Shrinking below the size drops
        nothing: items that arrive before there is room again wait (``BLOCK``) or meet
        the policy.
        """
        previous = self.capacity
        self.capacity = capacity
        self._refill = max(1, capacity // 4)
        if self._fast_limit:  # accepting, unmonitored: the fast path runs below capacity
            self._fast_limit = capacity
        if capacity > previous:
            self._wake_producers()
        self.publish(BackpressureEventKind.RESIZED, previous_capacity=previous)

    def resize(self, capacity: int) -> Callable[[], None] | None:
        """Sets the capacity (``Backpressure.resize``), and returns what is left to do once
        the caller has released its own lock; None when the capacity is unchanged or the
        subscription has ended (its statistics report the new capacity, nothing else
        happens)."""
        after = AfterLock()
        with self._lock:
            if self._disposed:
                self.capacity = capacity
                return None
            if capacity == self.capacity:
                return None
            monitor = self._monitor
            if monitor is None:
                self.set_capacity(capacity)
            else:
                now = self._clock()
                monitor.resize(self, capacity, now)
                after.deadline = monitor.observe(self, now)
        return functools.partial(self._after_lock, after)

    def _observe_now(self) -> None:
        """Consults the monitor: after a batch, and at the deadline it asked for."""
        after = AfterLock()
        monitor = self._monitor
        with self._lock:
            if self._disposed or monitor is None:
                return
            after.deadline = monitor.observe(self, self._clock())
        self._after_lock(after)

    def _after_lock(self, after: AfterLock) -> None:
        if after.dispose_upstream:
            self._upstream.dispose()
        if after.deadline is not None and self._monitor is not None:
            self._monitor.arm(after.deadline, self._observe_now)
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
            now = self._clock() if self.block_starts else 0.0
            size = 0 if self._disposed else self.size()
            produced, delivered = self.produced(), self.handed
            # After dispose, items the consumer had taken but not handed over are lost too.
            discarded = produced - delivered - self._dropped - size
            return BackpressureStatistics(
                capacity=self.capacity,
                size=size,
                peak_size=self._peak_size,
                produced=produced,
                delivered=delivered,
                dropped=self._dropped,
                discarded=discarded,
                blocked_time=self._blocked_time + sum(now - s for s in self.block_starts),
                producers_waiting=len(self.block_starts),
                slow_consumer=self._monitor is not None and self._monitor.slow,
            )
