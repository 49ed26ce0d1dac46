"""``parse_json_frames``: the operator from byte chunks to typed messages.

The operator feeds each chunk to a :class:`~rxclaude.framing.FrameDecoder`. A fused
operator (:mod:`rxclaude._batches`) gets the list of messages that ``feed`` returns for
the chunk; an ordinary observer gets each message as soon as it is decoded (the decoder's
``emit`` form), so that a chunk's messages are not all alive at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from reactivex import Observable, abc
from reactivex.disposable import SingleAssignmentDisposable
from reactivex.scheduler import CurrentThreadScheduler

from rxclaude._batches import BatchingObservable, BatchObserver, Observer
from rxclaude.framing.chunks import BytesLike, chunk_bytes
from rxclaude.framing.decoder import DEFAULT_MAX_FRAME_BYTES, FrameDecoder
from rxclaude.framing.deferred import DecodingObserver, DeferredFrames, LineCutter, Stamps
from rxclaude.framing.errors import FrameDecodeError, raising
from rxclaude.messages import Message, ParseError, ResultCarryingError


def parse_json_frames(
    *,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    on_error: Literal["emit", "raise"] = "emit",
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[BytesLike]], Observable[Message]]:
    """Decode a stream of byte chunks into typed messages, one per NDJSON frame.

    Frames may be cut anywhere across chunks; the output does not depend on how the
    bytes were chunked. Bad input becomes :class:`~rxclaude.messages.ParseError` items at
    its place in the stream and decoding goes on (see :mod:`rxclaude.framing` for the
    rules); with ``on_error="raise"`` the first one ends the stream with
    :class:`FrameDecodeError` instead. ``received_at`` is read from ``scheduler`` (else
    the subscription's scheduler, else the current-thread scheduler's clock).

    When the source fails with a :class:`~rxclaude.messages.ResultCarryingError` (such as
    ``CLIProcessError``), the frames that arrived are emitted first (a cut last frame as a
    ``truncated`` error), and the error's ``result`` is set to the last ``result`` frame
    seen, if any.

    Chunks are ``bytes``, ``bytearray`` or ``memoryview``. Any other item (a ``str``,
    ``None``…) ends the stream as a source error would, with a :exc:`TypeError` naming
    its type, and unsubscribes from the source.

    .. code-block:: text

        source:  -b'{"type":"a'-b'"}\\n[junk\\n{"ty'-b'pe":"b"}'-|
        parse_json_frames()
        result:  ------------Msg(a)-ParseError----------------Msg(b)|

    Args:
        max_frame_bytes: longer lines become one ``frame_too_large`` error each,
            dropped as they arrive without being buffered.
        on_error: ``"emit"`` (default) passes parse errors on as items; ``"raise"``
            fails the stream with :class:`FrameDecodeError` at the first one.
        scheduler: the clock for ``received_at``.
    """
    if on_error not in ("emit", "raise"):
        raise ValueError(f'on_error must be "emit" or "raise", not {on_error!r}')
    if max_frame_bytes < 1:
        raise ValueError(f"max_frame_bytes must be positive, not {max_frame_bytes}")

    def operator(source: Observable[BytesLike]) -> Observable[Message]:
        return _Frames(source, max_frame_bytes, on_error == "raise", scheduler)

    return operator


class _Frames(BatchingObservable[Message]):
    """The frames of a byte source: one ``on_next`` per message, or, for a fused operator,
    one list per chunk (the messages that chunk completed)."""

    def __init__(
        self,
        source: Observable[BytesLike],
        max_frame_bytes: int,
        raise_errors: bool,
        scheduler: abc.SchedulerBase | None,
    ) -> None:
        super().__init__()
        self._source = source
        self._max_frame_bytes = max_frame_bytes
        self._raise_errors = raise_errors
        self._scheduler = scheduler

    def _subscribe_core(
        self,
        observer: abc.ObserverBase[Message],
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        return self._decode(observer, None, scheduler)

    def subscribe_batches(
        self, observer: BatchObserver[Message], *, scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        return self._decode(observer, observer.on_next_batch, scheduler)

    def defer_decoding(self, downstream: Observer) -> DeferredFrames:
        """Decode on the consumer's side of a buffer (see :mod:`rxclaude.framing.deferred`):
        this source's lines go to the buffer undecoded."""
        stamps: Stamps = deque()
        limit = self._max_frame_bytes

        def subscribe(
            buffer: BatchObserver[Any], *, scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            return self._decode(
                buffer, buffer.on_next_batch, scheduler, lambda now: LineCutter(stamps, now, limit)
            )

        observer = DecodingObserver(downstream, stamps, limit, self._raise_errors)
        return DeferredFrames(observer, subscribe)

    def _decode(
        self,
        observer: abc.ObserverBase[Message] | BatchObserver[Any],
        on_batch: Callable[[list[Any]], None] | None,
        subscribe_scheduler: abc.SchedulerBase | None,
        cut: Callable[[Callable[[], datetime]], LineCutter] | None = None,
    ) -> abc.DisposableBase:
        """Subscribe to the source; deliver to ``on_batch`` if given, else item by item.

        With ``cut``, the decoder it makes from the clock cuts lines for a buffer to
        decode later (:meth:`defer_decoding`), which raises parse errors itself.
        """
        clock = self._scheduler or subscribe_scheduler or CurrentThreadScheduler.singleton()
        raise_errors = self._raise_errors and cut is None
        subscription = SingleAssignmentDisposable()
        stopped = False

        # Item by item, each message goes on as soon as it is decoded (the decoder's emit
        # form); a fused operator gets the list that feed returns for each chunk.
        emit: Callable[[Message], None] | None = None
        if on_batch is None:
            assert isinstance(observer, abc.ObserverBase)
            emit = raising(observer.on_next) if raise_errors else observer.on_next

        def now() -> datetime:
            return clock.now

        decoder = FrameDecoder(emit, now, self._max_frame_bytes) if cut is None else cut(now)

        def fail(error: Exception) -> None:
            nonlocal stopped
            stopped = True
            subscription.dispose()
            observer.on_error(error)

        def pass_on(messages: list[Message]) -> bool:
            """Hand a chunk's messages to the fused operator; False if one failed the stream."""
            nonlocal stopped
            assert on_batch is not None
            if raise_errors:
                for index, message in enumerate(messages):
                    if isinstance(message, ParseError):
                        stopped = True
                        subscription.dispose()
                        if index:
                            on_batch(messages[:index])
                        observer.on_error(FrameDecodeError(message))
                        return False
            on_batch(messages)
            return True

        def on_next(chunk: BytesLike) -> None:
            nonlocal stopped
            if stopped:
                return
            if not isinstance(chunk, bytes):
                try:
                    chunk = chunk_bytes(chunk)
                except TypeError as error:  # the source broke its contract: it ends here
                    subscription.dispose()
                    on_source_error(error)
                    stopped = True
                    return
            try:
                messages = decoder.feed(chunk)
            except FrameDecodeError as error:  # item by item, on_error="raise"
                fail(error)
                return
            if messages:
                pass_on(messages)

        def finish() -> bool:
            """The end of the input for the decoder; False if that failed the stream."""
            try:
                messages = decoder.finish()
            except FrameDecodeError as error:
                fail(error)
                return False
            return not messages or pass_on(messages)

        def on_completed() -> None:
            if not stopped and finish():
                observer.on_completed()

        def on_source_error(error: Exception) -> None:
            if stopped or not finish():
                return
            if isinstance(error, ResultCarryingError) and decoder.last_result is not None:
                error.result = decoder.last_result
            observer.on_error(error)

        subscription.disposable = self._source.subscribe(
            on_next, on_source_error, on_completed, scheduler=subscribe_scheduler
        )
        return subscription


__all__ = ["FrameDecodeError", "parse_json_frames"]
