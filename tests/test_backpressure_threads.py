"""``backpressure`` across real threads: volume, bounds, stress, disposal, blocked producers.

Synchronisation uses ``threading.Event``s and statistics snapshots only; ``wait_until`` polls
a snapshot with short ``Event.wait`` pauses under a generous deadline.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
import reactivex
from conftest import TIMEOUT, Recording
from reactivex import abc
from reactivex import operators as ops
from reactivex.disposable import Disposable
from reactivex.scheduler import ThreadPoolScheduler
from reactivex.subject import Subject
from waiting import wait_until

from rxclaude.backpressure import (
    Adaptive,
    Backpressure,
    BackpressureEventKind,
    BufferOverflowError,
    Policy,
    SlowConsumer,
    backpressure,
)


def consumer_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("rxclaude-backpressure-")}


def produce_range(subject: Subject[int], count: int, complete: bool = True) -> None:
    for item in range(count):
        subject.on_next(item)
    if complete:
        subject.on_completed()


def join_all(threads: set[threading.Thread]) -> None:
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), f"{thread.name} still running"


class BusyRecording(Recording[Any]):
    """A ``Recording`` that does ``work`` steps of busy work per item: a slower consumer."""

    def __init__(self, work: int) -> None:
        super().__init__()
        self.work = work

    def on_next(self, value: Any) -> None:
        super().on_next(value)
        for _ in range(self.work):
            pass


def test_backpressure_block_million_items_arrive_in_order_within_bound() -> None:
    capacity, count = 256, 1_000_000
    subject: Subject[int] = Subject()
    bp = backpressure(Policy.BLOCK, buffer_size=capacity)
    returned = 0  # how many producer on_next calls have returned
    next_expected = 0
    max_ahead = 0
    out_of_order: list[int] = []
    done = threading.Event()

    def on_next(item: int) -> None:
        nonlocal next_expected, max_ahead
        if item != next_expected:
            out_of_order.append(item)
        next_expected = item + 1
        # ``item`` is in hand, so the producer may be capacity + 1 items ahead.
        max_ahead = max(max_ahead, returned - item)
        sum(range(10))  # the consumer is slower than the producer

    def produce() -> None:
        nonlocal returned
        for item in range(count):
            subject.on_next(item)
            returned = item + 1
        subject.on_completed()

    subject.pipe(bp).subscribe(on_next, on_completed=done.set)
    producer = threading.Thread(target=produce)
    producer.start()
    producer.join(TIMEOUT)
    assert done.wait(TIMEOUT)

    assert out_of_order == []
    assert next_expected == count
    assert max_ahead <= capacity + 1
    stats = bp.statistics()
    assert (stats.produced, stats.delivered, stats.dropped) == (count, count, 0)
    assert stats.peak_size == capacity
    assert stats.blocked_time > 0


def test_backpressure_block_many_producers_keep_their_own_order() -> None:
    producers, per_producer = 4, 25_000
    subject: Subject[tuple[int, int]] = Subject()
    bp = backpressure(Policy.BLOCK, buffer_size=16)
    consumer = BusyRecording(work=20)
    subject.pipe(bp).subscribe(consumer.on_next, consumer.on_error, consumer.on_completed)

    def produce(name: int) -> None:
        for sequence in range(per_producer):
            subject.on_next((name, sequence))

    threads = [threading.Thread(target=produce, args=(name,)) for name in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    subject.on_completed()
    assert consumer.done.wait(TIMEOUT)

    for name in range(producers):
        sequences = [sequence for n, sequence in consumer.items if n == name]
        assert sequences == list(range(per_producer))
    assert bp.statistics().delivered == producers * per_producer


@pytest.mark.parametrize("policy", [Policy.DROP_OLDEST, Policy.DROP_NEWEST])
def test_backpressure_drop_policies_reconcile_under_a_fast_producer(policy: Policy) -> None:
    count = 200_000
    subject: Subject[int] = Subject()
    dropped: list[int] = []
    bp = backpressure(policy, buffer_size=32, on_drop=dropped.append)
    consumer = BusyRecording(work=50)
    subject.pipe(bp).subscribe(consumer.on_next, consumer.on_error, consumer.on_completed)

    producer = threading.Thread(target=produce_range, args=(subject, count))
    producer.start()
    producer.join(TIMEOUT)
    assert consumer.done.wait(TIMEOUT)

    delivered = consumer.items
    assert delivered == sorted(delivered)
    assert sorted([*delivered, *dropped]) == list(range(count))
    stats = bp.statistics()
    assert (stats.produced, stats.delivered, stats.dropped) == (count, len(delivered), len(dropped))
    assert stats.dropped > 0


def test_backpressure_error_policy_under_a_fast_producer() -> None:
    subject: Subject[int] = Subject()
    bp = backpressure(Policy.ERROR, buffer_size=8)
    consumer = BusyRecording(work=2_000)
    subject.pipe(bp).subscribe(consumer.on_next, consumer.on_error, consumer.on_completed)

    for item in range(100_000):
        subject.on_next(item)
    assert consumer.done.wait(TIMEOUT)

    assert len(consumer.errors) == 1
    assert isinstance(consumer.errors[0], BufferOverflowError)
    assert consumer.items == list(range(len(consumer.items)))
    stats = bp.statistics()
    assert stats.dropped == 1
    assert stats.produced == stats.delivered + stats.dropped + stats.discarded


def test_backpressure_dispose_releases_blocked_producer_and_ends_consumer_thread() -> None:
    subject: Subject[int] = Subject()
    bp = backpressure(Policy.BLOCK, buffer_size=4)
    holding, release = threading.Event(), threading.Event()
    received: list[int] = []
    before = consumer_threads()

    def hold_first(item: int) -> None:
        received.append(item)
        if item == 0:
            holding.set()
            release.wait(TIMEOUT)

    subscription = subject.pipe(bp).subscribe(hold_first)
    started = consumer_threads() - before
    assert len(started) == 1
    producer = threading.Thread(target=produce_range, args=(subject, 100, False))
    producer.start()
    assert holding.wait(TIMEOUT)
    wait_until(lambda: bp.statistics().producers_waiting == 1)

    subscription.dispose()
    producer.join(TIMEOUT)
    assert not producer.is_alive()
    release.set()
    join_all(started)

    assert received == [0]
    stats = bp.statistics()
    assert (stats.size, stats.producers_waiting, stats.delivered) == (0, 0, 1)
    assert stats.produced == stats.delivered + stats.discarded


class HandlingFailedError(Exception):
    pass


@pytest.mark.parametrize("threaded", [True, False], ids=["own-thread", "thread-pool"])
def test_backpressure_raising_consumer_ends_the_stream_with_its_error(threaded: bool) -> None:
    """An ``on_next`` that raises on the drain thread has no caller to catch it: the
    subscription ends, a blocked producer is released and the error arrives as on_error."""
    subject: Subject[int] = Subject()
    pool = None if threaded else ThreadPoolScheduler(2)
    bp = backpressure(Policy.BLOCK, buffer_size=4, scheduler=pool)
    holding, release = threading.Event(), threading.Event()
    recorder = Recording[int]()
    failure = HandlingFailedError("handler broke on item 0")
    before = consumer_threads()

    def fail_on_first(item: int) -> None:
        if item == 0:
            holding.set()
            release.wait(TIMEOUT)
            raise failure
        recorder.on_next(item)

    subject.pipe(bp).subscribe(fail_on_first, recorder.on_error, recorder.on_completed)
    started = consumer_threads() - before
    producer = threading.Thread(target=produce_range, args=(subject, 100))
    producer.start()
    assert holding.wait(TIMEOUT)
    wait_until(lambda: bp.statistics().producers_waiting == 1)
    release.set()

    assert recorder.done.wait(TIMEOUT)
    producer.join(TIMEOUT)
    assert not producer.is_alive()
    join_all(started)
    assert recorder.errors == [failure]
    assert recorder.items == []
    stats = bp.statistics()
    assert (stats.delivered, stats.producers_waiting, stats.size) == (1, 0, 0)
    assert stats.produced == stats.delivered + stats.dropped + stats.discarded
    assert stats.produced >= 5  # the one that raised, four buffered, and the blocked one


def test_backpressure_no_error_downstream_once_a_dispose_has_begun() -> None:
    """``on_next`` raises while another thread's dispose is under way (held in the source's
    dispose): the subscriber, who disposed, gets no ``on_error``, as after any dispose."""
    disposing, finish_disposing = threading.Event(), threading.Event()
    observers: list[abc.ObserverBase[int]] = []

    def subscribe(
        observer: abc.ObserverBase[int], _scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        def dispose() -> None:
            disposing.set()
            finish_disposing.wait(TIMEOUT)

        observers.append(observer)
        return Disposable(dispose)

    bp = backpressure(Policy.BLOCK, buffer_size=4)
    holding, release = threading.Event(), threading.Event()
    recorder = Recording[int]()
    before = consumer_threads()

    def fail_on_first(_item: int) -> None:
        holding.set()
        release.wait(TIMEOUT)
        raise HandlingFailedError("handler broke while being disposed")

    subscription = (
        reactivex.create(subscribe)
        .pipe(bp)
        .subscribe(fail_on_first, recorder.on_error, recorder.on_completed)
    )
    started = consumer_threads() - before
    observers[0].on_next(0)
    assert holding.wait(TIMEOUT)
    disposer = threading.Thread(target=subscription.dispose)
    disposer.start()
    assert disposing.wait(TIMEOUT)
    release.set()
    join_all(started)
    finish_disposing.set()
    disposer.join(TIMEOUT)

    assert recorder.errors == []
    assert not recorder.done.is_set()
    stats = bp.statistics()
    assert (stats.produced, stats.delivered, stats.discarded) == (1, 1, 0)


def test_backpressure_downstream_take_disposes_mid_stream() -> None:
    subject: Subject[int] = Subject()
    bp = backpressure(Policy.BLOCK, buffer_size=16)
    consumer = BusyRecording(work=20)
    before = consumer_threads()
    subject.pipe(bp, ops.take(1_000)).subscribe(
        consumer.on_next, consumer.on_error, consumer.on_completed
    )
    started = consumer_threads() - before

    def produce() -> None:
        for item in range(1_000_000):
            subject.on_next(item)
            if not subject.observers:
                return

    producer = threading.Thread(target=produce)
    producer.start()
    assert consumer.done.wait(TIMEOUT)
    producer.join(TIMEOUT)
    assert not producer.is_alive()
    join_all(started)

    assert consumer.items == list(range(1_000))
    assert consumer.errors == []


def run_bursts(policy: Policy, randomness: random.Random) -> None:
    """A producer thread sends random bursts with random pauses to a random consumer."""
    subject: Subject[int] = Subject()
    bp = backpressure(policy, buffer_size=randomness.randint(1, 64))
    consumer = BusyRecording(work=randomness.randint(0, 200))
    subject.pipe(bp).subscribe(consumer.on_next, consumer.on_error, consumer.on_completed)
    bursts = [randomness.randint(1, 500) for _ in range(40)]
    pauses = [randomness.randint(0, 2_000) for _ in range(40)]

    def produce() -> None:
        item = 0
        for burst, pause in zip(bursts, pauses, strict=True):
            for _ in range(burst):
                subject.on_next(item)
                item += 1
            for _ in range(pause):  # the producer computes between bursts
                pass
        subject.on_completed()

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join(TIMEOUT)
    assert consumer.done.wait(TIMEOUT), policy
    stats = bp.statistics()
    assert consumer.items == sorted(consumer.items)
    assert stats.delivered == len(consumer.items)
    assert stats.produced == stats.delivered + stats.dropped + stats.discarded
    if policy is Policy.BLOCK:
        assert stats.produced == sum(bursts)
        assert stats.dropped == stats.discarded == 0


@pytest.mark.parametrize("policy", list(Policy))
def test_backpressure_random_bursts_reconcile(policy: Policy) -> None:
    randomness = random.Random(f"bursts-{policy.value}")
    for _ in range(5):
        run_bursts(policy, randomness)


def test_backpressure_slow_consumer_events_on_the_wall_clock() -> None:
    subject: Subject[int] = Subject()
    bp = backpressure(
        Policy.BLOCK,
        buffer_size=2,
        slow_consumer=SlowConsumer(window=60, blocked_threshold=0.05),
    )
    reported = {kind: threading.Event() for kind in BackpressureEventKind}
    bp.events.subscribe(lambda event: reported[event.kind].set())
    release = threading.Event()
    consumer = Recording[int]()

    def held(item: int) -> None:
        release.wait(TIMEOUT)
        consumer.on_next(item)

    subject.pipe(bp).subscribe(held, consumer.on_error, consumer.on_completed)
    producer = threading.Thread(target=produce_range, args=(subject, 10))
    producer.start()
    assert reported[BackpressureEventKind.SLOW_CONSUMER].wait(TIMEOUT)
    assert not reported[BackpressureEventKind.RECOVERED].is_set()
    release.set()
    producer.join(TIMEOUT)

    assert consumer.done.wait(TIMEOUT)
    assert reported[BackpressureEventKind.RECOVERED].wait(TIMEOUT)
    assert consumer.items == list(range(10))


def test_backpressure_block_with_a_steadily_slow_consumer_is_reported_slow() -> None:
    subject: Subject[int] = Subject()
    bp = backpressure(
        Policy.BLOCK,
        buffer_size=64,
        slow_consumer=SlowConsumer(window=0.05, blocked_threshold=60),
    )
    reported = {kind: threading.Event() for kind in BackpressureEventKind}
    bp.events.subscribe(lambda event: reported[event.kind].set())
    consumer = Recording[int]()
    io_wait = threading.Event()

    def slow(item: int) -> None:
        io_wait.wait(0.0005)  # stands for I/O-bound work in the handler
        consumer.on_next(item)

    subject.pipe(bp).subscribe(slow, consumer.on_error, consumer.on_completed)
    producer = threading.Thread(target=produce_range, args=(subject, 300))
    producer.start()

    # The refills keep the buffer between 3/4 and full: congested, never calm.
    assert reported[BackpressureEventKind.SLOW_CONSUMER].wait(TIMEOUT)
    producer.join(TIMEOUT)
    assert consumer.done.wait(TIMEOUT)
    assert reported[BackpressureEventKind.RECOVERED].wait(TIMEOUT)
    assert consumer.items == list(range(300))


def test_backpressure_block_draining_on_a_thread_pool() -> None:
    subject: Subject[int] = Subject()
    bp = backpressure(Policy.BLOCK, buffer_size=4, scheduler=ThreadPoolScheduler(2))
    consumer = BusyRecording(work=20)
    subject.pipe(bp).subscribe(consumer.on_next, consumer.on_error, consumer.on_completed)

    produce_range(subject, 20_000)

    assert consumer.done.wait(TIMEOUT)
    assert consumer.errors == []
    assert consumer.items == list(range(20_000))
    assert bp.statistics().blocked_time > 0


def test_backpressure_adaptive_on_the_wall_clock() -> None:
    subject: Subject[int] = Subject()
    bp = backpressure(
        Policy.BLOCK, buffer_size=2, adaptive=Adaptive(min_size=2, max_size=16, window=0.02)
    )
    release = threading.Event()
    consumer = Recording[int]()

    def held(item: int) -> None:
        release.wait(TIMEOUT)
        consumer.on_next(item)

    subject.pipe(bp).subscribe(held, consumer.on_error, consumer.on_completed)
    producer = threading.Thread(target=produce_range, args=(subject, 100, False))
    producer.start()
    wait_until(lambda: bp.statistics().capacity == 16)  # grown while the producer waits
    release.set()
    producer.join(TIMEOUT)
    wait_until(lambda: bp.statistics().capacity == 2)  # shrunk once drained
    subject.on_completed()

    assert consumer.done.wait(TIMEOUT)
    assert consumer.items == list(range(100))


def test_backpressure_operator_object_reports_latest_subscription() -> None:
    bp: Backpressure = backpressure(Policy.DROP_NEWEST, buffer_size=4)
    first, second = Recording[int](), Recording[int]()
    subject: Subject[int] = Subject()
    subject.pipe(bp).subscribe(first.on_next, first.on_error, first.on_completed)
    subject.on_next(1)
    subject.pipe(bp).subscribe(second.on_next, second.on_error, second.on_completed)
    subject.on_next(2)
    subject.on_completed()
    assert first.done.wait(TIMEOUT) and second.done.wait(TIMEOUT)

    assert (first.items, second.items) == ([1, 2], [2])
    assert bp.statistics().produced == 1
