"""``from_redis_stream``: typed messages from one or many Redis streams.

Design decisions:

* **A reading loop per subscription**, on a thread of its own (or, with ``scheduler=``,
  one read per scheduled action), with a connection pool of its own
  (:func:`~rxclaude.redis.connection.reading_client`): ``dispose`` closes that connection,
  which ends a read blocked in ``XREAD``/``XREADGROUP BLOCK`` at once, and waits for the
  thread to end, so no thread is left behind.
* **With a consumer group**: at least once. The group is created where missing (and again
  if a restarted server lost it). The consumer first reads its own pending entries (those
  it was given before a restart, marked ``redelivered``), then new ones. An entry is
  acknowledged after downstream handled it: with ``ack="auto"`` once ``on_next`` has
  returned for every entry of the read, with ``ack="explicit"`` by the
  :func:`~rxclaude.redis.ack` operator. Every ``claim_idle_ms / 2`` the consumer takes over
  (``XAUTOCLAIM``) the entries another consumer was given and has not acknowledged for
  ``claim_idle_ms``: that consumer is taken for dead, so the time must exceed the
  longest a live consumer holds an entry. Claimed entries that are gone from the stream
  (trimmed by ``MAXLEN``) become one :class:`~rxclaude.redis.StreamGap` item.
* **Without a group**: a cursor. ``start`` is ``"0"`` (all that is kept), ``"$"`` (only
  what comes next) or each stream's last id seen (``cursor()`` of an earlier source):
  reading resumes after it.
* **Failures**: a read that fails in a way that may pass is retried with backoff (a
  server restarting from its AOF); past ``retries`` the stream ends with
  :class:`RedisReadError`.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from typing import Literal

import redis
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxclaude.backpressure import check_buffer_size as check_positive
from rxclaude.messages import Message
from rxclaude.redis.connection import DEFAULT_BACKOFF, DEFAULT_RETRIES, Backoff, check_retries
from rxclaude.redis.reader import ReaderSettings, RedisReadError, SourceStatistics, StreamReader

__all__ = ["RedisReadError", "RedisStreamSource", "SourceStatistics", "from_redis_stream"]


class RedisStreamSource(Observable[Message]):
    """What ``from_redis_stream`` returns: an Observable of messages that also tells the
    most recent subscription's ``cursor()`` and ``statistics()``."""

    def __init__(self, settings: ReaderSettings) -> None:
        self._settings = settings
        self._latest: StreamReader | None = None
        super().__init__(self._subscribe)

    def _subscribe(
        self, observer: abc.ObserverBase[Message], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        reader = StreamReader(self._settings, observer)
        self._latest = reader
        reader.start(self._settings.scheduler)
        return Disposable(reader.dispose)

    def cursor(self) -> dict[str, str]:
        """Each stream's id of the last entry for which downstream's ``on_next`` returned
        (``start`` for one not read yet): ``from_redis_stream(client, keys,
        start=source.cursor())`` resumes after them, so an entry being handled when the
        source stopped comes again."""
        latest = self._latest
        return dict(latest.cursor if latest is not None else self._settings.start)

    def statistics(self) -> SourceStatistics:
        """A snapshot of the most recent subscription (zeros before the first one)."""
        latest = self._latest
        return latest.statistics() if latest is not None else SourceStatistics(0, 0, 0, 0, 0, 0)


def _default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def from_redis_stream(
    client: redis.Redis,
    keys: str | Sequence[str],
    *,
    group: str | None = None,
    consumer: str | None = None,
    start: str | Mapping[str, str] = "0",
    count: int = 500,
    block_ms: int = 1000,
    ack: Literal["auto", "explicit"] = "auto",
    claim_idle_ms: int | None = 60_000,
    retries: int | None = DEFAULT_RETRIES,
    backoff: Backoff = DEFAULT_BACKOFF,
    scheduler: abc.SchedulerBase | None = None,
) -> RedisStreamSource:
    """The messages of the streams ``keys``, typed as ``parse_json_frames`` types them,
    each with its :class:`~rxclaude.redis.Delivery` (``delivery_of(message)``).

    .. code-block:: text

        stream:  a b c            (entries written by to_redis_stream)
        from_redis_stream(client, "claude:s1", group="dash")
        result:  -a-b-c------ ... (live: it ends on dispose, or with RedisReadError)
                      XACK a b c once on_next returned for c (ack="auto")

    Args:
        client: a ``redis.Redis`` client; the source reads on a pool of its own with the
            same settings.
        keys: one stream's key, or several.
        group: a consumer group (created where missing): at-least-once delivery.
        consumer: this consumer's name in the group (host, pid and a random part).
        start: without a group, where to start: ``"0"`` (everything kept), ``"$"`` (only
            new entries) or an id per stream (a ``cursor()``); with one, where a new group
            starts.
        count: most entries per read.
        block_ms: how long one read waits for new entries.
        ack: with a group, ``"auto"`` acknowledges a read's entries once downstream's
            ``on_next`` returned for each; ``"explicit"`` leaves it to :func:`ack`.
        claim_idle_ms: with a group, take over entries another consumer has left
            unacknowledged this long (``None``: never).
        retries, backoff: retries of a failed command (``None``: for ever).
        scheduler: run each read as an action on it instead of on a thread of its own.
    """
    names = (keys,) if isinstance(keys, str) else tuple(keys)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"keys must be one or more non-empty stream keys, got {keys!r}")
    positions = {name: start for name in names} if isinstance(start, str) else dict(start)
    if set(positions) != set(names):
        raise ValueError(f"start names {sorted(positions)}, not the streams {sorted(names)}")
    if ack not in ("auto", "explicit"):
        raise ValueError(f'ack must be "auto" or "explicit", not {ack!r}')
    check_positive(count, "count")
    check_positive(block_ms, "block_ms")
    if claim_idle_ms is not None:
        check_positive(claim_idle_ms, "claim_idle_ms")
    check_retries(retries)
    settings = ReaderSettings(
        client=client,
        keys=names,
        group=group,
        consumer=consumer or _default_consumer(),
        start={name: positions[name] for name in names},
        count=count,
        block_ms=block_ms,
        ack=ack,
        claim_idle_ms=claim_idle_ms,
        retries=retries,
        backoff=backoff,
        scheduler=scheduler,
    )
    return RedisStreamSource(settings)
