"""route_by_type(mode="async") under faults: exits, blocked handlers, self-feeding handlers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import reactivex
from corpus_files import EPOCH
from reactivex.subject import Subject
from test_routing import Run
from waiting import DEADLINE, wait_until

from rxclaude import routing
from rxclaude.messages import Message, message_from_json
from rxclaude.routing import ALL, HandlerError, Kind, Router, route_by_type


def frame(frame_type: str, offset: int) -> Message:
    raw = {"type": frame_type, "subtype": "x"}
    return message_from_json(raw, offset=offset, nbytes=len(json.dumps(raw)), received_at=EPOCH)


def numbered(count: int, frame_type: str = "system") -> list[Message]:
    return [frame(frame_type, n) for n in range(count)]


def feed(source: Subject[Message], messages: list[Message], *, complete: bool = True) -> None:
    """Push ``messages`` (then complete) on a thread of its own, and wait for it."""

    def produce() -> None:
        for message in messages:
            source.on_next(message)
        if complete:
            source.on_completed()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    producer.join(DEADLINE)
    assert not producer.is_alive(), "the producer is stuck in route_by_type"


# -- a handler raising a BaseException ------------------------------------------------------


@pytest.mark.parametrize("exit_error", [SystemExit(3), KeyboardInterrupt(), GeneratorExit()])
def test_a_handler_raising_a_base_exception_ends_the_async_stream(
    exit_error: BaseException,
) -> None:
    router = Router()
    handled: list[int] = []
    workers: list[threading.Thread] = []

    def exits_on_second(message: Message) -> None:
        workers.append(threading.current_thread())
        handled.append(message.offset)
        if message.offset == 1:
            raise exit_error

    router.register(ALL, exits_on_second)
    messages = numbered(4)
    source: Subject[Message] = Subject()
    run = Run(source.pipe(route_by_type(router, mode="async", max_workers=2)))
    feed(source, messages)

    assert run.ended.wait(DEADLINE), "the stream never ended"
    error = run.error
    assert isinstance(error, routing.HandlerAbortedError)
    assert error.error is exit_error and error.__cause__ is exit_error
    assert error.message is messages[1] and error.handler is exits_on_second
    assert type(exit_error).__name__ in str(error) and "exits_on_second" in str(error)
    assert run.items[:2] == messages[:2]
    assert not any(isinstance(item, HandlerError) for item in run.items)
    assert handled == [0, 1]
    assert router.statistics().handler_errors == 1
    for worker in workers:
        worker.join(DEADLINE)
        assert not worker.is_alive()


def test_a_base_exception_in_a_sync_handler_propagates_to_the_caller() -> None:
    router = Router()

    def exits(message: Message) -> None:
        raise SystemExit(4)

    router.register(Kind.SYSTEM, exits)
    items: list[Message] = []
    with pytest.raises(SystemExit) as raised:
        reactivex.from_iterable(numbered(2)).pipe(route_by_type(router)).subscribe(items.append)
    assert raised.value.code == 4
    assert items == []


def test_downstream_raising_on_a_worker_ends_the_async_stream() -> None:
    router = Router()
    pushed = threading.Event()
    failure = ValueError("handler")
    refused = RuntimeError("downstream")

    def fails_once_pushed(message: Message) -> None:
        pushed.wait(DEADLINE)
        raise failure

    router.register(ALL, fails_once_pushed)
    source: Subject[Message] = Subject()
    errors: list[Exception] = []
    ended = threading.Event()

    def refuse_handler_errors(item: Message) -> None:
        if isinstance(item, HandlerError):
            raise refused

    def record_error(error: Exception) -> None:
        errors.append(error)
        ended.set()

    source.pipe(route_by_type(router, mode="async")).subscribe(
        refuse_handler_errors, record_error, ended.set
    )
    source.on_next(numbered(1)[0])  # the worker, not this thread, passes the HandlerError on
    pushed.set()
    feed(source, [])

    assert ended.wait(DEADLINE), "the stream never ended"
    assert errors == [refused]


def test_downstream_raising_twice_on_a_worker_stops_the_routing_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = Router()
    pushed = threading.Event()
    reported: list[BaseException | None] = []
    hooked = threading.Event()

    def hook(arguments: threading.ExceptHookArgs) -> None:
        reported.append(arguments.exc_value)
        hooked.set()

    monkeypatch.setattr(threading, "excepthook", hook)

    def fails_once_pushed(message: Message) -> None:
        pushed.wait(DEADLINE)
        raise ValueError("handler")

    def refuse(item: object) -> None:
        raise RuntimeError(f"downstream refuses {type(item).__name__}")

    router.register(ALL, fails_once_pushed)
    source: Subject[Message] = Subject()
    source.pipe(route_by_type(router, mode="async")).subscribe(
        lambda item: refuse(item) if isinstance(item, HandlerError) else None,
        refuse,
        lambda: refuse(None),
    )
    source.on_next(numbered(1)[0])
    pushed.set()

    assert hooked.wait(DEADLINE), "nothing reported the failure"
    assert [str(error) for error in reported] == ["downstream refuses RuntimeError"]
    assert not source.observers


# -- dispose while a handler is blocked -----------------------------------------------------

SLACK = 5.0
"""Seconds a loaded machine may add to a bound measured by a test."""


class Blocked:
    """A handler blocked on its first message until released; it then raises."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.threads: list[threading.Thread] = []

    def __call__(self, message: Message) -> None:
        self.threads.append(threading.current_thread())
        self.started.set()
        self.release.wait(2 * DEADLINE)
        raise ValueError("too late")


