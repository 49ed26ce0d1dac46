"""The spool: where a source keeps what its producer wrote and the consumer has not taken.

A child process such as the Claude Code CLI does not pause when its stdout pipe is full:
it keeps working, buffers its output in its own memory, and loses what it had not written
when it exits. So a process source never lets the pipe stay full. One thread drains the
pipe into a :class:`Spool` whatever the consumer does, and another hands the spool's
chunks downstream at the consumer's pace; a consumer held by ``backpressure(BLOCK)``
holds the spool, not the child.

The spool keeps chunks in memory up to ``memory_limit`` bytes, then appends to a private
temporary file (mode 0600, unlinked as soon as it is created, so nothing is left behind
even when the process is killed). Chunks leave in the order they came: once anything is on
disk, new chunks go to disk behind it until the consumer has read the file to its end;
then the file is truncated and memory is used again. ``max_bytes`` bounds what is held
(memory and disk together): past it, the spool keeps what fits and reports
:class:`SpoolFullError` after the last byte it kept.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from reactivex import Observable, abc

DEFAULT_SPOOL_MEMORY = 4 * 1024 * 1024
"""Bytes a spool keeps in memory before it writes to its temporary file."""

DISK_READ_SIZE = 256 * 1024
"""The largest chunk taken from the spool's file at once."""


class SpoolFullError(Exception):
    """A spool would have held more than its ``max_bytes``: the producer's output beyond
    that point was not kept (and the producer was stopped). Every byte before it was
    delivered.

    Attributes:
        max_bytes: The limit.
        received_bytes: Bytes kept from the producer before the limit was reached.
    """

    def __init__(self, max_bytes: int, received_bytes: int) -> None:
        super().__init__(max_bytes, received_bytes)
        self.max_bytes = max_bytes
        self.received_bytes = received_bytes

    def __str__(self) -> str:
        return (
            f"the spool is full: more than {self.max_bytes} bytes waited for the consumer; "
            f"the output after byte {self.received_bytes} was not kept"
        )


@dataclass(frozen=True, slots=True)
class SpoolStatistics:
    """A spool's figures at one moment (all in bytes).

    ``received_bytes == delivered_bytes + memory_bytes + disk_bytes + discarded_bytes`` at
    every moment.
    """

    received_bytes: int
    """Taken from the producer."""
    delivered_bytes: int
    """Handed to the consumer."""
    memory_bytes: int
    """Held in memory now."""
    disk_bytes: int
    """Held in the temporary file now."""
    peak_memory_bytes: int
    peak_disk_bytes: int
    peak_bytes: int
    """The most held at once, memory and disk together."""
    spilled_bytes: int
    """Written to the temporary file in all."""
    discarded_bytes: int
    """Held when the spool was released (the stream disposed), and so never delivered."""

    @property
    def held_bytes(self) -> int:
        """Bytes waiting for the consumer, in memory or on disk."""
        return self.memory_bytes + self.disk_bytes


EMPTY_SPOOL_STATISTICS = SpoolStatistics(0, 0, 0, 0, 0, 0, 0, 0, 0)
"""The figures of a spool that has received nothing."""


