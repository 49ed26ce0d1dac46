"""route_by_type and Router: kinds, counts, priorities, live registration, errors, async lanes."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import reactivex
from corpus_files import EPOCH, bundled_recordings, decode, recording
from reactivex.notification import OnError, OnNext
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.recorded import Recorded

from rxclaude.framing import parse_json_frames
from rxclaude.messages import Message, ParseError, message_from_json
from rxclaude.routing import (
    ALL,
    HandlerError,
    HandlerFailedError,
    Kind,
    Router,
    kinds_of,
    route_by_type,
)

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe


def frame(raw: dict[str, Any], offset: int = 0) -> Message:
    """A typed message for a JSON object, as ``parse_json_frames`` would make it."""
    return message_from_json(raw, offset=offset, nbytes=len(json.dumps(raw)), received_at=EPOCH)


def assistant(*blocks: dict[str, Any], **extra: Any) -> Message:
    return frame({"type": "assistant", "message": {"content": list(blocks)}, **extra})


def user(*blocks: dict[str, Any]) -> Message:
    return frame({"type": "user", "message": {"content": list(blocks)}})


def stream_event(event: dict[str, Any]) -> Message:
    return frame({"type": "stream_event", "event": event})


def text_delta(text: str, index: int = 0) -> Message:
    delta = {"type": "text_delta", "text": text}
    return stream_event({"type": "content_block_delta", "index": index, "delta": delta})


def numbered(count: int, frame_type: str = "system") -> list[Message]:
    """``count`` distinct messages (their offsets tell them apart)."""
    return [frame({"type": frame_type, "subtype": "x"}, offset=n) for n in range(count)]


def route_all(router: Router, messages: list[Message], **options: Any) -> list[Message]:
    """Route ``messages`` synchronously; the items that came out, in order."""
    out: list[Message] = []
    reactivex.from_iterable(messages).pipe(route_by_type(router, **options)).subscribe(out.append)
    return out


def delivered(records: list[Recorded[Message]]) -> list[tuple[int, Message]]:
    return [(r.time, r.value.value) for r in records if isinstance(r.value, OnNext)]


TEXT, TOOL, ERROR, SYSTEM = Kind.TEXT, Kind.TOOL_USE, Kind.ERROR, Kind.SYSTEM
METADATA, STATUS, PROGRESS, COMPLETE = Kind.METADATA, Kind.STATUS, Kind.PROGRESS, Kind.COMPLETE

MAPPING: list[tuple[str, Message, set[Kind]]] = [
    ("assistant text", assistant({"type": "text", "text": "hi"}), {TEXT}),
    ("assistant tool_use", assistant({"type": "tool_use", "id": "t", "name": "Bash"}), {TOOL}),
    (
        "assistant text and tool_use",
        assistant({"type": "text", "text": "a"}, {"type": "tool_use", "id": "t"}),
        {TEXT, TOOL},
    ),
    ("assistant server_tool_use", assistant({"type": "server_tool_use", "id": "s"}), {TOOL}),
    ("assistant web_search result", assistant({"type": "web_search_tool_result"}), {TOOL}),
    ("assistant thinking only", assistant({"type": "thinking", "thinking": "hm"}), set()),
    (
        "assistant API error",
        assistant(
            {"type": "text", "text": "API Error: 529"},
            is_api_error_message=True,
            error="overloaded",
        ),
        {TEXT, ERROR},
    ),
    (
        "assistant synthetic model",
        frame(
            {
                "type": "assistant",
                "message": {"model": "<synthetic>", "content": [{"type": "text", "text": "x"}]},
            }
        ),
        {TEXT, ERROR},
    ),
    ("user tool_result", user({"type": "tool_result", "tool_use_id": "t"}), {TOOL}),
    (
        "user failed tool_result",
        user({"type": "tool_result", "tool_use_id": "t", "is_error": True}),
        {TOOL, ERROR},
    ),
    ("user prompt", frame({"type": "user", "message": {"content": "hello"}}), set()),
    ("text delta", text_delta("hi"), {TEXT, PROGRESS}),
    (
        "thinking delta",
        stream_event(
            {"type": "content_block_delta", "delta": {"type": "thinking_delta", "thinking": "."}}
        ),
        {PROGRESS},
    ),
    ("message_start", stream_event({"type": "message_start", "message": {}}), {PROGRESS}),
    ("message_stop", stream_event({"type": "message_stop"}), {PROGRESS}),
    (
        "message_stop abandoning blocks",
        frame(
            {
                "type": "stream_event",
                "event": {"type": "message_stop"},
                "abandoned_blocks": {"from_block_index": 0},
            }
        ),
        {TEXT, PROGRESS},
    ),
    ("stream error", stream_event({"type": "error", "error": {}}), {ERROR, PROGRESS}),
    ("stream_event without event", frame({"type": "stream_event"}), {PROGRESS}),
    ("system/init", frame({"type": "system", "subtype": "init"}), {SYSTEM, METADATA}),
    ("system/status", frame({"type": "system", "subtype": "status"}), {SYSTEM, STATUS}),
    (
        "system/session_state_changed",
        frame({"type": "system", "subtype": "session_state_changed", "state": "idle"}),
        {SYSTEM, STATUS},
    ),
    ("system/api_retry", frame({"type": "system", "subtype": "api_retry"}), {SYSTEM, ERROR}),
    (
        "system/thinking_tokens",
        frame({"type": "system", "subtype": "thinking_tokens"}),
        {SYSTEM, PROGRESS},
    ),
    (
        "system/task_progress",
        frame({"type": "system", "subtype": "task_progress"}),
        {SYSTEM, PROGRESS},
    ),
    ("system/compact_boundary", frame({"type": "system", "subtype": "compact_boundary"}), {SYSTEM}),
    ("system/hook_response", frame({"type": "system", "subtype": "hook_response"}), {SYSTEM}),
    ("result", frame({"type": "result", "subtype": "success"}), {COMPLETE, METADATA}),
    (
        "failed result",
        frame({"type": "result", "subtype": "success", "is_error": True}),
        {COMPLETE, METADATA, ERROR},
    ),
    ("rate_limit_event", frame({"type": "rate_limit_event"}), {STATUS}),
    ("tool_progress", frame({"type": "tool_progress"}), {PROGRESS}),
    (
        "control_response error",
        frame({"type": "control_response", "response": {"subtype": "error", "error": "no"}}),
        {ERROR},
    ),
    (
        "control_response success",
        frame({"type": "control_response", "response": {"subtype": "success"}}),
        set(),
    ),
    ("control_request", frame({"type": "control_request", "request": {}}), set()),
    ("unknown type", frame({"type": "future_frame"}), set()),
    (
        "parse error",
        ParseError(
            reason="invalid_json", offset=0, nbytes=1, excerpt=b"x", detail="", received_at=EPOCH
        ),
        {ERROR},
    ),
    (
        "handler error",
        HandlerError(error=ValueError(), message=frame({"type": "result"}), handler=print),
        {ERROR},
    ),
]


@pytest.mark.parametrize(
    ("message", "expected"), [(m, k) for _, m, k in MAPPING], ids=[n for n, _, _ in MAPPING]
)
def test_kinds_of_follows_the_mapping(message: Message, expected: set[Kind]) -> None:
    assert kinds_of(message) == expected


def expected_kinds(raw: dict[str, Any]) -> set[Kind]:
    """The documented mapping, written out plainly over the raw JSON of a frame."""
    frame_type = raw.get("type")
    inner = raw.get("message")
    message: dict[str, Any] = inner if isinstance(inner, dict) else {}
    content = message.get("content")
    blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    block_types = {b.get("type") for b in blocks}
    kinds: set[Kind] = set()
    if frame_type == "assistant":
        if "text" in block_types:
            kinds.add(TEXT)
        tool_blocks = {"tool_use", "server_tool_use", "mcp_tool_use"}
        if block_types & tool_blocks or any(str(t).endswith("_tool_result") for t in block_types):
            kinds.add(TOOL)
        synthetic = message.get("model") == "<synthetic>"
        if raw.get("is_api_error_message") or synthetic or isinstance(raw.get("error"), str):
            kinds.add(ERROR)
    elif frame_type == "user" and "tool_result" in block_types:
        kinds.add(TOOL)
        if any(b.get("is_error") is True for b in blocks if b.get("type") == "tool_result"):
            kinds.add(ERROR)
    elif frame_type == "stream_event":
        kinds.add(PROGRESS)
        event = raw["event"]
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "text_delta":
            kinds.add(TEXT)
        if event["type"] == "message_stop" and "abandoned_blocks" in raw:
            kinds.add(TEXT)
    elif frame_type == "system":
        kinds.add(SYSTEM)
        extra = {
            "init": METADATA,
            "status": STATUS,
            "api_retry": ERROR,
            "thinking_tokens": PROGRESS,
            "task_progress": PROGRESS,
        }
        if raw.get("subtype") in extra:
            kinds.add(extra[raw["subtype"]])
    elif frame_type == "result":
        kinds |= {COMPLETE, METADATA} | ({ERROR} if raw.get("is_error") else set())
    elif frame_type == "rate_limit_event":
        kinds.add(STATUS)
    elif frame_type == "control_response" and raw["response"].get("subtype") == "error":
        kinds.add(ERROR)
    return kinds


class Tally:
    """Counts the messages routed to each key it is registered under."""

    def __init__(self, router: Router, keys: list[Kind | str]) -> None:
        self.counts: Counter[Kind | str] = Counter()
        for key in keys:
            router.register(key, self.counter(key))

    def counter(self, key: Kind | str) -> Callable[[Message], None]:
        return lambda _message: self.counts.update([key])


@pytest.mark.parametrize("path", bundled_recordings(), ids=lambda p: p.name)
def test_every_recording_is_routed_per_type_and_per_kind(path: Path) -> None:
    raws = [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    types = Counter(raw["type"] for raw in raws)
    kinds = Counter(kind for raw in raws for kind in expected_kinds(raw))
    router = Router()
    tally = Tally(router, [*Kind, *types, ALL])
    out: list[Message] = []

    reactivex.of(path.read_bytes()).pipe(parse_json_frames(), route_by_type(router)).subscribe(
        out.append
    )

    assert len(out) == len(raws)
    statistics = router.statistics()
    assert statistics.messages == len(raws)
    assert statistics.by_type == dict(types)
    assert statistics.by_kind == {kind: kinds[kind] for kind in Kind}
    assert statistics.handler_errors == 0
    assert tally.counts == Counter({ALL: len(raws), **types, **kinds})


def test_statistics_add_up_over_streams() -> None:
    router = Router()
    messages = decode(recording("tool_use_partial"))
    route_all(router, messages)
    route_all(router, messages)
    statistics = router.statistics()
    assert statistics.messages == 2 * len(messages)
    assert statistics.by_kind[Kind.TOOL_USE] == 4


def test_handlers_run_highest_priority_first_ties_in_registration_order() -> None:
    calls: list[str] = []

    class Named:
        def __init__(self, name: str, priority: int) -> None:
            self.name = name
            self.priority = priority

        def handle(self, message: Message) -> None:
            calls.append(self.name)

    router = Router()
    router.register(Kind.TEXT, lambda m: calls.append("callable 0"))
    router.register(Kind.TEXT, Named("object 5", 5))
    router.register("assistant", lambda m: calls.append("callable 5"), priority=5)
    router.register(ALL, Named("object -1", -1))
    router.register(Kind.TEXT, Named("object 7 overridden to 1", 7), priority=1)
    router.register(Kind.TOOL_USE, lambda m: calls.append("not routed"), priority=9)

    route_all(router, [assistant({"type": "text", "text": "hi"})])

    assert calls == [
        "object 5",
        "callable 5",
        "object 7 overridden to 1",
        "callable 0",
        "object -1",
    ]


def test_a_handler_matched_several_ways_runs_once_at_its_highest_priority() -> None:
    calls: list[str] = []

    class Both:
        priority = 0

        def handle(self, message: Message) -> None:
            calls.append("both")

        def __call__(self, message: Message) -> None:
            calls.append("__call__ is not used when handle exists")

    both = Both()
    router = Router()
    router.register(Kind.TEXT, both, priority=1)
    router.register(Kind.PROGRESS, lambda m: calls.append("progress 2"), priority=2)
    router.register(Kind.PROGRESS, both, priority=3)
    router.register(ALL, both)

    route_all(router, [text_delta("x")])

    assert calls == ["both", "progress 2"]


def test_register_checks_its_arguments() -> None:
    router = Router()
    with pytest.raises(TypeError, match="route key"):
        router.register(3, print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        router.register(Kind.TEXT, object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        route_by_type(router, mode="threads")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_workers"):
        route_by_type(router, mode="async", max_workers=0)


def test_unregister_and_the_registration_disposable() -> None:
    seen: list[str] = []

    def first(message: Message) -> None:
        seen.append("first")

    router = Router()
    router.register(Kind.SYSTEM, first)
    registration = router.register("system", lambda m: seen.append("second"))
    route_all(router, numbered(1))
    registration.dispose()
    route_all(router, numbered(1))
    assert router.unregister(Kind.SYSTEM, first) is True
    assert router.unregister(Kind.SYSTEM, first) is False
    route_all(router, numbered(1))
    assert seen == ["first", "second", "first"]


def test_registrations_change_while_a_stream_runs_on_another_thread() -> None:
    router = Router()
    source: Subject[Message] = Subject()
    seen: list[tuple[str, int]] = []

    def early(message: Message) -> None:
        seen.append(("early", message.offset))

    def late(message: Message) -> None:
        seen.append(("late", message.offset))

    router.register(ALL, early)
    source.pipe(route_by_type(router)).subscribe()
    requested = threading.Event()
    done = threading.Event()
    steps: list[Callable[[], object]] = [
        lambda: router.register(ALL, late),
        lambda: router.unregister(ALL, early),
    ]

    def registrar() -> None:
        for step in steps:
            requested.wait()
            requested.clear()
            step()
            done.set()

    thread = threading.Thread(target=registrar)
    thread.start()
    messages = numbered(3)
    source.on_next(messages[0])
    for message in messages[1:]:
        requested.set()
        done.wait()
        done.clear()
        source.on_next(message)
    thread.join()

    assert seen == [("early", 0), ("early", 1), ("late", 1), ("late", 2)]


def test_a_handler_may_register_another_while_routing() -> None:
    router = Router()
    seen: list[int] = []

    def once(message: Message) -> None:
        router.unregister(ALL, once)
        router.register(ALL, lambda m: seen.append(m.offset))

    router.register(ALL, once)
    route_all(router, numbered(3))
    assert seen == [1, 2]


def test_a_raising_handler_is_isolated_and_its_error_follows_the_message() -> None:
    scheduler = TestScheduler()
    first, second, third = numbered(3)
    source = scheduler.create_hot_observable(
        on_next(210, first), on_next(220, second), on_next(230, third), on_completed(240)
    )
    router = Router()
    failure = ValueError("boom")
    others: list[tuple[str, int]] = []
    errors: list[Message] = []

    def fragile(message: Message) -> None:
        if message is second:
            raise failure

    router.register(ALL, fragile, priority=1)
    router.register(ALL, lambda m: others.append((m.type, m.offset)))
    router.register(Kind.ERROR, errors.append)

    results = scheduler.start(lambda: source.pipe(route_by_type(router)))

    items = delivered(results.messages)
    assert [(t, m.type) for t, m in items] == [
        (210, "system"),
        (220, "system"),
        (220, "handler_error"),
        (230, "system"),
    ]
    error = items[2][1]
    assert isinstance(error, HandlerError)
    assert (error.error, error.message, error.handler) == (failure, second, fragile)
    assert (error.raw, error.offset, error.nbytes) == (None, second.offset, 0)
    assert error.received_at == second.received_at
    assert "fragile raised ValueError('boom')" in str(error)
    assert others == [("system", 0), ("system", 1), ("handler_error", 1), ("system", 2)]
    assert errors == [error]
    assert results.messages[-1] == on_completed(240)
    statistics = router.statistics()
    assert statistics.handler_errors == 1
    assert statistics.by_type["handler_error"] == 1
    assert statistics.by_kind[Kind.ERROR] == 1


def test_an_error_handler_that_raises_cannot_loop() -> None:
    router = Router()

    def always_fails(message: Message) -> None:
        raise RuntimeError(message.type)

    router.register(ALL, always_fails)
    out = route_all(router, numbered(1))

    assert [m.type for m in out] == ["system", "handler_error", "handler_error"]
    about_message, about_error = out[1], out[2]
    assert isinstance(about_message, HandlerError) and isinstance(about_error, HandlerError)
    assert about_error.message is about_message
    assert str(about_error.error) == "handler_error"
    assert router.statistics().handler_errors == 2


def test_fatal_errors_end_the_stream_at_the_failing_message() -> None:
    scheduler = TestScheduler()
    first, second = numbered(2)
    source = scheduler.create_hot_observable(
        on_next(210, first), on_next(220, second), on_completed(240)
    )
    router = Router()
    failure = KeyError("missing")

    def fragile(message: Message) -> None:
        if message is first:
            raise failure

    router.register(ALL, fragile)
    results = scheduler.start(lambda: source.pipe(route_by_type(router, fatal_errors=True)))

    assert delivered(results.messages) == [(210, first)]
    (end,) = [(r.time, r.value.exception) for r in results.messages if isinstance(r.value, OnError)]
    time, error = end
    assert time == 210
    assert isinstance(error, HandlerFailedError)
    assert error.error.message is first and error.__cause__ is failure
    assert source.subscriptions == [subscribe(200, 210)]


def test_upstream_errors_pass_through() -> None:
    scheduler = TestScheduler()
    failure = OSError("pipe")
    source = scheduler.create_hot_observable(
        on_next(210, numbered(1)[0]), ReactiveTest.on_error(220, failure)
    )
    results = scheduler.start(lambda: source.pipe(route_by_type(Router())))
    assert results.messages[-1] == ReactiveTest.on_error(220, failure)


def test_disposal_stops_routing_and_the_source() -> None:
    scheduler = TestScheduler()
    messages = numbered(3)
    source = scheduler.create_hot_observable(
        on_next(210, messages[0]), on_next(220, messages[1]), on_next(230, messages[2])
    )
    router = Router()
    seen: list[int] = []
    router.register(ALL, lambda m: seen.append(m.offset))
    scheduler.start(lambda: source.pipe(route_by_type(router)), disposed=225)
    assert seen == [0, 1]
    assert source.subscriptions == [subscribe(200, 225)]
    assert router.statistics().messages == 2


def test_on_gives_the_messages_of_a_kind_while_subscribed() -> None:
    router = Router()
    tools: list[Message] = []
    results: list[Message] = []
    messages = decode(recording("parallel_tools"))
    subscription = router.on(Kind.TOOL_USE).subscribe(tools.append)
    router.on("result").subscribe(results.append)

    out = route_all(router, messages)
    subscription.dispose()
    route_all(router, messages)

    assert out == messages
    assert tools == [m for m in messages if m.type in ("assistant", "user")]
    assert [m.type for m in results] == ["result", "result"]


def test_an_observer_of_on_that_raises_becomes_a_handler_error() -> None:
    router = Router()

    def fail(message: Message) -> None:
        raise ValueError("observer")

    router.on(Kind.SYSTEM).subscribe(fail)
    out = route_all(router, numbered(1))
    assert [m.type for m in out] == ["system", "handler_error"]


# -- async mode ---------------------------------------------------------------------------


def pool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("rxclaude-route-")]


def produce(source: Subject[Message], messages: list[Message]) -> None:
    """Push ``messages``, then complete (on the calling thread)."""
    for message in messages:
        source.on_next(message)
    source.on_completed()


class Run:
    """Subscribes an Observer that records items and signals the end of the stream."""

    def __init__(self, source: reactivex.Observable[Message]) -> None:
        self.items: list[Message] = []
        self.error: Exception | None = None
        self.ended = threading.Event()
        self.subscription = source.subscribe(self.items.append, self.fail, self.ended.set)

    def fail(self, error: Exception) -> None:
        self.error = error
        self.ended.set()


def test_async_mode_keeps_each_kinds_order_on_several_workers() -> None:
    rng = random.Random(7)
    kinds = [Kind.TEXT, Kind.TOOL_USE, Kind.STATUS, Kind.SYSTEM]
    samples = {
        Kind.TEXT: lambda: assistant({"type": "text", "text": "."}),
        Kind.TOOL_USE: lambda: user({"type": "tool_result", "tool_use_id": "t"}),
        Kind.STATUS: lambda: frame({"type": "rate_limit_event"}),
        Kind.SYSTEM: lambda: frame({"type": "system", "subtype": "hook"}),
    }
    messages = []
    for n in range(400):
        message = samples[rng.choice(kinds)]()
        message.offset = n
        messages.append(message)
    work = {m.offset: rng.randrange(2000) for m in messages}
    router = Router()
    seen: dict[Kind, list[int]] = {kind: [] for kind in kinds}

    def recorder(kind: Kind) -> Callable[[Message], None]:
        def record(message: Message) -> None:
            for _ in range(work[message.offset]):  # handlers of random durations
                pass
            seen[kind].append(message.offset)

        return record

    for kind in kinds:
        router.register(kind, recorder(kind))
        router.register(kind, recorder(kind))

    run = Run(
        reactivex.from_iterable(messages).pipe(
            route_by_type(router, mode="async", max_workers=3, lane_capacity=8)
        )
    )
    run.ended.wait()

    assert run.error is None and run.items == messages
    for kind in kinds:
        expected = [m.offset for m in messages if kind in kinds_of(m)]
        assert seen[kind] == [offset for offset in expected for _ in range(2)]
    assert pool_threads() == []


def test_async_lanes_run_concurrently() -> None:
    router = Router()
    status_ran = threading.Event()
    waited: list[bool] = []
    router.register(Kind.TEXT, lambda m: waited.append(status_ran.wait(timeout=30)))
    router.register(Kind.STATUS, lambda m: status_ran.set())
    messages = [assistant({"type": "text", "text": "."}), frame({"type": "rate_limit_event"})]
    run = Run(
        reactivex.from_iterable(messages).pipe(route_by_type(router, mode="async", max_workers=2))
    )
    run.ended.wait()
    assert waited == [True]


def test_async_completion_waits_for_the_handlers() -> None:
    router = Router()
    release = threading.Event()
    handled: list[int] = []
    handled_at_completion: list[int] = []

    def slow(message: Message) -> None:
        release.wait()
        handled.append(message.offset)

    router.register(ALL, slow)
    source: Subject[Message] = Subject()
    source.pipe(route_by_type(router, mode="async")).subscribe(
        on_completed=lambda: handled_at_completion.append(len(handled))
    )
    producer = threading.Thread(target=produce, args=(source, numbered(5)))
    producer.start()
    release.set()
    producer.join()
    assert handled_at_completion == [5]
    assert handled == [0, 1, 2, 3, 4]


def test_async_lanes_are_bounded_and_the_producer_waits() -> None:
    capacity = 2
    router = Router()
    release = threading.Event()
    emitted: list[Message] = []
    full = threading.Event()
    ahead: list[int] = []

    def handler(message: Message) -> None:
        release.wait()
        ahead.append(len(emitted) - (message.offset + 1))

    def record(message: Message) -> None:
        emitted.append(message)
        if len(emitted) == 1 + capacity:  # one running, ``capacity`` queued
            full.set()

    router.register(ALL, handler)
    source: Subject[Message] = Subject()
    run_ended = threading.Event()
    source.pipe(route_by_type(router, mode="async", lane_capacity=capacity)).subscribe(
        record, on_completed=run_ended.set
    )
    producer = threading.Thread(target=produce, args=(source, numbered(8)))
    producer.start()
    full.wait()
    release.set()
    producer.join()
    run_ended.wait()

    assert len(emitted) == 8
    assert max(ahead) <= capacity


def test_async_handler_errors_follow_their_message_and_are_counted() -> None:
    router = Router()
    errors: list[Message] = []

    def odd_fails(message: Message) -> None:
        if message.offset % 2:
            raise ValueError(message.offset)

    router.register(Kind.SYSTEM, odd_fails)
    router.register(Kind.ERROR, errors.append)
    messages = numbered(20)
    run = Run(reactivex.from_iterable(messages).pipe(route_by_type(router, mode="async")))
    run.ended.wait()

    failures = [m for m in run.items if isinstance(m, HandlerError)]
    assert [m for m in run.items if not isinstance(m, HandlerError)] == messages
    assert sorted(f.message.offset for f in failures) == list(range(1, 20, 2))
    for failure in failures:
        assert run.items.index(failure) > run.items.index(failure.message)
    assert sorted(e.offset for e in errors) == list(range(1, 20, 2))
    assert router.statistics().handler_errors == 10


def test_async_fatal_error_ends_the_stream_and_stops_the_pool() -> None:
    router = Router()
    failure = ValueError("fatal")

    def fails_on_third(message: Message) -> None:
        if message.offset == 2:
            raise failure

    router.register(ALL, fails_on_third)
    run = Run(
        reactivex.from_iterable(numbered(50)).pipe(
            route_by_type(router, mode="async", fatal_errors=True)
        )
    )
    run.ended.wait()
    for thread in pool_threads():
        thread.join()

    assert isinstance(run.error, HandlerFailedError)
    assert run.error.__cause__ is failure
    assert all(not isinstance(m, HandlerError) for m in run.items)


def test_async_dispose_mid_stream_joins_the_pool_threads() -> None:
    router = Router()
    started = threading.Event()
    release = threading.Event()
    handled: list[int] = []

    def slow(message: Message) -> None:
        started.set()
        release.wait()
        handled.append(message.offset)

    router.register(ALL, slow)
    source: Subject[Message] = Subject()
    subscription = source.pipe(route_by_type(router, mode="async", max_workers=2)).subscribe()
    for message in numbered(6):
        source.on_next(message)
    started.wait()
    disposer = threading.Thread(target=subscription.dispose)
    disposer.start()
    release.set()
    disposer.join()

    assert pool_threads() == []
    after_dispose = list(handled)
    source.on_next(numbered(1)[0])
    assert handled == after_dispose == list(range(len(after_dispose)))
    assert 1 <= len(after_dispose) <= 6


def test_async_dispose_from_a_handler_stops_the_pool() -> None:
    router = Router()
    handled: list[int] = []
    subscriptions: list[reactivex.abc.DisposableBase] = []

    def dispose_on_first(message: Message) -> None:
        handled.append(message.offset)
        subscriptions[0].dispose()

    router.register(ALL, dispose_on_first)
    source: Subject[Message] = Subject()
    subscriptions.append(source.pipe(route_by_type(router, mode="async")).subscribe())
    for message in numbered(3):
        source.on_next(message)
    for thread in pool_threads():
        thread.join()
    assert handled == [0]
