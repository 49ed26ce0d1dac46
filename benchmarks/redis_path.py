"""Cases "redis" and "redis_many": the corpus through Redis Streams on loopback.

Each producer is a process of its own (a host), running ``from_file | parse_json_frames() |
to_redis_stream(client, "bench:N")`` over the corpus; the dashboard, in the benchmark's
process, runs ``from_redis_stream(client, keys, group="dashboard") | route_by_type(
Router.default()) | measure()`` until it has every message: the time is from the
producers' start to the dashboard's last message. "redis" has one producer, "redis_many"
one per ``--streams`` (8 by default), all into the one dashboard.

The server is a :class:`~rxclaude.redis.LocalRedis` (AOF on, ``appendfsync everysec``,
Redis' recommended setting), started once for the case and emptied before each run; the
producers are processes started once (``python -m benchmarks.redis_path``, one run per line
of input), so interpreter start-up is not timed.
Both cases skip when redis-py (the ``redis`` extra) or ``redis-server`` is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import weakref
from importlib import metadata
from pathlib import Path
from subprocess import PIPE
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):  # run as a producer process: python -m benchmarks.redis_path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import BenchmarkError, CaseUnavailableError, timeout_for

if TYPE_CHECKING:
    from reactivex import Observable

    from rxclaude import Message

GROUP = "dashboard"
REPO = Path(__file__).resolve().parents[1]
PRODUCER_EXIT_SECONDS = 30.0
"""How long a producer process may take to end once its input is closed."""


def _answer(worker: subprocess.Popen[str]) -> str:
    """The producer process's next line (empty if it ended)."""
    assert worker.stdout is not None
    return worker.stdout.readline().strip()


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


def _close(server: Any, client: Any, workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        if worker.stdin is not None:
            worker.stdin.close()  # the worker's loop ends at the end of its input
    for worker in workers:
        worker.wait(PRODUCER_EXIT_SECONDS)
        if worker.stdout is not None:
            worker.stdout.close()
    client.close()
    server.close()


def _worker() -> None:
    """A producer process: one ``produce`` per input line ``PORT PATH KEY``, its report
    as a JSON line; ``ready`` once the imports are done."""
    import rxclaude.redis  # noqa: F401, PLC0415

    print("ready", flush=True)
    for line in sys.stdin:
        port, path, key = line.split()
        print(json.dumps(produce(int(port), path, key)), flush=True)


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
        command = [sys.executable, "-m", "benchmarks.redis_path"]
        self._workers = [
            subprocess.Popen(command, cwd=REPO, stdin=PIPE, stdout=PIPE, text=True)
            for _ in self._keys
        ]
        self.close = weakref.finalize(self, _close, self._server, self._client, self._workers)
        """Stops the producers and the server (at exit at the latest)."""
        for worker in self._workers:
            if _answer(worker) != "ready":
                raise BenchmarkError("a producer process did not start")
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
        try:
            for worker, key in zip(self._workers, self._keys, strict=True):
                assert worker.stdin is not None
                worker.stdin.write(f"{self._server.port} {self._path} {key}\n")
                worker.stdin.flush()
            answers = [_answer(worker) for worker in self._workers]
            if not all(answers):
                raise BenchmarkError("a producer process ended before its report")
            reports = [json.loads(answer) for answer in answers]
            finished = done.wait(timeout_for(self._path) * len(self._keys))
        finally:
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


if __name__ == "__main__":
    _worker()
