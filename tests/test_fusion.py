"""The fused hand-off from ``parse_json_frames`` to ``backpressure``: a list per chunk.

The fused path must be invisible: the same items, in the same order, with the same
policies, errors and counts as the item-by-item path that any other operator in between
(``ops.map``) brings back.
"""

from __future__ import annotations

from typing import Any

import pytest
import reactivex
from conftest import TIMEOUT
from fused_source import Batches
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex import operators as ops
from reliability.framing_oracle import cut
from waiting import HeldConsumer, run_threaded

from rxclaude._batches import BatchingObservable
from rxclaude.backpressure import Policy, backpressure
from rxclaude.backpressure.buffer import BoundedBuffer
from rxclaude.framing import FrameDecodeError, parse_json_frames
from rxclaude.messages import Message, ParseError

STREAM = (
    b'{"type":"system","subtype":"init","session_id":"s"}\n'
    b'{"type":"assistant","message":{"content":[{"type":"text","text":"hi"}]}}\n'
    b"not json\n"
    b'{"type":"stream_event","event":{"type":"message_stop"}}\r\n'
    b"\n"
    b'{"type":"result","subtype":"success","is_error":false}\n'
    b'{"type":"user","message":{"content":"\xff"}}\n'
    b'{"type":"result","subtype":"success"'
)
"""Frames, junk, a CRLF line, a blank line, invalid UTF-8 and a truncated last frame."""


def summary(messages: list[Message]) -> list[tuple[str, int, int, str | None]]:
    return [
        (m.type, m.offset, m.nbytes, m.reason if isinstance(m, ParseError) else None)
        for m in messages
    ]


@pytest.mark.parametrize(
    ("policy", "expected_batches"),
    [
        # BLOCK decodes on the consumer's side: the buffer takes each chunk's lines,
        # the blank one included, and the truncated last line at the end.
        (Policy.BLOCK, [1, 6, 1]),
        # The dropping policies take each chunk's messages, then the truncated last one.
        (Policy.DROP_OLDEST, [1, 5, 1]),
    ],
)
def test_parse_json_frames_offers_batches_and_backpressure_takes_them(
    monkeypatch: pytest.MonkeyPatch, policy: Policy, expected_batches: list[int]
) -> None:
    calls: list[int] = []
    original = BoundedBuffer.on_next_batch

    def counting(self: BoundedBuffer, items: list[Any]) -> None:
        calls.append(len(items))
        original(self, items)

    monkeypatch.setattr(BoundedBuffer, "on_next_batch", counting)
    chunks = [STREAM[:120], STREAM[120:]]
    fused = reactivex.from_iterable(chunks).pipe(parse_json_frames())
    assert isinstance(fused, BatchingObservable)

    bp = backpressure(policy, buffer_size=64)
    items, errors = run_threaded(fused.pipe(bp))

    assert errors == []
    assert len(items) == 7
    assert calls == expected_batches
    assert bp.statistics().produced == bp.statistics().delivered == sum(expected_batches)


def test_fused_and_item_paths_deliver_the_same_messages() -> None:
    alone = summary(run_threaded(reactivex.of(STREAM).pipe(parse_json_frames()))[0])
    fused = summary(
        run_threaded(reactivex.of(STREAM).pipe(parse_json_frames(), backpressure(Policy.BLOCK)))[0]
    )
    unfused = summary(
        run_threaded(
            reactivex.of(STREAM).pipe(
                parse_json_frames(), ops.map(lambda m: m), backpressure(Policy.BLOCK)
            )
        )[0]
    )
    assert fused == unfused == alone
    assert [reason for *_, reason in fused] == [
        None,
        None,
        "invalid_json",
        None,
        None,
        "invalid_utf8",
        "truncated",
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_fused_backpressure_output_does_not_depend_on_chunking(cuts: list[int]) -> None:
    expected = summary(run_threaded(reactivex.of(STREAM).pipe(parse_json_frames()))[0])
    chunks = reactivex.from_iterable(cut(STREAM, cuts))
    items, errors = run_threaded(
        chunks.pipe(parse_json_frames(), backpressure(Policy.BLOCK, buffer_size=2))
    )
    assert errors == []
    assert summary(items) == expected


def test_raise_mode_delivers_the_frames_before_the_error_in_the_same_chunk() -> None:
    chunk = b'{"type":"a"}\n{"type":"b"}\njunk\n{"type":"c"}\n'
    items, errors = run_threaded(
        reactivex.of(chunk).pipe(parse_json_frames(on_error="raise"), backpressure(Policy.BLOCK))
    )
    assert [m.type for m in items] == ["a", "b"]
    assert len(errors) == 1
    assert isinstance(errors[0], FrameDecodeError)
    assert errors[0].error.reason == "invalid_json"


def test_a_batch_that_fits_is_taken_at_once_and_counted() -> None:
    source = Batches()
    bp = backpressure(Policy.BLOCK, buffer_size=8)
    consumer = HeldConsumer()
    source.pipe(bp).subscribe(consumer.on_next, consumer.on_error, consumer.on_completed)
    source.push([0])
    assert consumer.holding.wait(TIMEOUT)

    source.push([1, 2, 3, 4, 5])  # fits beside the held item: returns without waiting

    held = bp.statistics()
    # 0 is handed over (no longer counted); 1..5 are buffered
    assert (held.size, held.peak_size, held.produced, held.producers_waiting) == (5, 5, 6, 0)
    consumer.release.set()
    assert source.observer is not None
    source.observer.on_completed()
    assert consumer.done.wait(TIMEOUT)
    assert consumer.delivered == [0, 1, 2, 3, 4, 5]


def test_a_batch_after_dispose_is_ignored_like_items_after_dispose() -> None:
    source = Batches()
    bp = backpressure(Policy.BLOCK, buffer_size=8)
    consumer = HeldConsumer()
    subscription = source.pipe(bp).subscribe(
        consumer.on_next, consumer.on_error, consumer.on_completed
    )
    source.push([7])
    subscription.dispose()

    source.push([8, 9])

    stats = bp.statistics()
    assert stats.produced == stats.delivered + stats.dropped + stats.discarded
    assert stats.produced == 1  # the subscription had ended: 8 and 9 never entered it
    assert consumer.delivered in ([], [7])
