"""StreamHandler: the composed pipeline, blocking and asyncio use, errors and cancellation;
``rxclaude.facade`` as its deprecated alias."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import reactivex
from reactivex import operators as ops

import rxclaude
from rxclaude.backpressure import DEFAULT_BUFFER_SIZE, Policy
from rxclaude.handlers import DefaultRouter
from rxclaude.messages import Message, ResultMessage
from rxclaude.pipeline import StreamHandler, StreamSource
from rxclaude.routing import Router

SAMPLE = rxclaude.sample_path("tool_use_partial")


def default_router(handler: StreamHandler) -> DefaultRouter:
    assert isinstance(handler.router, DefaultRouter)
    return handler.router


def test_stream_runs_the_handlers_and_measures_a_sample() -> None:
    handler = StreamHandler(buffer_size=8)
    messages: list[Message] = handler.stream(SAMPLE).pipe(ops.to_list()).run()
    results = default_router(handler).handlers
    assert results.complete.result is not None
    assert results.tool_use.count >= 1
    assert "Done" in results.text.text
    snapshot = handler.get_metrics()
    assert snapshot.messages_received == len(messages)
    assert snapshot.bytes_processed == sum(m.nbytes for m in messages)
    assert snapshot.by_kind == handler.router.statistics().by_kind
    assert snapshot.buffer_capacity == 8
    assert snapshot.buffer_peak_utilisation > 0


def test_stream_accepts_readers_observables_and_rejects_the_rest() -> None:
    data = SAMPLE.read_bytes()
    expected = StreamHandler().stream(SAMPLE).pipe(ops.to_list()).run()
    with open(SAMPLE, "rb") as reader:
        from_reader = StreamHandler().stream(reader).pipe(ops.to_list()).run()
    from_bytes = StreamHandler().stream(reactivex.of(data)).pipe(ops.to_list()).run()
    assert from_reader == from_bytes == expected
    with pytest.raises(TypeError, match="stream"):
        StreamHandler().stream(42)  # type: ignore[arg-type]


def test_stream_runs_a_command() -> None:
    command = ["cat", str(SAMPLE)]
    handler = StreamHandler(router=Router())
    messages = handler.stream(command).pipe(ops.to_list()).run()
    assert len(messages) == handler.get_metrics().messages_received > 0


def test_stream_with_callback_blocks_until_the_end() -> None:
    handler = StreamHandler(buffer_size=4)
    seen: list[Message] = []
    handler.stream_with_callback(SAMPLE, seen.append)
    assert seen and isinstance(seen[-1], ResultMessage)
    assert handler.get_metrics().messages_received == len(seen)


def test_stream_with_callback_stops_and_reraises_when_the_callback_raises() -> None:
    handler = StreamHandler(buffer_size=2)
    seen: list[Message] = []

    def callback(message: Message) -> None:
        seen.append(message)
        if len(seen) == 3:
            raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        handler.stream_with_callback(SAMPLE, callback)
    assert len(seen) == 3


def test_stream_with_callback_reraises_the_stream_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        StreamHandler().stream_with_callback(tmp_path / "missing.jsonl", lambda _: None)


def test_set_buffer_size_resizes_the_live_buffer() -> None:
    handler = StreamHandler(buffer_size=4)
    resized = threading.Event()

    def callback(message: Message) -> None:
        if not resized.is_set():
            handler.set_buffer_size(16)
            resized.set()

    handler.stream_with_callback(SAMPLE, callback)
    assert handler.backpressure.statistics().capacity == 16


def test_set_buffer_size_rejects_nonsense() -> None:
    handler = StreamHandler(buffer_size=4)
    with pytest.raises(ValueError, match="buffer_size must be >= 1"):
        handler.set_buffer_size(0)
    for bad in (2.5, True):
        with pytest.raises(TypeError, match="buffer_size must be an int"):
            handler.set_buffer_size(bad)  # type: ignore[arg-type]
    assert handler.backpressure.statistics().capacity == 4


@pytest.mark.parametrize(("bad", "error"), [(2.5, TypeError), (True, TypeError), (0, ValueError)])
def test_handler_rejects_a_bad_buffer_size_when_built(bad: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="buffer_size must be"):
        StreamHandler(buffer_size=bad)


def test_handler_default_buffer_size_is_the_operators() -> None:
    assert StreamHandler().backpressure.statistics().capacity == DEFAULT_BUFFER_SIZE


@pytest.mark.parametrize(("bad", "error"), [(2.5, TypeError), (True, TypeError), (0, ValueError)])
def test_aiter_rejects_a_bad_queue_size_when_called(bad: Any, error: type[Exception]) -> None:
    """Before any iteration: the async generator's body would only run at the first step."""
    with pytest.raises(error, match="queue_size must be"):
        StreamHandler().aiter(SAMPLE, queue_size=bad)


def test_aiter_with_a_slow_consumer_keeps_the_queue_bounded() -> None:
    handler = StreamHandler(buffer_size=2, policy=Policy.BLOCK)
    expected = len(StreamHandler().stream(SAMPLE).pipe(ops.to_list()).run())

    async def consume() -> list[Message]:
        received: list[Message] = []
        async for message in handler.aiter(SAMPLE, queue_size=2):
            received.append(message)
            await asyncio.sleep(0)  # a slow consumer: the producer has to wait
            stats = handler.backpressure.statistics()
            # handed downstream but not yet taken by the loop: at most the queue plus
            # the one the delivering thread holds
            assert stats.delivered - len(received) <= 3
        return received

    received = asyncio.run(consume())
    assert len(received) == expected


def test_aiter_cancellation_disposes_the_subscription() -> None:
    handler = StreamHandler(buffer_size=2)

    async def main() -> int:
        got_one = asyncio.Event()
        count = 0

        async def consume() -> None:
            nonlocal count
            async for _message in handler.aiter(SAMPLE, queue_size=1):
                count += 1
                got_one.set()
                await asyncio.Event().wait()  # never set: stay here until cancelled

        task = asyncio.create_task(consume())
        await got_one.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return count

    assert asyncio.run(main()) == 1
    snapshot = handler.get_metrics()
    assert snapshot.streams_active == 0
    assert snapshot.messages_received < len(SAMPLE.read_bytes().splitlines())


def test_aiter_raises_the_stream_error(tmp_path: Path) -> None:
    async def main() -> None:
        async for _message in StreamHandler().aiter(tmp_path / "missing.jsonl"):
            pass

    with pytest.raises(FileNotFoundError):
        asyncio.run(main())


def test_the_facade_module_is_a_deprecated_alias_of_the_pipeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "rxclaude.facade", raising=False)
    monkeypatch.delattr(rxclaude, "facade", raising=False)
    with pytest.warns(DeprecationWarning, match=r"rxclaude\.facade is deprecated") as record:
        from rxclaude import facade  # noqa: PLC0415

    assert [warning.filename for warning in record] == [__file__]  # stacklevel=2: the importer
    assert facade.StreamHandler is StreamHandler
    assert facade.StreamSource is StreamSource
    assert facade.__all__ == ["StreamHandler", "StreamSource"]
