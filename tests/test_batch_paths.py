"""The fused paths between rxclaude operators give what the item-by-item paths give.

``measure`` right after ``route_by_type`` takes each message with the kind mask routing
computed (``RoutedObservable.subscribe_classified``), and ``backpressure`` right after
``parse_json_frames`` takes each chunk's messages as one list; with anything in between
they subscribe the usual way. On every recording, and on a generated corpus, both give the
same items, the same handler results and the same counts.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import reactivex as rx
from corpus_files import SHARED_CORPUS, bundled_recordings, decode
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import TestScheduler
from waiting import run_threaded

from benchmarks.generate import generate
from rxclaude import (
    Message,
    Policy,
    Router,
    StreamMetrics,
    backpressure,
    measure,
    parse_json_frames,
    route_by_type,
)
from rxclaude.handlers import ClaudeMetrics, DefaultRouter
from rxclaude.routing import HandlerError, HandlerFailedError
from rxclaude.routing.operator import RoutedObservable

SAMPLES = Path(__file__).resolve().parents[1] / "rxclaude" / "samples"
SHARED_REAL = SHARED_CORPUS / "real"


def _recordings() -> list[Path]:
    paths = [*sorted(SAMPLES.glob("*.jsonl")), *bundled_recordings()]
    if SHARED_REAL.is_dir():
        paths += sorted(p for p in SHARED_REAL.iterdir() if p.suffix in (".jsonl", ".ndjson"))
    return paths


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "generated.jsonl"
    generate(path, 400_000, seed=11)
    return path


def _state(value: Any) -> Any:
    """A handler's state as comparable data: locks and events left out."""
    if isinstance(value, type(threading.Lock()) | threading.Event):
        return None
    if isinstance(value, HandlerError):  # its exception is a new object in every run
        return ("handler_error", str(value.error), value.message.offset)
    if isinstance(value, deque | tuple):
        return [_state(item) for item in value]
    if isinstance(value, dict):
        return {key: _state(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_state(item) for item in value]
    if isinstance(value, Message | type):
        return value
    if hasattr(value, "__dict__"):
        return {key: _state(item) for key, item in vars(value).items()}
    slots = [name for cls in type(value).__mro__ for name in getattr(cls, "__slots__", ())]
    if slots:
        return {name: _state(getattr(value, name, None)) for name in slots}
    return value


class _Failing:
    """Raises on every third result and every tenth ``user`` frame."""

    priority = 0

    def __init__(self) -> None:
        self.seen = 0

    def handle(self, message: Message) -> None:
        self.seen += 1
        if self.seen % 10 == 0 or (message.type == "result" and self.seen % 3 == 0):
            raise ValueError(f"failing on {message.type} at {message.offset}")


def _run(
    messages: list[Message], between: Callable[[Observable[Message]], Observable[Message]] | None
) -> dict[str, Any]:
    """Route ``messages`` through the default handlers, ClaudeMetrics and a failing handler,
    then measure them; ``between`` (if any) sits between routing and measure."""
    router = DefaultRouter()
    claude = ClaudeMetrics()
    claude.attach(router)
    failing = _Failing()
    router.register("user", failing)
    router.register("result", failing)
    router.register("handler_error", lambda error: None)
    metrics = StreamMetrics()
    routed = rx.from_iterable(messages).pipe(route_by_type(router))
    assert isinstance(routed, RoutedObservable)
    if between is not None:
        routed = routed.pipe(between)
    items: list[Message] = routed.pipe(measure(metrics), ops.to_list()).run()
    snapshot = metrics.snapshot()
    return {
        "items": [(type(item), item.type, item.offset) for item in items],
        "errors": [str(item.error) for item in items if isinstance(item, HandlerError)],
        "handlers": [_state(handler) for handler in router.handlers],
        "claude": claude.figures(),
        "router": router.statistics(),
        "counts": (
            snapshot.messages_received,
            snapshot.bytes_processed,
            snapshot.parse_errors,
            snapshot.handler_errors,
            snapshot.by_type,
            snapshot.by_kind,
        ),
    }


def _compare(messages: list[Message]) -> None:
    fused = _run(messages, None)
    item_by_item = _run(messages, ops.filter(lambda _message: True))
    assert fused["items"] and len(fused["items"]) >= len(messages)
    for key in fused:
        assert fused[key] == item_by_item[key], key


@pytest.mark.parametrize("path", _recordings(), ids=lambda p: p.name)
def test_fused_measure_counts_and_handles_every_recording_as_item_by_item(path: Path) -> None:
    _compare(decode(path.read_bytes()))


def test_fused_measure_counts_and_handles_a_generated_corpus_as_item_by_item(
    generated: Path,
) -> None:
    messages = decode(generated.read_bytes())
    assert len(messages) > 200
    _compare(messages)


def test_the_generated_corpus_exercises_handler_errors_in_both_paths(generated: Path) -> None:
    result = _run(decode(generated.read_bytes()), None)
    assert result["errors"]
    assert result["counts"][3] == len(result["errors"])


def test_fatal_errors_end_the_fused_stream_after_the_same_items() -> None:
    messages = decode(SAMPLES.joinpath("tool_use_partial.jsonl").read_bytes())

    def run(between: Callable[[Observable[Message]], Observable[Message]] | None) -> Any:
        router = Router()

        def fail(message: Message) -> None:
            raise ValueError(f"no {message.type} wanted")

        router.register("user", fail)
        metrics = StreamMetrics()
        routed: Observable[Message] = rx.from_iterable(messages).pipe(
            route_by_type(router, fatal_errors=True)
        )
        if between is not None:
            routed = routed.pipe(between)
        seen: list[Message] = []
        errors: list[Exception] = []
        routed.pipe(measure(metrics)).subscribe(seen.append, errors.append)
        return [m.offset for m in seen], [type(e) for e in errors], metrics.snapshot().by_kind

    fused = run(None)
    assert fused[1] == [HandlerFailedError]
    assert fused == run(ops.filter(lambda _message: True))


def test_measure_with_the_router_takes_its_kind_counts_in_both_paths() -> None:
    messages = decode(SAMPLES.joinpath("thinking_partial.jsonl").read_bytes())

    def run(between: Callable[[Observable[Message]], Observable[Message]] | None) -> Any:
        router = Router.default()
        metrics = StreamMetrics()
        routed: Observable[Message] = rx.from_iterable(messages).pipe(route_by_type(router))
        if between is not None:
            routed = routed.pipe(between)
        routed.pipe(measure(metrics, router=router)).run()
        snapshot = metrics.snapshot()
        return snapshot.messages_received, snapshot.by_type, snapshot.by_kind

    fused = run(None)
    assert fused[0] == len(messages)
    assert fused == run(ops.filter(lambda _message: True))


def test_a_source_that_fails_to_subscribe_ends_the_fused_stream_and_its_recorder() -> None:
    def broken(_observer: Any, _scheduler: Any = None) -> Any:
        raise RuntimeError("cannot subscribe")

    for between in (None, ops.filter(lambda _message: True)):
        metrics = StreamMetrics()
        routed: Observable[Message] = Observable(broken).pipe(route_by_type(Router()))
        if between is not None:
            routed = routed.pipe(between)
        errors: list[Exception] = []
        routed.pipe(measure(metrics)).subscribe(on_error=errors.append)
        assert [str(error) for error in errors] == ["cannot subscribe"]
        assert metrics.snapshot().streams_active == 0


def _pipeline(data: bytes, fused: bool) -> dict[str, Any]:
    """The whole pipeline over ``data`` in 64 KiB chunks, with a backpressure thread: fused
    (chunk lists into backpressure, kind masks into measure) or item by item throughout."""
    router = DefaultRouter()
    claude = ClaudeMetrics()
    claude.attach(router)
    metrics = StreamMetrics()
    chunks = [data[start : start + 65536] for start in range(0, len(data), 65536)]
    apart = [] if fused else [ops.filter(lambda _message: True)]
    stages: list[Callable[[Observable[Any]], Observable[Any]]] = [
        parse_json_frames(scheduler=TestScheduler()),  # a still clock: the same received_at
        *apart,
        backpressure(Policy.BLOCK),
        route_by_type(router),
        *apart,
        measure(metrics),
    ]
    source: Observable[Any] = rx.from_iterable(chunks)
    for stage in stages:
        source = stage(source)
    items, errors = run_threaded(source)
    assert errors == []
    snapshot = metrics.snapshot()
    return {
        "items": [(type(item), item.type, item.offset) for item in items],
        "handlers": [_state(handler) for handler in router.handlers],
        "claude": claude.figures(),
        "router": router.statistics(),
        "counts": (snapshot.messages_received, snapshot.by_type, snapshot.by_kind),
    }


@pytest.mark.parametrize("path", _recordings(), ids=lambda p: p.name)
def test_the_fused_pipeline_gives_every_recording_what_the_item_by_item_one_gives(
    path: Path,
) -> None:
    data = path.read_bytes()
    fused = _pipeline(data, fused=True)
    assert len(fused["items"]) == len(decode(data))
    assert fused == _pipeline(data, fused=False)


def test_the_fused_pipeline_gives_a_generated_corpus_what_the_item_by_item_one_gives(
    generated: Path,
) -> None:
    data = generated.read_bytes()
    fused = _pipeline(data, fused=True)
    assert fused["counts"][0] == len(decode(data))
    assert fused == _pipeline(data, fused=False)
