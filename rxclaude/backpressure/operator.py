"""``backpressure(...)`` and the ``Backpressure`` operator object it returns.

Design decisions:

* **One buffer per subscription.** The operator can be subscribed any number of times; each
  subscription gets its own ``BoundedBuffer`` and consumer. Placed right after
  ``parse_json_frames`` (a ``BatchingObservable``), it subscribes for lists of items.
* **Resizing.** ``Backpressure.resize(n)`` sets the capacity of every running subscription
  and of later ones (clamped into ``Adaptive``'s bounds), under the operator's lock so that
  concurrent resizes leave every buffer at the same size; each buffer resizes through the
  path ``Adaptive`` takes. Timers and events come after the lock is released, since their
  observers may call back into the operator.
* **Observability.** ``statistics()`` snapshots the most recent subscription (trio-style
  frozen dataclass) and ``events`` is a hot Observable of every subscription's
  ``BackpressureEvent``s.
* **The subscriber's own callbacks.** The output Observable hands the buffer the
  subscriber's callbacks rather than RxPY's auto-detach observer, which drops items from
  the moment its ``dispose`` begins (see the buffer's **Accounting at dispose**); RxPY's
  ``subscribe`` still makes the subscription (the trampoline, errors while subscribing) and
  its disposable disposes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple, TypeVar, cast

from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.internal import default_error, noop

from rxclaude._batches import BatchingObservable
from rxclaude.backpressure.buffer import BoundedBuffer, Observer
from rxclaude.backpressure.events import BackpressureEvent, BackpressureStatistics, EventHub
from rxclaude.backpressure.settings import (
    DEFAULT_BUFFER_SIZE,
    Adaptive,
    Policy,
    Settings,
    SlowConsumer,
    check_buffer_size,
    clamp,
)

__all__ = ["Backpressure", "backpressure"]

_T = TypeVar("_T")


class Backpressure:
    """The operator made by ``backpressure(...)``: pass it to ``pipe``, or call it.

    It can be subscribed any number of times; each subscription has its own buffer and
    consumer. ``statistics()`` describes the most recent subscription, ``events``
    carries the events of all of them, and ``resize()`` changes all their capacities.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._hub = EventHub()
        self._latest: BoundedBuffer | None = None
        # Guards _settings, _live and _latest; taken before a buffer's lock, never after.
        self._lock = threading.Lock()
        self._live: dict[BoundedBuffer, None] = {}  # in subscription order

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
        buffer_size = clamp(buffer_size, self._settings.adaptive)
        done: list[Callable[[], None]] = []
        # Under the lock, so that concurrent resizes leave every buffer at the same size.
        with self._lock:
            self._settings = replace(self._settings, capacity=buffer_size)
            for buffer in self._live:
                finish = buffer.resize(buffer_size)
                if finish is not None:
                    done.append(finish)
            latest = self._latest
            if latest is not None and latest not in self._live:
                latest.resize(buffer_size)  # ended: for statistics() only
        # Timers and events (observers may call back into this operator) come after it.
        for finish in done:
            finish()

    def _closed(self, buffer: BoundedBuffer) -> None:
        with self._lock:
            self._live.pop(buffer, None)

    def __call__(self, source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: Observer, scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            with self._lock:  # a concurrent resize reaches it, or it starts at the new size
                settings = self._settings
                deferred = (
                    source.defer_decoding(observer)
                    if isinstance(source, BatchingObservable) and settings.policy is Policy.BLOCK
                    else None
                )
                downstream = observer if deferred is None else deferred.observer
                buffer = BoundedBuffer(settings, downstream, self._hub, self._closed)
                self._live[buffer] = None
                self._latest = buffer
            buffer.start()
            if deferred is not None:
                buffer.attach(deferred.subscribe(buffer, scheduler=scheduler))
            elif isinstance(source, BatchingObservable):
                buffer.attach(source.subscribe_batches(buffer, scheduler=scheduler))
            else:
                buffer.attach(source.subscribe(buffer, scheduler=scheduler))
            return Disposable(buffer.dispose)

        return _Output(subscribe)


class _Callbacks(NamedTuple):
    """A subscriber's callbacks, which the consumer calls without RxPY's auto-detach
    observer in between."""

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


class _Output(Observable[_T]):
    """What ``Backpressure`` makes of a source: its consumer calls the subscriber's own
    callbacks (``_Callbacks``); RxPY's ``subscribe`` still makes the subscription (the
    trampoline, errors while subscribing) and its disposable disposes it."""

    def __init__(
        self,
        connect: Callable[[Observer, abc.SchedulerBase | None], abc.DisposableBase],
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

    .. code-block:: text

        source:  -0-1-2-3-4-5-|
        backpressure(DROP_OLDEST, buffer_size=2), consumer busy on 0
        result:  -0---------4-5-|   (dropped: 1, 2, 3)

    Right after ``parse_json_frames()``, ``BLOCK`` buffers the undecoded lines and decodes
    each one on the consumer's side as it takes it (the output is the same; a line waiting
    is one ``bytes`` rather than a decoded message): there ``buffer_size`` and the
    statistics count lines, which in NDJSON are the frames (a blank line, or each line of
    an object spread over several, counts too).

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
    capacity = clamp(buffer_size, adaptive)
    return Backpressure(Settings(policy, capacity, scheduler, on_drop, adaptive, slow_consumer))