def dispose_while_blocked(**options: Any) -> float:
    """Dispose a stream whose handler is blocked; the seconds dispose took.

    Checks that dispose returned while the handler was still blocked, that its worker was
    abandoned, and that nothing the handler did afterwards had any effect.
    """
    router = Router()
    blocked = Blocked()
    after: list[int] = []
    router.register(ALL, blocked, priority=1)
    router.register(ALL, lambda m: after.append(m.offset))  # same lane, after ``blocked``
    source: Subject[Message] = Subject()
    run = Run(source.pipe(route_by_type(router, mode="async", **options)))
    for message in numbered(3):
        source.on_next(message)
    assert blocked.started.wait(DEADLINE)
    took: list[float] = []
    disposed = threading.Event()

    def dispose() -> None:
        start = time.monotonic()
        run.subscription.dispose()
        took.append(time.monotonic() - start)
        disposed.set()

    threading.Thread(target=dispose, daemon=True).start()
    try:
        assert disposed.wait(DEADLINE), "dispose waits for the blocked handler"
        (worker,) = blocked.threads
        assert worker.is_alive() and worker.daemon
    finally:
        blocked.release.set()
    worker.join(DEADLINE)
    assert not worker.is_alive()
    assert after == []
    assert [m.offset for m in run.items] == [0, 1, 2] and not run.ended.is_set()
    assert not source.observers
    return took[0]


def test_dispose_waits_at_most_a_second_for_a_blocked_handler() -> None:
    took = dispose_while_blocked()
    assert 0.9 <= took < 1.0 + SLACK


def test_dispose_timeout_sets_how_long_dispose_waits_for_handlers() -> None:
    took = dispose_while_blocked(dispose_timeout=0)
    assert took < SLACK


# -- completion_timeout ---------------------------------------------------------------------


def test_completion_timeout_ends_the_stream_naming_the_running_handlers() -> None:
    router = Router()
    blocked = Blocked()
    handler_failure = ValueError("first")

    messages = numbered(3)

    def fails_on_first(message: Message) -> None:
        if message is messages[0]:
            raise handler_failure

    router.register(Kind.SYSTEM, blocked)
    router.register(ALL, fails_on_first)
    source: Subject[Message] = Subject()
    run = Run(source.pipe(route_by_type(router, mode="async", completion_timeout=0.05)))
    try:
        feed(source, messages, complete=False)
        wait_until(lambda: any(isinstance(item, HandlerError) for item in run.items))
        feed(source, [])
        assert run.ended.wait(DEADLINE), "the stream never ended"
        error = run.error
        assert isinstance(error, routing.CompletionTimeoutError)
        assert isinstance(error, TimeoutError) and isinstance(error, routing.RoutingError)
        assert error.timeout == 0.05
        assert error.running == ((blocked, messages[0]),)
        assert error.queued == 2
        assert "Blocked on the 'system' message at offset 0" in str(error)
        assert "0.05 s" in str(error)
    finally:
        blocked.release.set()
    (worker,) = blocked.threads
    worker.join(DEADLINE)
    assert not worker.is_alive()
    assert [item for item in run.items if not isinstance(item, HandlerError)] == messages
    (failure,) = [item for item in run.items if isinstance(item, HandlerError)]
    assert failure.error is handler_failure


def test_completion_within_the_timeout_completes_after_the_handlers() -> None:
    router = Router()
    release = threading.Event()
    handled: list[int] = []

    def slow(message: Message) -> None:
        release.wait(DEADLINE)
        handled.append(message.offset)

    router.register(Kind.SYSTEM, slow)
    source: Subject[Message] = Subject()
    run = Run(source.pipe(route_by_type(router, mode="async", completion_timeout=DEADLINE)))
    producer = threading.Thread(target=feed, args=(source, numbered(3)), daemon=True)
    producer.start()
    release.set()
    producer.join(DEADLINE)
    assert run.ended.wait(DEADLINE)
    assert run.error is None
    assert handled == [0, 1, 2]


def test_completion_timeout_passes_an_upstream_error_on_unchanged() -> None:
    router = Router()
    blocked = Blocked()
    router.register(ALL, blocked)
    source: Subject[Message] = Subject()
    upstream_failure = OSError("pipe")
    run = Run(source.pipe(route_by_type(router, mode="async", completion_timeout=0.01)))
    try:
        source.on_next(numbered(1)[0])
        assert blocked.started.wait(DEADLINE)
        source.on_error(upstream_failure)
        assert run.ended.wait(DEADLINE)
    finally:
        blocked.release.set()
    assert run.error is upstream_failure


