"""``to_redis_stream``: a pass-through operator that appends every message to a stream.

Design decisions:

* **A bounded buffer between the producer and Redis.** Each subscription puts the
  messages into a :func:`~rxclaude.backpressure.backpressure` buffer whose consumer thread
  writes them; the policy is the buffer's. ``BLOCK`` (the default) holds the producer's
  ``on_next`` while the buffer is full, so a slow or unreachable Redis slows the producer
  down (``from_cli`` keeps the CLI's output in its spool meanwhile); the drop policies
  never hold it and count what they drop; ``ERROR`` ends the stream.
* **Batches.** The writer sends what it has as one pipeline of ``XADD``s when it has
  ``batch`` messages, when a ``result`` frame arrives (``flush_on_result``), when nothing
  else is waiting in the buffer, and at the end. Under load the batches fill; a trickle
  is written message by message. (A ``MULTI``/``EXEC`` transaction would make a batch
  all or nothing, at 40 % of the throughput: redis-py parses a reply per queued command.)
* **Retries, then an item.** A batch that fails with a failure that may pass is sent again
  after a backoff, up to ``retries`` times; the producer is held meanwhile under ``BLOCK``
  once the buffer fills. A batch still not written, or refused by Redis, becomes one
  :class:`~rxclaude.redis.RedisWriteError` item in the stream, after the messages it
  stands for. The producer's thread emits it (at its next item, or at the end): Rx
  allows one thread at a time downstream.
* **At least once.** A batch that failed part way, or whose reply was lost, is sent again
  whole, so a message can be in the stream twice, with one ``producer`` and ``seq``;
  ``dedupe`` drops the copy.
* **The end waits for the writes.** Completion (or the source's error) goes downstream
  once everything received has been written or has failed, so ``run()`` returning means
  the messages are in Redis. ``dispose`` does not wait: it stops the retries, and the
  messages not written yet are counted as discarded.
* **Counts reconcile**: ``received = skipped + written + dropped + failed + discarded +
  pending`` (:class:`SinkStatistics`).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.subject import Subject

from rxclaude.backpressure import DEFAULT_BUFFER_SIZE, Backpressure, Policy, backpressure
from rxclaude.backpressure import check_buffer_size as check_positive
from rxclaude.messages import InitMessage, Message, ParseError
from rxclaude.redis.connection import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    Backoff,
    StoppedError,
    call_with_retries,
    check_retries,
    describe_error,
)
from rxclaude.redis.entries import RedisWriteError, encode_entry, key_function

__all__ = ["DEFAULT_BATCH", "RedisStreamSink", "SinkStatistics", "to_redis_stream"]

_T = TypeVar("_T")

DEFAULT_BATCH = 256
"""Most messages per pipelined write."""


@dataclass(frozen=True, slots=True)
class SinkStatistics:
    """A snapshot of one ``to_redis_stream`` subscription.

    ``received = skipped + written + dropped + failed + discarded + pending``.
    """

    received: int
    """Items that reached the operator."""
    skipped: int
    """Items passed on without writing: not frames (``HandlerError``, partials...)."""
    written: int
    """Messages Redis accepted."""
    dropped: int
    """Messages the drop policy discarded."""
    failed: int
    """Messages not written after the retries (reported by ``RedisWriteError`` items)."""
    discarded: int
    """Messages not written yet when the subscription was disposed."""
    pending: int
    """Messages in the buffer or in the writer's hand."""
    batches: int
    """Pipelined writes made."""
    retries: int
    """Writes sent again after a failure."""
    blocked_time: float
    """Seconds the producer spent waiting for room (``BLOCK``)."""
    producers_waiting: int
    """Producers waiting for room now (``BLOCK``: 1 while Redis holds the producer)."""


@dataclass(frozen=True, slots=True)
class _Settings:
    client: redis.Redis
    key: Callable[[Message, Mapping[str, str]], str]
    maxlen: int | None
    approximate: bool
    batch: int
    flush_on_result: bool
    retries: int | None
    backoff: Backoff
    host: str
    project: str


