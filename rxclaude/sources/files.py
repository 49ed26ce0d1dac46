"""Byte sources: binary readers and files as observables of chunks.

Both sources pull chunks in a loop that runs as one scheduled action, the way
``reactivex.from_iterable`` does: on the scheduler given to the factory, else the one
given to ``subscribe``, else the current-thread trampoline. The loop checks a disposed
flag between chunks, so disposing (for instance ``take`` downstream) stops the reading.

``from_reader(f, spool=True)`` is for the pipe of another program that, like the Claude
Code CLI, does not wait for its reader: a thread drains the reader into a
:class:`~rxclaude.sources.spool.Spool` and the loop hands on the spool's chunks instead.
"""

import os
import threading
from collections.abc import Callable
from typing import IO, Any, Literal, overload

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.scheduler import CurrentThreadScheduler

from rxclaude.sources.spool import (
    DEFAULT_SPOOL_MEMORY,
    Spool,
    SpooledSource,
    check_spool_settings,
    check_whole_number,
)

DEFAULT_CHUNK_SIZE = 65536
"""Largest chunk ``from_reader`` asks for: a pipe rarely holds more (Linux: 64 KiB)."""

DEFAULT_FILE_CHUNK_SIZE = 512 * 1024
"""``from_file``'s chunk: a regular file fills every read, so a larger one means fewer
reads and fewer hand-offs to a consumer thread downstream (about one per chunk). Measured
on the benchmark corpus: 64 KiB hands off too often for ``backpressure``, while 1 MiB reads
make the parse alone slower (each read is a fresh megabyte from the allocator)."""

_ReadChunk = Callable[[int], bytes]
"""Reads at most the given number of bytes; an empty result means end of input."""

_OpenChunkReader = Callable[[], tuple[_ReadChunk, Callable[[], None]]]
"""Called once per subscription: returns the read function and what releases it."""


def check_chunk_size(chunk_size: int) -> None:
    """Raises ``TypeError``/``ValueError`` unless ``chunk_size`` is a positive int."""
    check_whole_number("chunk_size", chunk_size, 1)


