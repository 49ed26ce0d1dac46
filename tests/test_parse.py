"""parse_json_frames as an Rx operator: virtual time, errors, sources, memory and processes."""

from __future__ import annotations

import importlib
import json
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
import reactivex
from corpus_files import decode, recording
from reactivex import operators as ops
from reactivex.notification import OnError, OnNext
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.recorded import Recorded

from rxclaude.framing import FrameDecodeError, parse_json_frames
from rxclaude.messages import (
    ClaudeMessage,
    Message,
    ParseError,
    ResultCarryingError,
    ResultMessage,
)
from rxclaude.sources import CLIProcessError, from_cli, from_file

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


def delivered(records: list[Recorded[Message]]) -> list[tuple[int, Message]]:
    """The (tick, item) pairs of the on_next notifications among ``records``."""
    return [(r.time, r.value.value) for r in records if isinstance(r.value, OnNext)]


def failure(records: list[Recorded[Message]]) -> Exception:
    """The exception of the one on_error notification among ``records``."""
    (error,) = [r.value.exception for r in records if isinstance(r.value, OnError)]
    return error


def collect(source: reactivex.Observable[Message]) -> tuple[list[Message], Exception | None]:
    """Run a synchronous pipeline; return its items and its error, if any."""
    items: list[Message] = []
    errors: list[Exception] = []
    source.subscribe(items.append, errors.append)
    return items, errors[0] if errors else None


def test_frames_carry_the_virtual_time_of_the_chunk_that_completed_them() -> None:
    scheduler = TestScheduler()
    chunks = scheduler.create_hot_observable(
        on_next(210, b'{"type":"a"}\n{"ty'),
        on_next(220, b'pe":"b"}\n'),
        on_next(230, b"junk\n"),
        on_completed(240),
    )
    results = scheduler.start(lambda: chunks.pipe(parse_json_frames()))
    times = delivered(results.messages)
    assert [(t, m.type) for t, m in times] == [(210, "a"), (220, "b"), (230, "parse_error")]
    for tick, message in times:
        assert message.received_at == scheduler.to_datetime(tick)
    assert results.messages[-1] == on_completed(240)
    assert chunks.subscriptions == [subscribe(200, 240)]


def test_received_at_uses_the_operator_scheduler_when_given() -> None:
    scheduler = TestScheduler()
    scheduler.advance_by(timedelta(seconds=5))
    (message,), error = collect(
        reactivex.of(b'{"type":"a"}\n').pipe(parse_json_frames(scheduler=scheduler))
    )
    assert error is None
    assert message.received_at == scheduler.now


def test_disposal_stops_the_source() -> None:
    scheduler = TestScheduler()
    chunks = scheduler.create_hot_observable(
        on_next(210, b'{"type":"a"}\n'), on_next(400, b'{"type":"b"}\n'), on_completed(500)
    )
    results = scheduler.start(lambda: chunks.pipe(parse_json_frames()), disposed=300)
    assert [m.type for _, m in delivered(results.messages)] == ["a"]
    assert chunks.subscriptions == [subscribe(200, 300)]


def test_raise_mode_fails_at_the_first_parse_error_and_unsubscribes() -> None:
    scheduler = TestScheduler()
    chunks = scheduler.create_hot_observable(
        on_next(210, b'{"type":"a"}\n[SandboxDebug] x\n{"type":"b"}\n'),
        on_next(220, b'{"type":"c"}\n'),
        on_completed(230),
    )
    results = scheduler.start(lambda: chunks.pipe(parse_json_frames(on_error="raise")))
    assert [m.type for _, m in delivered(results.messages)] == ["a"]
    error = failure(results.messages)
    assert isinstance(error, FrameDecodeError)
    assert error.error.reason == "invalid_json" and error.error.offset == 13
    assert len(results.messages) == 2
    assert chunks.subscriptions == [subscribe(200, 210)]


def test_raise_mode_reports_a_truncated_end() -> None:
    items, error = collect(
        reactivex.of(b'{"type":"a"}\n{"type":').pipe(parse_json_frames(on_error="raise"))
    )
    assert [m.type for m in items] == ["a"]
    assert isinstance(error, FrameDecodeError) and error.error.reason == "truncated"


def test_source_error_comes_after_the_flushed_tail() -> None:
    failure = RuntimeError("pipe broke")
    source = reactivex.concat(reactivex.of(b'{"type":"a"}\n{"type":"b"'), reactivex.throw(failure))
    items, error = collect(source.pipe(parse_json_frames()))
    assert [m.type for m in items] == ["a", "parse_error"]
    assert isinstance(items[1], ParseError) and items[1].reason == "truncated"
    assert error is failure


