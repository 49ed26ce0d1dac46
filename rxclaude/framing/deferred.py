"""Decoding after a buffer: the parser's two halves on either side of ``backpressure``.

``parse_json_frames() | backpressure(Policy.BLOCK)`` fused: the producer's thread only
cuts the chunks into lines (:class:`LineCutter`), the buffer holds those lines, and the
consumer's thread decodes each one as it takes it (:class:`DecodingObserver`), right before
handing its messages on. The output is the same as decoding first (messages, order,
offsets, ``received_at``, errors); what changes is what waits in the buffer: undecoded
lines rather than decoded messages. A decoded message is dozens of Python objects that
the garbage collector tracks and that fill the CPU caches; a line is one ``bytes``.
Holding the messages of a chunk made ``backpressure`` cost more than the parse itself
(``benchmarks/README.md`` has the figures).

The buffer then counts lines: a line is a frame in NDJSON, so its capacity still bounds
the frames waiting; a blank line, or each line of an object spread over several, takes a
place of its own too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from reactivex import abc

from rxclaude._batches import Observer
from rxclaude.framing.chunks import BytesLike
from rxclaude.framing.decoder import FrameDecoder
from rxclaude.framing.errors import raising
from rxclaude.framing.recovery import Append
from rxclaude.messages import EXCERPT_BYTES, ResultCarryingError


class OversizedLine(NamedTuple):
    """A line over the size limit, cut by :class:`LineCutter`: where it was, how long,
    and its first bytes."""

    position: int
    length: int
    excerpt: bytes


class LastLine(NamedTuple):
    """The stream's last line, which has no ``\\n`` after it."""

    line: bytes


Stamps = deque[tuple[int, datetime]]
"""``(items cut so far, received_at)`` per chunk: when the items up to that count came."""


class LineCutter(FrameDecoder):
    """The producer's half: a :class:`FrameDecoder` whose lines are handed on undecoded.

    :meth:`feed` and :meth:`finish` return lines (``bytes``), :class:`OversizedLine` and
    :class:`LastLine` items; the line in progress and the size limit are kept exactly as
    the decoder keeps them. Each call that returns items adds its time to ``stamps``.
    """

    def __init__(self, stamps: Stamps, now: Callable[[], datetime], max_frame_bytes: int) -> None:
        super().__init__(now=now, max_frame_bytes=max_frame_bytes)
        self._stamps = stamps
        self._cut = 0
        self._cut_at = datetime.min  # when the chunk that completed the last items came

    def feed(self, chunk: BytesLike) -> list[Any]:
        items: list[Any] = super().feed(chunk)
        if items:
            self._cut += len(items)
            self._stamps.append((self._cut, self._cut_at))
        return items

    def finish(self) -> list[Any]:
        items: list[Any] = super().finish()
        self._cut += len(items)
        # The end's time too, for an object left open at the end.
        self._stamps.append((self._cut, self._cut_at if items else self._now()))
        return items

    def _decode_lines(
        self,
        lines: list[bytes],
        position: int,
        now: datetime,
        check_size: bool,
        append: Append,
        *,
        at_end: bool = False,
    ) -> int:
        hand_on: Callable[[Any], None] = append
        self._cut_at = now
        limit = self._max_frame_bytes
        for line in lines:
            length = len(line)
            if check_size and length > limit:
                hand_on(OversizedLine(position, length, line[:EXCERPT_BYTES]))
            elif at_end:
                hand_on(LastLine(line))
            else:
                hand_on(line)
            position += length + 1
        return position

    def _report_oversized(
        self, position: int, length: int, excerpt: bytes, now: datetime, append: Append
    ) -> None:
        hand_on: Callable[[Any], None] = append
        self._cut_at = now
        hand_on(OversizedLine(position, length, excerpt))


class DecodingObserver:
    """The consumer's half: decodes each item the buffer hands it and passes the messages
    on to ``downstream``, as ``parse_json_frames`` would have.

    Errors that a decode raises (``on_error="raise"``) or that ``downstream`` raises go
    back to the buffer, which ends the subscription and hands them to :meth:`on_error`.
    """

    def __init__(
        self, downstream: Observer, stamps: Stamps, max_frame_bytes: int, raise_errors: bool
    ) -> None:
        self._downstream = downstream
        self._stamps = stamps
        self._emit = raising(downstream.on_next) if raise_errors else downstream.on_next
        self._now = datetime.min
        self._decoder = FrameDecoder(self._emit, lambda: self._now, max_frame_bytes)
        self._decode_lines = self._decoder._decode_lines
        self._position = 0
        self._taken = 0
        self._stamp_end = 0
        self._failed = False

    def on_next(self, item: Any) -> None:
        self._taken += 1
        if self._taken > self._stamp_end:
            self._next_stamp()
        try:
            if item.__class__ is bytes:
                self._position = self._decode_lines(
                    [item], self._position, self._now, False, self._emit
                )
            elif isinstance(item, OversizedLine):
                self._decoder._report_oversized(
                    item.position, item.length, item.excerpt, self._now, self._emit
                )
                self._position = item.position + item.length + 1
            else:
                self._position = self._decode_lines(
                    [item.line], self._position, self._now, False, self._emit, at_end=True
                )
        except BaseException:
            self._failed = True  # on_error will pass it on as it is
            raise

    def _next_stamp(self) -> None:
        while self._taken > self._stamp_end:
            self._stamp_end, self._now = self._stamps.popleft()

    def on_completed(self) -> None:
        if self._end():
            self._downstream.on_completed()

    def on_error(self, error: Exception) -> None:
        if self._failed:
            self._downstream.on_error(error)
            return
        if not self._end():
            return
        result = self._decoder.last_result
        if isinstance(error, ResultCarryingError) and result is not None:
            error.result = result
        self._downstream.on_error(error)

    def _end(self) -> bool:
        """The end of the input: report an object left open; False if that failed."""
        if self._stamps:
            self._now = self._stamps[-1][1]
        try:
            self._decoder.finish()
        except Exception as error:  # on_error="raise"
            self._downstream.on_error(error)
            return False
        return True


class DeferredFrames(NamedTuple):
    """One fused subscription: the producer's half to subscribe the buffer to (``subscribe``,
    lines cut by a :class:`LineCutter`), and the consumer's half (``observer``) for the
    buffer to hand its items to."""

    observer: DecodingObserver
    subscribe: Callable[..., abc.DisposableBase]


__all__ = [
    "DecodingObserver",
    "DeferredFrames",
    "LastLine",
    "LineCutter",
    "OversizedLine",
    "Stamps",
]
