"""Redis failing under the operators: unreachable (``BLOCK`` holds the producer, the drop
policies count, failures after the retries become items), restarted mid-run with its
AOF, and a consumer killed in the middle of a read."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import reactivex
import redis
import redis_server as servers
from conftest import TIMEOUT, Recording
from reactivex import operators as ops
from reactivex.subject import Subject
from waiting import wait_until

from rxclaude.backpressure import BufferOverflowError, Policy
from rxclaude.framing import parse_json_frames
from rxclaude.messages import Message, ResultMessage
from rxclaude.redis import (
    Backoff,
    RedisReadError,
    RedisStreamSink,
    RedisWriteError,
    SeenMessages,
    dedupe,
    delivery_of,
    from_redis_stream,
    to_redis_stream,
)
from rxclaude.redis.server import LocalRedis

redis_server = servers.redis_server
redis_client = servers.redis_client
own_redis_server = servers.own_redis_server

QUICK = Backoff(0.001, 2.0, 0.02)
"""A backoff that keeps the tests short."""


def parsed(session: str, count: int) -> list[Message]:
    data = servers.session_frames(session, count)
    messages: list[Message] = reactivex.of(data).pipe(parse_json_frames(), ops.to_list()).run()
    return messages


def sequences(client: redis.Redis, key: str) -> list[int]:
    """The ``seq`` field of each entry of ``key``, in stream order."""
    entries: Any = client.xrange(key)
    return [int(fields[b"seq"]) for _entry_id, fields in entries]


class Producer:
    """A pipeline fed by hand: ``subject | sink``, recorded; ``push`` from a thread."""

    def __init__(self, sink: RedisStreamSink) -> None:
        self.sink = sink
        self.subject: Subject[Message] = Subject()
        self.recording = Recording[Message]()
        self.subject.pipe(sink).subscribe(self.recording)
        self.thread: threading.Thread | None = None

    def push(self, messages: list[Message], *, complete: bool = False) -> None:
        def run() -> None:
            for message in messages:
                self.subject.on_next(message)
            if complete:
                self.subject.on_completed()

        self.thread = threading.Thread(target=run, name="producer")
        self.thread.start()

    def join(self) -> None:
        assert self.thread is not None
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive()


@pytest.fixture
def down(own_redis_server: LocalRedis) -> Iterator[LocalRedis]:
    """A server that has been started once (its port is known) and is stopped now."""
    own_redis_server.stop()
    yield own_redis_server


def reconciles(sink: RedisStreamSink) -> bool:
    s = sink.statistics()
    settled = s.skipped + s.written + s.dropped + s.failed + s.discarded + s.pending
    return s.received == settled


# -- unreachable ----------------------------------------------------------------------------------


def test_block_holds_the_producer_while_redis_is_unreachable_then_writes_everything(
    down: LocalRedis,
) -> None:
    sent = parsed("s", 20)
    sink = to_redis_stream(
        servers.client_of(down), "k", buffer_size=4, batch=2, retries=None, backoff=QUICK
    )
    producer = Producer(sink)
    producer.push(sent, complete=True)
    wait_until(lambda: sink.statistics().producers_waiting == 1)
    wait_until(lambda: sink.statistics().retries >= 2)  # and Redis is still unreachable
    held = sink.statistics()
    assert held.producers_waiting == 1 and held.written == 0
    assert producer.thread is not None and producer.thread.is_alive()
    assert len(producer.recording.items) == held.received - 1  # the held item is not passed on
    assert held.received <= 4 + 2 + 1  # the buffer, the writer's batch, the held item
    down.start()
    producer.recording.wait_done()
    producer.join()
    assert producer.recording.completed and producer.recording.items == sent
    stats = sink.statistics()
    assert (stats.written, stats.dropped, stats.failed, stats.pending) == (20, 0, 0, 0)
    assert stats.blocked_time > 0
    assert sequences(servers.client_of(down), "k") == list(range(20))


@pytest.mark.parametrize(
    ("policy", "kept"),
    [(Policy.DROP_NEWEST, [0, 1, 2, 3, 4]), (Policy.DROP_OLDEST, [0, 46, 47, 48, 49])],
)
def test_drop_policies_never_hold_the_producer_and_count_what_they_drop(
    down: LocalRedis, policy: Policy, kept: list[int]
) -> None:
    sent = parsed("s", 50)
    dropped: list[Message] = []
    sink = to_redis_stream(
        servers.client_of(down),
        "k",
        policy=policy,
        buffer_size=4,
        batch=1,
        retries=None,
        backoff=QUICK,
        on_drop=dropped.append,
    )
    producer = Producer(sink)
    producer.push(sent[:1])
    wait_until(lambda: sink.statistics().retries >= 1)  # the writer holds message 0
    producer.join()
    producer.push(sent[1:])
    producer.join()  # never held: the buffer drops instead
    stats = sink.statistics()
    assert (stats.received, stats.dropped, stats.pending, stats.producers_waiting) == (50, 45, 5, 0)
    assert producer.recording.items == sent  # everything passes downstream all the same
    assert reconciles(sink)
    down.start()
    producer.push([], complete=True)
    producer.recording.wait_done()
    stats = sink.statistics()
    assert (stats.written, stats.dropped, stats.pending) == (5, 45, 0)
    assert sequences(servers.client_of(down), "k") == kept
    assert sorted(message.offset for message in dropped) == sorted(
        message.offset for n, message in enumerate(sent) if n not in kept
    )


def test_writes_failing_after_the_retries_become_items_not_silence(down: LocalRedis) -> None:
    sent = parsed("s", 10)
    sink = to_redis_stream(servers.client_of(down), "k", retries=2, backoff=QUICK)
    items = reactivex.from_iterable(sent).pipe(sink, ops.to_list()).run()
    failures = [item for item in items if isinstance(item, RedisWriteError)]
    assert [item for item in items if not isinstance(item, RedisWriteError)] == sent
    assert sum(failure.count for failure in failures) == 10
    covered = [n for f in failures for n in range(f.first_sequence, f.last_sequence + 1)]
    assert covered == list(range(10))
    assert {(f.attempts, f.streams) for f in failures} == {(3, ("k",))}
    assert all("ConnectionError" in failure.error for failure in failures)
    stats = sink.statistics()
    assert (stats.failed, stats.written, stats.retries) == (10, 0, 2 * len(failures))
    assert reconciles(sink)


def test_policy_error_ends_the_stream_with_the_overflow(down: LocalRedis) -> None:
    sent = parsed("s", 4)
    sink = to_redis_stream(
        servers.client_of(down), "k", policy=Policy.ERROR, buffer_size=2, batch=1, retries=1
    )
    producer = Producer(sink)
    producer.push(sent[:1])
    wait_until(lambda: sink.statistics().retries >= 1)
    producer.join()
    producer.push(sent[1:], complete=True)  # 1 and 2 fill the buffer, 3 overflows
    producer.recording.wait_done()
    assert isinstance(producer.recording.error, BufferOverflowError)
    failures = [item for item in producer.recording.items if isinstance(item, RedisWriteError)]
    assert sum(failure.count for failure in failures) == 3
    stats = sink.statistics()
    assert (stats.received, stats.failed, stats.dropped) == (4, 3, 1)
    assert reconciles(sink)


def test_a_key_function_that_raises_ends_the_stream_with_its_error(
    redis_client: redis.Redis,
) -> None:
    def key(message: Message) -> str:
        if isinstance(message, ResultMessage):
            raise LookupError("no stream for results")
        return "k"

    recording = Recording[Message]()
    reactivex.from_iterable(parsed("s", 20)).pipe(to_redis_stream(redis_client, key)).subscribe(
        recording
    )
    recording.wait_done()
    assert isinstance(recording.error, LookupError)


def test_the_source_gives_up_after_its_retries_with_a_read_error(down: LocalRedis) -> None:
    recording = Recording[Message]()
    from_redis_stream(servers.client_of(down), ["a", "b"], retries=2, backoff=QUICK).subscribe(
        recording
    )
    recording.wait_done()
    error = recording.error
    assert isinstance(error, RedisReadError)
    assert error.streams == ("a", "b") and "ConnectionError" in str(error)


# -- a restart, a dead consumer --------------------------------------------------------------------


def test_a_redis_restart_mid_run_loses_nothing_that_was_acknowledged(
    own_redis_server: LocalRedis,
) -> None:
    server, half, sessions = own_redis_server, 1000, ("p0", "p1", "p2")
    client = servers.client_of(server)
    patient = Backoff(0.01, 2.0, 0.2)
    producers = {
        session: Producer(to_redis_stream(client, "fleet:{session}", retries=None, backoff=patient))
        for session in sessions
    }
    messages = {session: parsed(session, 2 * half) for session in sessions}
    seen = SeenMessages()
    handled = Recording[Message]()
    source = from_redis_stream(
        client,
        [f"fleet:{session}" for session in sessions],
        group="g",
        block_ms=100,
        retries=None,
        backoff=patient,
    )
    reading = source.pipe(dedupe(seen)).subscribe(handled)
    for session, producer in producers.items():
        producer.push(messages[session][:half])
    for producer in producers.values():
        producer.join()
    wait_until(lambda: all(p.sink.statistics().written == half for p in producers.values()))
    wait_until(lambda: seen.unique == 3 * half)
    server.stop(kill=True)  # appendfsync always: every write acknowledged is in the AOF
    for session, producer in producers.items():
        producer.push(messages[session][half:], complete=True)
    wait_until(lambda: all(p.sink.statistics().retries >= 1 for p in producers.values()))
    wait_until(lambda: source.statistics().retries >= 1)
    server.start()
    for producer in producers.values():
        producer.recording.wait_done()
        assert producer.recording.completed
        stats = producer.sink.statistics()
        assert (stats.written, stats.failed, stats.dropped) == (2 * half, 0, 0)
    wait_until(lambda: seen.unique == 3 * 2 * half)
    wait_until(lambda: all(client.xpending(f"fleet:{s}", "g")["pending"] == 0 for s in sessions))
    reading.dispose()
    got = {(d.session, d.sequence) for m in handled.items if (d := delivery_of(m))}
    assert got == {(session, n) for session in sessions for n in range(2 * half)}
    assert len(handled.items) == 3 * 2 * half  # after dedupe: each once
    for session in sessions:
        kept = sequences(client, f"fleet:{session}")
        assert set(kept) == set(range(2 * half))  # a retried batch may have left copies
        assert kept[:half] == list(range(half))  # what was acknowledged before the kill


def test_a_killed_consumers_pending_entries_are_claimed_by_another(
    redis_server: LocalRedis, redis_client: redis.Redis
) -> None:
    sent = parsed("s", 300)
    reactivex.from_iterable(sent).pipe(to_redis_stream(redis_client, "k")).run()
    command = [sys.executable, servers.__file__, "consume", redis_server.port, "k", "g", 30]
    child = subprocess.Popen(list(map(str, command)), stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    handled_by_the_dead = []
    for line in child.stdout:
        if line.strip() == "holding":
            break
        handled_by_the_dead.append(int(line))
    child.kill()
    child.wait(TIMEOUT)
    assert handled_by_the_dead == list(range(30))
    (doomed,) = redis_client.xpending("k", "g")["consumers"]
    assert (doomed["name"], doomed["pending"]) == (b"doomed", 100)  # its whole read
    rescued = Recording[Message]()
    rescuer = from_redis_stream(
        redis_client, "k", group="g", consumer="rescuer", claim_idle_ms=100, block_ms=50
    )
    subscription = rescuer.subscribe(rescued)
    wait_until(lambda: len(rescued.items) == 300)
    wait_until(lambda: redis_client.xpending("k", "g")["pending"] == 0)  # all acknowledged
    subscription.dispose()
    deliveries = [d for m in rescued.items if (d := delivery_of(m))]
    assert sorted(d.sequence for d in deliveries) == list(range(300))
    claimed = {d.sequence for d in deliveries if d.redelivered}
    assert claimed == set(range(100))  # the dead consumer's read, the 30 it handled among them
    assert {d.consumer for d in deliveries} == {"rescuer"}
