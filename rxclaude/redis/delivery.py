"""After a consumer group: ``ack`` acknowledges what downstream handled, ``dedupe`` drops
what was delivered again.

Delivery through a group is at least once: an entry whose consumer died before
acknowledging it is claimed by another, and a write retried after a lost reply is in the
stream twice. Both copies carry the same producer and sequence (see
:class:`~rxclaude.redis.Delivery`), which is what :func:`dedupe` compares: the entry id
differs between the two copies of a retried write, and frames' ``uuid`` is missing from
parse errors and older recordings.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable, SerialDisposable
from reactivex.scheduler import TimeoutScheduler

from rxclaude.backpressure import check_seconds
from rxclaude.redis.connection import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    Backoff,
    StoppedError,
    call_with_retries,
    check_retries,
    describe_error,
)
from rxclaude.redis.entries import Delivery, delivery_of

__all__ = [
    "DEFAULT_ACK_BATCH",
    "DEFAULT_ACK_DELAY",
    "RedisAckError",
    "SeenMessages",
    "ack",
    "dedupe",
]

_T = TypeVar("_T")

DEFAULT_ACK_BATCH = 500
"""Most acknowledgements ``ack`` holds before sending them."""

DEFAULT_ACK_DELAY = 0.1
"""Longest ``ack`` holds an acknowledgement, in seconds."""


class RedisAckError(Exception):
    """``ack`` could not acknowledge after its retries: ends the stream (the entries stay
    pending, and are delivered again once claimed)."""

    def __init__(self, count: int, error: BaseException) -> None:
        super().__init__(f"{count} acknowledgements failed: {describe_error(error)}")
        self.count = count


def ack(
    client: redis.Redis,
    *,
    batch: int = DEFAULT_ACK_BATCH,
    max_delay: float = DEFAULT_ACK_DELAY,
    retries: int | None = DEFAULT_RETRIES,
    backoff: Backoff = DEFAULT_BACKOFF,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Acknowledges each message read through a consumer group once downstream's
    ``on_next`` has returned for it (``from_redis_stream(..., ack="explicit")``).

    .. code-block:: text

        source:  -a-b]-c-|          (b: the last entry of its read)
        ack(client)
        result:  -a-b]-c-|          (XACK a b after b went downstream, c at the end)

    Acknowledgements are sent together at the end of each read, every ``batch``
    messages, ``max_delay`` seconds after the first one held (a timer on ``scheduler``,
    else RxPY's timeout scheduler: the end of a read may have been filtered out) and at
    the end of the stream. Other items pass unacknowledged. A message that does not
    reach ``ack`` (filtered out, dropped) is delivered again once claimed;
    ``dedupe(acknowledge=client)`` acknowledges the duplicates it drops. Acknowledgements
    still failing after the retries end the stream with :class:`RedisAckError` (at the
    next item when a timer's failed).
    """
    check_retries(retries)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    check_seconds("max_delay", max_delay)

    def operator(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            timers = scheduler or TimeoutScheduler.singleton()
            lock = threading.Lock()
            pending: dict[tuple[str, str], list[str]] = {}
            held = 0
            failure: list[RedisAckError] = []
            stop = threading.Event()
            timer = SerialDisposable()
            subscription = CompositeDisposable(Disposable(stop.set), timer)

            def flush() -> None:
                nonlocal pending, held
                with lock:
                    todo, count = pending, held
                    pending, held = {}, 0
                if not todo:
                    return

                def send() -> list[Any]:
                    pipe = client.pipeline(transaction=False)
                    for (stream, group), ids in todo.items():
                        pipe.xack(stream, group, *ids)
                    return pipe.execute()

                try:
                    call_with_retries(send, retries=retries, backoff=backoff, stop=stop)
                except StoppedError:
                    return
                except redis.RedisError as error:
                    raise RedisAckError(count, error) from error

            def on_timer(_scheduler: abc.SchedulerBase, _state: Any = None) -> None:
                try:
                    flush()
                except RedisAckError as error:
                    failure.append(error)

            def fail(error: Exception) -> None:
                subscription.dispose()
                observer.on_error(error)

            def on_next(item: _T) -> None:
                nonlocal held
                if failure:
                    fail(failure[0])
                    return
                observer.on_next(item)
                delivery = delivery_of(item)
                if delivery is None or delivery.group is None:
                    return
                with lock:
                    ids = pending.setdefault((delivery.stream, delivery.group), [])
                    ids.append(delivery.entry_id)
                    held += 1
                    first = held == 1
                    full = held >= batch
                if delivery.batch_end or full:
                    try:
                        flush()
                    except RedisAckError as error:
                        fail(error)
                elif first:
                    timer.disposable = timers.schedule_relative(max_delay, on_timer)

            def on_error(error: Exception) -> None:
                # The source's error is the one to report; unacknowledged entries stay pending.
                with contextlib.suppress(RedisAckError):
                    flush()
                observer.on_error(error)

            def on_completed() -> None:
                try:
                    flush()
                except RedisAckError as error:
                    observer.on_error(error)
                    return
                if failure:
                    observer.on_error(failure[0])
                    return
                observer.on_completed()

            subscription.add(
                source.subscribe(on_next, on_error, on_completed, scheduler=scheduler_)
            )
            return subscription

        return Observable(subscribe)

    return operator


def _check_window(window: int) -> None:
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise ValueError(f"window must be a positive int, got {window!r}")


class SeenMessages:
    """The messages seen lately, by producer and sequence: share one between the
    ``dedupe`` of several consumers of a group. Thread-safe; keeps the last ``window``."""

    def __init__(self, window: int = 1_000_000) -> None:
        _check_window(window)
        self._window = window
        self._keys: dict[tuple[str, ...], None] = {}
        self._lock = threading.Lock()
        self.unique = 0
        """Messages seen for the first time."""
        self.duplicates = 0
        """Messages seen again (dropped by ``dedupe``)."""

    @staticmethod
    def key(delivery: Delivery) -> tuple[str, ...]:
        """``(producer, sequence)``, or ``(stream, entry id)`` for an entry that was not
        written by ``to_redis_stream``."""
        if delivery.producer and delivery.sequence >= 0:
            return (delivery.producer, str(delivery.sequence))
        return ("", delivery.stream, delivery.entry_id)

    def first_time(self, delivery: Delivery) -> bool:
        """Records the message; False if it was seen before."""
        key = self.key(delivery)
        with self._lock:
            if key in self._keys:
                self.duplicates += 1
                return False
            self._keys[key] = None
            self.unique += 1
            if len(self._keys) > self._window:
                del self._keys[next(iter(self._keys))]
            return True


def dedupe(
    seen: SeenMessages | None = None,
    *,
    window: int = 1_000_000,
    acknowledge: redis.Redis | None = None,
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Drops messages read from Redis that were seen before (same producer and sequence).

    .. code-block:: text

        source:  -a1-b2-a1'-c3-|     (a1': a1 again, claimed or written twice)
        dedupe()
        result:  -a1-b2-----c3-|

    Args:
        seen: the record to check against (shared by several consumers); a new one per
            subscription with ``window`` otherwise.
        window: how many messages a new record keeps; an older copy passes again.
        acknowledge: with ``ack="explicit"``, a client to acknowledge the dropped copies
            with (they never reach ``ack``).
    """

    def operator(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            record = seen if seen is not None else SeenMessages(window)

            def on_next(item: _T) -> None:
                delivery = delivery_of(item)
                if delivery is None or record.first_time(delivery):
                    observer.on_next(item)
                elif acknowledge is not None and delivery.group is not None:
                    try:
                        acknowledge.xack(delivery.stream, delivery.group, delivery.entry_id)
                    except redis.RedisError as error:
                        observer.on_error(RedisAckError(1, error))

            return source.subscribe(
                on_next, observer.on_error, observer.on_completed, scheduler=scheduler
            )

        return Observable(subscribe)

    return operator
