"""The files a target names, read as one stream in time order, then followed.

:meth:`TranscriptTree.history` merges the files by time (a k-way merge: each file is read
in its own order, and the next message is always the earliest of the files' next ones).
A file is opened only once the merge reaches its first timestamp and closed at its end, so
a tree of thousands of sessions holds open only those that overlap in time.

:meth:`TranscriptTree.poll` is one look at the target while following it: new files are
read from their start, grown ones from where they stopped. A file is known by its device
and inode, so a file renamed within the target goes on where it was; a path that now holds
another file (rotation), or a file shorter than what was read (truncation), is read again
from the start, after whatever the old file still held (when it was open) and a
``truncated`` parse error for a line it left unfinished.
"""

from __future__ import annotations

import heapq
import os
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterator
from datetime import datetime
from operator import attrgetter
from typing import Any

from rxclaude.messages import Message
from rxclaude.transcripts.files import Target, Targets
from rxclaude.transcripts.lines import TranscriptReadError
from rxclaude.transcripts.reader import FileReader, FileReplacedError, first_time

message_time: Callable[[Any], float] = attrgetter("time")
"""The ``time`` of a transcript message."""


class TranscriptTree:
    """The transcript files of a :class:`~rxclaude.transcripts.files.Target` (or of
    several: :class:`~rxclaude.transcripts.files.Targets`).

    Args:
        target: what to read.
        now: the clock for ``received_at``.
        since: lines earlier than this POSIX time are dropped (and, unless following,
            files last modified before it are not read at all).
        follow: ``history`` leaves each file's last unfinished line for ``poll`` instead
            of reporting it as cut.
        max_open_files: files held open between polls at most (the most recently grown).
    """

    def __init__(
        self,
        target: Target | Targets,
        *,
        now: Callable[[], datetime],
        max_frame_bytes: int,
        chunk_size: int,
        since: float | None,
        follow: bool,
        max_open_files: int,
    ) -> None:
        self._target = target
        self._now = now
        self._max_frame_bytes = max_frame_bytes
        self._chunk_size = chunk_size
        self._since = since
        self._follow = follow
        self._max_open_files = max_open_files
        self._readers: dict[str, FileReader] = {}
        self._open: OrderedDict[FileReader, None] = OrderedDict()

    def history(self) -> Generator[Message, None, None]:
        """Every message the files hold now, in time order."""
        starts: list[tuple[float, int, FileReader, float]] = []
        errors: list[Message] = []
        for rank, path in enumerate(self._target.paths()):
            reader = self._readers[path] = self._reader(path)
            try:
                modified = os.stat(path).st_mtime
                if not self._follow and self._since is not None and modified < self._since:
                    continue
                start = first_time(path, modified, self._max_frame_bytes, complete=not self._follow)
            except FileNotFoundError:  # gone since it was listed: nothing to read
                continue
            except OSError as error:
                errors.append(self._read_error(reader, error, 0.0))
                continue
            starts.append((start, rank, reader, modified))
        yield from errors
        yield from _merge(starts, self._drain)

    def poll(self) -> list[Message]:
        """What was written since the last look, merged by time across the files."""
        statuses: dict[str, os.stat_result] = {}
        for path in self._target.paths():
            try:
                statuses[path] = os.stat(path)
            except OSError:  # gone since it was listed
                continue
        batches: list[list[Message]] = []
        known = {reader.identity: reader for reader in self._readers.values() if reader.identity}
        readers: dict[str, FileReader] = {}
        for path, status in statuses.items():
            reader = known.pop((status.st_dev, status.st_ino), None)
            if reader is None:
                earlier = self._readers.get(path)
                reader = earlier if earlier is not None and earlier.identity is None else None
            if reader is None:
                reader = self._reader(path)
            elif reader.path != path:
                reader.moved(path)
            if reader.replaced(status):
                batches.append(self._restart(reader, status.st_mtime))
            readers[path] = reader
        for gone in known.values():  # neither at its path nor anywhere else in the target
            batches.append(self._restart(gone, gone.time or self._now().timestamp()))
            gone.close()
            self._open.pop(gone, None)
        self._readers = readers
        for path, reader in readers.items():
            status = statuses[path]
            if status.st_size != reader.position and reader.failed != _version(status):
                batches.append(self._read_more(reader, status.st_mtime))
        return list(heapq.merge(*batches, key=message_time))

    def close(self) -> None:
        """Release every file."""
        for reader in self._readers.values():
            reader.close()
        self._open.clear()

    def _reader(self, path: str) -> FileReader:
        return FileReader(
            path,
            now=self._now,
            max_frame_bytes=self._max_frame_bytes,
            chunk_size=self._chunk_size,
            since=self._since,
        )

    def _drain(self, reader: FileReader, modified: float) -> Generator[Message, None, None]:
        """A file's messages during ``history``; it is closed at the end."""
        try:
            for _attempt in range(2):
                try:
                    for batch in reader.read(modified):
                        yield from batch
                except FileReplacedError:
                    yield from reader.end(modified)
                    continue
                break
            if not self._follow:
                yield from reader.end(modified)
        except FileNotFoundError:  # gone since it was listed: nothing to read
            pass
        except OSError as error:
            yield self._read_error(reader, error, modified)
        finally:
            reader.close()

    def _read_more(self, reader: FileReader, modified: float) -> list[Message]:
        """What a followed file holds beyond what was read; it stays open."""
        messages: list[Message] = []
        try:
            for _attempt in range(2):
                try:
                    for batch in reader.read(modified):
                        messages += batch
                except FileReplacedError:
                    messages += reader.end(modified)
                    continue
                break
        except OSError as error:
            reader.close()
            messages.append(self._read_error(reader, error, modified))
            return messages
        self._keep_open(reader)
        return messages

    def _restart(self, reader: FileReader, modified: float) -> list[Message]:
        """The rest of an old file (if it is still open), then its end."""
        messages: list[Message] = []
        if reader.is_open:
            try:
                for batch in reader.read(modified):
                    messages += batch
            except (OSError, FileReplacedError):
                pass  # the old file cannot be read further: its cut line is reported below
        reader.close()
        self._open.pop(reader, None)
        return messages + reader.end(modified)

    def _keep_open(self, reader: FileReader) -> None:
        self._open[reader] = None
        self._open.move_to_end(reader)
        while len(self._open) > self._max_open_files:
            oldest, _ = self._open.popitem(last=False)
            oldest.close()

    def _read_error(self, reader: FileReader, error: OSError, fallback: float) -> Message:
        """The error as an item; the file is not tried again until it changes."""
        try:
            reader.failed = _version(os.stat(reader.path))
        except OSError:
            reader.failed = None
        return TranscriptReadError(
            offset=reader.position,
            received_at=self._now(),
            source=reader.file,
            time=reader.time if reader.time is not None else fallback,
            error=f"{type(error).__name__}: {error.strerror or error}",
        )


