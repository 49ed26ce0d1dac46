"""A real ``redis-server`` for the Redis tests, the frames they send, and their child processes.

Fixtures (a test module imports the ones it uses):

* ``redis_server``: one :class:`~rxclaude.redis.server.LocalRedis` per test module, on
  127.0.0.1 with a free port and a temporary directory, AOF on with ``appendfsync always``;
  the tests skip, saying why, when the ``redis-server`` binary is missing (``.ci/run``
  installs it);
* ``redis_client``: a client of it, the server emptied first;
* ``own_redis_server``: a server of the test's own, for the tests that stop, kill or
  restart it.

Clients here make no retries of their own (redis-py's default makes ten): the operators'
retries are the ones under test.

Run as a script, it is a child process of the tests::

    python tests/redis_server.py produce PORT SESSION COUNT    # one host's pipeline
    python tests/redis_server.py consume PORT KEY GROUP HOLD_AT  # a consumer that hangs

``produce`` sends COUNT frames of session SESSION through ``parse_json_frames |
to_redis_stream(client, "fleet:{session}")`` and prints its statistics as JSON;
``consume`` reads KEY in GROUP as consumer ``doomed``, prints each message's sequence
number, and at the HOLD_AT-th message prints ``holding`` and never returns (the test then
kills it).
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    sys.path.insert(0, str(REPO))

import redis  # noqa: E402
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

from rxclaude.redis.server import LocalRedis  # noqa: E402

FLEET_KEY = "fleet:{session}"
"""The stream key template of the ``produce`` children."""

RESULT_EVERY = 500
"""Every this many frames of ``session_frames`` a turn ends with a ``result`` frame."""


def needs_redis_server() -> None:
    """Skips the test, saying why, when there is no ``redis-server`` to start."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")


def client_of(server: LocalRedis) -> redis.Redis:
    """A client of ``server`` that makes no retries of its own."""
    return server.client(retry=Retry(NoBackoff(), 0))


@pytest.fixture(scope="module")
def redis_server() -> Iterator[LocalRedis]:
    needs_redis_server()
    with LocalRedis(appendfsync="always") as server:
        yield server


@pytest.fixture
def redis_client(redis_server: LocalRedis) -> Iterator[redis.Redis]:
    client = client_of(redis_server)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def own_redis_server(tmp_path: Path) -> Iterator[LocalRedis]:
    needs_redis_server()
    with LocalRedis(directory=tmp_path / "redis", appendfsync="always") as server:
        yield server


# -- frames ---------------------------------------------------------------------------------


def session_frames(session: str, count: int) -> bytes:
    """``count`` NDJSON frames of one session: ``init``, then turns of text deltas, an
    ``assistant`` frame, a tool result, and a ``result`` frame every ``RESULT_EVERY``
    frames; each frame's ``uuid`` is new, and ``n`` is its position."""
    lines = []
    for n in range(count):
        frame: dict[str, object]
        if n == 0:
            frame = {"type": "system", "subtype": "init", "cwd": f"/work/{session}"}
        elif n % RESULT_EVERY == RESULT_EVERY - 1 or n == count - 1:
            frame = {"type": "result", "subtype": "success", "total_cost_usd": 0.001}
        elif n % 10 == 8:
            frame = {
                "type": "assistant",
                "message": {"id": f"msg_{n}", "content": [{"type": "text", "text": "ok"}]},
            }
        elif n % 10 == 9:
            content = [{"type": "tool_result", "tool_use_id": f"t{n}", "content": "done"}]
            frame = {"type": "user", "message": {"role": "user", "content": content}}
        else:
            delta = {"type": "text_delta", "text": f"word {n} "}
            frame = {
                "type": "stream_event",
                "event": {"type": "content_block_delta", "index": 0, "delta": delta},
            }
        frame |= {"session_id": session, "uuid": str(uuid.uuid4()), "n": n}
        lines.append(json.dumps(frame, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


# -- child processes -------------------------------------------------------------------------


def _produce(port: int, session: str, count: int) -> None:
    import reactivex  # noqa: PLC0415

    from rxclaude.framing import parse_json_frames  # noqa: PLC0415
    from rxclaude.redis import Backoff, to_redis_stream  # noqa: PLC0415

    data = session_frames(session, count)
    chunks = [data[start : start + 65536] for start in range(0, len(data), 65536)]
    client = redis.Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0))
    sink = to_redis_stream(client, FLEET_KEY, backoff=Backoff(0.01, 2.0, 0.5))
    reactivex.from_iterable(chunks).pipe(parse_json_frames(), sink).run()
    print(json.dumps(asdict(sink.statistics())), flush=True)


def _consume(port: int, key: str, group: str, hold_at: int) -> None:
    from rxclaude.redis import delivery_of, from_redis_stream  # noqa: PLC0415

    client = redis.Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0))
    source = from_redis_stream(client, key, group=group, consumer="doomed", count=100)
    handled = 0
    hold = threading.Event()

    def on_next(message: object) -> None:
        nonlocal handled
        handled += 1
        delivery = delivery_of(message)
        assert delivery is not None
        print(delivery.sequence, flush=True)
        if handled == hold_at:
            print("holding", flush=True)
            hold.wait()  # until killed: the read's entries stay pending, unacknowledged

    source.subscribe(on_next)
    hold.wait()


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "produce":
        _produce(int(arguments[0]), arguments[1], int(arguments[2]))
    elif command == "consume":
        _consume(int(arguments[0]), arguments[1], arguments[2], int(arguments[3]))
    else:
        raise SystemExit(f"unknown command {command!r}")
