"""``rxclaude.aio``: ``async for`` over an Observable through a bounded queue, and
``last_value``; real threads as producers, ``asyncio.run`` as the loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
import reactivex
from conftest import TIMEOUT
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.internal.exceptions import SequenceContainsNoElementsError
from waiting import wait_until

from rxclaude.aio import last_value, to_async_iterable


class ThreadedSource:
    """An observable whose items come from a thread of its own, one per subscription; it
    records what it has handed over (``sent``: ``on_next`` returned) and started to hand
    over (``entered``), and when it is disposed."""

    def __init__(self, count: int, error: Exception | None = None) -> None:
        self.count, self.error = count, error
        self.entered: list[int] = []
        self.sent: list[int] = []
        self.disposed = threading.Event()

    def subscribe(
        self, observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        def produce() -> None:
            for item in range(self.count):
                if self.disposed.is_set():
                    return
                self.entered.append(item)
                observer.on_next(item)
                self.sent.append(item)
            if self.error is not None:
                observer.on_error(self.error)
            else:
                observer.on_completed()

        threading.Thread(target=produce, daemon=True).start()
        return Disposable(self.disposed.set)

    def observable(self) -> Observable[int]:
        return reactivex.create(self.subscribe)


def never_ending(disposed: threading.Event) -> Observable[int]:
    """Emits nothing and never ends; sets ``disposed`` when disposed."""

    def subscribe(_: abc.ObserverBase[int], __: abc.SchedulerBase | None = None) -> Disposable:
        return Disposable(disposed.set)

    return reactivex.create(subscribe)


def run(coroutine: Callable[[], Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine(), TIMEOUT))


async def until(condition: Callable[[], bool]) -> None:
    """Polls ``condition`` without blocking the loop."""
    for _ in range(int(TIMEOUT / 0.001)):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not reached")


def test_a_full_queue_blocks_the_producer() -> None:
    source = ThreadedSource(10)
    ahead: list[int] = []  # items handed over and not yet taken, after each item taken

    async def consume() -> list[int]:
        taken: list[int] = []
        async with to_async_iterable(source.observable(), maxsize=2) as items:
            async for item in items:
                taken.append(item)
                if item == 0:
                    # The producer fills the queue (1, 2) and blocks handing over 3.
                    await until(lambda: len(source.entered) == 4)
                    assert source.sent == [0, 1, 2]
                ahead.append(len(source.sent) - len(taken))
        return taken

    assert run(consume) == list(range(10))
    assert max(ahead) == 2


def test_items_then_the_error() -> None:
    failure = ValueError("the source failed")

    async def consume() -> list[int]:
        taken: list[int] = []
        with pytest.raises(ValueError) as raised:
            async for item in to_async_iterable(ThreadedSource(3, failure).observable(), 1):
                taken.append(item)
        assert raised.value is failure
        return taken

    assert run(consume) == [0, 1, 2]


def test_cancelling_the_consumer_disposes_and_releases_the_producer() -> None:
    source = ThreadedSource(1000)

    async def consume() -> None:
        iterator = to_async_iterable(source.observable(), maxsize=1)

        async def take_all() -> None:
            async for item in iterator:
                if item == 0:
                    await asyncio.Event().wait()  # never set: cancelled here

        task = asyncio.create_task(take_all())
        await until(lambda: len(source.entered) == 3)  # 0 taken, 1 queued, 2 blocked
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await iterator.aclose()

    run(consume)
    assert source.disposed.is_set()
    wait_until(lambda: source.sent == [0, 1, 2])  # the blocked hand-over returned


def test_cancelled_while_waiting_for_an_item_disposes() -> None:
    disposed = threading.Event()
    never = never_ending(disposed)

    async def consume() -> None:
        iterator = to_async_iterable(never)
        task = asyncio.create_task(iterator.__anext__())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(StopAsyncIteration):
            await iterator.__anext__()

    run(consume)
    assert disposed.wait(TIMEOUT)


def test_a_source_that_emits_when_subscribed_does_not_block_the_loop() -> None:
    async def consume() -> list[int]:
        return [item async for item in to_async_iterable(reactivex.from_iterable(range(100)), 1)]

    assert run(consume) == list(range(100))


@pytest.mark.parametrize(
    ("maxsize", "error"), [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_maxsize_is_checked(maxsize: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        to_async_iterable(reactivex.empty(), maxsize)


def test_last_value_from_another_thread() -> None:
    async def last() -> int:
        return await last_value(ThreadedSource(5).observable())

    assert run(last) == 4


def test_last_value_raises_the_error_or_no_elements() -> None:
    failure = RuntimeError("broken")

    async def failing() -> None:
        with pytest.raises(RuntimeError) as raised:
            await last_value(ThreadedSource(2, failure).observable())
        assert raised.value is failure
        with pytest.raises(SequenceContainsNoElementsError):
            await last_value(reactivex.empty())

    run(failing)


def test_cancelling_last_value_disposes() -> None:
    disposed = threading.Event()
    never = never_ending(disposed)

    async def cancel() -> None:
        task = asyncio.create_task(last_value(never))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(cancel)
    assert disposed.is_set()
