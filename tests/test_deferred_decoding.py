"""``parse_json_frames() | backpressure(Policy.BLOCK)``: decoded on the consumer's side.

The buffer holds undecoded lines and the consumer decodes them; what comes out must be
exactly what the parser alone gives (messages, offsets, excerpts, ``received_at``, errors,
the ``result`` an error carries), in any chunks, at any capacity.
"""

from __future__ import annotations

import threading
from typing import Any

import reactivex
from conftest import TIMEOUT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reactivex.testing import ReactiveTest, TestScheduler
from reliability.framing_oracle import cut, decode_whole
from reliability.test_fuzz import cuts, damaged_streams
from waiting import HeldConsumer, run_threaded, wait_until

from rxclaude.backpressure import Policy, backpressure
from rxclaude.framing import DEFAULT_MAX_FRAME_BYTES, FrameDecodeError, parse_json_frames
from rxclaude.framing.deferred import DecodingObserver
from rxclaude.messages import Message, ParseError, ResultCarryingError, ResultMessage


def exact(messages: list[Message]) -> list[tuple[Any, ...]]:
    """Everything that makes two messages the same, ``received_at`` aside."""
    return [
        (
            type(m),
            m.type,
            m.raw,
            m.offset,
            m.nbytes,
            *((m.reason, m.excerpt, m.detail) if isinstance(m, ParseError) else ()),
        )
        for m in messages
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    max_frame_bytes=st.sampled_from([DEFAULT_MAX_FRAME_BYTES, 8192, 700]),
    capacity=st.sampled_from([1, 2, 7, 1024]),
)
def test_damaged_streams_decode_the_same_after_the_buffer(
    data: st.DataObject, max_frame_bytes: int, capacity: int
) -> None:
    stream = data.draw(damaged_streams(max_frame_bytes))
    chunks = cut(stream.data, data.draw(cuts))
    expected = decode_whole(stream.data, max_frame_bytes)
    items, errors = run_threaded(
        reactivex.from_iterable(chunks).pipe(
            parse_json_frames(max_frame_bytes=max_frame_bytes),
            backpressure(Policy.BLOCK, buffer_size=capacity),
        )
    )
    assert errors == []
    assert exact(items) == exact(expected)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_raise_mode_after_the_buffer_fails_at_the_first_parse_error(data: st.DataObject) -> None:
    stream = data.draw(damaged_streams(DEFAULT_MAX_FRAME_BYTES))
    expected = decode_whole(stream.data, DEFAULT_MAX_FRAME_BYTES)
    items, errors = run_threaded(
        reactivex.from_iterable(cut(stream.data, data.draw(cuts))).pipe(
            parse_json_frames(on_error="raise"), backpressure(Policy.BLOCK, buffer_size=3)
        )
    )
    first = next((i for i, m in enumerate(expected) if isinstance(m, ParseError)), None)
    if first is None:
        assert (exact(items), errors) == (exact(expected), [])
        return
    assert exact(items) == exact(expected[:first])
    (error,) = errors
    assert isinstance(error, FrameDecodeError)
    assert exact([error.error]) == exact([expected[first]])


def test_received_at_is_the_time_the_chunk_came_in_either_way() -> None:
    chunks = [b'{"type":"a"}\n{"ty', b'pe":"b"}\n\n{"type":', b'"c"}\n{"type":"d"']
    received: dict[str, list[tuple[str, float]]] = {}
    for name, fused in (("alone", False), ("fused", True)):
        scheduler = TestScheduler()
        source = scheduler.create_cold_observable(
            *[ReactiveTest.on_next(100 * (i + 1), chunk) for i, chunk in enumerate(chunks)],
            ReactiveTest.on_completed(400),
        )
        stages: list[Any] = [parse_json_frames(scheduler=scheduler)]
        if fused:
            stages.append(backpressure(Policy.BLOCK, buffer_size=64, scheduler=scheduler))
        seen: list[tuple[str, float]] = []
        source.pipe(*stages).subscribe(
            lambda m, seen=seen: seen.append((m.type, m.received_at.timestamp())),
            scheduler=scheduler,
        )
        scheduler.start()
        received[name] = seen
    assert received["fused"] == received["alone"]
    assert [kind for kind, _ in received["alone"]] == ["a", "b", "c", "parse_error"]
    assert len({at for _, at in received["alone"]}) == 4  # each its own chunk's time


class CarryingError(ResultCarryingError):
    pass


