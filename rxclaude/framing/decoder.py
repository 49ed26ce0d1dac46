"""The incremental NDJSON decoder: :class:`FrameDecoder`, the framing's hot path.

It splits each chunk into lines at once and sends every line that decodes on its own to a
JSON object straight to ``msgspec``'s decoder and into a typed message; the rest goes to
the slow path (:mod:`rxclaude.framing.recovery`). It also keeps the line in progress
across chunks, and drops a line over the size limit as it arrives, keeping only an
excerpt of it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import msgspec

from rxclaude.framing.chunks import BytesLike, chunk_bytes
from rxclaude.framing.depth import MAX_NESTING_DEPTH, _nests_too_deep
from rxclaude.framing.recovery import BLANK, Append, LineRecovery, parse_error
from rxclaude.messages import (
    EXCERPT_BYTES,
    MESSAGE_TYPES,
    SYSTEM_SUBTYPES,
    Message,
    ResultMessage,
    SystemMessage,
    UnknownMessage,
)

DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
"""Frames longer than this (64 MiB) become ``frame_too_large`` errors."""


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class FrameDecoder:
    """Turns a byte stream, fed in chunks of any size, into messages in stream order.

    :meth:`feed` returns the messages each chunk completes, :meth:`finish` those left at
    the end of the stream: every :class:`~rxclaude.messages.Message`, frames and
    :class:`~rxclaude.messages.ParseError`\\ s alike, each list the caller's to keep::

        decoder = FrameDecoder()
        for chunk in chunks:
            handle(decoder.feed(chunk))
        handle(decoder.finish())

    ``now`` gives the ``received_at`` stamp of the frames that a chunk completes (the wall
    clock in UTC by default).

    With ``emit`` (the form of earlier versions), each message goes to ``emit`` as soon as
    it is decoded and ``feed`` and ``finish`` return empty lists. That is for a caller
    that hands every message on at once, as ``parse_json_frames`` does for an ordinary
    observer: a chunk's messages are then not all alive at once, which spares the
    allocator and the garbage collector (``benchmarks/README.md`` has the figures).
    """

    def __init__(
        self,
        emit: Callable[[Message], None] | None = None,
        now: Callable[[], datetime] | None = None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        if max_frame_bytes < 1:
            raise ValueError(f"max_frame_bytes must be positive, not {max_frame_bytes}")
        self._emit = emit
        self._now = _wall_clock if now is None else now
        self._max_frame_bytes = max_frame_bytes
        self._json_decoder = msgspec.json.Decoder()
        # The line in progress: its stream offset, its parts so far and their length.
        self._line_start = 0
        self._line_parts: list[bytes] = []
        self._line_length = 0
        # Set while the line in progress is over the limit: only its excerpt is kept.
        self._oversized_excerpt: bytes | None = None
        self._recovery = LineRecovery(max_frame_bytes)
        self._last_result: ResultMessage | None = None  # the fast path's

    def feed(self, chunk: BytesLike) -> list[Message]:
        """The messages ``chunk`` completes; the rest of it is kept for later.

        ``chunk`` may be ``bytes``, ``bytearray`` or ``memoryview`` (read when fed, so its
        buffer may be reused afterwards); anything else raises :exc:`TypeError`.
        """
        if not isinstance(chunk, bytes):
            chunk = chunk_bytes(chunk)
        out: list[Message] = []
        if not chunk:
            return out
        append = out.append if self._emit is None else self._emit
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if not lines:
            self._extend_line(tail)
            return out
        now = self._now()
        position = self._line_start
        if self._oversized_excerpt is not None:
            position = self._finish_oversized(lines[0], position, now, append)
            del lines[0]
        elif self._line_parts:
            # Joined here, so that every line is decoded at the same depth of the stack.
            self._line_parts.append(lines[0])
            lines[0] = b"".join(self._line_parts)
            self._line_parts = []
        check_size = self._line_length + len(chunk) > self._max_frame_bytes
        self._line_start = self._decode_lines(lines, position, now, check_size, append)
        self._line_length = 0
        if tail:
            self._extend_line(tail)
        return out

    def finish(self) -> list[Message]:
        """End of stream: the last line, decoded or reported, and anything held back."""
        out: list[Message] = []
        append = out.append if self._emit is None else self._emit
        now = self._now()
        if self._oversized_excerpt is not None:
            self._line_start = self._finish_oversized(b"", self._line_start, now, append)
        elif self._line_parts:
            line = b"".join(self._line_parts)
            self._line_parts = []
            self._line_start = self._decode_lines(
                [line], self._line_start, now, False, append, at_end=True
            )
        self._line_length = 0
        self._recovery.release(now, "the stream ended inside this JSON value", append)
        return out

    @property
    def last_result(self) -> ResultMessage | None:
        """The last ``result`` frame decoded so far."""
        fast, slow = self._last_result, self._recovery.last_result
        if fast is None or (slow is not None and slow.offset > fast.offset):
            return slow
        return fast

    # -- the line in progress ---------------------------------------------------------

    def _extend_line(self, data: bytes) -> None:
        self._line_length += len(data)
        excerpt = self._oversized_excerpt
        if excerpt is not None:
            if len(excerpt) < EXCERPT_BYTES:
                self._oversized_excerpt = excerpt + data[: EXCERPT_BYTES - len(excerpt)]
            return
        if self._line_length <= self._max_frame_bytes:
            self._line_parts.append(data)
            return
        self._line_parts.append(data[:EXCERPT_BYTES])
        self._oversized_excerpt = b"".join(self._line_parts)[:EXCERPT_BYTES]
        self._line_parts = []

    def _finish_oversized(
        self, last_part: bytes, position: int, now: datetime, append: Append
    ) -> int:
        """Report the line over the limit, ending with ``last_part``; return the next offset."""
        excerpt = self._oversized_excerpt or b""
        excerpt += last_part[: EXCERPT_BYTES - len(excerpt)]
        self._oversized_excerpt = None
        length = self._line_length + len(last_part)
        self._report_oversized(position, length, excerpt, now, append)
        return position + length + 1

    def _report_oversized(
        self, position: int, length: int, excerpt: bytes, now: datetime, append: Append
    ) -> None:
        self._recovery.release(
            now, "a line over the size limit interrupted this JSON value", append
        )
        limit = self._max_frame_bytes
        detail = f"the line is {length} bytes, over the limit of {limit} bytes"
        append(
            parse_error(
                "frame_too_large", position, length, excerpt=excerpt, detail=detail, now=now
            )
        )

    # -- complete lines -----------------------------------------------------------------

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
        """Decode complete lines starting at stream offset ``position``; return the end.

        ``check_size`` is False when the lines are known to fit under the limit; ``at_end``
        is True for the last line of the stream, which has no line end.
        """
        loads = self._json_decoder.decode
        message_types = MESSAGE_TYPES
        depth_limit = MAX_NESTING_DEPTH
        recovery = self._recovery
        held = recovery.held
        for line in lines:
            length = len(line)
            if check_size and length > self._max_frame_bytes:
                self._report_oversized(position, length, line[:EXCERPT_BYTES], now, append)
                position += length + 1
                continue
            if length > depth_limit and _nests_too_deep(line):
                # Never decoded past the limit: the slow path reports where it is crossed.
                recovery.decode(line, position, now, at_end, append)
                position += length + 1
                continue
            try:
                raw = loads(line)
            except Exception:  # examined, and classified, by the slow path
                recovery.decode(line, position, now, at_end, append)
            else:
                if raw.__class__ is dict and not held:
                    frame_type = raw.get("type")
                    if frame_type.__class__ is str:
                        cls = message_types.get(frame_type, UnknownMessage)
                        if cls is SystemMessage:
                            subtype = raw.get("subtype")
                            if subtype.__class__ is str:
                                cls = SYSTEM_SUBTYPES.get(subtype, SystemMessage)
                    else:
                        frame_type, cls = "", UnknownMessage
                    # The span is the object's text: b"{" (123) to b"}" (125), without a
                    # CRLF line end (b"\r" is 13) or blanks around it.
                    if line[-1] == 125 and line[0] == 123:
                        message = cls(frame_type, raw, position, length, now)
                    elif line[-1] == 13 and line[-2] == 125 and line[0] == 123:
                        message = cls(frame_type, raw, position, length - 1, now)
                    else:
                        start = position + length - len(line.lstrip(BLANK))
                        message = cls(frame_type, raw, start, len(line.strip(BLANK)), now)
                    if cls is ResultMessage:
                        self._last_result = message  # type: ignore[assignment]
                    append(message)
                else:
                    recovery.decode(line, position, now, at_end, append)
            position += length + 1
        return position


__all__ = ["DEFAULT_MAX_FRAME_BYTES", "FrameDecoder"]
