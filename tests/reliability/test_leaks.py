"""Long runs leave nothing behind: memory flat after warm-up, and no thread, child process
or file descriptor after many subscribe/dispose cycles.

The ``soak`` variants run the issue's sizes (1,000,000 messages, 1,000 cycles) scaled by
``RXCLAUDE_SOAK_SCALE``; the default variants are small enough for every test run.
"""

from __future__ import annotations

import gc
import io
import os
import threading
import tracemalloc
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import reactivex.operators as ops
from corpus_files import bundled_recordings
from reactivex import Observable
from reactivex.subject import Subject
from waiting import wait_until

from reliability.support import (
    Collector,
    child_processes,
    full_pipeline,
    open_fds,
    soak_size,
)
from rxclaude import (
    CLIProcessError,
    Kind,
    Message,
    Policy,
    Router,
    StreamMetrics,
    backpressure,
    from_cli,
    from_reader,
)
from rxclaude.handlers import (
    BuiltinHandlers,
    CompleteHandler,
    DefaultRouter,
    ErrorHandler,
    StatusHandler,
    SystemHandler,
    ToolUseHandler,
)

KIB = 1024
MIB = 1024 * KIB


def _real_sessions() -> bytes:
    """The bundled recordings (but the 1.7 MB one of huge lines), one after the other.

    Each recording is a session that ends with its ``result`` frame.
    """
    parts = []
    for path in bundled_recordings():
        if "large_lines" not in path.name:
            data = path.read_bytes()
            parts.append(data if data.endswith(b"\n") else data + b"\n")
    return b"".join(parts)


SESSIONS = _real_sessions()
FRAMES_PER_CYCLE = sum(1 for line in SESSIONS.split(b"\n") if line.strip())


class Replay(io.RawIOBase):
    """The real sessions ``cycles`` times, produced as they are read."""

    def __init__(self, cycles: int) -> None:
        super().__init__()
        self._cycles_left = cycles
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._cycles_left == 0:
            return 0
        size = min(len(buffer), len(SESSIONS) - self._position)
        buffer[:size] = SESSIONS[self._position : self._position + size]
        self._position += size
        if self._position == len(SESSIONS):
            self._position = 0
            self._cycles_left -= 1
        return size


def sizes(default: int, soak_full: int) -> list[pytest.ParameterSet]:
    """A default size for every run, and the soak size (scaled) marked ``soak``."""
    return [
        pytest.param(default, id="default"),
        pytest.param(soak_size(soak_full, minimum=default), id="soak", marks=pytest.mark.soak),
    ]


def bounded_default_router() -> DefaultRouter:
    """The built-in handlers with short histories, and without the text handler.

    Short histories fill up during the warm-up; their size is bounded by ``keep``
    whatever its value. The text handler's window of a million characters would not fill
    during this warm-up (``test_the_default_router_holds_bounded_memory_over_a_long_stream``
    checks it).
    """
    router = DefaultRouter(
        BuiltinHandlers(
            tool_use=ToolUseHandler(keep=10),
            error=ErrorHandler(keep=10),
            system=SystemHandler(keep=2),
            status=StatusHandler(keep=2),
            complete=CompleteHandler(keep=2),
        )
    )
    router.unregister(Kind.TEXT, router.handlers.text)
    return router


@dataclass(frozen=True)
class Growth:
    kept: int
    """Bytes allocated during the bulk and still alive after it."""
    peak: int
    """The most bytes above the starting level at any moment of the bulk."""
    largest: str
    """Where the kept bytes were allocated, largest first (for failure messages)."""