class _Writer:
    """One subscription's writer: the buffer's consumer hands it each message.

    It flushes when nothing else is waiting, which it tells from three counters without a
    lock: ``fed`` (the producer counts an item once the buffer has it, or has dropped it),
    ``dropped`` (counted before ``fed``) and ``took``. So ``took + dropped < fed`` only while
    an item is still in the buffer; a stale read makes it flush early, never hold a batch.
    """

    def __init__(self, settings: _Settings) -> None:
        self._settings = settings
        self._context = {
            "host": settings.host,
            "project": settings.project,
            "session": "",
            "producer": uuid.uuid4().hex[:16],
        }
        self._batch: list[tuple[int, Message]] = []
        self.stop = threading.Event()
        self.finished = threading.Event()
        self.failures: deque[RedisWriteError] = deque()
        self.error: Exception | None = None  # ends the stream (the buffer's, or a bug's)
        # The producer's counters (its thread only) and the writer's (the consumer's).
        self.received = self.skipped = self.fed = self.dropped = 0
        self.took = self.written = self.failed = self.discarded = 0
        self.batches = self.retries = 0

    # -- the buffer's consumer thread -----------------------------------------------------

    def on_next(self, entry: tuple[int, Message]) -> None:
        self.took += 1
        self._batch.append(entry)
        if (
            len(self._batch) >= self._settings.batch
            or self.took + self.dropped >= self.fed  # nothing else is waiting (see _Writer)
            or (self._settings.flush_on_result and entry[1].type == "result")
        ):
            self._flush()

    def on_error(self, error: Exception) -> None:
        self._flush()
        self.error = error
        self.finished.set()

    def on_completed(self) -> None:
        self._flush()
        self.finished.set()

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if not batch or self.stop.is_set():
            self.discarded += len(batch)
            return
        try:
            entries = [(self._key(message), self._fields(seq, message)) for seq, message in batch]
        except Exception as error:  # the key function raised: the stream ends with it
            self.discarded += len(batch)
            self.error = error
            return
        attempts = 0

        def send() -> list[Any]:
            nonlocal attempts
            attempts += 1
            pipe = self._settings.client.pipeline(transaction=False)
            for key, fields in entries:
                pipe.xadd(
                    key,
                    fields,  # type: ignore[arg-type]
                    maxlen=self._settings.maxlen,
                    approximate=self._settings.approximate,
                )
            return pipe.execute()

        def count_retry(_failure: Exception) -> None:
            self.retries += 1

        try:
            call_with_retries(
                send,
                retries=self._settings.retries,
                backoff=self._settings.backoff,
                stop=self.stop,
                on_retry=count_retry,
            )
        except StoppedError:
            self.discarded += len(batch)
        except redis.RedisError as failure:
            self.failed += len(batch)
            self.failures.append(
                RedisWriteError(
                    offset=batch[0][1].offset,
                    streams=tuple(dict.fromkeys(key for key, _ in entries)),
                    count=len(batch),
                    first_sequence=batch[0][0],
                    last_sequence=batch[-1][0],
                    attempts=attempts,
                    error=describe_error(failure),
                )
            )
        else:
            self.written += len(batch)
        self.batches += 1

    def _key(self, message: Message) -> str:
        context = self._context
        session = message.session_id
        if session:
            context["session"] = session
        if isinstance(message, InitMessage):
            cwd = message.cwd
            if cwd:
                context["project"] = os.path.basename(cwd.rstrip("/")) or cwd
        return self._settings.key(message, context)

    def _fields(self, seq: int, message: Message) -> dict[bytes, bytes]:
        return encode_entry(message, self._context, seq)

    # -- any thread ------------------------------------------------------------------------

    def statistics(self, buffer: Backpressure) -> SinkStatistics:
        stats = buffer.statistics()
        discarded = self.discarded + stats.discarded
        settled = self.skipped + self.written + self.dropped + self.failed + discarded
        return SinkStatistics(
            received=self.received,
            skipped=self.skipped,
            written=self.written,
            dropped=self.dropped,
            failed=self.failed,
            discarded=discarded,
            pending=max(self.received - settled, 0),
            batches=self.batches,
            retries=self.retries,
            blocked_time=stats.blocked_time,
            producers_waiting=stats.producers_waiting,
        )


