"""``backpressure`` statistics once a subscription is disposed while its consumer drains.

Every item the source delivered ends up counted exactly once: ``delivered`` is what the
downstream observer really received, and ``delivered + dropped + discarded == produced``
from the moment ``dispose`` returns. Real threads, many trials, synchronised on events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import TIMEOUT
from fused_source import Batches
from reactivex import Observable
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from rxclaude.backpressure import BackpressureStatistics, Policy, backpressure
from rxclaude.backpressure.buffer import BoundedBuffer

TRIALS = 200  # a dispose lands inside a batch in about 1 trial in 10
BATCH = 64  # items per list on the fused path


def consumer_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("rxclaude-backpressure-")}


@dataclass
class Counter:
    """Counts what it receives; ``started`` once ``threshold`` items have arrived."""

    threshold: int
    received: int = 0
    started: threading.Event = field(default_factory=threading.Event)

    def on_next(self, _item: int) -> None:
        self.received += 1
        if self.received == self.threshold:
            self.started.set()


@dataclass
class Source:
    """A source fed from its own thread until ``stop``: item by item, or fused lists."""

    observable: Observable[int]
    produce: Callable[[threading.Event], None]


def item_by_item() -> Source:
    subject: Subject[int] = Subject()

    def produce(stop: threading.Event) -> None:
        item = 0
        while not stop.is_set():
            subject.on_next(item)
            item += 1

    return Source(subject, produce)


def fused() -> Source:
    batches = Batches()

    def produce(stop: threading.Event) -> None:
        item = 0
        while not stop.is_set():
            batches.push(list(range(item, item + BATCH)))
            item += BATCH

    return Source(batches, produce)


def counts(stats: BackpressureStatistics) -> tuple[int, int, int, int]:
    return (stats.produced, stats.delivered, stats.dropped, stats.discarded)


def reconciles(stats: BackpressureStatistics) -> bool:
    return stats.delivered + stats.dropped + stats.discarded == stats.produced


def dispose_while_draining(policy: Policy, make_source: Callable[[], Source]) -> None:
    source = make_source()
    bp = backpressure(policy)
    counter = Counter(threshold=100)
    before = consumer_threads()
    subscription = source.observable.pipe(bp).subscribe(counter.on_next)
    (consumer,) = consumer_threads() - before
    stop = threading.Event()
    producer = threading.Thread(target=source.produce, args=(stop,))
    producer.start()
    assert counter.started.wait(TIMEOUT)

    subscription.dispose()
    at_dispose = bp.statistics()
    stop.set()
    producer.join(TIMEOUT)
    consumer.join(TIMEOUT)
    assert not producer.is_alive() and not consumer.is_alive()
    final = bp.statistics()

    assert at_dispose.size == final.size == 0
    assert reconciles(at_dispose) and reconciles(final), (at_dispose, final)
    assert final.delivered == counter.received, (final, counter.received)
    assert counts(at_dispose) == counts(final)


@pytest.mark.parametrize("make_source", [item_by_item, fused], ids=["items", "fused"])
@pytest.mark.parametrize("policy", [Policy.DROP_OLDEST, Policy.DROP_NEWEST, Policy.BLOCK])
def test_backpressure_dispose_while_draining_counts_only_what_was_received(
    policy: Policy, make_source: Callable[[], Source]
) -> None:
    for _ in range(TRIALS):
        dispose_while_draining(policy, make_source)


def test_backpressure_dispose_between_a_take_and_its_first_item_delivers_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The consumer has taken a batch (its first item counts as in hand) when a dispose
    lands: that item never reaches the observer, so it is discarded, not delivered."""
    scheduler = TestScheduler()
    bp = backpressure(Policy.DROP_NEWEST, buffer_size=8, scheduler=scheduler)
    subject: Subject[int] = Subject()
    received: list[int] = []
    subscription = subject.pipe(bp).subscribe(received.append)
    take = BoundedBuffer._take

    def take_then_dispose(self: BoundedBuffer, *, wait: bool) -> Any:
        taken = take(self, wait=wait)
        subscription.dispose()  # as another thread's dispose would, at this very moment
        return taken

    monkeypatch.setattr(BoundedBuffer, "_take", take_then_dispose)
    for item in range(3):
        subject.on_next(item)
    scheduler.advance_by(1)  # runs the drain

    assert received == []
    stats = bp.statistics()
    assert (stats.produced, stats.delivered, stats.discarded, stats.size) == (3, 0, 3, 0)