def traced_growth(run_warm_up: Callable[[], None], run_bulk: Callable[[], None]) -> Growth:
    """The traced memory that ``run_bulk`` keeps and peaks at, after ``run_warm_up``.

    Tracing starts before the warm-up, so what the warm-up leaves (caches, full histories)
    is traced at both measurements, and only what the bulk adds counts.
    """
    tracemalloc.start()
    try:
        run_warm_up()
        gc.collect()
        before = tracemalloc.take_snapshot()
        settled, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        run_bulk()
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
        largest = tracemalloc.take_snapshot().compare_to(before, "lineno")[:5]
        return Growth(after - settled, peak - settled, "\n".join(map(str, largest)))
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("messages", sizes(50_000, 1_000_000))
def test_the_full_pipeline_holds_no_more_memory_after_warm_up(messages: int) -> None:
    router, metrics = bounded_default_router(), StreamMetrics()
    bp = backpressure(Policy.BLOCK, buffer_size=64)
    threads_before = threading.active_count()
    warm_up_cycles, cycles = 5, -(-messages // FRAMES_PER_CYCLE)

    def run(cycle_count: int) -> None:
        source = from_reader(io.BufferedReader(Replay(cycle_count)))
        full_pipeline(source, bp, router, metrics).run()

    growth = traced_growth(lambda: run(warm_up_cycles), lambda: run(cycles))
    assert growth.kept < 64 * KIB, f"{growth.kept} bytes kept, from:\n{growth.largest}"
    assert growth.peak < 4 * MIB, f"{growth.peak} bytes at the peak, from:\n{growth.largest}"
    total = (warm_up_cycles + cycles) * FRAMES_PER_CYCLE
    snapshot = metrics.snapshot()
    assert (snapshot.messages_received, snapshot.parse_errors) == (total, 0)
    assert router.statistics().messages == total
    wait_until(lambda: threading.active_count() == threads_before)


ASSISTANT_TEXT_FRAMES = b"".join(
    line + b"\n"
    for line in SESSIONS.split(b"\n")
    if line.startswith(b'{"type":"assistant"') and b'"type":"text"' in line
)


def test_the_default_router_holds_bounded_memory_over_a_long_stream() -> None:
    router, metrics = Router.default(), StreamMetrics()
    bp = backpressure(Policy.BLOCK, buffer_size=64)

    def run(copies: int) -> None:
        source = from_reader(io.BytesIO(ASSISTANT_TEXT_FRAMES * copies))
        full_pipeline(source, bp, router, metrics).run()

    # The warm-up fills every bounded history: 800 copies hold 1,072,000 characters of text,
    # past TextHandler's window of a million, and more errors than ErrorHandler keeps.
    growth = traced_growth(lambda: run(800), lambda: run(500))
    assert growth.kept < 1 * MIB, f"{growth.kept} bytes kept, from:\n{growth.largest}"


def test_a_shared_metrics_does_not_keep_finished_pipelines_alive() -> None:
    metrics = StreamMetrics()
    finished: list[weakref.ref[Any]] = []
    for _ in range(3):
        bp, router = backpressure(Policy.BLOCK), Router.default()
        full_pipeline(from_reader(io.BytesIO(SESSIONS)), bp, router, metrics).run()
        finished += [weakref.ref(bp), weakref.ref(router)]
        del bp, router
    gc.collect()
    assert metrics.snapshot().messages_received == 3 * FRAMES_PER_CYCLE
    assert [reference() for reference in finished] == [None] * len(finished)


# -- from_cli subscribe/dispose cycles ---------------------------------------------------

TICK = '{"type":"stream_event","event":{"type":"ping"}}'
TWO_FRAMES = '{"type":"system","subtype":"init"}\\n{"type":"result","subtype":"success"}\\n'


def _pipeline(command: list[str], stdin: Subject[bytes] | None = None) -> Observable[Message]:
    return full_pipeline(
        from_cli(command, input=stdin),
        backpressure(Policy.BLOCK, buffer_size=4),
        Router.default(),
        StreamMetrics(),
    )


def dispose_at_once() -> None:
    _pipeline(["yes", TICK]).subscribe(Collector()).dispose()


def dispose_mid_stream() -> None:
    first = threading.Event()
    subscription = _pipeline(["yes", TICK]).subscribe(Collector(lambda _: first.set()))
    assert first.wait(60)
    subscription.dispose()


def take_on_the_consumer_thread() -> None:
    collector = Collector()
    _pipeline(["yes", TICK]).pipe(ops.take(5)).subscribe(collector)
    collector.wait()
    assert collector.completed and len(collector.items) == 5


def run_to_completion() -> None:
    collector = Collector()
    _pipeline(["printf", TWO_FRAMES]).subscribe(collector)
    collector.wait()
    assert collector.completed and [m.type for m in collector.items] == ["system", "result"]


def killed_mid_frame() -> None:
    collector = Collector()
    _pipeline(["sh", "-c", 'printf \'{"type":"system"}\\n{"ty\'; kill -9 $$']).subscribe(collector)
    collector.wait()
    assert isinstance(collector.error, CLIProcessError)
    assert [m.type for m in collector.items] == ["system", "parse_error"]


def talk_then_dispose() -> None:
    stdin: Subject[bytes] = Subject()
    answered = threading.Event()
    subscription = _pipeline(["cat"], stdin).subscribe(Collector(lambda _: answered.set()))
    stdin.on_next(TICK.encode() + b"\n")
    assert answered.wait(60)
    subscription.dispose()


def missing_executable() -> None:
    collector = Collector()
    _pipeline(["/nonexistent/rxclaude-reliability"]).subscribe(collector)
    collector.wait()
    assert isinstance(collector.error, FileNotFoundError)


CYCLE_KINDS: list[Callable[[], None]] = [
    dispose_at_once,
    dispose_mid_stream,
    take_on_the_consumer_thread,
    run_to_completion,
    killed_mid_frame,
    talk_then_dispose,
    missing_executable,
]


@pytest.mark.parametrize("cycles", sizes(140, 1000))
def test_subscribe_dispose_cycles_leave_no_zombie_descriptor_or_thread(cycles: int) -> None:
    threads_before = threading.active_count()
    descriptors_before = open_fds()
    for cycle in range(cycles):
        CYCLE_KINDS[cycle % len(CYCLE_KINDS)]()
    assert child_processes() == []  # a zombie is still a child until it is reaped
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
    assert open_fds() == descriptors_before
    wait_until(lambda: threading.active_count() == threads_before)
