"""Tests for ``backpressure(policy)``: policies, ordering, termination and monitoring.

Threads are synchronised with ``threading.Event``s and statistics snapshots, never with
sleeps. Time-based behaviour runs under ``TestScheduler``; ``SlowDrainScheduler`` models a
consumer that needs ``service_time`` ticks for every drain.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any, TypeVar

import pytest
import reactivex
from reactivex import abc
from reactivex import operators as ops
from reactivex.notification import OnError
from reactivex.scheduler import CurrentThreadScheduler
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.hotobservable import HotObservable
from reactivex.testing.recorded import Recorded
from waiting import wait_until

from rxclaude.backpressure import (
    Adaptive,
    Backpressure,
    BackpressureDeadlockError,
    BackpressureEvent,
    BackpressureEventKind,
    BufferOverflowError,
    Policy,
    SlowConsumer,
    backpressure,
)

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe

_TState = TypeVar("_TState")

TIMEOUT = 10.0  # seconds; only reached when a test fails


class SlowDrainScheduler(TestScheduler):
    """A TestScheduler on which every drain runs ``service_time`` ticks after its request."""

    def __init__(self, service_time: float) -> None:
        super().__init__()
        self.service_time = service_time

    def schedule(
        self, action: abc.ScheduledAction[_TState], state: _TState | None = None
    ) -> abc.DisposableBase:
        return self.schedule_relative(self.service_time, action, state)


def record_events(bp: Backpressure) -> list[BackpressureEvent]:
    events: list[BackpressureEvent] = []
    bp.events.subscribe(events.append)
    return events


def recorded_error(record: Recorded[Any]) -> Exception:
    assert isinstance(record.value, OnError)
    return record.value.exception


def ticks(scheduler: TestScheduler, event: BackpressureEvent) -> float:
    return scheduler.to_seconds(event.time)


def hot_ticks(
    scheduler: TestScheduler, first: int, last: int, completed: int
) -> HotObservable[int]:
    """A hot source emitting its own tick number at each tick from first to last."""
    messages: list[Recorded[int]] = [on_next(tick, tick) for tick in range(first, last + 1)]
    return scheduler.create_hot_observable([*messages, on_completed(completed)])


@dataclass
class HeldConsumer:
    """Records what it receives and keeps its thread inside ``on_next(0)`` until released."""

    delivered: list[int] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def on_next(self, item: int) -> None:
        self.delivered.append(item)
        if item == 0:
            self.holding.set()
            self.release.wait(TIMEOUT)

    def on_error(self, error: Exception) -> None:
        self.errors.append(error)
        self.done.set()

    def on_completed(self) -> None:
        self.done.set()


# -- the four policies, with the consumer busy on its first item ------------------------


@pytest.mark.parametrize(
    ("policy", "expected_delivered", "expected_dropped"),
    [
        (Policy.DROP_OLDEST, [0, 4, 5], [1, 2, 3]),
        (Policy.DROP_NEWEST, [0, 1, 2], [3, 4, 5]),
        (Policy.BLOCK, [0, 1, 2, 3, 4, 5], []),
        (Policy.ERROR, [0, 1, 2], [3]),
    ],
)
def test_backpressure_policy_while_consumer_holds_first_item(
    policy: Policy, expected_delivered: list[int], expected_dropped: list[int]
) -> None:
    subject: Subject[int] = Subject()
    dropped: list[int] = []
    bp = backpressure(policy, buffer_size=2, on_drop=dropped.append)
    events = record_events(bp)
    consumer = HeldConsumer()
    subject.pipe(bp).subscribe(consumer.on_next, consumer.on_error, consumer.on_completed)

    subject.on_next(0)
    assert consumer.holding.wait(TIMEOUT)

    def produce() -> None:
        for item in range(1, 6):
            subject.on_next(item)
        subject.on_completed()

    producer = threading.Thread(target=produce)
    producer.start()
    if policy is Policy.BLOCK:
        wait_until(lambda: bp.statistics().producers_waiting == 1)
        held = bp.statistics()
        assert (held.size, held.produced, held.delivered) == (2, 3, 1)
        assert producer.is_alive()
    else:
        producer.join(TIMEOUT)
    consumer.release.set()
    producer.join(TIMEOUT)
    assert consumer.done.wait(TIMEOUT)

    assert consumer.delivered == expected_delivered
    assert dropped == expected_dropped
    stats = bp.statistics()
    assert stats.delivered + stats.dropped == stats.produced
    assert (stats.size, stats.peak_size, stats.discarded) == (0, 2, 0)
    assert [e.item for e in events if e.kind is BackpressureEventKind.DROPPED] == expected_dropped
    if policy is Policy.ERROR:
        assert len(consumer.errors) == 1
        assert isinstance(consumer.errors[0], BufferOverflowError)
        assert consumer.errors[0].capacity == 2
        assert stats.produced == 4  # 4 and 5 arrived after the subscription ended
    else:
        assert consumer.errors == []
        assert stats.produced == 6
    if policy is Policy.BLOCK:
        assert stats.blocked_time > 0
        kinds = [e.kind for e in events]
        assert kinds[0] is BackpressureEventKind.BLOCKED
        assert kinds.count(BackpressureEventKind.BLOCKED) == kinds.count(
            BackpressureEventKind.UNBLOCKED
        )


@pytest.mark.parametrize(
    ("policy", "expected", "expected_dropped"),
    [
        (Policy.DROP_OLDEST, [on_next(215, 0), on_next(225, 4), on_next(225, 5)], [1, 2, 3]),
        (Policy.DROP_NEWEST, [on_next(215, 0), on_next(225, 1), on_next(225, 2)], [3, 4, 5]),
    ],
)
def test_backpressure_drop_policies_in_virtual_time(
    policy: Policy, expected: list[Recorded[int]], expected_dropped: list[int]
) -> None:
    scheduler = SlowDrainScheduler(service_time=10)
    xs = scheduler.create_hot_observable(
        on_next(205, 0), *(on_next(215 + item, item) for item in range(1, 6)), on_completed(230)
    )
    dropped: list[int] = []

    results = scheduler.start(
        lambda: xs.pipe(
            backpressure(policy, buffer_size=2, scheduler=scheduler, on_drop=dropped.append)
        )
    )

    assert results.messages == [*expected, on_completed(235)]
    assert dropped == expected_dropped
    assert xs.subscriptions == [subscribe(200, 230)]


def test_backpressure_error_policy_in_virtual_time() -> None:
    scheduler = SlowDrainScheduler(service_time=10)
    xs = scheduler.create_hot_observable(
        on_next(205, 0), *(on_next(215 + item, item) for item in range(1, 6)), on_completed(230)
    )

    results = scheduler.start(
        lambda: xs.pipe(backpressure(Policy.ERROR, buffer_size=2, scheduler=scheduler))
    )

    assert results.messages == [
        on_next(215, 0),
        on_next(225, 1),
        on_next(225, 2),
        on_error(235, BufferOverflowError(2)),
    ]
    assert xs.subscriptions == [subscribe(200, 218)]


# -- ordering, termination and disposal --------------------------------------------------


def test_backpressure_passes_items_and_completion_through_in_order() -> None:
    scheduler = TestScheduler()
    xs = hot_ticks(scheduler, 210, 214, completed=220)

    results = scheduler.start(
        lambda: xs.pipe(backpressure(Policy.BLOCK, buffer_size=4, scheduler=scheduler))
    )

    assert results.messages == [*(on_next(t, t) for t in range(210, 215)), on_completed(220)]
    assert xs.subscriptions == [subscribe(200, 220)]


def test_backpressure_delivers_error_after_buffered_items() -> None:
    scheduler = SlowDrainScheduler(service_time=10)
    error = RuntimeError("source failed")
    xs = scheduler.create_hot_observable(on_next(210, 1), on_next(211, 2), on_error(212, error))

    results = scheduler.start(
        lambda: xs.pipe(backpressure(Policy.DROP_NEWEST, buffer_size=4, scheduler=scheduler))
    )

    assert results.messages == [on_next(220, 1), on_next(220, 2), on_error(230, error)]


def test_backpressure_dispose_discards_buffer_and_stops_delivery() -> None:
    scheduler = SlowDrainScheduler(service_time=10)
    xs = hot_ticks(scheduler, 210, 213, completed=300)
    bp = backpressure(Policy.DROP_NEWEST, buffer_size=8, scheduler=scheduler)

    results = scheduler.start(lambda: xs.pipe(bp), disposed=215)

    assert results.messages == []
    assert xs.subscriptions == [subscribe(200, 215)]
    stats = bp.statistics()
    assert (stats.produced, stats.delivered, stats.size, stats.discarded) == (4, 0, 0, 4)


def test_backpressure_on_drop_failure_ends_stream_after_buffered_items() -> None:
    scheduler = SlowDrainScheduler(service_time=10)
    xs = hot_ticks(scheduler, 210, 215, completed=300)
    failure = ValueError("on_drop failed")

    def fail(_item: object) -> None:
        raise failure

    results = scheduler.start(
        lambda: xs.pipe(
            backpressure(Policy.DROP_NEWEST, buffer_size=2, scheduler=scheduler, on_drop=fail)
        )
    )

    assert results.messages == [on_next(220, 210), on_next(220, 211), on_error(230, failure)]
    assert xs.subscriptions == [subscribe(200, 212)]


def test_backpressure_consumer_exception_disposes_source_and_propagates() -> None:
    scheduler = TestScheduler()
    xs = hot_ticks(scheduler, 210, 214, completed=300)
    received: list[int] = []

    def fragile(item: int) -> None:
        received.append(item)
        if item == 212:
            raise RuntimeError("consumer bug")

    xs.pipe(backpressure(Policy.BLOCK, scheduler=scheduler)).subscribe(fragile)
    with pytest.raises(RuntimeError, match="consumer bug"):
        scheduler.start()

    assert received == [210, 211, 212]
    assert xs.subscriptions == [subscribe(0, 212)]


def test_backpressure_subscriptions_are_independent() -> None:
    source = reactivex.from_iterable(range(100))
    bp = backpressure(Policy.BLOCK, buffer_size=3)

    first = source.pipe(bp, ops.to_list()).run()
    second = source.pipe(bp, ops.to_list()).run()

    assert first == second == list(range(100))
    assert bp.statistics().delivered == 100


# -- BLOCK must not deadlock ---------------------------------------------------------------


@pytest.mark.parametrize(
    "early_items",
    [
        pytest.param([], id="before-first-drain"),
        pytest.param([on_next(201, 0)], id="after-a-drain-ran-on-this-thread"),
    ],
)
def test_backpressure_block_on_drain_thread_of_virtual_time_fails(
    early_items: list[Recorded[int]],
) -> None:
    scheduler = SlowDrainScheduler(service_time=10)
    xs = scheduler.create_hot_observable(
        *early_items, on_next(222, 1), on_next(223, 2), on_next(224, 3), on_completed(300)
    )
    bp = backpressure(Policy.BLOCK, buffer_size=2, scheduler=scheduler)

    results = scheduler.start(lambda: xs.pipe(bp))

    assert results.messages[-3:-1] == [on_next(232, 1), on_next(232, 2)]
    assert results.messages[-1].time == 242
    assert isinstance(recorded_error(results.messages[-1]), BackpressureDeadlockError)
    assert xs.subscriptions == [subscribe(200, 224)]
    assert bp.statistics().discarded == 1


def test_backpressure_block_on_current_thread_scheduler_fails() -> None:
    received: list[int] = []
    errors: list[Exception] = []
    trampoline = CurrentThreadScheduler.singleton()
    source = reactivex.from_iterable(range(5), scheduler=trampoline)

    source.pipe(backpressure(Policy.BLOCK, buffer_size=2, scheduler=trampoline)).subscribe(
        received.append, errors.append
    )

    assert received == [0, 1]
    assert len(errors) == 1
    assert isinstance(errors[0], BackpressureDeadlockError)


def test_backpressure_block_reentrant_consumer_fails_instead_of_deadlocking() -> None:
    subject: Subject[int] = Subject()
    consumer = HeldConsumer()
    consumer.release.set()

    def feed_back(item: int) -> None:
        consumer.on_next(item)
        if item == 0:
            subject.on_next(1)  # room: buffered
            subject.on_next(2)  # full, and this is the consumer's own thread

    subject.pipe(backpressure(Policy.BLOCK, buffer_size=1)).subscribe(
        feed_back, consumer.on_error, consumer.on_completed
    )
    subject.on_next(0)

    assert consumer.done.wait(TIMEOUT)
    assert consumer.delivered == [0, 1]
    assert len(consumer.errors) == 1
    assert isinstance(consumer.errors[0], BackpressureDeadlockError)
    assert "deadlock" in str(consumer.errors[0])


# -- adaptive capacity and slow-consumer detection -------------------------------------


def test_backpressure_adaptive_grows_under_load_and_shrinks_when_idle() -> None:
    scheduler = SlowDrainScheduler(service_time=100)
    xs = hot_ticks(scheduler, 201, 240, completed=250)
    bp = backpressure(
        Policy.DROP_NEWEST,
        buffer_size=2,
        scheduler=scheduler,
        adaptive=Adaptive(min_size=2, max_size=8, window=10),
    )
    events = record_events(bp)

    results = scheduler.start(lambda: xs.pipe(bp))

    resizes = [
        (ticks(scheduler, e), e.previous_capacity, e.capacity)
        for e in events
        if e.kind is BackpressureEventKind.RESIZED
    ]
    # Full from 202: grows at 212; full again from 214: grows at 224 to max_size.
    # Drained at 301: shrinks a window later, and again after one more.
    assert resizes == [(212, 2, 4), (224, 4, 8), (311, 8, 4), (321, 4, 2)]
    kept = [201, 202, 213, 214, 225, 226, 227, 228]
    assert results.messages == [*(on_next(301, t) for t in kept), on_completed(401)]
    stats = bp.statistics()
    assert (stats.capacity, stats.peak_size, stats.delivered, stats.dropped) == (2, 8, 8, 32)


def test_backpressure_reports_slow_consumer_and_recovery() -> None:
    scheduler = SlowDrainScheduler(service_time=50)
    xs = hot_ticks(scheduler, 201, 230, completed=300)
    bp = backpressure(
        Policy.DROP_NEWEST,
        buffer_size=4,
        scheduler=scheduler,
        slow_consumer=SlowConsumer(window=10, blocked_threshold=1000),
    )
    events = record_events(bp)
    slow_flags: list[bool] = []
    bp.events.subscribe(lambda _event: slow_flags.append(bp.statistics().slow_consumer))

    scheduler.start(lambda: xs.pipe(bp))

    reports = [
        e
        for e in events
        if e.kind in {BackpressureEventKind.SLOW_CONSUMER, BackpressureEventKind.RECOVERED}
    ]
    assert [(e.kind, ticks(scheduler, e)) for e in reports] == [
        (BackpressureEventKind.SLOW_CONSUMER, 214),  # full since 204
        (BackpressureEventKind.RECOVERED, 251),  # the drain at 251 emptied the buffer
    ]
    slow, recovered = reports
    assert (slow.producer_rate, slow.consumer_rate) == (1.0, 0.0)  # 204..214: 10 in, 0 out
    assert recovered.producer_rate == pytest.approx(16 / 37)  # 214..251: 16 in
    assert recovered.consumer_rate == pytest.approx(4 / 37)  # and 4 out
    assert slow_flags[-1] is False
    assert True in slow_flags


def test_backpressure_blocked_producer_reported_slow_in_virtual_time() -> None:
    scheduler = SlowDrainScheduler(service_time=10)
    subject: Subject[int] = Subject()
    bp = backpressure(
        Policy.BLOCK,
        buffer_size=2,
        scheduler=scheduler,
        slow_consumer=SlowConsumer(window=100, blocked_threshold=5),
    )
    events: list[BackpressureEvent] = []
    blocked = threading.Event()

    def record(event: BackpressureEvent) -> None:
        events.append(event)
        if event.kind is BackpressureEventKind.BLOCKED:
            blocked.set()

    bp.events.subscribe(record)
    received: list[int] = []
    subject.pipe(bp).subscribe(received.append)
    subject.on_next(0)
    scheduler.advance_to(10)  # the drain runs on this thread, which BLOCK now knows
    assert received == [0]

    def produce() -> None:
        for item in (1, 2, 3):
            subject.on_next(item)

    producer = threading.Thread(target=produce)
    producer.start()
    assert blocked.wait(TIMEOUT)  # the producer waits at item 3, since tick 10
    scheduler.advance_to(15)
    assert bp.statistics().slow_consumer
    assert bp.statistics().blocked_time == 5
    scheduler.advance_to(20)  # the drain at 20 makes room
    producer.join(TIMEOUT)
    scheduler.advance_to(30)  # and the one at 30 empties the buffer

    assert received == [0, 1, 2, 3]
    timeline = [(e.kind, scheduler.to_seconds(e.time)) for e in events]
    assert timeline == [
        (BackpressureEventKind.BLOCKED, 10),
        (BackpressureEventKind.SLOW_CONSUMER, 15),
        (BackpressureEventKind.UNBLOCKED, 20),
        (BackpressureEventKind.RECOVERED, 30),
    ]
    assert events[2].blocked_for == 10


# -- configuration and snapshots ------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: backpressure(Policy.BLOCK, buffer_size=0),
        lambda: Adaptive(min_size=0, max_size=4),
        lambda: Adaptive(min_size=8, max_size=4),
        lambda: Adaptive(min_size=1, max_size=4, high=0.2, low=0.5),
        lambda: Adaptive(min_size=1, max_size=4, high=1.5),
        lambda: Adaptive(min_size=1, max_size=4, window=0),
        lambda: SlowConsumer(window=-1),
        lambda: SlowConsumer(blocked_threshold=0),
        lambda: SlowConsumer(high=0.5, low=0.5),
    ],
)
def test_backpressure_rejects_invalid_configuration_at_assembly(make: Callable[[], Any]) -> None:
    with pytest.raises(ValueError):
        make()


def test_backpressure_adaptive_clamps_initial_capacity() -> None:
    bp = backpressure(Policy.BLOCK, adaptive=Adaptive(min_size=4, max_size=64))
    assert bp.statistics().capacity == 64


def test_backpressure_statistics_are_frozen_snapshots() -> None:
    bp = backpressure(Policy.DROP_OLDEST, buffer_size=8)
    before = bp.statistics()
    assert (before.capacity, before.size, before.produced) == (8, 0, 0)

    reactivex.from_iterable(range(5)).pipe(bp).run()

    after = bp.statistics()
    assert (after.produced, after.delivered, after.size, after.peak_size >= 1) == (5, 5, 0, True)
    assert before.produced == 0
    with pytest.raises(FrozenInstanceError):
        after.size = 3  # type: ignore[misc]


def test_backpressure_overflow_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(BufferOverflowError(16)))
    assert (error.capacity, str(error)) == (16, str(BufferOverflowError(16)))
