"""Redis Streams as the transport between many hosts' pipelines (the ``redis`` extra).

Each host runs its pipeline and appends its messages to a stream with
:func:`to_redis_stream`; one place reads every host's streams with
:func:`from_redis_stream`, a source of the same typed messages ``parse_json_frames``
makes, and runs the rest of a pipeline on them (``route_by_type``, ``measure``)::

    client = client_from_url("redis://fleet-db:6379/0")
    from_cli(args).pipe(parse_json_frames(), to_redis_stream(client, "claude:{session}"))
    ...
    from_redis_stream(client, keys, group="dashboard").pipe(
        dedupe(), route_by_type(router), measure(metrics)
    )

The modules: :mod:`~rxclaude.redis.entries` (an entry's fields, the read messages'
:class:`Delivery`, the items the package adds), :mod:`~rxclaude.redis.sink`
(``to_redis_stream``), :mod:`~rxclaude.redis.source` (``from_redis_stream``) and
:mod:`~rxclaude.redis.reader` (its reading loop), :mod:`~rxclaude.redis.delivery`
(``ack``, ``dedupe``), :mod:`~rxclaude.redis.connection` (clients, retries) and
:mod:`~rxclaude.redis.server` (``LocalRedis``, a private server to try things with).

Needs redis-py: ``pip install 'rxclaude[redis]'``; without it, importing this package
raises an ``ImportError`` saying so, and nothing else in rxclaude needs it.
"""

try:
    import redis as _redis  # noqa: F401
except ImportError as missing:  # pragma: no cover - the tests run with the extra
    raise ImportError(
        "rxclaude.redis needs redis-py, which the redis extra installs: "
        "pip install 'rxclaude[redis]'"
    ) from missing

from rxclaude.redis.connection import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    PASSWORD_ENV,
    Backoff,
    client_from_url,
    redacted_url,
)
from rxclaude.redis.delivery import RedisAckError, SeenMessages, ack, dedupe
from rxclaude.redis.entries import Delivery, RedisWriteError, StreamGap, delivery_of
from rxclaude.redis.server import LocalRedis, RedisServerError
from rxclaude.redis.sink import RedisStreamSink, SinkStatistics, to_redis_stream
from rxclaude.redis.source import (
    RedisReadError,
    RedisStreamSource,
    SourceStatistics,
    from_redis_stream,
)

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_RETRIES",
    "PASSWORD_ENV",
    "Backoff",
    "Delivery",
    "LocalRedis",
    "RedisAckError",
    "RedisReadError",
    "RedisServerError",
    "RedisStreamSink",
    "RedisStreamSource",
    "RedisWriteError",
    "SeenMessages",
    "SinkStatistics",
    "SourceStatistics",
    "StreamGap",
    "ack",
    "client_from_url",
    "dedupe",
    "delivery_of",
    "from_redis_stream",
    "redacted_url",
    "to_redis_stream",
]
