"""Cases "redis" and "redis_many": the corpus through Redis Streams on loopback.

Each producer is a process of its own (a host), running ``from_file | parse_json_frames() |
to_redis_stream(client, "bench:N")`` over the corpus; the dashboard, in the benchmark's
process, runs ``from_redis_stream(client, keys, group="dashboard") | route_by_type(
Router.default()) | measure()`` until it has every message: the time is from the
producers' start to the dashboard's last message. "redis" has one producer, "redis_many"
one per ``--streams`` (8 by default), all into the one dashboard.

The server is a :class:`~rxclaude.redis.LocalRedis` (AOF on, ``appendfsync everysec``,
Redis' recommended setting), started once for the case and emptied before each run; the
producers are a pool of processes started once, so interpreter start-up is not timed.
Both cases skip when redis-py (the ``redis`` extra) or ``redis-server`` is missing.
"""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import weakref
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from typing import TYPE_CHECKING, Any

from benchmarks.common import BenchmarkError, CaseUnavailableError, timeout_for

if TYPE_CHECKING:
    from reactivex import Observable

    from rxclaude import Message

GROUP = "dashboard"


def produce(port: int, path: str, key: str) -> dict[str, int]:
    """One host: the corpus into the stream ``key``; what its sink counted."""
    import redis  # noqa: PLC0415
    from reactivex import operators as ops  # noqa: PLC0415

    from rxclaude.framing import parse_json_frames  # noqa: PLC0415
    from rxclaude.redis import to_redis_stream  # noqa: PLC0415
    from rxclaude.sources import from_file  # noqa: PLC0415

    client = redis.Redis(host="127.0.0.1", port=port)
    sink = to_redis_stream(client, key)
    written: Observable[Message] = sink(from_file(path).pipe(parse_json_frames()))
    passed: int = written.pipe(ops.count()).run()
    stats = sink.statistics()
    client.close()
    return {"passed": passed, "written": stats.written, "failed": stats.failed}


def _close(server: Any, pool: ProcessPoolExecutor) -> None:
    pool.shutdown(cancel_futures=True)
    server.close()


class RedisPath:
    """A server and ``producers`` producer processes, ready for timed runs."""

    def __init__(self, path: str, lines: int, producers: int) -> None:
        try:
            import redis  # noqa: PLC0415

            from rxclaude.redis import LocalRedis  # noqa: PLC0415
        except ImportError as missing:
            raise CaseUnavailableError(f"the redis extra is not installed ({missing})") from None
        if shutil.which("redis-server") is None:
            raise CaseUnavailableError("redis-server is not installed")
        self._path = path
        self._expected = lines * producers
        self._keys = [f"bench:{n}" for n in range(producers)]
        self._server = LocalRedis()
        self._server.start()
        self._client = redis.Redis(host="127.0.0.1", port=self._server.port)
        self._pool = ProcessPoolExecutor(producers, mp_context=multiprocessing.get_context("spawn"))
        self.close = weakref.finalize(self, _close, self._server, self._pool)
        """Stops the producers and the server (at exit at the latest)."""
        self.last: dict[str, Any] = {}

    def run(self) -> int:
        """Every producer's corpus through Redis to the dashboard; its message count."""
        from rxclaude import Router, StreamMetrics, measure, route_by_type  # noqa: PLC0415
        from rxclaude.redis import from_redis_stream  # noqa: PLC0415

        self._client.flushall()
        metrics = StreamMetrics()
        done = threading.Event()
        errors: list[Exception] = []
        count = 0

        def on_next(_message: object) -> None:
            nonlocal count
            count += 1
            if count == self._expected:
                done.set()

        def on_error(error: Exception) -> None:
            errors.append(error)
            done.set()

        source = from_redis_stream(self._client, self._keys, group=GROUP, block_ms=100)
        dashboard = source.pipe(route_by_type(Router.default()), measure(metrics))
        subscription = dashboard.subscribe(on_next, on_error)
        port = self._server.port
        futures = [self._pool.submit(produce, port, self._path, key) for key in self._keys]
        timeout = timeout_for(self._path) * len(self._keys)
        reports = [future.result(timeout) for future in futures]
        finished = done.wait(timeout)
        subscription.dispose()
        if errors:
            raise BenchmarkError(f"the dashboard failed: {errors[0]!r}") from errors[0]
        if not finished:
            raise BenchmarkError(f"the dashboard had {count:,} of {self._expected:,} messages")
        if any(report["written"] != report["passed"] for report in reports):
            raise BenchmarkError(f"a producer did not write everything: {reports}")
        self.last = {
            "producers": len(self._keys),
            "written": [report["written"] for report in reports],
            "metrics_messages_received": metrics.snapshot().messages_received,
            "redelivered": source.statistics().redelivered,
        }
        return count

    def details(self) -> dict[str, Any]:
        """The untimed check: one run, what it counted, and the server's version."""
        self.run()
        info: Any = self._client.info("server")
        versions = {"redis_server": info["redis_version"], "redis_py": metadata.version("redis")}
        return self.last | versions
