"""Reaching Redis: clients from a URL, the private reading client, and retries.

* :func:`client_from_url` makes a ``redis.Redis`` from a ``redis://`` URL; the password
  comes from the URL or from an environment variable, and :func:`redacted_url` is the
  URL safe to show (the password replaced).
* :func:`reading_client` gives a source its own connection pool with the caller's
  settings, so that ``dispose`` can close the connection a blocking read waits on
  without touching the caller's pool.
* :class:`Backoff` and :func:`call_with_retries`: the retries every part of the package
  makes around a command, interruptible by a stop event so that ``dispose`` never waits
  for a backoff to end. Only failures that may pass (connection lost, time-out, a server
  loading its data or read-only during a fail-over) are retried; any other error is final.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from rxclaude.redact import REDACTED, redact

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_RETRIES",
    "PASSWORD_ENV",
    "RETRYABLE",
    "Backoff",
    "StoppedError",
    "call_with_retries",
    "check_retries",
    "client_from_url",
    "describe_error",
    "reading_client",
    "redacted_url",
]

_T = TypeVar("_T")

PASSWORD_ENV = "RXCLAUDE_REDIS_PASSWORD"
"""The environment variable :func:`client_from_url` takes the password from when the URL
has none."""

RETRYABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, ReadOnlyError)
"""Failures that may pass: retried with backoff (``BusyLoadingError``, a server loading its
AOF after a restart, is a ``ConnectionError``)."""

DEFAULT_RETRIES = 10
"""Retries after the first attempt; with :data:`DEFAULT_BACKOFF` about 11 s in all."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: ``first`` seconds before the first retry, ``factor`` times
    longer before each next one, never more than ``limit``."""

    first: float = 0.05
    factor: float = 2.0
    limit: float = 2.0

    def __post_init__(self) -> None:
        if not (self.first >= 0 and self.factor >= 1 and self.limit >= self.first):
            raise ValueError(
                f"Backoff needs first >= 0, factor >= 1 and limit >= first, got {self}"
            )

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first)."""
        return float(min(self.first * self.factor**retry, self.limit))


DEFAULT_BACKOFF = Backoff()


def check_retries(retries: int | None) -> None:
    """Raises unless ``retries`` is ``None`` (retry for ever) or an int >= 0."""
    if retries is None:
        return
    if not isinstance(retries, int) or isinstance(retries, bool):
        raise TypeError(f"retries must be an int or None, not {type(retries).__name__}")
    if retries < 0:
        raise ValueError(f"retries must be >= 0 or None, got {retries}")


class StoppedError(Exception):
    """The stop event was set while waiting to retry: the caller is being disposed."""


def call_with_retries(
    command: Callable[[], _T],
    *,
    retries: int | None,
    backoff: Backoff,
    stop: threading.Event,
    on_retry: Callable[[Exception], object] | None = None,
) -> _T:
    """``command()``, retried after each :data:`RETRYABLE` failure up to ``retries`` times.

    Raises the last failure when the retries are spent, any other exception at once, and
    :class:`StoppedError` when ``stop`` is set while it waits to retry (it does not start a
    retry after ``stop`` is set either).
    """
    retry = 0
    while True:
        try:
            return command()
        except RETRYABLE as failure:
            if (retries is not None and retry >= retries) or stop.is_set():
                if stop.is_set():
                    raise StoppedError from failure
                raise
            if on_retry is not None:
                on_retry(failure)
            if stop.wait(backoff.delay(retry)):
                raise StoppedError from failure
            retry += 1


def describe_error(error: BaseException) -> str:
    """``"TypeName: text"`` with anything that looks like a credential redacted."""
    return redact(f"{type(error).__name__}: {error}")


def redacted_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``[redacted]``, safe to show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    netloc = f"{user}:{REDACTED}@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def client_from_url(url: str, *, password_env: str = PASSWORD_ENV) -> redis.Redis:
    """A client for ``url`` (``redis://[[user]:password@]host[:port][/db]``, ``rediss://``
    for TLS, ``unix://``); without a password in the URL, the one in the environment
    variable ``password_env`` if set. Nothing here prints or logs the password."""
    password = os.environ.get(password_env) if urlsplit(url).password is None else None
    if password:
        return redis.Redis.from_url(url, password=password)
    return redis.Redis.from_url(url)


def reading_client(client: redis.Redis) -> tuple[redis.Redis, redis.ConnectionPool]:
    """A client of its own with ``client``'s connection settings, and its pool.

    Replies come as bytes (RESP2, ``decode_responses`` off) whatever ``client`` says, and
    the client makes no retries of its own: the source retries with its own backoff, and
    a connection closed by ``dispose`` must end the blocking read, not reconnect.
    """
    pool = client.connection_pool
    settings = {
        name: value
        for name, value in pool.connection_kwargs.items()
        # redis-py 7+'s RESP3 maintenance notifications belong to the caller's pool.
        if not name.startswith("maint_notifications") and name != "retry_on_error"
    }
    settings.update(decode_responses=False, protocol=2, retry=Retry(NoBackoff(), 0))
    own = redis.ConnectionPool(connection_class=pool.connection_class, **settings)
    return redis.Redis(connection_pool=own), own


def is_error(error: BaseException, code: str) -> bool:
    """Whether ``error`` is a Redis error reply starting with ``code`` (``NOGROUP``…)."""
    return isinstance(error, RedisError) and str(error).startswith(code)
