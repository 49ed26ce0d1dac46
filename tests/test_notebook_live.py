"""rxclaude.notebook.live: driven by a TestScheduler it draws the expected sequence of
states at a bounded rate, and the Stop button disposes the subscription; with real threads
it follows a recording to the end and leaves no thread behind."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import reactivex
from reactivex import operators as ops
from reactivex.testing import TestScheduler
from reactivex.testing.coldobservable import ColdObservable
from reactivex.testing.reactivetest import ReactiveTest
from waiting import wait_until

from rxclaude import _samples
from rxclaude.framing import parse_json_frames
from rxclaude.messages import Message, message_from_json
from rxclaude.notebook import LiveDisplay, ToolRow, live
from rxclaude.pipeline import StreamHandler
from rxclaude.sources import from_file

pytest.importorskip("ipywidgets")

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed

FRAMES: list[tuple[int, dict[str, Any]]] = [
    (10, {"type": "system", "subtype": "init", "session_id": "s"}),
    (20, {"type": "assistant", "session_id": "s",
          "message": {"id": "m1", "content": [{"type": "text", "text": "Hello "}]}}),
    (30, {"type": "assistant", "session_id": "s", "message": {"id": "m1", "content": [
        {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}]}}),
    (110, {"type": "user", "session_id": "s", "message": {"content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "a b"}]}}),
    (130, {"type": "assistant", "session_id": "s",
           "message": {"id": "m2", "content": [{"type": "text", "text": "done"}]}}),
    (140, {"type": "result", "subtype": "success", "is_error": False, "session_id": "s",
           "total_cost_usd": 0.25}),
]  # fmt: skip


def virtual_run(
    end: int, **options: Any
) -> tuple[TestScheduler, ColdObservable[dict[str, Any]], LiveDisplay]:
    scheduler = TestScheduler()
    source: ColdObservable[dict[str, Any]] = scheduler.create_cold_observable(
        *[on_next(time, frame) for time, frame in FRAMES], on_completed(end)
    )

    def stamped(frame: dict[str, Any]) -> Message:
        return message_from_json(frame, received_at=scheduler.now)

    messages: reactivex.Observable[Message] = source.pipe(ops.map(stamped))
    display = live(messages, interval=50, scheduler=scheduler, **options)
    return scheduler, source, display


def summary(display: LiveDisplay) -> list[tuple[Any, ...]]:
    return [
        (state.status, state.messages, state.text, state.tools, state.cost_usd)
        for state in display.states
    ]


def test_states_are_drawn_on_the_ticks_when_something_changed_then_at_the_end() -> None:
    scheduler, source, display = virtual_run(160)
    scheduler.advance_to(1000)
    assert summary(display) == [
        ("running", 3, "Hello ", (ToolRow("t1", "Bash", "running"),), 0.0),  # tick 50
        # tick 100: nothing new, nothing drawn
        ("running", 6, "Hello done", (ToolRow("t1", "Bash", "done", 80.0),), 0.25),  # 150
        ("completed", 6, "Hello done", (ToolRow("t1", "Bash", "done", 80.0),), 0.25),  # 160
    ]
    final = display.states[-1].snapshot
    assert final is not None and final.messages_received == 6
    assert display.done.is_set()
    assert source.subscriptions[0].unsubscribe == 160
    assert "Hello done" in display.html and "completed" in display.html
    assert "cost (USD)" in display.html and "0.250000" in display.html
    assert "Bash" in display._views._parts["tools"].value  # type: ignore[index]


def test_the_stop_button_disposes_the_subscription() -> None:
    scheduler, source, display = virtual_run(10_000)
    assert display.button is not None
    scheduler.schedule_absolute(120, lambda *_: display.button.click())
    scheduler.advance_to(20_000)
    assert [state.status for state in display.states] == ["running", "stopped"]
    assert display.states[-1].messages == 4
    assert source.subscriptions[0].unsubscribe == 120
    assert display.done.is_set()


def test_a_recording_is_followed_to_the_end_on_threads_that_then_end() -> None:
    before = set(threading.enumerate())
    path = _samples.sample_path("tool_use_partial")
    display = live(from_file(path).pipe(parse_json_frames()), interval=0.01)
    assert display.done.wait(timeout=60)
    final = display.states[-1]
    assert final.status == "completed"
    assert final.messages == len(path.read_bytes().splitlines())
    assert final.text == "I'll run a command.Done: the command printed its output."
    assert [(tool.name, tool.status) for tool in final.tools] == [("Bash", "done")]
    wait_until(lambda: set(threading.enumerate()) <= before)


def test_stop_ends_an_endless_stream_and_its_threads() -> None:
    before = set(threading.enumerate())
    frame = {"type": "stream_event", "event": {"type": "content_block_delta",
             "delta": {"type": "text_delta", "text": "x"}}}  # fmt: skip
    endless = reactivex.interval(0.001).pipe(ops.map(lambda _: message_from_json(frame)))
    display = live(endless, interval=0.01)
    wait_until(lambda: len(display.states) >= 2)
    display.stop()
    assert display.states[-1].status == "stopped"
    count = display.states[-1].messages
    wait_until(lambda: set(threading.enumerate()) <= before)
    assert display.states[-1].messages == count


def test_a_stream_handler_is_shown_with_its_own_metrics() -> None:
    handler = StreamHandler()
    path = _samples.sample_path("permission_denied")
    display = live(handler, source=path, interval=0.01)
    assert display.done.wait(timeout=60)
    assert display.metrics is handler.metrics
    final = display.states[-1]
    assert final.status == "completed"
    assert final.snapshot is not None
    assert final.snapshot.messages_received == final.messages == len(path.read_bytes().splitlines())
    with pytest.raises(TypeError, match="needs source="):
        live(handler)
