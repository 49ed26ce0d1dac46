"""``StreamHandler``: the pipeline facade, the whole pipeline behind one object, blocking or
``async for``.

It is not a handler (handlers are what a :class:`~rxclaude.routing.Router` runs on each
message): ``StreamHandler(buffer_size, policy, router)`` composes every stage::

    source -> parse_json_frames() -> backpressure(policy, buffer_size)
           -> route_by_type(router) -> measure(metrics, backpressure=..., router=...)

Design decisions:

* ``stream(source)`` accepts an ``Observable[bytes]``, a binary file object (read with
  ``from_reader``), a path (``from_file``) or a command as a list or tuple of strings
  (``from_cli``; a plain string is always a path). Every ``stream`` shares the handler's
  router, backpressure operator and metrics, so results and figures add up over streams.
* ``stream_with_callback`` and ``aiter`` subscribe with a ``NewThreadScheduler``: a
  source that reads in a loop (``from_file``, ``from_reader``) then reads on its own
  thread, ``subscribe`` returns at once, and disposing stops the reading between chunks.
* ``aiter`` hands items to the event loop with ``loop.call_soon_threadsafe`` into an
  ``asyncio.Queue``, holding at most ``queue_size`` of them: when they are all taken,
  the delivering thread waits (and, through ``Policy.BLOCK``, the source), never the loop.
  That hand-off (``_Handoff``) is not a second ``backpressure`` buffer; its docstring says
  why it cannot be one.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable
from typing import BinaryIO, TypeAlias

from reactivex import Observable
from reactivex.disposable import SingleAssignmentDisposable
from reactivex.scheduler import NewThreadScheduler

from rxclaude.backpressure import (
    DEFAULT_BUFFER_SIZE,
    Backpressure,
    Policy,
    backpressure,
    check_buffer_size,
)
from rxclaude.framing import DEFAULT_MAX_FRAME_BYTES, parse_json_frames
from rxclaude.handlers import DefaultRouter
from rxclaude.messages import Message
from rxclaude.metrics import MetricsSnapshot, StreamMetrics, measure
from rxclaude.routing import Router, route_by_type
from rxclaude.sources import from_cli, from_file, from_reader

__all__ = ["StreamHandler", "StreamSource"]

StreamSource: TypeAlias = (
    Observable[bytes] | BinaryIO | str | os.PathLike[str] | list[str] | tuple[str, ...]
)
"""What ``StreamHandler.stream`` reads: bytes, a binary reader, a path, or a command."""


def _byte_source(source: StreamSource) -> Observable[bytes]:
    if isinstance(source, Observable):
        return source
    if isinstance(source, str | os.PathLike):
        return from_file(source)
    if isinstance(source, list | tuple):
        return from_cli(list(source))
    if callable(getattr(source, "read", None)):
        return from_reader(source)
    raise TypeError(
        "stream() needs an Observable[bytes], a binary file object, a path or a command "
        f"(list of strings), not {type(source).__name__}"
    )


class StreamHandler:
    """The pipeline facade: parse, buffer, route and measure Claude Code stream-json output.

    Despite its name it is the whole pipeline, not one of the router's handlers; the name
    stays for compatibility.

    Args:
        buffer_size: capacity of the backpressure buffer, in messages.
        policy: what the buffer does when it is full.
        router: the handlers to run; a ``DefaultRouter`` (what ``Router.default()`` makes:
            one of each built-in handler) if None.
        metrics: where to record; a new :class:`~rxclaude.metrics.StreamMetrics` if None.
        max_frame_bytes: the longest frame ``parse_json_frames`` takes (see there).
    """

    def __init__(
        self,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
        policy: Policy = Policy.BLOCK,
        router: Router | None = None,
        *,
        metrics: StreamMetrics | None = None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.router: Router = router if router is not None else DefaultRouter()
        self.metrics = metrics if metrics is not None else StreamMetrics()
        self.backpressure: Backpressure = backpressure(policy, buffer_size=buffer_size)
        self._measure = measure(self.metrics, backpressure=self.backpressure, router=self.router)

    def stream(self, source: StreamSource) -> Observable[Message]:
        """The messages of ``source``, after the router's handlers ran on them (cold)."""
        return _byte_source(source).pipe(
            parse_json_frames(max_frame_bytes=self.max_frame_bytes),
            self.backpressure,
            route_by_type(self.router),
            self._measure,
        )

    def stream_with_callback(
        self, source: StreamSource, callback: Callable[[Message], object]
    ) -> None:
        """Call ``callback`` with every message; return when the stream has ended.

        Re-raises the stream's error. If ``callback`` raises, the stream is disposed (the
        source stops, a CLI process is terminated) and the exception is re-raised here.
        """
        done = threading.Event()
        failures: list[Exception] = []

        def on_next(message: Message) -> None:
            if done.is_set():
                return
            try:
                callback(message)
            except Exception as error:
                failures.append(error)
                done.set()

        def on_error(error: Exception) -> None:
            failures.append(error)
            done.set()

        subscription = self.stream(source).subscribe(
            on_next, on_error, done.set, scheduler=NewThreadScheduler()
        )
        try:
            done.wait()
        finally:
            subscription.dispose()
        if failures:
            raise failures[0]

    def set_buffer_size(self, buffer_size: int) -> None:
        """Change the buffer's capacity, for running streams too (``Backpressure.resize``)."""
        self.backpressure.resize(buffer_size)

    def get_metrics(self) -> MetricsSnapshot:
        """A snapshot of the metrics of every stream of this handler so far."""
        return self.metrics.snapshot()

    def aiter(self, source: StreamSource, *, queue_size: int = 256) -> AsyncIterator[Message]:
        """``async for message in handler.aiter(source)``, without blocking the event loop.

        At most ``queue_size`` messages wait for the loop; then the delivering thread
        waits. Leaving the loop early (``break``, cancellation, an exception) disposes the
        subscription; the stream's error is raised in the ``async for``.

        Raises:
            TypeError: ``queue_size`` is not an int (a bool is not); raised by the call.
            ValueError: ``queue_size`` is smaller than 1; raised by the call.
        """
        check_buffer_size(queue_size, "queue_size")
        return self._aiter(source, queue_size)

    async def _aiter(self, source: StreamSource, queue_size: int) -> AsyncIterator[Message]:
        handoff = _Handoff(asyncio.get_running_loop(), queue_size)
        subscription = SingleAssignmentDisposable()

        def start() -> None:
            subscription.disposable = self.stream(source).subscribe(
                handoff.put, handoff.fail, handoff.complete, scheduler=NewThreadScheduler()
            )

        try:
            await asyncio.to_thread(start)  # starting a CLI process may take a while
            while True:
                item = await handoff.get()
                if isinstance(item, _End):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            handoff.close()
            subscription.dispose()