class SourceFailedError(ResultCarryingError):
    """A source's own failure that takes the last result frame."""


def test_a_result_carrying_source_error_gets_the_last_result_frame() -> None:
    stream = b'{"type":"result","n":1}\n{"type":"result","n":2}\n{"type":"assistant"}\n{"ty'
    failed = SourceFailedError("the source failed")
    items, error = collect(
        reactivex.concat(reactivex.of(stream), reactivex.throw(failed)).pipe(parse_json_frames())
    )
    assert [m.type for m in items] == ["result", "result", "assistant", "parse_error"]
    assert error is failed and failed.result is items[1]


def test_a_result_carrying_source_error_without_a_result_frame_keeps_none() -> None:
    failed = SourceFailedError("the source failed")
    items, error = collect(
        reactivex.concat(reactivex.of(b'{"type":"a"}\n'), reactivex.throw(failed)).pipe(
            parse_json_frames()
        )
    )
    assert [m.type for m in items] == ["a"] and error is failed and failed.result is None


def test_other_source_errors_are_passed_on_untouched() -> None:
    failed = RuntimeError("the source failed")
    items, error = collect(
        reactivex.concat(reactivex.of(b'{"type":"result"}\n'), reactivex.throw(failed)).pipe(
            parse_json_frames()
        )
    )
    assert [m.type for m in items] == ["result"] and error is failed
    assert not hasattr(failed, "result")


def test_the_result_frame_of_a_cut_last_line_counts_too() -> None:
    failed = SourceFailedError("the source failed")
    items, error = collect(
        reactivex.concat(
            reactivex.of(b'{"type":"a"}\n{"type":"result"}'), reactivex.throw(failed)
        ).pipe(parse_json_frames())
    )
    assert [m.type for m in items] == ["a", "result"]
    assert error is failed and failed.result is items[1]


def test_rxclaude_parse_is_a_deprecated_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "rxclaude.parse", raising=False)
    with pytest.warns(DeprecationWarning, match=r"rxclaude\.parse is deprecated"):
        alias = importlib.import_module("rxclaude.parse")
    assert alias.parse_json_frames is parse_json_frames
    assert alias.FrameDecodeError is FrameDecodeError


def test_each_subscription_decodes_independently() -> None:
    source = reactivex.of(b'{"type":"a"}\n{"ty', b'pe":"b"}\n').pipe(parse_json_frames())
    first, _ = collect(source)
    second, _ = collect(source)
    assert first == second and [m.type for m in first] == ["a", "b"]


