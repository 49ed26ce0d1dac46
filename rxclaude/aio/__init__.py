"""asyncio over rxclaude's Observables: ``async for`` with backpressure, and ``await``.

:func:`to_async_iterable` hands items from the observable's threads to the event loop
through a bounded queue: when ``maxsize`` items wait for the ``async for``, the thread
that emits the next one blocks until the loop takes one. So a slow coroutine holds the
producer, the way ``backpressure(BLOCK)`` does, and memory stays bounded::

    source (its own thread):  -m1-m2-m3-m4--------------------|
    to_async_iterable(source, maxsize=2), the loop busy after m1
    async for:                -m1-----------m2-m3-m4-----------|   (m4 waited for room)

The observable is subscribed from a thread of its own, so a source that emits at once
when subscribed (``reactivex.of``, a file) blocks that thread, not the loop. A source that
emits on the event loop's own thread is never blocked (that would stop the loop): for
such items the bound does not hold.

:func:`last_value` awaits an observable's last item, safely from any thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Generic, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import SingleAssignmentDisposable
from reactivex.internal.exceptions import SequenceContainsNoElementsError

_T = TypeVar("_T")

DEFAULT_MAXSIZE = 64
"""Items that may wait for the ``async for`` before the producer blocks."""


class _End:
    def __init__(self, error: Exception | None) -> None:
        self.error = error


class AsyncObservableIterator(AsyncIterator[_T], Generic[_T]):
    """The ``async for`` side of :func:`to_async_iterable`; also an async context manager
    (leaving it, or :meth:`aclose`, or cancelling the iterating task, disposes the
    subscription and releases a blocked producer)."""

    def __init__(
        self, source: Observable[_T], maxsize: int, scheduler: abc.SchedulerBase | None = None
    ) -> None:
        self._source = source
        self._maxsize = maxsize
        self._scheduler = scheduler
        self._subscription = SingleAssignmentDisposable()
        self._room = threading.Condition()
        self._waiting = 0  # items handed to the loop and not yet taken
        self._closed = False
        self._queue: asyncio.Queue[_T | _End] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0

    # -- the producer's side (any thread) --------------------------------------------------

    def _on_next(self, item: _T) -> None:
        with self._room:
            if threading.get_ident() != self._loop_thread:
                while self._waiting >= self._maxsize and not self._closed:
                    self._room.wait()
            if self._closed:
                return
            self._waiting += 1
        self._hand_over(item)

    def _on_error(self, error: Exception) -> None:
        self._hand_over(_End(error))

    def _on_completed(self) -> None:
        self._hand_over(_End(None))

    def _hand_over(self, item: _T | _End) -> None:
        assert self._loop is not None and self._queue is not None
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody iterates any more
            self.close()

    # -- the loop's side -------------------------------------------------------------------

    def _subscribe(self) -> None:
        self._subscription.disposable = self._source.subscribe(
            self._on_next, self._on_error, self._on_completed, scheduler=self._scheduler
        )

    async def __anext__(self) -> _T:
        if self._queue is None:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
            self._queue = asyncio.Queue()
            threading.Thread(target=self._subscribe, name="rxclaude-aio", daemon=True).start()
        if self._closed:
            raise StopAsyncIteration
        try:
            item = await self._queue.get()
        except asyncio.CancelledError:
            self.close()
            raise
        if isinstance(item, _End):
            self.close()
            if item.error is not None:
                raise item.error
            raise StopAsyncIteration
        with self._room:
            self._waiting -= 1
            self._room.notify()
        return item

    def close(self) -> None:
        """Disposes the subscription and releases a producer blocked for room."""
        with self._room:
            self._closed = True
            self._room.notify_all()
        self._subscription.dispose()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> AsyncObservableIterator[_T]:
        return self

    async def __aexit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def to_async_iterable(
    observable: Observable[_T],
    maxsize: int = DEFAULT_MAXSIZE,
    *,
    scheduler: abc.SchedulerBase | None = None,
) -> AsyncObservableIterator[_T]:
    """``async for item in to_async_iterable(observable, maxsize)``: see the module.

    The observable is subscribed at the first iteration (with ``scheduler``, for a source
    that loops on it, e.g. ``NewThreadScheduler()``: disposing then stops it between
    items); its error is raised by the ``async for``; at most ``maxsize`` items wait for
    the loop.

    Raises:
        ValueError: ``maxsize`` is not positive.
    """
    if isinstance(maxsize, bool) or not isinstance(maxsize, int):
        raise TypeError(f"maxsize must be an integer, not {type(maxsize).__name__}")
    if maxsize < 1:
        raise ValueError(f"maxsize must be positive, not {maxsize}")
    return AsyncObservableIterator(observable, maxsize, scheduler)


async def last_value(observable: Observable[_T]) -> _T:
    """The observable's last item, once it completes; its error is raised. Items may come
    on any thread. Cancelling the awaiting task disposes the subscription.

    Raises:
        SequenceContainsNoElementsError: it completed without an item.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()
    last: list[_T] = []

    def settle(error: Exception | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        elif last:
            future.set_result(last[-1])
        else:
            future.set_exception(SequenceContainsNoElementsError())

    def on_next(item: _T) -> None:
        last[:] = [item]

    def on_error(error: Exception) -> None:
        loop.call_soon_threadsafe(settle, error)

    def on_completed() -> None:
        loop.call_soon_threadsafe(settle, None)

    subscription = observable.subscribe(on_next, on_error, on_completed)
    try:
        return await future
    finally:
        subscription.dispose()


__all__ = [
    "DEFAULT_MAXSIZE",
    "AsyncObservableIterator",
    "last_value",
    "to_async_iterable",
]