def check_whole_number(name: str, value: object, minimum: int) -> None:
    """Raises ``TypeError`` unless ``value`` is an int (a bool is not), ``ValueError`` if it
    is below ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def check_spool_settings(memory_limit: int, max_bytes: int | None) -> None:
    """Raises ``TypeError``/``ValueError`` for spool limits that are not usable."""
    check_whole_number("spool_memory", memory_limit, 0)
    if max_bytes is not None:
        check_whole_number("max_spool_bytes", max_bytes, 1)


class Spool:
    """A FIFO of byte chunks between one producer thread and one consumer thread.

    The producer calls :meth:`put` and finally :meth:`close`; the consumer calls
    :meth:`take` until it returns ``None``, then :meth:`error` says how the input ended.
    :meth:`release` (idempotent, from any thread) drops what is held, closes the file and
    wakes a waiting consumer.
    """

    def __init__(
        self,
        memory_limit: int = DEFAULT_SPOOL_MEMORY,
        directory: str | os.PathLike[str] | None = None,
        max_bytes: int | None = None,
    ) -> None:
        check_spool_settings(memory_limit, max_bytes)
        self._memory_limit = memory_limit
        self._directory = directory
        self._max_bytes = max_bytes
        self._ready = threading.Condition(threading.Lock())
        self._memory: deque[bytes] = deque()
        self._file_descriptor: int | None = None
        self._disk_start = 0  # the file's unread bytes are [start, end)
        self._disk_end = 0
        self._closed = False
        self._released = False
        self._error: BaseException | None = None
        self._received = 0
        self._delivered = 0
        self._memory_bytes = 0
        self._peak_memory = 0
        self._peak_disk = 0
        self._peak = 0
        self._spilled = 0
        self._discarded = 0

    # -- producer ----------------------------------------------------------------------

    def put(self, chunk: bytes) -> bool:
        """Keeps ``chunk``; False when the spool is full or released (stop producing).

        When only part of ``chunk`` fits under ``max_bytes``, that part is kept and the
        spool is closed with :class:`SpoolFullError`.
        """
        with self._ready:
            if self._closed or self._released:
                return False
            held = self._memory_bytes + self._disk_end - self._disk_start
            limit = self._max_bytes
            full = limit is not None and held + len(chunk) > limit
            if limit is not None and full:
                chunk = chunk[: limit - held]
            if chunk:
                try:
                    self._keep(chunk, held)
                except OSError as error:
                    self._end(error)
                    return False
            if limit is not None and full:
                self._end(SpoolFullError(limit, self._received))
                return False
            self._ready.notify()
            return True

    def _keep(self, chunk: bytes, held: int) -> None:
        size = len(chunk)
        on_disk = self._disk_end > self._disk_start
        if not on_disk and self._memory_bytes + size <= self._memory_limit:
            self._memory.append(chunk)
            self._memory_bytes += size
            self._peak_memory = max(self._peak_memory, self._memory_bytes)
        else:
            descriptor = self._file()
            written = 0
            while written < size:
                written += os.pwrite(descriptor, chunk[written:], self._disk_end + written)
            self._disk_end += size
            self._spilled += size
            self._peak_disk = max(self._peak_disk, self._disk_end - self._disk_start)
        self._received += size
        self._peak = max(self._peak, held + size)

    def _file(self) -> int:
        if self._file_descriptor is None:
            # Private (0600) and already unlinked: gone with the last descriptor.
            with tempfile.TemporaryFile(prefix="rxclaude-spool-", dir=self._directory) as file:
                self._file_descriptor = os.dup(file.fileno())
        return self._file_descriptor

    def close(self, error: BaseException | None = None) -> None:
        """The producer is done; ``error`` (if any) is what :meth:`error` reports."""
        with self._ready:
            if not self._closed:
                self._end(error)

    def _end(self, error: BaseException | None) -> None:
        self._closed = True
        self._error = error
        self._ready.notify_all()

    # -- consumer ----------------------------------------------------------------------

    def take(self) -> bytes | None:
        """The next chunk, waiting for one; None once the spool is closed and empty, or
        released."""
        with self._ready:
            while True:
                if self._released:
                    return None
                if self._memory:
                    chunk = self._memory.popleft()
                    self._memory_bytes -= len(chunk)
                    self._delivered += len(chunk)
                    return chunk
                if self._disk_end > self._disk_start:
                    return self._read_disk()
                if self._closed:
                    return None
                self._ready.wait()

    def _read_disk(self) -> bytes:
        assert self._file_descriptor is not None
        size = min(DISK_READ_SIZE, self._disk_end - self._disk_start)
        chunk = os.pread(self._file_descriptor, size, self._disk_start)
        if len(chunk) != size:
            raise OSError(f"the spool file ended early: {len(chunk)} of {size} bytes read")
        self._disk_start += size
        self._delivered += size
        if self._disk_start == self._disk_end:  # read to its end: free the disk
            os.ftruncate(self._file_descriptor, 0)
            self._disk_start = self._disk_end = 0
        return chunk

    def error(self) -> BaseException | None:
        """How the producer ended: None for a clean end."""
        with self._ready:
            return self._error

    # -- both --------------------------------------------------------------------------

    def release(self) -> None:
        """Drops what is held, closes the file and wakes the consumer (idempotent)."""
        with self._ready:
            self._released = True
            self._closed = True
            self._discarded += self._memory_bytes + self._disk_end - self._disk_start
            self._memory.clear()
            self._memory_bytes = 0
            self._disk_start = self._disk_end = 0
            if self._file_descriptor is not None:
                os.close(self._file_descriptor)
                self._file_descriptor = None
            self._ready.notify_all()

    def statistics(self) -> SpoolStatistics:
        """The figures now."""
        with self._ready:
            return SpoolStatistics(
                received_bytes=self._received,
                delivered_bytes=self._delivered,
                memory_bytes=self._memory_bytes,
                disk_bytes=self._disk_end - self._disk_start,
                peak_memory_bytes=self._peak_memory,
                peak_disk_bytes=self._peak_disk,
                peak_bytes=self._peak,
                spilled_bytes=self._spilled,
                discarded_bytes=self._discarded,
            )


class SpooledSource(Observable[bytes]):
    """A source of chunks that keeps its producer's output in a :class:`Spool` per
    subscription; ``statistics()`` reports the latest subscription's spool."""

    def __init__(
        self,
        subscribe: Callable[
            [abc.ObserverBase[bytes], abc.SchedulerBase | None], abc.DisposableBase
        ],
    ) -> None:
        super().__init__(subscribe)
        self._latest: Spool | None = None

    def track(self, spool: Spool) -> Spool:
        """Makes ``spool`` the one ``statistics()`` reports; returns it."""
        self._latest = spool
        return spool

    def statistics(self) -> SpoolStatistics:
        """The latest subscription's spool figures (all zero before the first one)."""
        latest = self._latest
        return EMPTY_SPOOL_STATISTICS if latest is None else latest.statistics()


__all__ = [
    "DEFAULT_SPOOL_MEMORY",
    "EMPTY_SPOOL_STATISTICS",
    "Spool",
    "SpoolFullError",
    "SpoolStatistics",
    "SpooledSource",
    "check_spool_settings",
    "check_whole_number",
]
