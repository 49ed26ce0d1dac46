"""``to_redis_stream`` and ``from_redis_stream`` against a real ``redis-server``: what an
entry holds, what comes back, keys, trimming, cursors, groups and acknowledgements,
``dedupe``, and a source's thread ending with ``dispose``."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
import reactivex
import redis
import redis_server as servers
from conftest import TIMEOUT, Recording
from corpus_files import bundled_recordings
from reactivex import operators as ops
from reactivex.scheduler import NewThreadScheduler
from reactivex.subject import Subject
from waiting import wait_until

from rxclaude.framing import parse_json_frames
from rxclaude.messages import InitMessage, Kind, Message, ParseError, ResultMessage, kinds_of
from rxclaude.redis import (
    PASSWORD_ENV,
    SeenMessages,
    StreamGap,
    ack,
    client_from_url,
    dedupe,
    delivery_of,
    from_redis_stream,
    redacted_url,
    to_redis_stream,
)
from rxclaude.redis.server import LocalRedis
from rxclaude.routing import HandlerError

redis_server = servers.redis_server
redis_client = servers.redis_client


def parsed(data: bytes) -> list[Message]:
    messages: list[Message] = reactivex.of(data).pipe(parse_json_frames(), ops.to_list()).run()
    return messages


def write(
    client: redis.Redis,
    messages: list[Message],
    key: str | Callable[[Message], str] = "k",
    **options: Any,
) -> None:
    sink = to_redis_stream(client, key, host="host-a", **options)
    passed = reactivex.from_iterable(messages).pipe(sink, ops.to_list()).run()
    assert passed == messages
    stats = sink.statistics()
    assert stats.written + stats.skipped == stats.received == len(messages)


def read(client: redis.Redis, keys: str | list[str], n: int, **options: Any) -> list[Message]:
    source = from_redis_stream(client, keys, block_ms=50, **options)
    messages: list[Message] = source.pipe(ops.take(n), ops.to_list()).run()
    return messages


def blocked_clients(client: redis.Redis) -> int:
    """Clients the server holds in a blocking command (``XREAD BLOCK``)."""
    return sum("b" in entry["flags"] for entry in client.client_list())


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "rxclaude-redis-reader"]


# -- what crosses Redis -----------------------------------------------------------------------


@pytest.mark.parametrize("path", bundled_recordings()[:4], ids=lambda path: path.name)
def test_a_recording_comes_back_as_the_same_typed_messages(
    redis_client: redis.Redis, path: Any
) -> None:
    sent = parsed(path.read_bytes())
    write(redis_client, sent)
    received = read(redis_client, "k", len(sent))
    assert [type(m).__mro__[1] for m in received] == [type(m) for m in sent]
    assert [m.raw for m in received] == [m.raw for m in sent]
    assert [m.offset for m in received] == [m.offset for m in sent]
    assert [kinds_of(m) for m in received] == [kinds_of(m) for m in sent]
    deliveries = [delivery_of(m) for m in received]
    assert [d.sequence for d in deliveries if d] == list(range(len(sent)))
    assert {(d.stream, d.host, d.group) for d in deliveries if d} == {("k", "host-a", None)}
    assert len({d.producer for d in deliveries if d}) == 1
    assert [d.session for d in deliveries if d][-1] == sent[-1].session_id


def test_parse_errors_cross_redis_as_parse_errors(redis_client: redis.Redis) -> None:
    sent = parsed(b'{"type":"system","subtype":"init","session_id":"s"}\n[SandboxDebug] x\n{"a"')
    assert [type(m) for m in sent][1:] == [ParseError, ParseError]
    write(redis_client, sent)
    received = read(redis_client, "k", 3)
    assert all(isinstance(m, ParseError) for m in received[1:])
    assert [
        (m.reason, m.excerpt, m.offset, m.nbytes) for m in received[1:] if isinstance(m, ParseError)
    ] == [(m.reason, m.excerpt, m.offset, m.nbytes) for m in sent[1:] if isinstance(m, ParseError)]


def test_items_that_are_not_frames_pass_without_being_written(redis_client: redis.Redis) -> None:
    frame = parsed(b'{"type":"result","session_id":"s"}\n')[0]
    item = HandlerError(error=ValueError("x"), message=frame, handler=print)
    sink = to_redis_stream(redis_client, "k")
    passed = reactivex.of(frame, item, "not a message").pipe(sink, ops.to_list()).run()
    assert passed == [frame, item, "not a message"]
    stats = sink.statistics()
    assert (stats.received, stats.written, stats.skipped) == (3, 1, 2)
    assert redis_client.xlen("k") == 1


def test_entries_that_are_not_frames_become_parse_errors_naming_the_entry(
    redis_client: redis.Redis,
) -> None:
    entries: list[dict[str, bytes]] = [
        {"frame": b'{"type":'},
        {"frame": b"[1,2]"},
        {"other": b"x"},
        {"frame": b"[" * 600 + b"]" * 600},
    ]
    ids: list[Any] = [redis_client.xadd("k", fields) for fields in entries]  # type: ignore[arg-type]
    received = read(redis_client, "k", 4)
    assert all(isinstance(m, ParseError) for m in received)
    reasons = [m.reason for m in received if isinstance(m, ParseError)]
    assert reasons == ["invalid_json", "not_an_object", "not_an_object", "invalid_json"]
    for message, entry_id in zip(received, ids, strict=True):
        assert isinstance(message, ParseError)
        assert f"stream 'k' entry {entry_id.decode()}" in message.detail
        assert kinds_of(message) == {Kind.ERROR}


# -- keys, trimming, batches ---------------------------------------------------------------------


def test_the_key_template_takes_session_project_and_host(redis_client: redis.Redis) -> None:
    sent = parsed(servers.session_frames("s1", 5) + servers.session_frames("s2", 3))
    write(redis_client, sent, key="{host}:{project}:{session}", project="before-init")
    assert redis_client.xlen("host-a:s1:s1") == 5
    assert redis_client.xlen("host-a:s2:s2") == 3


def test_a_key_function_chooses_each_message_stream(redis_client: redis.Redis) -> None:
    sent = parsed(servers.session_frames("s", 20))
    write(redis_client, sent, key=lambda m: "results" if isinstance(m, ResultMessage) else "rest")
    assert (redis_client.xlen("results"), redis_client.xlen("rest")) == (1, 19)


@pytest.mark.parametrize("template", ["claude:{sesion}", "{0}", ""])
def test_a_key_template_with_an_unknown_field_is_refused(
    redis_client: redis.Redis, template: str
) -> None:
    with pytest.raises((ValueError, TypeError)):
        to_redis_stream(redis_client, template)


def test_maxlen_trims_each_stream(redis_client: redis.Redis) -> None:
    sent = parsed(servers.session_frames("s", 1000))
    write(redis_client, sent, key="exact", maxlen=100, approximate=False)
    assert redis_client.xlen("exact") == 100
    kept = read(redis_client, "exact", 100)
    assert [d.sequence for m in kept if (d := delivery_of(m))] == list(range(900, 1000))
    write(redis_client, sent, key="about", maxlen=100)
    assert 100 <= redis_client.xlen("about") < 1000


def test_a_trickle_is_written_as_it_comes_not_at_the_end(redis_client: redis.Redis) -> None:
    sent = parsed(servers.session_frames("s", 3))
    subject: Subject[Message] = Subject()
    done = Recording[Message]()
    subject.pipe(to_redis_stream(redis_client, "k", batch=1000)).subscribe(done)
    for count, message in enumerate(sent, 1):
        subject.on_next(message)
        wait_until(lambda count=count: redis_client.xlen("k") == count)  # type: ignore[misc]
    assert not done.done.is_set()
    subject.on_completed()
    done.wait_done()
    assert done.completed and done.items == sent


def test_completion_comes_after_the_last_write(redis_client: redis.Redis) -> None:
    sent = parsed(servers.session_frames("s", 3000))
    lengths: list[int] = []
    sink = to_redis_stream(redis_client, "k", batch=64)
    reactivex.from_iterable(sent).pipe(sink).subscribe(
        on_completed=lambda: lengths.append(redis_client.xlen("k"))
    )
    assert lengths == [3000]
    assert sink.statistics().batches >= 3000 // 64


# -- reading without a group: the cursor --------------------------------------------------------


def test_a_cursor_resumes_where_the_last_source_stopped(redis_client: redis.Redis) -> None:
    write(redis_client, parsed(servers.session_frames("a", 30)), key="a")
    write(redis_client, parsed(servers.session_frames("b", 30)), key="b")
    first = from_redis_stream(redis_client, ["a", "b"], count=7, block_ms=50)
    head = first.pipe(ops.take(25), ops.to_list()).run()
    wait_until(lambda: not reader_threads())  # the 25th on_next has returned: it counts
    cursor = first.cursor()
    rest = read(redis_client, ["a", "b"], 35, start=cursor)
    seen = [(d.stream, d.sequence) for m in head + rest if (d := delivery_of(m))]
    assert sorted(seen) == sorted([("a", n) for n in range(30)] + [("b", n) for n in range(30)])


def test_start_dollar_reads_only_what_comes_next(redis_client: redis.Redis) -> None:
    write(redis_client, parsed(servers.session_frames("old", 10)), key="k")
    recording = Recording[Message]()
    source = from_redis_stream(redis_client, "k", start="$", block_ms=50)
    subscription = source.subscribe(recording)
    wait_until(lambda: source.statistics().reads >= 2)  # the position is taken, and a read ran
    write(redis_client, parsed(servers.session_frames("new", 4)), key="k")
    wait_until(lambda: len(recording.items) == 4)
    subscription.dispose()
    assert {d.session for m in recording.items if (d := delivery_of(m))} == {"new"}


def test_dispose_ends_the_reading_thread_even_inside_a_blocking_read(
    redis_client: redis.Redis,
) -> None:
    before = len(reader_threads())
    source = from_redis_stream(redis_client, "empty", block_ms=60_000)
    subscription = source.subscribe(Recording[Message]())
    wait_until(lambda: len(reader_threads()) == before + 1)
    wait_until(lambda: blocked_clients(redis_client) == 1)
    subscription.dispose()
    assert len(reader_threads()) == before
    wait_until(lambda: blocked_clients(redis_client) == 0)


def test_reads_can_run_on_a_scheduler(redis_client: redis.Redis) -> None:
    sent = parsed(servers.session_frames("s", 50))
    write(redis_client, sent)
    received = read(redis_client, "k", 50, scheduler=NewThreadScheduler(), count=8)
    assert [m.raw for m in received] == [m.raw for m in sent]


# -- consumer groups, acknowledgements, dedupe ----------------------------------------------------


def pending(client: redis.Redis, key: str = "k", group: str = "g") -> int:
    count: int = client.xpending(key, group)["pending"]
    return count


def test_auto_ack_comes_after_on_next_returned(redis_client: redis.Redis) -> None:
    write(redis_client, parsed(servers.session_frames("s", 10)))
    holding, release = threading.Event(), threading.Event()
    delivered: list[Message] = []

    def hold_the_first(message: Message) -> None:
        delivered.append(message)
        if len(delivered) == 1:
            holding.set()
            release.wait(TIMEOUT)

    source = from_redis_stream(redis_client, "k", group="g", block_ms=50)
    subscription = source.subscribe(hold_the_first)
    assert holding.wait(TIMEOUT)
    assert pending(redis_client) == 10  # the read's entries: handed out, not acknowledged
    release.set()
    wait_until(lambda: pending(redis_client) == 0)
    subscription.dispose()
    assert len(delivered) == 10


def test_explicit_ack_acknowledges_what_went_through_ack(redis_client: redis.Redis) -> None:
    write(redis_client, parsed(servers.session_frames("s", 10)))
    source = from_redis_stream(redis_client, "k", group="g", ack="explicit", block_ms=50)
    received = source.pipe(ops.take(10), ops.to_list()).run()
    assert len(received) == 10
    assert pending(redis_client) == 10  # nobody acknowledged them
    again = from_redis_stream(
        redis_client, "k", group="g", consumer="c2", ack="explicit", claim_idle_ms=1, block_ms=50
    )
    handled = again.pipe(
        ops.filter(lambda m: isinstance(m, Message)),
        ack(redis_client),
        ops.take(10),
        ops.to_list(),
    ).run()
    assert all(d.redelivered for m in handled if (d := delivery_of(m)))
    wait_until(lambda: pending(redis_client) == 0)


def test_ack_sends_what_it_holds_after_max_delay_when_the_end_of_a_read_is_filtered_out(
    redis_client: redis.Redis,
) -> None:
    write(redis_client, parsed(servers.session_frames("s", 10)))
    source = from_redis_stream(redis_client, "k", group="g", ack="explicit", block_ms=50)
    kept: list[Message] = []
    subscription = source.pipe(
        ops.filter(lambda m: not isinstance(m, ResultMessage)),  # the read's last entry
        ack(redis_client, max_delay=0.05),
    ).subscribe(kept.append)
    wait_until(lambda: len(kept) == 9)
    wait_until(lambda: pending(redis_client) == 1)  # the filtered result, not acknowledged
    subscription.dispose()
    left: Any = redis_client.xpending_range("k", "g", "-", "+", 10)
    last: Any = redis_client.xrevrange("k", count=1)
    assert [entry["message_id"] for entry in left] == [last[0][0]]


def test_own_pending_entries_come_first_after_a_restart_of_the_consumer(
    redis_client: redis.Redis,
) -> None:
    write(redis_client, parsed(servers.session_frames("s", 6)))
    first = read(redis_client, "k", 6, group="g", consumer="same", ack="explicit")
    assert not any(d.redelivered for m in first if (d := delivery_of(m)))
    second = read(redis_client, "k", 6, group="g", consumer="same", claim_idle_ms=None)
    assert [d.redelivered for m in second if (d := delivery_of(m))] == [True] * 6
    assert [m.raw for m in second] == [m.raw for m in first]
    wait_until(lambda: pending(redis_client) == 0)


def test_dedupe_drops_copies_and_can_acknowledge_them(redis_client: redis.Redis) -> None:
    sent = parsed(servers.session_frames("s", 5))
    write(redis_client, sent)
    copies: Any = redis_client.xrange("k", count=2)  # as a retried write leaves them
    for _entry_id, fields in copies:
        redis_client.xadd("k", fields)
    assert redis_client.xlen("k") == 7
    seen = SeenMessages()
    source = from_redis_stream(redis_client, "k", group="g", ack="explicit", block_ms=50)
    kept: list[Message] = []
    subscription = source.pipe(dedupe(seen, acknowledge=redis_client), ack(redis_client)).subscribe(
        kept.append
    )
    wait_until(lambda: seen.unique + seen.duplicates == 7)
    wait_until(lambda: pending(redis_client) == 0)
    subscription.dispose()
    assert [m.raw for m in kept] == [m.raw for m in sent]
    assert (seen.unique, seen.duplicates) == (5, 2)


def test_entries_trimmed_while_pending_become_a_gap(redis_client: redis.Redis) -> None:
    write(redis_client, parsed(servers.session_frames("s", 8)))
    read(redis_client, "k", 8, group="g", consumer="dead", ack="explicit")
    redis_client.xtrim("k", maxlen=0, approximate=False)
    claimed = read(redis_client, "k", 1, group="g", consumer="live", claim_idle_ms=1)
    (gap,) = claimed
    assert isinstance(gap, StreamGap)
    assert (gap.stream, len(gap.entry_ids)) == ("k", 8)
    assert kinds_of(gap) == {Kind.ERROR}
    assert pending(redis_client) == 0


# -- clients, and the extra -----------------------------------------------------------------------


def test_client_from_url_takes_the_password_from_the_environment(
    redis_server: LocalRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    client = client_from_url(redis_server.url)
    assert client.connection_pool.connection_kwargs["password"] == "s3cret"
    assert redacted_url("redis://u:s3cret@h:1/0") == "redis://u:[redacted]@h:1/0"
    assert redacted_url(redis_server.url) == redis_server.url


def test_without_redis_py_the_import_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "import rxclaude, rxclaude.pipeline\n"
        "try:\n    import rxclaude.redis\n"
        "except ImportError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'rxclaude[redis]'" in done.stdout


def test_messages_read_are_instances_of_the_framing_classes(redis_client: redis.Redis) -> None:
    sent = parsed(servers.session_frames("s", 500))
    write(redis_client, sent)
    received = read(redis_client, "k", 500)
    assert isinstance(received[0], InitMessage)
    assert isinstance(received[-1], ResultMessage)
    assert type(received[-1]).__name__ == "RedisResultMessage"