def test_a_failing_source_gets_the_last_result_after_every_frame() -> None:
    chunks = [
        b'{"type":"result","subtype":"success","n":1}\n',
        b'{"type":"result","subtype":"success","n":2}\n{"type":"assistant","message":{',
    ]
    error = CarryingError("the CLI died")
    source = reactivex.from_iterable(chunks).pipe(
        lambda s: reactivex.concat(s, reactivex.throw(error))
    )
    items, errors = run_threaded(source.pipe(parse_json_frames(), backpressure(Policy.BLOCK)))
    assert [m.type for m in items] == ["result", "result", "parse_error"]
    assert isinstance(items[-1], ParseError) and items[-1].reason == "truncated"
    assert errors == [error]
    assert isinstance(error.result, ResultMessage) and error.result.raw["n"] == 2


def test_a_chunk_of_the_wrong_type_ends_the_stream_after_the_frames_before_it() -> None:
    chunks: list[Any] = [b'{"type":"a"}\n{"type":"b"', "text"]
    items, errors = run_threaded(
        reactivex.from_iterable(chunks).pipe(parse_json_frames(), backpressure(Policy.BLOCK))
    )
    assert [m.type for m in items] == ["a", "parse_error"]
    (error,) = errors
    assert isinstance(error, TypeError) and "str" in str(error)


def test_a_downstream_failure_reaches_on_error_as_it_was_raised() -> None:
    failure = ValueError("handler broke")
    seen: list[str] = []
    errors: list[Exception] = []
    done = threading.Event()

    def on_next(message: Message) -> None:
        seen.append(message.type)
        if message.type == "b":
            raise failure

    def on_error(error: Exception) -> None:
        errors.append(error)
        done.set()

    reactivex.of(b'{"type":"a"}\n{"type":"b"}\n{"type":"c"}\n{"type":"d"').pipe(
        parse_json_frames(), backpressure(Policy.BLOCK)
    ).subscribe(on_next, on_error, done.set)
    assert done.wait(TIMEOUT)
    assert seen == ["a", "b"]
    assert errors == [failure]


def test_the_buffer_counts_lines_blank_and_continued_ones_included() -> None:
    stream = b'{"type":"a"}\n\n{\n  "type": "b"\n}\n{"type":"c"}\n'
    bp = backpressure(Policy.BLOCK, buffer_size=4)
    items, errors = run_threaded(reactivex.of(stream).pipe(parse_json_frames(), bp))
    assert (errors, [m.type for m in items]) == ([], ["a", "b", "c"])
    statistics = bp.statistics()
    assert statistics.produced == statistics.delivered == 6  # the lines, blank one included
    assert statistics.dropped == statistics.discarded == 0


def test_block_holds_the_producer_after_capacity_lines_undecoded() -> None:
    consumer = HeldConsumer()
    bp = backpressure(Policy.BLOCK, buffer_size=2)
    produced: list[int] = []
    finished = threading.Event()

    def produce(observer: Any, _scheduler: Any = None) -> Any:
        def run() -> None:
            for n in range(6):
                produced.append(n)
                observer.on_next(b'{"type":"t","n":%d}\n' % n)
            observer.on_completed()
            finished.set()

        threading.Thread(target=run, daemon=True).start()
        return reactivex.disposable.Disposable()

    messages = reactivex.create(produce).pipe(parse_json_frames(), bp)
    messages.subscribe(
        lambda m: consumer.on_next((m.raw or {})["n"]),
        consumer.on_error,
        consumer.on_completed,
    )
    assert consumer.holding.wait(TIMEOUT)

    def held() -> bool:  # lines 1 and 2 wait, undecoded; line 3 waits to get in
        statistics = bp.statistics()
        return statistics.size == 2 and statistics.producers_waiting == 1

    wait_until(held)
    assert produced == [0, 1, 2, 3]
    assert not finished.is_set()
    consumer.release.set()
    assert consumer.done.wait(TIMEOUT) and finished.wait(TIMEOUT)
    assert consumer.delivered == [0, 1, 2, 3, 4, 5]


def test_dropping_policies_still_buffer_messages() -> None:
    bp = backpressure(Policy.DROP_NEWEST, buffer_size=64)
    stream = b'{"type":"a"}\n\n{"type":"b"}\n'
    items, errors = run_threaded(reactivex.of(stream).pipe(parse_json_frames(), bp))
    assert (errors, [m.type for m in items]) == ([], ["a", "b"])
    assert bp.statistics().produced == 2  # messages: the blank line never was one


def test_the_decoding_observer_is_what_the_buffer_hands_lines_to() -> None:
    fused = parse_json_frames()(reactivex.empty())
    deferred = fused.defer_decoding(HeldConsumer())  # type: ignore[attr-defined]
    assert isinstance(deferred.observer, DecodingObserver)