# -- handlers feeding their own source ------------------------------------------------------


def feeding_run(
    router: Router, source: Subject[Message], first: list[Message], **options: Any
) -> Run:
    """Route ``source`` in async mode, push ``first`` from this thread, wait for the end."""
    run = Run(source.pipe(route_by_type(router, mode="async", **options)))
    for message in first:
        source.on_next(message)
    assert run.ended.wait(DEADLINE), "the stream never ended"
    return run


def test_a_handler_feeding_its_own_full_lane_ends_the_stream_with_a_deadlock_error() -> None:
    router = Router()
    source: Subject[Message] = Subject()
    fed: list[int] = []

    def feeds_itself(message: Message) -> None:
        if message.offset == 0:
            for more in numbered(4)[1:]:
                source.on_next(more)
                fed.append(more.offset)

    router.register(Kind.SYSTEM, feeds_itself)
    run = feeding_run(router, source, numbered(1), lane_capacity=1)

    error = run.error
    assert isinstance(error, routing.RoutingDeadlockError)
    assert isinstance(error, RuntimeError) and isinstance(error, routing.RoutingError)
    assert (error.lane, error.capacity) == (Kind.SYSTEM, 1)
    assert "lane Kind.SYSTEM is full (lane_capacity=1)" in str(error)
    assert [m.offset for m in run.items] == [0, 1]
    assert fed == [1, 2, 3]
    assert not source.observers


def test_a_lone_worker_feeding_another_full_lane_ends_the_stream_with_a_deadlock_error() -> None:
    router = Router()
    source: Subject[Message] = Subject()

    def feed_beta(message: Message) -> None:
        for n in (1, 2):
            source.on_next(frame("beta", n))

    router.register("alpha", feed_beta)
    router.register("beta", lambda m: None)
    run = feeding_run(router, source, [frame("alpha", 0)], lane_capacity=1, max_workers=1)

    error = run.error
    assert isinstance(error, routing.RoutingDeadlockError)
    assert (error.lane, error.capacity) == ("beta", 1)
    assert [(m.type, m.offset) for m in run.items] == [("alpha", 0), ("beta", 1)]


def test_workers_waiting_for_each_others_lanes_end_the_stream_with_a_deadlock_error() -> None:
    router = Router()
    source: Subject[Message] = Subject()
    both_running = threading.Barrier(2, timeout=DEADLINE)

    def feeder(into: str) -> Callable[[Message], None]:
        def feed_the_other_lane(message: Message) -> None:
            if message.offset == 0:
                both_running.wait()
                for n in (1, 2):
                    source.on_next(frame(into, n))

        return feed_the_other_lane

    router.register("alpha", feeder("beta"))
    router.register("beta", feeder("alpha"))
    run = feeding_run(
        router, source, [frame("alpha", 0), frame("beta", 0)], lane_capacity=1, max_workers=2
    )

    error = run.error
    assert isinstance(error, routing.RoutingDeadlockError)
    assert error.lane in ("alpha", "beta")


def test_feeding_a_lane_another_worker_drains_is_no_deadlock() -> None:
    router = Router()
    source: Subject[Message] = Subject()
    handled: list[int] = []

    def feed_beta(message: Message) -> None:
        for n in range(1, 6):
            source.on_next(frame("beta", n))
        source.on_completed()

    router.register("alpha", feed_beta)
    router.register("beta", lambda m: handled.append(m.offset))
    run = feeding_run(router, source, [frame("alpha", 0)], lane_capacity=1, max_workers=2)

    assert run.error is None
    assert handled == [1, 2, 3, 4, 5]
    assert [m.offset for m in run.items] == [0, 1, 2, 3, 4, 5]


def test_a_handler_completing_its_own_source_completes_the_stream_after_the_handlers() -> None:
    router = Router()
    source: Subject[Message] = Subject()
    handled: list[str] = []
    at_completion: list[list[str]] = []
    completed = threading.Event()

    def completes_on_last(message: Message) -> None:
        handled.append(f"first {message.offset}")
        if message.offset == 2:
            source.on_completed()

    def complete() -> None:
        at_completion.append(list(handled))
        completed.set()

    router.register(Kind.SYSTEM, completes_on_last, priority=1)
    router.register(Kind.SYSTEM, lambda m: handled.append(f"then {m.offset}"))
    items: list[Message] = []
    source.pipe(route_by_type(router, mode="async")).subscribe(items.append, on_completed=complete)
    for message in numbered(3):
        source.on_next(message)

    assert completed.wait(DEADLINE), "the stream never completed"
    assert at_completion == [[f"{step} {n}" for n in range(3) for step in ("first", "then")]]
    assert [m.offset for m in items] == [0, 1, 2]