class RedisStreamSink:
    """The operator made by ``to_redis_stream(...)``: pass it to ``pipe``, or call it.

    Each subscription has its own buffer, writer thread and ``producer`` id;
    ``statistics()`` describes the most recent one.
    """

    def __init__(
        self,
        settings: _Settings,
        policy: Policy,
        buffer_size: int,
        on_drop: Callable[[Message], object] | None,
    ) -> None:
        self._settings = settings
        self._policy = policy
        self._buffer_size = buffer_size
        self._on_drop = on_drop
        self._latest: tuple[_Writer, Backpressure] | None = None

    def statistics(self) -> SinkStatistics:
        """A snapshot of the most recent subscription (zeros before the first one)."""
        latest = self._latest
        if latest is None:
            return SinkStatistics(0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0)
        writer, buffer = latest
        return writer.statistics(buffer)

    def __call__(self, source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            writer = _Writer(self._settings)
            user_on_drop = self._on_drop

            def dropped(entry: tuple[int, Message]) -> None:
                writer.dropped += 1
                if user_on_drop is not None:
                    user_on_drop(entry[1])

            buffer = backpressure(self._policy, buffer_size=self._buffer_size, on_drop=dropped)
            self._latest = (writer, buffer)
            feed: Subject[tuple[int, Message]] = Subject()
            writing = feed.pipe(buffer).subscribe(
                writer.on_next, writer.on_error, writer.on_completed
            )
            upstream = CompositeDisposable()
            ended = False

            def emit_failures() -> None:
                while writer.failures:
                    observer.on_next(writer.failures.popleft())

            def end(error: Exception | None) -> None:
                nonlocal ended
                ended = True
                feed.on_completed()
                writer.finished.wait()
                emit_failures()
                error = writer.error if error is None else error
                if error is not None:
                    observer.on_error(error)
                else:
                    observer.on_completed()
                upstream.dispose()

            def on_next(item: Any) -> None:
                if ended:
                    return
                writer.received += 1
                if writer.failures:
                    emit_failures()
                if writer.error is not None:
                    writer.skipped += 1  # it will not be written: the stream ends here
                    end(None)
                    return
                if isinstance(item, ParseError) or (
                    isinstance(item, Message) and item.raw is not None
                ):
                    feed.on_next((writer.fed, item))
                    writer.fed += 1  # after: a writer that sees it behind has more coming
                else:
                    writer.skipped += 1
                observer.on_next(item)

            def on_error(error: Exception) -> None:
                if not ended:
                    end(error)

            def on_completed() -> None:
                if not ended:
                    end(None)

            def dispose() -> None:
                writer.stop.set()
                upstream.dispose()
                writing.dispose()
                writer.finished.set()  # an end waiting for the writer goes on

            upstream.add(source.subscribe(on_next, on_error, on_completed, scheduler=scheduler))
            return Disposable(dispose)

        return Observable(subscribe)


def to_redis_stream(
    client: redis.Redis,
    key_or_fn: str | Callable[[Message], str] = "claude:{session}",
    *,
    maxlen: int | None = None,
    approximate: bool = True,
    batch: int = DEFAULT_BATCH,
    flush_on_result: bool = True,
    retries: int | None = DEFAULT_RETRIES,
    backoff: Backoff = DEFAULT_BACKOFF,
    policy: Policy = Policy.BLOCK,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    on_drop: Callable[[Message], object] | None = None,
    host: str | None = None,
    project: str | None = None,
) -> RedisStreamSink:
    """Appends each message to a Redis stream and passes it on unchanged.

    .. code-block:: text

        source:  -a-b-r-c-|                 (r: a result frame)
        to_redis_stream(client, "claude:{session}")
        result:  -a-b-r-c-|                 (XADD a b r in one batch at r, c at the end;
                                             the end comes after the last write)
        Redis unreachable past the retries:
        result:  -a-b-r-E-c-E-|             (E: RedisWriteError for a b r, then for c)

    Frames and parse errors are written (see :mod:`rxclaude.redis.entries` for an
    entry's fields); other items (``HandlerError``, partials) pass without being written.

    Args:
        client: a ``redis.Redis`` client (see :func:`~rxclaude.redis.client_from_url`).
        key_or_fn: the stream's key: fixed, a template with ``{session}``, ``{project}``
            (the directory name of the session's ``cwd``) or ``{host}``, or a function of
            the message.
        maxlen: trim each stream to about this many entries (exactly, with
            ``approximate=False``, which costs Redis more).
        batch: most messages per pipelined write.
        flush_on_result: write at once when a ``result`` frame arrives.
        retries: retries of a failed write (``None``: for ever), waiting ``backoff``;
            the client's own retries come inside each of them.
        policy, buffer_size, on_drop: the buffer's (``Policy.BLOCK`` holds the producer
            while it is full; the drop policies count and report what they drop).
        host: the ``host`` field (``socket.gethostname()``).
        project: ``{project}`` before an ``init`` frame says (the current directory's name).

    Returns:
        The operator, with ``statistics()``.
    """
    check_positive(batch, "batch")
    check_positive(buffer_size, "buffer_size")
    check_retries(retries)
    if maxlen is not None:
        check_positive(maxlen, "maxlen")
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a Policy, got {policy!r}")
    if not isinstance(backoff, Backoff):
        raise TypeError(f"backoff must be a Backoff, got {backoff!r}")
    settings = _Settings(
        client=client,
        key=key_function(key_or_fn),
        maxlen=maxlen,
        approximate=approximate,
        batch=batch,
        flush_on_result=flush_on_result,
        retries=retries,
        backoff=backoff,
        host=socket.gethostname() if host is None else host,
        project=os.path.basename(os.getcwd()) if project is None else project,
    )
    return RedisStreamSink(settings, policy, buffer_size, on_drop)
