"""Many hosts, one dashboard: eight producer processes write 20,000 messages each through
``parse_json_frames | to_redis_stream``, and a consumer group of three consumers reads
them: every message handled at least once, exactly once after ``dedupe``, in order per
session."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from typing import Any

import redis
import redis_server as servers
from conftest import TIMEOUT
from reactivex import operators as ops
from waiting import wait_until

from rxclaude.messages import Message, ResultMessage
from rxclaude.redis import SeenMessages, dedupe, delivery_of, from_redis_stream
from rxclaude.redis.server import LocalRedis

redis_server = servers.redis_server
redis_client = servers.redis_client

PRODUCERS = 8
MESSAGES = 20_000
CONSUMERS = 3

Handled = tuple[str, int, str, bool]
"""What a consumer keeps of a message: session, sequence, entry id, is it a result."""


def handled(message: Message) -> Handled:
    delivery = delivery_of(message)
    assert delivery is not None, f"{message!r} did not come from Redis"
    return (
        delivery.session,
        delivery.sequence,
        delivery.entry_id,
        isinstance(message, ResultMessage),
    )


def entry_order(entry_id: str) -> tuple[int, int]:
    milliseconds, number = entry_id.split("-")
    return int(milliseconds), int(number)


def test_eight_producer_processes_into_one_group_of_three_consumers(
    redis_server: LocalRedis, redis_client: redis.Redis
) -> None:
    sessions = [f"host{n}" for n in range(PRODUCERS)]
    keys = [servers.FLEET_KEY.format(session=session) for session in sessions]
    seen = SeenMessages()
    consumers: list[list[Handled]] = [[] for _ in range(CONSUMERS)]
    sources = [
        from_redis_stream(redis_client, keys, group="dashboard", consumer=f"c{n}", block_ms=100)
        for n in range(CONSUMERS)
    ]
    subscriptions = [
        source.pipe(dedupe(seen), ops.map(handled)).subscribe(kept.append)
        for source, kept in zip(sources, consumers, strict=True)
    ]
    produce = [sys.executable, servers.__file__, "produce", str(redis_server.port)]
    children = [
        subprocess.Popen([*produce, session, str(MESSAGES)], stdout=subprocess.PIPE, text=True)
        for session in sessions
    ]
    reports: list[dict[str, Any]] = []
    for child in children:
        out, _ = child.communicate(timeout=TIMEOUT)
        assert child.returncode == 0
        reports.append(json.loads(out))
    total = PRODUCERS * MESSAGES
    wait_until(lambda: seen.unique == total, deadline=2 * TIMEOUT)
    wait_until(lambda: all(redis_client.xpending(key, "dashboard")["pending"] == 0 for key in keys))
    for subscription in subscriptions:
        subscription.dispose()

    for report in reports:  # every producer wrote everything, nothing dropped or failed
        assert (report["received"], report["written"]) == (MESSAGES, MESSAGES)
        assert report["dropped"] == report["failed"] == report["discarded"] == 0
    delivered = sum(source.statistics().delivered for source in sources)
    everything = [item for kept in consumers for item in kept]
    # at least once, and exactly once after dedupe
    assert delivered >= total == len(everything) == seen.unique
    assert delivered - total == seen.duplicates
    assert {(session, seq) for session, seq, _, _ in everything} == {
        (session, seq) for session in sessions for seq in range(MESSAGES)
    }
    # the group shares the work, and each consumer sees each session in order
    assert all(kept for kept in consumers)
    for kept in consumers:
        for session in sessions:
            mine = [(entry_order(entry), seq) for s, seq, entry, _ in kept if s == session]
            assert mine == sorted(mine)
            assert [seq for _, seq in mine] == sorted(seq for _, seq in mine)
    # the stream of each session is in the producer's order: entry ids follow sequences
    for session in sessions:
        ordered = sorted(
            (entry_order(entry), seq) for s, seq, entry, _ in everything if s == session
        )
        assert [seq for _, seq in ordered] == list(range(MESSAGES))
    results = Counter(session for session, _, _, is_result in everything if is_result)
    assert results == dict.fromkeys(sessions, MESSAGES // servers.RESULT_EVERY)