def test_invalid_arguments_fail_at_assembly() -> None:
    with pytest.raises(ValueError, match="on_error"):
        parse_json_frames(on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_frame_bytes"):
        parse_json_frames(max_frame_bytes=0)


# -- a hostile stream from a real file ---------------------------------------------------

BIG_TEXT = "\u2028 paragraph \u2029 " * 350_000  # about 5.6 MB of UTF-8 with raw U+2028/9


def hostile_stream() -> tuple[bytes, list[tuple[int, dict[str, object]]]]:
    """A stream mixing every kind of damage, and the valid frames it holds with offsets."""
    valid: list[tuple[int, dict[str, object]]] = []
    parts: list[bytes] = [b"\xef\xbb\xbf"]

    def add(data: bytes, frame: dict[str, object] | None = None) -> None:
        if frame is not None:
            valid.append((sum(map(len, parts)), frame))
        parts.append(data)

    def add_frame(frame: dict[str, object], end: bytes = b"\n") -> None:
        add(json.dumps(frame, ensure_ascii=False).encode(), frame)
        parts.append(end)

    add_frame({"type": "system", "subtype": "init", "session_id": "s1"})
    add(b"[SandboxDebug] sandbox ready\n")
    add_frame({"type": "assistant", "message": {"content": [{"type": "text", "text": "é"}]}})
    add(b"\xc3\x28 invalid utf-8 \xff\n")
    add_frame({"type": "user", "message": {"content": "crlf"}}, end=b"\r\n")
    add(b'{"type":"assistant","message":{"content":[{"type":"te\n')
    add_frame({"type": "user", "big": BIG_TEXT})
    add(b"[1, 2, 3]\n")
    add_frame({"type": "brand_new_type", "x": 1})
    add(b"\n\n")
    add_frame({"type": "result", "subtype": "success", "is_error": False}, end=b"")
    return b"".join(parts), valid


@pytest.mark.parametrize("chunk_size", [1 << 20, 65536, 4093])
def test_hostile_stream_from_a_file_delivers_every_valid_frame_in_order(
    tmp_path: Path, chunk_size: int
) -> None:
    stream, valid = hostile_stream()
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(stream)
    items, error = collect(from_file(path, chunk_size=chunk_size).pipe(parse_json_frames()))
    assert error is None
    frames = [m for m in items if isinstance(m, ClaudeMessage)]
    assert [(m.offset, m.raw) for m in frames] == valid
    assert [m.type for m in frames] == [
        "system",
        "assistant",
        "user",
        "user",
        "brand_new_type",
        "result",
    ]
    assert frames[3].raw["big"] == BIG_TEXT
    errors = [m for m in items if isinstance(m, ParseError)]
    assert [e.reason for e in errors] == [
        "invalid_json",
        "invalid_utf8",
        "truncated",
        "not_an_object",
    ]
    assert items == decode(stream)


# -- bounded memory --------------------------------------------------------------------


def test_a_50_mb_line_under_a_1_mb_cap_uses_bounded_memory() -> None:
    chunk = b"x" * 65536
    line_chunks = 50 * 16  # 50 MiB

    head, tail = b'{"type":"user","text":"', b'"}'

    def chunks() -> Iterator[bytes]:
        yield b'{"type":"a"}\n' + head
        for _ in range(line_chunks):
            yield chunk
        yield tail + b'\n{"type":"b"}\n'

    items: list[Message] = []
    tracemalloc.start()
    try:
        reactivex.from_iterable(chunks()).pipe(
            parse_json_frames(max_frame_bytes=1 << 20)
        ).subscribe(items.append)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [m.type for m in items] == ["a", "parse_error", "b"]
    error = items[1]
    assert isinstance(error, ParseError) and error.reason == "frame_too_large"
    assert error.nbytes == len(head) + line_chunks * len(chunk) + len(tail)
    assert peak < 4 * (1 << 20), f"peak traced memory {peak} bytes"


# -- child processes ---------------------------------------------------------------------

CHILD_PARTIAL_EXIT_3 = """
import sys
sys.stdout.buffer.write(b'{"type":"assistant","message":{"content":[]}}\\n')
sys.stdout.buffer.write(b'{"type":"result","subtype":"success","is_error":true}\\n')
sys.stdout.buffer.write(b'{"type":"assistant","mess')
sys.stdout.flush()
sys.stderr.write("API Error: boom\\n")
sys.exit(3)
"""


def test_child_writing_two_frames_and_half_a_third_then_exiting_3() -> None:
    args = [sys.executable, "-c", CHILD_PARTIAL_EXIT_3]
    done = threading.Event()
    items: list[Message] = []
    errors: list[Exception] = []

    def failed(error: Exception) -> None:
        errors.append(error)
        done.set()

    from_cli(args).pipe(parse_json_frames()).subscribe(items.append, failed, done.set)
    assert done.wait(30)
    assert [m.type for m in items] == ["assistant", "result", "parse_error"]
    assert isinstance(items[2], ParseError) and items[2].reason == "truncated"
    (error,) = errors
    assert isinstance(error, CLIProcessError)
    assert error.returncode == 3
    assert "API Error: boom" in error.stderr
    assert list(error.args) == args
    assert isinstance(error.result, ResultMessage) and error.result.is_error
    assert error.result is items[1]


def test_disposing_ends_a_child_that_writes_forever() -> None:
    got_three = threading.Event()
    items: list[Message] = []

    def keep(message: Message) -> None:
        items.append(message)
        if len(items) == 3:
            got_three.set()

    threads_before = threading.active_count()
    source = from_cli(["yes", '{"type":"tick"}']).pipe(parse_json_frames())
    subscription = source.subscribe(keep)
    assert got_three.wait(30)
    assert psutil.Process().children()
    subscription.dispose()
    assert all(m.type == "tick" for m in items)
    assert psutil.Process().children() == []
    assert threading.active_count() == threads_before


def test_take_disposes_the_child_from_inside_on_next() -> None:
    done = threading.Event()
    items: list[Message] = []
    from_cli(["yes", '{"type":"tick"}']).pipe(parse_json_frames(), ops.take(5)).subscribe(
        items.append, on_completed=done.set
    )
    assert done.wait(30)
    assert [m.type for m in items] == ["tick"] * 5


def test_sample_recording_streams_through_a_child_process() -> None:
    stream = recording("tool_use_partial")
    done = threading.Event()
    items: list[Message] = []
    child = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"
    from_cli([sys.executable, "-c", child], input=stream).pipe(parse_json_frames()).subscribe(
        items.append, on_completed=done.set
    )
    assert done.wait(30)
    assert items == decode(stream)
