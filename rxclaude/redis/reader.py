"""The reading loop of one ``from_redis_stream`` subscription (see
:mod:`rxclaude.redis.source` for the design), its settings, statistics and final error."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import redis
from reactivex import abc

from rxclaude.messages import Message
from rxclaude.redis.connection import (
    Backoff,
    StoppedError,
    call_with_retries,
    describe_error,
    is_error,
    reading_client,
)
from rxclaude.redis.entries import StreamGap, decode_entry

__all__ = ["ReaderSettings", "RedisReadError", "SourceStatistics", "StreamReader"]

_RAW_REPLIES = ("XREAD", "XREADGROUP", "XAUTOCLAIM", "XREVRANGE")
"""Commands whose replies the reader parses itself (the same on every redis-py version)."""

_JOIN_SECONDS = 5.0
"""How long ``dispose`` waits for the reading thread (it ends at once unless downstream
holds it in ``on_next``)."""


class RedisReadError(Exception):
    """Reading failed for good (after the retries, or refused): ends the source."""

    def __init__(self, streams: Sequence[str], error: BaseException) -> None:
        super().__init__(f"reading {', '.join(streams)} failed: {describe_error(error)}")
        self.streams = tuple(streams)


@dataclass(frozen=True, slots=True)
class SourceStatistics:
    """A snapshot of one ``from_redis_stream`` subscription."""

    delivered: int
    """Items passed downstream (messages, parse errors, gaps)."""
    redelivered: int
    """Of those, entries read again: pending after a restart, or claimed."""
    acknowledged: int
    """Entries acknowledged by the source (``ack="auto"``)."""
    lost: int
    """Pending entries found gone from the stream (reported by ``StreamGap`` items)."""
    reads: int
    """Commands that returned entries or nothing."""
    retries: int
    """Commands sent again after a failure."""


@dataclass(frozen=True, slots=True)
class ReaderSettings:
    client: redis.Redis
    keys: tuple[str, ...]
    group: str | None
    consumer: str
    start: dict[str, str]
    count: int
    block_ms: int
    ack: Literal["auto", "explicit"]
    claim_idle_ms: int | None
    retries: int | None
    backoff: Backoff
    scheduler: abc.SchedulerBase | None


def _raw(response: Any, **_options: Any) -> Any:
    return response


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class StreamReader:
    """One subscription's reading loop."""

    def __init__(self, settings: ReaderSettings, observer: abc.ObserverBase[Message]) -> None:
        self._settings = settings
        self._observer = observer
        self._client, self._pool = reading_client(settings.client)
        for command in _RAW_REPLIES:
            self._client.set_response_callback(command, _raw)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._scheduled: abc.DisposableBase | None = None
        self.cursor = dict(settings.start)
        self._next_claim = 0.0
        self.delivered = self.redelivered = self.acknowledged = self.lost = 0
        self.reads = self.retries = 0

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, scheduler: abc.SchedulerBase | None) -> None:
        if scheduler is None:
            self._thread = threading.Thread(
                target=self._run, name="rxclaude-redis-reader", daemon=True
            )
            self._thread.start()
        else:
            self._scheduled = scheduler.schedule(self._first_action)

    def dispose(self) -> None:
        self._stop.set()
        if self._scheduled is not None:
            self._scheduled.dispose()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            self._pool.disconnect()
            return
        # Closing the pool's connections ends a blocked read; again, in case the loop
        # took a new connection in between.
        for _ in range(int(_JOIN_SECONDS / 0.05)):
            self._pool.disconnect()
            thread.join(0.05)
            if not thread.is_alive():
                return

    def _run(self) -> None:
        try:
            self._prepare()
            while not self._stop.is_set():
                self._step()
        except Exception as error:
            self._fail(error)
        finally:
            self._pool.disconnect()

    def _first_action(self, scheduler: abc.SchedulerBase, _state: Any = None) -> None:
        try:
            self._prepare()
        except Exception as error:
            self._fail(error)
            return
        self._scheduled = scheduler.schedule(self._action)

    def _action(self, scheduler: abc.SchedulerBase, _state: Any = None) -> None:
        try:
            self._step()
        except Exception as error:
            self._fail(error)
            return
        if not self._stop.is_set():
            self._scheduled = scheduler.schedule(self._action)

    def _fail(self, error: Exception) -> None:
        if self._stop.is_set() or isinstance(error, StoppedError):
            return  # disposed: nothing more goes downstream
        self._stop.set()
        if self._thread is None:
            self._pool.disconnect()  # on a scheduler: no loop's end to do it
        self._observer.on_error(RedisReadError(self._settings.keys, error))

    # -- commands -------------------------------------------------------------------------

    def _call(self, *command: Any) -> Any:
        settings = self._settings

        def count_retry(_failure: Exception) -> None:
            self.retries += 1

        execute: Any = self._client.execute_command

        def send() -> Any:
            return execute(*command)

        try:
            reply = call_with_retries(
                send,
                retries=settings.retries,
                backoff=settings.backoff,
                stop=self._stop,
                on_retry=count_retry,
            )
        except redis.ResponseError as error:
            if settings.group is None or not is_error(error, "NOGROUP"):
                raise
            self._create_groups()  # the server lost the group (restarted without its data)
            return self._call(*command)
        self.reads += 1
        return reply

    def _create_groups(self) -> None:
        settings = self._settings
        for key in settings.keys:
            try:
                self._call("XGROUP", "CREATE", key, settings.group, settings.start[key], "MKSTREAM")
            except redis.ResponseError as error:
                if not is_error(error, "BUSYGROUP"):
                    raise

    def _prepare(self) -> None:
        settings = self._settings
        if settings.group is not None:
            self._create_groups()
            for key in settings.keys:  # this consumer's own pending entries first
                after = "0"
                while not self._stop.is_set():
                    reply = self._call(
                        "XREADGROUP", "GROUP", settings.group, settings.consumer,
                        "COUNT", settings.count, "STREAMS", key, after,
                    )  # fmt: skip
                    entries = reply[0][1] if reply else []
                    if not entries:
                        break
                    after = _text(entries[-1][0])
                    self._deliver([(key, entries)], redelivered=True)
            return
        for key, position in self.cursor.items():
            if position == "$":  # what comes after the last entry now, not after each read
                last = self._call("XREVRANGE", key, "+", "-", "COUNT", 1)
                self.cursor[key] = _text(last[0][0]) if last else "0-0"

    def _step(self) -> None:
        settings = self._settings
        if settings.group is None:
            reply = self._call(
                "XREAD", "COUNT", settings.count, "BLOCK", settings.block_ms,
                "STREAMS", *self.cursor, *self.cursor.values(),
            )  # fmt: skip
        else:
            if settings.claim_idle_ms is not None:
                self._claim_if_due()
            reply = self._call(
                "XREADGROUP", "GROUP", settings.group, settings.consumer,
                "COUNT", settings.count, "BLOCK", settings.block_ms,
                "STREAMS", *settings.keys, *(">" for _ in settings.keys),
            )  # fmt: skip
        if reply:
            self._deliver([(_text(key), entries) for key, entries in reply], redelivered=False)

    def _claim_if_due(self) -> None:
        settings = self._settings
        assert settings.claim_idle_ms is not None
        now = time.monotonic()
        if now < self._next_claim:
            return
        self._next_claim = now + settings.claim_idle_ms / 2000
        for key in settings.keys:
            start = "0-0"
            while not self._stop.is_set():
                reply = self._call(
                    "XAUTOCLAIM", key, settings.group, settings.consumer,
                    settings.claim_idle_ms, start, "COUNT", settings.count,
                )  # fmt: skip
                start = _text(reply[0])
                if len(reply) > 2 and reply[2]:  # entries gone from the stream (Redis 7)
                    self._lose(key, [_text(entry_id) for entry_id in reply[2]], ack=False)
                if reply[1]:
                    self._deliver([(key, reply[1])], redelivered=True)
                if start == "0-0":
                    break

    # -- delivery -------------------------------------------------------------------------

    def _deliver(self, reply: list[tuple[str, list[Any]]], *, redelivered: bool) -> None:
        settings = self._settings
        scheduler = settings.scheduler
        received_at = scheduler.now if scheduler is not None else datetime.now(UTC)
        group = settings.group
        consumer = settings.consumer if group is not None else None
        last = sum(len(entries) for _, entries in reply)
        position = 0
        handled: list[tuple[str, list[str]]] = []
        for key, entries in reply:
            ids: list[str] = []
            gone: list[str] = []
            for entry_id_bytes, pairs in entries:
                position += 1
                entry_id = _text(entry_id_bytes)
                if self._stop.is_set():
                    return
                if pairs is None:  # a pending entry deleted from the stream
                    gone.append(entry_id)
                    continue
                it = iter(pairs)
                message = decode_entry(
                    key,
                    entry_id,
                    dict(zip(it, it, strict=True)),
                    received_at,
                    group=group,
                    consumer=consumer,
                    redelivered=redelivered,
                    batch_end=position == last,
                )
                self._observer.on_next(message)
                self.delivered += 1
                self.redelivered += redelivered
                self.cursor[key] = entry_id
                ids.append(entry_id)
            if gone:
                self._lose(key, gone, ack=True)
            handled.append((key, ids))
        if group is not None and settings.ack == "auto":
            for key, ids in handled:
                if ids:
                    self._call("XACK", key, group, *ids)
                    self.acknowledged += len(ids)

    def _lose(self, key: str, entry_ids: list[str], *, ack: bool) -> None:
        if ack and self._settings.group is not None:
            self._call("XACK", key, self._settings.group, *entry_ids)
        self.lost += len(entry_ids)
        self.delivered += 1
        self._observer.on_next(
            StreamGap(stream=key, entry_ids=tuple(entry_ids), received_at=datetime.now(UTC))
        )

    def statistics(self) -> SourceStatistics:
        return SourceStatistics(
            self.delivered,
            self.redelivered,
            self.acknowledged,
            self.lost,
            self.reads,
            self.retries,
        )
