"""Tests for ``backpressure(policy)``: policies, ordering, termination and monitoring.

Threads are synchronised with ``threading.Event``s and statistics snapshots, never with
sleeps. Time-based behaviour runs under ``TestScheduler``; ``SlowDrainScheduler`` models a
consumer that needs ``service_time`` ticks for every drain.
"""

from __future__ import annotations

import math
import pickle
import threading
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from typing import Any, TypeVar

import pytest
import reactivex
from conftest import TIMEOUT
from fused_source import Batches
from reactivex import abc
from reactivex import operators as ops
from reactivex.notification import OnError
from reactivex.scheduler import CurrentThreadScheduler, ThreadPoolScheduler
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.hotobservable import HotObservable
from reactivex.testing.recorded import Recorded
from waiting import HeldConsumer, wait_until

from rxclaude.backpressure import (
    DEFAULT_BUFFER_SIZE,
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
@pytest.mark.parametrize("fused", [False, True], ids=["item_by_item", "fused_batch"])
def test_backpressure_policy_while_consumer_holds_first_item(
    policy: Policy, expected_delivered: list[int], expected_dropped: list[int], fused: bool
) -> None:
    """``fused``: 1..5 come as one list from a source fused with the operator (as
    ``parse_json_frames`` hands over a chunk's messages); it overflows, so the operator
    takes it item by item, with the same outcome."""
    subject: Subject[int] = Subject()
    batches = Batches()
    dropped: list[int] = []
    bp = backpressure(policy, buffer_size=2, on_drop=dropped.append)
    events = record_events(bp)
    consumer = HeldConsumer()
    source = batches if fused else subject
    source.pipe(bp).subscribe(consumer.on_next, consumer.on_error, consumer.on_completed)

    if fused:
        batches.push([0])
    else:
        subject.on_next(0)
    assert consumer.holding.wait(TIMEOUT)

    def produce() -> None:
        if fused:
            batches.push([1, 2, 3, 4, 5])
            assert batches.observer is not None
            batches.observer.on_completed()
            return
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


# -- resize -------------------------------------------------------------------------------


def resizes(events: list[BackpressureEvent]) -> list[tuple[int | None, int, int]]:
    """(previous_capacity, capacity, size) of every RESIZED event."""
    return [
        (e.previous_capacity, e.capacity, e.size)
        for e in events
        if e.kind is BackpressureEventKind.RESIZED
    ]


def test_backpressure_resize_grow_releases_a_blocked_producer() -> None:
    subject: Subject[int] = Subject()
    bp = backpressure(Policy.BLOCK, buffer_size=2)
    events = record_events(bp)
    consumer = HeldConsumer()
    subject.pipe(bp).subscribe(consumer.on_next, consumer.on_error, consumer.on_completed)
    subject.on_next(0)
    assert consumer.holding.wait(TIMEOUT)

    def produce() -> None:
        for item in range(1, 5):
            subject.on_next(item)

    producer = threading.Thread(target=produce)
    producer.start()
    wait_until(lambda: bp.statistics().producers_waiting == 1)  # at 3: 1 and 2 fill it

    bp.resize(4)  # room for 3 and 4 while the consumer still holds 0
    producer.join(TIMEOUT)
    assert not producer.is_alive()
    stats = bp.statistics()
    assert (stats.capacity, stats.size, stats.producers_waiting) == (4, 4, 0)

    subject.on_completed()
    consumer.release.set()
    assert consumer.done.wait(TIMEOUT)
    assert consumer.delivered == [0, 1, 2, 3, 4]
    kinds = [e.kind for e in events]
    assert kinds == [
        BackpressureEventKind.BLOCKED,
        BackpressureEventKind.RESIZED,
        BackpressureEventKind.UNBLOCKED,
    ]
    assert resizes(events) == [(2, 4, 2)]


def test_backpressure_resize_shrink_below_size_drops_nothing_and_blocks() -> None:
    subject: Subject[int] = Subject()
    bp = backpressure(Policy.BLOCK, buffer_size=4)
    events = record_events(bp)
    consumer = HeldConsumer()
    subject.pipe(bp).subscribe(consumer.on_next, consumer.on_error, consumer.on_completed)
    subject.on_next(0)
    assert consumer.holding.wait(TIMEOUT)
    for item in range(1, 5):
        subject.on_next(item)  # fills it: 0 is in the consumer's hand

    bp.resize(2)
    stats = bp.statistics()
    assert (stats.capacity, stats.size, stats.dropped) == (2, 4, 0)
    assert resizes(events) == [(4, 2, 4)]

    def produce() -> None:
        subject.on_next(5)
        subject.on_completed()

    producer = threading.Thread(target=produce)
    producer.start()
    wait_until(lambda: bp.statistics().producers_waiting == 1)
    assert bp.statistics().size == 4  # still above the new capacity: nothing was dropped
    consumer.release.set()
    producer.join(TIMEOUT)
    assert consumer.done.wait(TIMEOUT)

    assert consumer.delivered == [0, 1, 2, 3, 4, 5]
    stats = bp.statistics()
    assert (stats.produced, stats.delivered, stats.dropped, stats.peak_size) == (6, 6, 0, 4)


def test_backpressure_resize_shrink_below_size_drops_newest_until_there_is_room() -> None:
    scheduler = SlowDrainScheduler(service_time=10)
    # 1 asks for a drain at 211; the buffer is full from 204 to 211.
    xs = scheduler.create_hot_observable(
        *(on_next(200 + item, item) for item in range(1, 7)),
        on_next(212, 7),
        on_completed(240),
    )
    dropped: list[int] = []
    bp = backpressure(
        Policy.DROP_NEWEST, buffer_size=4, scheduler=scheduler, on_drop=dropped.append
    )
    events = record_events(bp)
    scheduler.schedule_absolute(205, lambda _scheduler, _state: bp.resize(2))

    results = scheduler.start(lambda: xs.pipe(bp))

    # Resized at 205 with 1-4 buffered: none of them goes; 5 and 6 meet the policy. After
    # the batch delivered at 211 there is room again, for 7.
    assert results.messages == [
        *(on_next(211, item) for item in range(1, 5)),
        on_next(221, 7),  # the drain after a batch comes service_time later
        on_completed(250),
    ]
    assert dropped == [5, 6]
    assert resizes(events) == [(4, 2, 4)]
    stats = bp.statistics()
    assert (stats.capacity, stats.dropped, stats.delivered, stats.peak_size) == (2, 2, 5, 4)


@pytest.mark.parametrize("policy", [Policy.DROP_OLDEST, Policy.DROP_NEWEST, Policy.ERROR])
def test_backpressure_resize_below_what_the_consumer_took(policy: Policy) -> None:
    # The consumer has taken 0-3 and holds 0: nothing is left for DROP_OLDEST to evict
    # but the new item.
    scheduler = TestScheduler()
    subject: Subject[int] = Subject()
    dropped: list[int] = []
    bp = backpressure(policy, buffer_size=4, scheduler=scheduler, on_drop=dropped.append)
    delivered: list[int] = []
    errors: list[Exception] = []

    def deliver(item: int) -> None:
        delivered.append(item)
        if item == 0:
            bp.resize(1)
            subject.on_next(4)

    subject.pipe(bp).subscribe(deliver, errors.append)
    for item in range(4):
        subject.on_next(item)
    scheduler.advance_by(1)
    subject.on_next(5)  # room again
    scheduler.advance_by(1)

    assert dropped == [4]
    if policy is Policy.ERROR:
        assert delivered == [0, 1, 2, 3]
        assert len(errors) == 1
        assert isinstance(errors[0], BufferOverflowError)
        assert errors[0].capacity == 1
    else:
        assert delivered == [0, 1, 2, 3, 5]
        assert errors == []


def test_backpressure_resize_publishes_resized_for_each_live_subscription() -> None:
    scheduler = TestScheduler()
    subject: Subject[int] = Subject()
    bp = backpressure(Policy.DROP_NEWEST, buffer_size=4, scheduler=scheduler)
    events = record_events(bp)
    subject.pipe(bp).subscribe()
    subject.on_next(1)
    subject.pipe(bp).subscribe()
    ended = subject.pipe(bp).subscribe()
    ended.dispose()

    bp.resize(8)
    bp.resize(8)  # unchanged: no events

    assert resizes(events) == [(4, 8, 1), (4, 8, 0)]
    assert [scheduler.to_seconds(e.time) for e in events] == [0.0, 0.0]
    assert bp.statistics().capacity == 8


def test_backpressure_resize_applies_to_later_subscriptions() -> None:
    scheduler = TestScheduler()
    bp = backpressure(Policy.DROP_NEWEST, buffer_size=4, scheduler=scheduler)
    events = record_events(bp)
    first: list[int] = []
    reactivex.from_iterable([1, 2]).pipe(bp).subscribe(first.append)
    scheduler.advance_by(1)  # delivers both and the completion: nothing is running
    assert first == [1, 2]

    bp.resize(2)
    assert resizes(events) == []
    assert bp.statistics().capacity == 2  # of the subscription that has ended

    subject: Subject[int] = Subject()
    delivered: list[int] = []
    subject.pipe(bp).subscribe(delivered.append)
    for item in range(1, 5):
        subject.on_next(item)  # no drain before the scheduler runs
    scheduler.advance_by(1)

    assert delivered == [1, 2]
    stats = bp.statistics()
    assert (stats.capacity, stats.dropped, stats.peak_size) == (2, 2, 2)


def test_backpressure_resize_is_clamped_into_the_adaptive_bounds() -> None:
    scheduler = TestScheduler()
    bp = backpressure(
        Policy.DROP_NEWEST,
        buffer_size=8,
        scheduler=scheduler,
        adaptive=Adaptive(min_size=4, max_size=16),
    )
    events = record_events(bp)
    bp.resize(2)  # before any subscription
    assert bp.statistics().capacity == 4
    bp.resize(8)
    subject: Subject[int] = Subject()
    subject.pipe(bp).subscribe()

    bp.resize(100)
    assert bp.statistics().capacity == 16
    bp.resize(1)
    assert bp.statistics().capacity == 4
    bp.resize(3)  # clamped to 4 again: unchanged

    assert resizes(events) == [(8, 16, 0), (16, 4, 0)]
    with pytest.raises(ValueError, match="buffer_size"):
        bp.resize(0)


@pytest.mark.parametrize("size", [0, -1])
def test_backpressure_resize_rejects_sizes_below_one(size: int) -> None:
    bp = backpressure(Policy.BLOCK, buffer_size=4)
    with pytest.raises(ValueError, match="buffer_size must be >= 1"):
        bp.resize(size)
    assert bp.statistics().capacity == 4


def test_backpressure_resize_from_another_thread_while_a_block_stream_runs() -> None:
    subject: Subject[int] = Subject()
    bp = backpressure(Policy.BLOCK, buffer_size=4)
    received: list[int] = []
    done = threading.Event()
    subject.pipe(bp).subscribe(received.append, on_completed=done.set)
    stop = threading.Event()
    sizes = [1, 64, 2, 7, 16, 3]
    rounds = [0]

    def resize_repeatedly() -> None:
        while not stop.is_set():
            bp.resize(sizes[rounds[0] % len(sizes)])
            rounds[0] += 1

    resizer = threading.Thread(target=resize_repeatedly)
    resizer.start()
    count = 20_000
    for item in range(count):
        subject.on_next(item)
        if item == count // 2:
            wait_until(lambda: rounds[0] >= 2 * len(sizes))
    stop.set()
    resizer.join(TIMEOUT)
    bp.resize(5)
    subject.on_completed()
    assert done.wait(TIMEOUT)

    assert received == list(range(count))
    stats = bp.statistics()
    assert (stats.capacity, stats.produced, stats.delivered, stats.dropped) == (5, count, count, 0)
    assert stats.peak_size <= 64


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


@pytest.mark.parametrize(
    ("make", "arguments", "message"),
    [
        (backpressure, {"buffer_size": 2.5}, "buffer_size must be an int, not float"),
        (backpressure, {"buffer_size": True}, "buffer_size must be an int, not bool"),
        (backpressure, {"buffer_size": "8"}, "buffer_size must be an int, not str"),
        (backpressure, {"on_drop": 5}, "on_drop must be callable"),
        (backpressure, {"scheduler": ThreadPoolScheduler}, "scheduler must be a reactivex"),
        (backpressure, {"adaptive": 16}, "adaptive must be an Adaptive"),
        (backpressure, {"slow_consumer": 1.0}, "slow_consumer must be a SlowConsumer"),
        (backpressure, {"policy": "block"}, "policy must be a Policy"),
        (Adaptive, {"min_size": 1.5}, "Adaptive.min_size must be an int"),
        (Adaptive, {"max_size": True}, "Adaptive.max_size must be an int"),
        (Adaptive, {"high": "0.9"}, "Adaptive.high must be a number"),
        (Adaptive, {"window": "1"}, "Adaptive.window must be a number of seconds"),
        (SlowConsumer, {"low": False}, "SlowConsumer.low must be a number"),
        (SlowConsumer, {"blocked_threshold": None}, "blocked_threshold must be a number"),
    ],
)
def test_backpressure_rejects_arguments_of_the_wrong_type_when_built(
    make: Callable[..., Any], arguments: dict[str, Any], message: str
) -> None:
    required: dict[Callable[..., Any], dict[str, Any]] = {
        backpressure: {"policy": Policy.BLOCK},
        Adaptive: {"min_size": 1, "max_size": 4},
        SlowConsumer: {},
    }
    with pytest.raises(TypeError, match=message):
        make(**(required[make] | arguments))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Adaptive(min_size=1, max_size=4, window=math.inf), "positive, finite"),
        (lambda: Adaptive(min_size=1, max_size=4, window=math.nan), "positive, finite"),
        (lambda: Adaptive(min_size=1, max_size=4, low=math.nan), "0 <= low < high <= 1"),
        (lambda: SlowConsumer(window=math.inf), "positive, finite"),
        (lambda: SlowConsumer(blocked_threshold=math.inf), "positive, finite"),
    ],
)
def test_backpressure_rejects_durations_and_watermarks_that_are_not_finite(
    make: Callable[[], Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("size", [2.5, True, "4", None])
def test_backpressure_resize_rejects_sizes_that_are_not_ints(size: Any) -> None:
    bp = backpressure(Policy.BLOCK, buffer_size=4)
    with pytest.raises(TypeError, match="buffer_size must be an int"):
        bp.resize(size)
    assert bp.statistics().capacity == 4


def test_backpressure_default_buffer_size() -> None:
    assert backpressure(Policy.BLOCK).statistics().capacity == DEFAULT_BUFFER_SIZE == 1024


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