def _chunk_stream(
    open_reader: _OpenChunkReader,
    chunk_size: int,
    scheduler: abc.SchedulerBase | None,
) -> Observable[bytes]:
    """The read loop shared by the sources: open, read until empty, release, signal."""

    def subscribe(
        observer: abc.ObserverBase[bytes], scheduler_: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        disposed = False

        def read_all(_: abc.SchedulerBase, __: Any = None) -> None:
            try:
                read, release = open_reader()
            except Exception as error:
                observer.on_error(error)
                return
            failure: Exception | None = None
            try:
                on_next = observer.on_next
                while not disposed:
                    chunk = read(chunk_size)
                    if not chunk:
                        break
                    on_next(chunk)
            except Exception as error:
                failure = error
            finally:
                release()
            if disposed:
                return
            if failure is None:
                observer.on_completed()
            else:
                observer.on_error(failure)

        def dispose() -> None:
            nonlocal disposed
            disposed = True

        chosen = scheduler or scheduler_ or CurrentThreadScheduler.singleton()
        return CompositeDisposable(chosen.schedule(read_all), Disposable(dispose))

    return Observable(subscribe)


def _leave_open() -> None:
    """The release of a reader the caller owns: nothing to do."""


@overload
def from_reader(
    binary_file: IO[bytes],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    *,
    spool: Literal[False] = False,
    spool_memory: int = DEFAULT_SPOOL_MEMORY,
    spool_dir: str | os.PathLike[str] | None = None,
    max_spool_bytes: int | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> Observable[bytes]: ...


@overload
def from_reader(
    binary_file: IO[bytes],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    *,
    spool: Literal[True],
    spool_memory: int = DEFAULT_SPOOL_MEMORY,
    spool_dir: str | os.PathLike[str] | None = None,
    max_spool_bytes: int | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> SpooledSource: ...


def from_reader(
    binary_file: IO[bytes],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    *,
    spool: bool = False,
    spool_memory: int = DEFAULT_SPOOL_MEMORY,
    spool_dir: str | os.PathLike[str] | None = None,
    max_spool_bytes: int | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> Observable[bytes]:
    """Streams a binary reader as chunks of at most ``chunk_size`` bytes.

    ::

        reader:              b"{..}\\n{.." b"..}\\n" EOF
        from_reader(reader): --b"{..}\\n{.."--b"..}\\n"--|

    Reads with ``read1`` when the reader has it, so a live pipe delivers what is
    available instead of waiting for a full chunk, else with ``read``. A read error
    becomes ``on_error``. The reader is not closed: the caller owns it, and a second
    subscription continues from where the first one stopped.

    With ``spool=True`` (for the pipe of a program that does not wait for its reader),
    a thread ``rxclaude-reader-drain`` reads the reader as fast as it delivers into a
    spool, as :func:`~rxclaude.cli.from_cli` does (``spool_memory``, ``spool_dir`` and
    ``max_spool_bytes`` mean the same), and the read loop hands on the spool's chunks:
    a held consumer holds the spool, not the writer. The result then has
    ``statistics()``. Disposing drops what the spool holds; a drain thread blocked in a
    read is left to end with the reader (it is a daemon thread and stops at its next
    chunk).

    Raises:
        TypeError, ValueError: ``chunk_size`` or a spool setting is not usable.
    """
    check_chunk_size(chunk_size)
    read: _ReadChunk = getattr(binary_file, "read1", binary_file.read)
    if spool:
        check_spool_settings(spool_memory, max_spool_bytes)
        return _spooled_stream(
            read, chunk_size, lambda: Spool(spool_memory, spool_dir, max_spool_bytes), scheduler
        )

    def open_reader() -> tuple[_ReadChunk, Callable[[], None]]:
        return read, _leave_open

    return _chunk_stream(open_reader, chunk_size, scheduler)


def _drain_into(spool: Spool, read: _ReadChunk, chunk_size: int) -> None:
    """Reads until the end, a failure, a full spool or a released one."""
    error: Exception | None = None
    try:
        while (chunk := read(chunk_size)) and spool.put(chunk):
            pass
    except Exception as failure:
        error = failure
    spool.close(error)


def _spooled_stream(
    read: _ReadChunk,
    chunk_size: int,
    new_spool: Callable[[], Spool],
    scheduler: abc.SchedulerBase | None,
) -> SpooledSource:
    """A drain thread fills a spool per subscription; the read loop takes from it."""

    def subscribe(
        observer: abc.ObserverBase[bytes], scheduler_: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        spool = source.track(new_spool())
        threading.Thread(
            target=_drain_into,
            args=(spool, read, chunk_size),
            name="rxclaude-reader-drain",
            daemon=True,
        ).start()

        def open_reader() -> tuple[_ReadChunk, Callable[[], None]]:
            def take(_: int) -> bytes:
                chunk = spool.take()
                if chunk is None and (error := spool.error()) is not None:
                    raise error
                return chunk or b""

            return take, spool.release

        loop = _chunk_stream(open_reader, chunk_size, scheduler)
        subscription = loop.subscribe(observer, scheduler=scheduler_)
        return CompositeDisposable(subscription, Disposable(spool.release))

    source = SpooledSource(subscribe)
    return source


def from_file(
    path: str | os.PathLike[str],
    chunk_size: int = DEFAULT_FILE_CHUNK_SIZE,
    *,
    scheduler: abc.SchedulerBase | None = None,
) -> Observable[bytes]:
    """Streams a file as chunks of at most ``chunk_size`` bytes.

    ::

        file at path:     b"{..}\\n{..}\\n{..}\\n" EOF
        from_file(path):  --b"{..}\\n{..}\\n{..}\\n"--|      (chunk_size >= file size)
        missing file:     #FileNotFoundError

    Each subscription opens the file (unbuffered) when its read loop starts, reads it
    from the start and closes it on completion, error or dispose. Opening errors such
    as ``FileNotFoundError`` are delivered as ``on_error``.

    Raises:
        ValueError: ``chunk_size`` is not positive.
    """
    check_chunk_size(chunk_size)

    def open_reader() -> tuple[_ReadChunk, Callable[[], None]]:
        file = open(path, "rb", buffering=0)  # noqa: SIM115 -- closed by the read loop
        return file.read, file.close

    return _chunk_stream(open_reader, chunk_size, scheduler)


__all__ = ["DEFAULT_CHUNK_SIZE", "DEFAULT_FILE_CHUNK_SIZE", "from_file", "from_reader"]