class _End:
    """The end of the stream in the hand-off queue, with its error if it failed."""

    __slots__ = ("error",)

    def __init__(self, error: Exception | None) -> None:
        self.error = error


class _Handoff:
    """A bounded hand-off from Rx threads to an event loop.

    A place is taken when the delivering thread queues a message and freed only when the
    ``async for`` has *taken* it (``get``), so at most ``capacity`` messages wait for the
    loop, plus the one the delivering thread holds while it waits for a place.

    Why it is not a ``backpressure`` buffer (``rxclaude.backpressure``), which would do
    something else in each of these cases:

    * **When a place is freed.** The buffer frees a place when its consumer hands the item
      to a synchronous downstream ``on_next``; here the consumer is a coroutine that pulls
      with ``await``. Draining the buffer on the loop (``AsyncIOThreadSafeScheduler``)
      would hand each batch into the ``asyncio.Queue`` at once, whenever the loop is idle,
      also while the ``async for`` body awaits something else: the queue would no longer be
      bounded by ``queue_size``. Draining it on its own consumer thread that waits for the
      loop to take each item would add a thread per ``aiter`` and one more message in hand:
      ``queue_size`` + 2 ahead of the loop instead of ``queue_size`` + 1.
    * **A closed loop.** ``call_soon_threadsafe`` raises once the loop is closed; here that
      drops the message and releases the delivering thread. A buffer draining on that loop
      would raise out of the producer's ``on_next`` when it schedules the drain.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[Message | _End] = asyncio.Queue()
        self._room = threading.Condition()
        self._free = capacity
        self._closed = False

    def put(self, message: Message) -> None:
        """Rx side: wait for room, then queue ``message`` on the loop."""
        with self._room:
            while not self._free and not self._closed:
                self._room.wait()
            if self._closed:
                return
            self._free -= 1
        self._send(message)

    def fail(self, error: Exception) -> None:
        self._send(_End(error))

    def complete(self) -> None:
        self._send(_End(None))

    def _send(self, item: Message | _End) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self.close()

    async def get(self) -> Message | _End:
        """Loop side: the next item; frees its place for the Rx side."""
        item = await self._queue.get()
        if not isinstance(item, _End):
            with self._room:
                self._free += 1
                self._room.notify()
        return item

    def close(self) -> None:
        """Release a waiting Rx thread and drop whatever arrives from now on."""
        with self._room:
            self._closed = True
            self._room.notify_all()
