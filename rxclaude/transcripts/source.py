"""``from_transcripts``: session transcripts as one Observable of typed messages."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable, SerialDisposable
from reactivex.scheduler import CurrentThreadScheduler, NewThreadScheduler

from rxclaude.framing import DEFAULT_MAX_FRAME_BYTES
from rxclaude.messages import Message
from rxclaude.sources import DEFAULT_FILE_CHUNK_SIZE, check_chunk_size
from rxclaude.transcripts.files import PathArgument, target
from rxclaude.transcripts.tree import TranscriptTree

DEFAULT_POLL_INTERVAL = 0.5
"""Seconds between two looks at the files when following them."""

DEFAULT_MAX_OPEN_FILES = 256
"""Followed files held open between looks at most (the most recently grown)."""


def from_transcripts(
    path: PathArgument | Sequence[PathArgument] | None = None,
    *,
    follow: bool = False,
    since: datetime | date | None = None,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    chunk_size: int = DEFAULT_FILE_CHUNK_SIZE,
    max_open_files: int = DEFAULT_MAX_OPEN_FILES,
    scheduler: abc.SchedulerBase | None = None,
) -> Observable[Message]:
    """The messages of Claude Code session transcripts, in time order across files.

    ``path`` is one transcript file, a folder (searched recursively for ``*.jsonl``: a
    project folder brings its sessions' subagent files), or a glob pattern, or a list of
    them (a file they share is read once); ``None`` reads every project's
    (``~/.claude/projects``, or ``$CLAUDE_CONFIG_DIR/projects``).
    Each file is framed as ``parse_json_frames`` frames a stream (bad input is a
    ``ParseError`` item at its offset in its file, a cut last line a ``truncated`` one).
    Every message is an instance of its usual class plus ``source`` (the file) and
    ``time``: :func:`~rxclaude.transcripts.provenance` reads them with the entry's
    session, ``uuid``, ``parentUuid``, ``isSidechain``, ``timestamp`` and ``requestId``.
    Transcript-only lines (``summary``, ``cost-state``, ``progress``, …) have classes of
    their own in :mod:`rxclaude.messages`; unknown ones are ``UnknownMessage``. A file
    that cannot be read is a :class:`~rxclaude.transcripts.TranscriptReadError` item.

    The files are merged by time: each in its own order, the earliest next line first
    (a line without a timestamp keeps its place after the line before it).

    .. code-block:: text

        a.jsonl:  {t=1} {t=3} {no time}        b.jsonl:  {t=2} {t=4
        from_transcripts(folder)
        result:   -a1-b2-ParseError(b, truncated)-a3-a(3)-|
        from_transcripts(folder, follow=True)  ...later b.jsonl gets "}\\n"
        result:   -a1-b2-a3-a(3)----------b4--- (until disposed)

    With ``follow=True`` the files are then watched every ``poll_interval`` seconds: lines
    appended and files created are emitted as they come, a line cut at the end of what was
    written is completed when the rest arrives, and a file replaced (rotation) or truncated
    under its path is read again from its start. The stream ends only when disposed.

    ``since`` drops lines earlier than it (a ``date`` is its midnight UTC, a naive
    ``datetime`` is UTC), and unless following, files last modified before it are not
    opened.

    Reading runs as scheduled actions: on ``scheduler``, else the one given to
    ``subscribe``, else on the current thread (``follow=False``) or on new threads
    (``follow=True``: one reads the files, then one looks again every ``poll_interval``
    seconds, and it ends as soon as the subscription is disposed). Under a
    ``TestScheduler`` the looks happen in virtual time.

    Raises:
        TypeError, ValueError: an argument is not usable (at call time).
    """
    check_chunk_size(chunk_size)
    if max_frame_bytes < 1:
        raise ValueError(f"max_frame_bytes must be positive, not {max_frame_bytes}")
    if not poll_interval > 0:
        raise ValueError(f"poll_interval must be positive, not {poll_interval}")
    if max_open_files < 1:
        raise ValueError(f"max_open_files must be at least 1, not {max_open_files}")
    since_time = _since(since)

    def subscribe(
        observer: abc.ObserverBase[Message], scheduler_: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        chosen = scheduler or scheduler_
        if chosen is None:
            chosen = NewThreadScheduler() if follow else CurrentThreadScheduler.singleton()
        clock = chosen
        if follow and not isinstance(chosen, abc.PeriodicSchedulerBase):
            observer.on_error(TypeError(f"follow=True needs a periodic scheduler: {chosen!r}"))
            return Disposable()
        periodic = cast(abc.PeriodicSchedulerBase, chosen)
        lock = threading.RLock()
        disposed = False
        polling = SerialDisposable()
        tree: TranscriptTree | None = None

        def deliver(messages: Iterable[Message]) -> bool:
            """Hand ``messages`` on; False if the subscription ended meanwhile."""
            on_next = observer.on_next
            for message in messages:
                if disposed:
                    return False
                on_next(message)
            return not disposed

        def fail(error: Exception) -> None:
            polling.dispose()
            if not disposed:
                observer.on_error(error)

        def finished() -> None:
            polling.dispose()
            observer.on_completed()

        def read_history(_: abc.SchedulerBase, __: Any = None) -> None:
            nonlocal tree
            with lock:
                try:
                    tree = TranscriptTree(
                        target(path),
                        now=lambda: clock.now,
                        max_frame_bytes=max_frame_bytes,
                        chunk_size=chunk_size,
                        since=since_time,
                        follow=follow,
                        max_open_files=max_open_files,
                    )
                    history = tree.history()
                    try:
                        delivered = deliver(history)
                    finally:
                        history.close()
                except Exception as error:
                    fail(error)
                    delivered = False
                if delivered and not follow:
                    finished()
                elif delivered:
                    polling.disposable = periodic.schedule_periodic(poll_interval, look_again)
            close_when_disposed()

        def look_again(state: Any = None) -> Any:
            with lock:
                if not disposed and tree is not None:
                    try:
                        deliver(tree.poll())
                    except Exception as error:
                        fail(error)
            close_when_disposed()
            return state

        def close_when_disposed() -> None:
            """Release the files once the subscription has ended, on whichever thread
            finds the reader idle: the one disposing, or the reader when it is done."""
            if (disposed or polling.is_disposed) and lock.acquire(blocking=False):
                try:
                    if tree is not None:
                        tree.close()
                finally:
                    lock.release()

        def dispose() -> None:
            nonlocal disposed
            disposed = True
            polling.dispose()
            close_when_disposed()

        return CompositeDisposable(chosen.schedule(read_history), polling, Disposable(dispose))

    return Observable(subscribe)


def _since(since: datetime | date | None) -> float | None:
    """``since`` as POSIX seconds (a date: its midnight UTC; a naive datetime: UTC)."""
    if since is None:
        return None
    if isinstance(since, datetime):
        return (since if since.tzinfo is not None else since.replace(tzinfo=UTC)).timestamp()
    if isinstance(since, date):
        return datetime(since.year, since.month, since.day, tzinfo=UTC).timestamp()
    raise TypeError(f"since must be a datetime or a date, not {type(since).__name__}")


__all__ = ["DEFAULT_MAX_OPEN_FILES", "DEFAULT_POLL_INTERVAL", "from_transcripts"]
