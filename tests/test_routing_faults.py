"""route_by_type(mode="async") under faults: exits, blocked handlers, self-feeding handlers."""

from __future__ import annotations

import json
import threading

import pytest
import reactivex
from corpus_files import EPOCH
from reactivex.subject import Subject
from waiting import DEADLINE

from rxclaude import routing
from rxclaude.messages import Message, message_from_json
from rxclaude.routing import ALL, HandlerError, Kind, Router, route_by_type


def frame(frame_type: str, offset: int) -> Message:
    raw = {"type": frame_type, "subtype": "x"}
    return message_from_json(raw, offset=offset, nbytes=len(json.dumps(raw)), received_at=EPOCH)


def numbered(count: int, frame_type: str = "system") -> list[Message]:
    return [frame(frame_type, n) for n in range(count)]


class Run:
    """An observer that records what arrives and signals the end of the stream."""

    def __init__(self, source: reactivex.Observable[Message]) -> None:
        self.items: list[Message] = []
        self.error: Exception | None = None
        self.ended = threading.Event()
        self.subscription = source.subscribe(self.items.append, self.fail, self.ended.set)

    def fail(self, error: Exception) -> None:
        self.error = error
        self.ended.set()


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
