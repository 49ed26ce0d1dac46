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
* ``aiter`` hands items to the event loop through :func:`rxclaude.aio.to_async_iterable`,
  holding at most ``queue_size`` of them: when they are all taken, the delivering thread
  waits (and, through ``Policy.BLOCK``, the source), never the loop. That hand-off is not
  a second ``backpressure`` buffer, which frees a place when a synchronous ``on_next``
  returns: here a place is freed only when the ``async for`` has taken the item.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Callable
from typing import BinaryIO, TypeAlias

from reactivex import Observable
from reactivex.scheduler import NewThreadScheduler

from rxclaude.aio import to_async_iterable
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
        run_with_callback(self.stream(source), callback)

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
        stream = self.stream(source)
        async with to_async_iterable(stream, queue_size, scheduler=NewThreadScheduler()) as items:
            async for message in items:
                yield message


def run_with_callback(messages: Observable[Message], callback: Callable[[Message], object]) -> None:
    """Subscribe to ``messages`` on a thread of their own and call ``callback`` with each;
    return when they end. Re-raises their error; if ``callback`` raises, the subscription
    is disposed and the exception re-raised here (a ``BaseException`` too)."""
    done = threading.Event()
    failures: list[BaseException] = []

    def on_next(message: Message) -> None:
        if done.is_set():
            return
        try:
            callback(message)
        except BaseException as failure:
            failures.append(failure)
            done.set()

    def on_error(error: Exception) -> None:
        failures.append(error)
        done.set()

    subscription = messages.subscribe(on_next, on_error, done.set, scheduler=NewThreadScheduler())
    try:
        done.wait()
    finally:
        subscription.dispose()
    if failures:
        raise failures[0]
