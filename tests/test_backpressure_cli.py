"""``backpressure`` end to end: child process → ``from_cli`` → ``parse_json_frames``.

With ``Policy.BLOCK`` a held consumer holds the operator's producer, the thread that
delivers the child's output, at a full buffer; what becomes of the child meanwhile is
``from_cli``'s business, tested with it. The children are in ``tests/children/bp_*.py``.
Threads are synchronised with events and statistics snapshots.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from conftest import TIMEOUT, Recording
from reactivex import Observable
from reactivex import operators as ops
from waiting import wait_until

from rxclaude.backpressure import (
    Backpressure,
    BackpressureStatistics,
    BufferOverflowError,
    Policy,
    backpressure,
)
from rxclaude.framing import parse_json_frames
from rxclaude.messages import Message
from rxclaude.sources import from_cli

CHILDREN = Path(__file__).parent / "children"


def rxclaude_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("rxclaude-")}


@pytest.fixture(autouse=True)
def no_leftovers() -> Iterator[None]:
    """Every test ends its child processes and the threads it started."""
    threads_before = rxclaude_threads()
    yield
    for thread in rxclaude_threads() - threads_before:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), f"{thread.name} still running"
    assert psutil.Process().children() == []


def frames(child: str, *arguments: object) -> Observable[Message]:
    command = [sys.executable, str(CHILDREN / child), *map(str, arguments)]
    return from_cli(command).pipe(parse_json_frames())


def sequence_number(message: Message) -> int:
    assert message.raw is not None, message
    seq = message.raw["seq"]
    assert isinstance(seq, int)
    return seq


class SequenceChecker(Recording[Message]):
    """A ``Recording`` of messages that may spin a little per message; ``received`` are
    their sequence numbers."""

    def __init__(self, work: int = 0) -> None:
        super().__init__()
        self.work = work

    def on_next(self, value: Message) -> None:
        super().on_next(value)
        for _ in range(self.work):
            pass

    @property
    def received(self) -> list[int]:
        return [sequence_number(message) for message in self.items]


def assert_reconciled(bp: Backpressure, received: list[int]) -> None:
    stats = bp.statistics()
    assert received == sorted(received)
    assert stats.delivered == len(received)
    assert stats.produced == stats.delivered + stats.dropped + stats.discarded


def test_backpressure_block_holds_its_producer_while_a_child_floods() -> None:
    """A held consumer holds the operator's producer (the thread that delivers the child's
    output) at a full buffer; what the child writes meanwhile waits upstream, in
    ``from_cli``. Released, every frame arrives, in order."""
    frame_bytes, count, capacity = 512, 20_000, 1024
    bp = backpressure(Policy.BLOCK, buffer_size=capacity)
    holding, release = threading.Event(), threading.Event()
    checker = SequenceChecker()

    def hold_first(message: Message) -> None:
        checker.on_next(message)
        if len(checker.items) == 1:
            holding.set()
            release.wait(TIMEOUT)

    frames("bp_flood.py", count, frame_bytes).pipe(bp).subscribe(
        hold_first, checker.on_error, checker.on_completed
    )
    assert holding.wait(TIMEOUT)
    # Not just "a producer waits": one may still be waiting from before the consumer's
    # first take, about to fill the place that take freed. Full and waiting is the state
    # that lasts while the consumer holds message 0.
    wait_until(lambda: full_and_waiting(bp.statistics(), capacity))
    held = bp.statistics()
    assert (held.produced, held.delivered, held.peak_size) == (1 + capacity, 1, capacity)
    assert held.blocked_time > 0

    release.set()
    assert checker.done.wait(TIMEOUT)
    assert checker.errors == []
    assert checker.received == list(range(count))
    assert_reconciled(bp, checker.received)
    stats = bp.statistics()
    assert (stats.produced, stats.delivered, stats.dropped, stats.discarded) == (count, count, 0, 0)
    assert (stats.size, stats.peak_size) == (0, capacity)  # never more than its capacity
    assert stats.blocked_time >= held.blocked_time > 0


def full_and_waiting(stats: BackpressureStatistics, capacity: int) -> bool:
    return stats.size == capacity and stats.producers_waiting == 1


@pytest.mark.parametrize("policy", list(Policy))
def test_backpressure_bursty_child_reconciles(policy: Policy) -> None:
    count = 40_000
    bp = backpressure(policy, buffer_size=16)
    checker = SequenceChecker(work=300)

    frames("bp_bursty.py", f"bursty-{policy.value}", count, 0.002).pipe(bp).subscribe(
        checker.on_next, checker.on_error, checker.on_completed
    )
    assert checker.done.wait(TIMEOUT)

    assert_reconciled(bp, checker.received)
    stats = bp.statistics()
    if policy is Policy.ERROR and checker.errors:
        assert isinstance(checker.errors[0], BufferOverflowError)
        assert stats.dropped == 1
    else:
        assert checker.errors == []
        assert stats.produced == count
    if policy is Policy.BLOCK:
        assert checker.received == list(range(count))
    elif policy is not Policy.ERROR:
        assert stats.dropped > 0  # chunks of hundreds of frames overrun 16 places


@pytest.mark.parametrize("policy", [Policy.BLOCK, Policy.DROP_OLDEST])
def test_backpressure_dispose_mid_stream_ends_child_and_threads(policy: Policy) -> None:
    bp = backpressure(policy, buffer_size=64)
    enough = threading.Event()
    checker = SequenceChecker(work=200)

    def count_to_enough(message: Message) -> None:
        checker.on_next(message)
        if len(checker.items) == 5_000:
            enough.set()

    subscription = (
        frames("bp_flood.py", 10_000_000, 256)
        .pipe(bp)
        .subscribe(count_to_enough, checker.on_error, checker.on_completed)
    )
    assert enough.wait(TIMEOUT)
    subscription.dispose()
    # The fixture checks that the child and every thread are gone.

    assert not checker.done.is_set()
    assert_reconciled(bp, checker.received)
    assert bp.statistics().size == 0


def test_backpressure_downstream_take_ends_bursty_child() -> None:
    bp = backpressure(Policy.BLOCK, buffer_size=8)
    checker = SequenceChecker(work=100)

    frames("bp_bursty.py", "take", 1_000_000, 0.001).pipe(bp, ops.take(2_000)).subscribe(
        checker.on_next, checker.on_error, checker.on_completed
    )
    assert checker.done.wait(TIMEOUT)

    assert checker.received == list(range(2_000))
    assert checker.errors == []
