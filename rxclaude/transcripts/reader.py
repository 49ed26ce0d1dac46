"""One transcript file being read: its framing state, how far it has been read, and the
time of its lines.

A :class:`FileReader` keeps its :class:`~rxclaude.framing.FrameDecoder` between reads, so
a line cut at the end of what was written so far is completed by the next read (when
following a live session); :meth:`FileReader.end` closes it for good, a cut line then
becoming a ``truncated`` parse error. It knows the file by device and inode and by its
first bytes, so a file replaced or truncated under the same path is read again from the
start instead of from the old position.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime

from rxclaude.framing import FrameDecoder
from rxclaude.messages import EPOCH, Message
from rxclaude.transcripts.files import describe
from rxclaude.transcripts.lines import TranscriptFile, from_transcript, parse_time

HEAD_BYTES = 64
"""How many first bytes of a file identify it: appending never changes them."""

PROBE_BYTES = 8192
"""The reads that look for a file's first timestamp."""


def line_time(message: Message) -> float | None:
    """The POSIX time of a line's own ``timestamp``, if it has a valid one."""
    raw = message.raw
    if raw is None:
        return None
    stamp = raw.get("timestamp")
    return parse_time(stamp) if stamp.__class__ is str else None


def first_time(path: str, fallback: float, max_frame_bytes: int, *, complete: bool) -> float:
    """The time the first line of ``path`` will have: its first timestamp, or ``fallback``
    (the file's modification time) if it has none. ``complete``: the file is read to its
    end, so a last line without a line end counts."""
    decoder = FrameDecoder(now=lambda: EPOCH, max_frame_bytes=max_frame_bytes)
    with open(path, "rb", buffering=0) as file:
        while chunk := file.read(PROBE_BYTES):
            for message in decoder.feed(chunk):
                moment = line_time(message)
                if moment is not None:
                    return moment
    for message in decoder.finish() if complete else []:
        moment = line_time(message)
        if moment is not None:
            return moment
    return fallback


class FileReader:
    """Reads one transcript file, now and again as it grows, into transcript messages.

    Every message gets its ``time`` (see :class:`~rxclaude.transcripts.Provenance`): lines
    before the first timestamp wait for it, and get the file's modification time at the
    end of a read if none came. Lines earlier than ``since`` are dropped.
    """

    def __init__(
        self,
        path: str,
        *,
        now: Callable[[], datetime],
        max_frame_bytes: int,
        chunk_size: int,
        since: float | None,
    ) -> None:
        self.file: TranscriptFile = describe(path)
        self.identity: tuple[int, int] | None = None
        """The file's device and inode, once it has been opened."""
        self.position = 0
        """Bytes read so far."""
        self.time: float | None = None
        """The time of the last line handed on."""
        self.failed: tuple[int, int] | None = None
        """The size and modification time of the file when it last failed to read."""
        self._now = now
        self._max_frame_bytes = max_frame_bytes
        self._chunk_size = chunk_size
        self._since = since
        self._decoder = FrameDecoder(now=now, max_frame_bytes=max_frame_bytes)
        self._fd: int | None = None
        self._head = b""
        self._waiting: list[Message] = []

    @property
    def path(self) -> str:
        """The file's path."""
        return self.file.path

    @property
    def is_open(self) -> bool:
        """True while the reader holds the file open."""
        return self._fd is not None

    def moved(self, path: str) -> None:
        """The file is now at ``path`` (renamed): later lines name that path."""
        self.file = describe(path)

    def read(self, fallback: float) -> Iterator[list[Message]]:
        """The messages of what has been written since the last read, a chunk at a time;
        lines still waiting for a timestamp at the end get ``fallback``. Opens the file if
        it is not open.

        Raises:
            FileReplacedError: the file at the path is not the one read before (call
                :meth:`end`, then read it from the start).
            OSError: it could not be opened or read.
        """
        fd = self._open()
        while chunk := os.read(fd, self._chunk_size):
            self.position += len(chunk)
            if len(self._head) < HEAD_BYTES:
                self._head += chunk[: HEAD_BYTES - len(self._head)]
            messages = self._decoder.feed(chunk)
            if messages:
                yield self._stamp(messages)
        if self._waiting:
            yield self._release(fallback if self.time is None else self.time)

    def end(self, fallback: float) -> list[Message]:
        """The end of the file: a cut last line becomes a ``truncated`` parse error, and
        the reader starts afresh (for a file replaced or truncated under it)."""
        messages = self._stamp(self._decoder.finish())
        if self._waiting:
            messages += self._release(fallback if self.time is None else self.time)
        self._decoder = FrameDecoder(now=self._now, max_frame_bytes=self._max_frame_bytes)
        self.position = 0
        self._head = b""
        self.identity = None
        return messages

    def replaced(self, status: os.stat_result) -> bool:
        """True when the path's file is no longer the one being read: another file (device
        and inode), or shorter than what was read. (Other first bytes are found when it is
        read: :meth:`read` raises :class:`FileReplacedError`.)"""
        if self.identity is None:
            return False
        return (status.st_dev, status.st_ino) != self.identity or status.st_size < self.position

    def close(self) -> None:
        """Release the file (a later :meth:`read` opens it again where it stopped)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _open(self) -> int:
        if self._fd is not None:
            return self._fd
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            status = os.fstat(fd)
            identity = (status.st_dev, status.st_ino)
            if self.identity is None:
                self.identity = identity
            elif identity != self.identity or status.st_size < self.position:
                raise FileReplacedError(self.path)
            if self.position:
                if os.pread(fd, len(self._head), 0) != self._head:
                    raise FileReplacedError(self.path)
                os.lseek(fd, self.position, os.SEEK_SET)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return fd

    def _stamp(self, messages: list[Message]) -> list[Message]:
        """The messages with their times, as transcript messages; lines before the first
        timestamp are held back until it comes."""
        out: list[Message] = []
        since, source = self._since, self.file
        for message in messages:
            moment = line_time(message)
            last = self.time
            if moment is None:
                if last is None:
                    self._waiting.append(message)
                    continue
                moment = last
            else:
                if last is not None and moment < last:
                    moment = last
                self.time = moment
                if self._waiting:
                    out += self._release(moment)
            if since is None or moment >= since:
                out.append(from_transcript(message, source, moment))
        return out

    def _release(self, moment: float) -> list[Message]:
        """The held-back lines, at ``moment``."""
        waiting, self._waiting = self._waiting, []
        self.time = moment
        if self._since is not None and moment < self._since:
            return []
        return [from_transcript(message, self.file, moment) for message in waiting]


class FileReplacedError(Exception):
    """The file at a reader's path is not the one it was reading: it is read afresh."""


__all__ = [
    "HEAD_BYTES",
    "PROBE_BYTES",
    "FileReader",
    "FileReplacedError",
    "first_time",
    "line_time",
]