def _version(status: os.stat_result) -> tuple[int, int]:
    """What tells a file's contents changed: its size and modification time."""
    return (status.st_size, status.st_mtime_ns)


def _merge(
    starts: list[tuple[float, int, FileReader, float]],
    read: Callable[[FileReader, float], Generator[Message, None, None]],
) -> Generator[Message, None, None]:
    """The files' messages in time order; ties go to the file listed first. A file is
    read once the merge reaches its first time; files still open when the merge is left
    unfinished are closed."""
    waiting = sorted(starts, key=lambda start: (start[0], start[1]), reverse=True)
    heap: list[tuple[float, int, Message, Generator[Message, None, None]]] = []
    try:
        yield from _merged(waiting, heap, read)
    finally:
        for *_entry, messages in heap:
            messages.close()


def _merged(
    waiting: list[tuple[float, int, FileReader, float]],
    heap: list[tuple[float, int, Message, Generator[Message, None, None]]],
    read: Callable[[FileReader, float], Generator[Message, None, None]],
) -> Iterator[Message]:
    while heap or waiting:
        while waiting and (not heap or waiting[-1][0] <= heap[0][0]):
            _start, rank, reader, modified = waiting.pop()
            messages = read(reader, modified)
            first = next(messages, None)
            if first is not None:
                heapq.heappush(heap, (message_time(first), rank, first, messages))
        if not heap:
            continue
        _time, rank, message, messages = heap[0]
        yield message
        following = next(messages, None)
        if following is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (message_time(following), rank, following, messages))


__all__ = ["TranscriptTree", "message_time"]
