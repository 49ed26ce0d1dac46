"""What parse_json_frames takes as chunks: bytes-like objects, and nothing else.

``bytearray`` and ``memoryview`` chunks (a reader reusing one buffer) give the frames of
the same bytes; a ``str`` or ``None`` item fails the stream with a ``TypeError`` naming
its type, after the frames that arrived before it. The item-by-item and the fused
(``subscribe_batches``) paths behave the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex.subject import Subject

from rxclaude._batches import BatchingObservable
from rxclaude.framing import FrameDecodeError, FrameDecoder, parse_json_frames
from rxclaude.messages import EPOCH, Message, ParseError

STREAM = b'{"type":"a"}\n[junk]\n{"type":"b","t":"\xc3\xa9"}\n\xff\n{"type":"c"}'


class Outcome:
    """Everything a subscription received."""

    def __init__(self) -> None:
        self.items: list[Message] = []
        self.error: Exception | None = None
        self.completed = False

    def on_next_batch(self, items: list[Message]) -> None:
        self.items.extend(items)

    def on_error(self, error: Exception) -> None:
        self.error = error

    def on_completed(self) -> None:
        self.completed = True


def subscribe(frames: Observable[Message], fused: bool) -> Outcome:
    """Subscribe to ``frames`` item by item, or as a fused operator would."""
    outcome = Outcome()
    if fused:
        assert isinstance(frames, BatchingObservable)
        frames.subscribe_batches(outcome)
    else:
        frames.subscribe(outcome.items.append, outcome.on_error, outcome.on_completed)
    return outcome


def run(chunks: list[Any], fused: bool, on_error: str = "emit") -> Outcome:
    source: Observable[Any] = reactivex.from_iterable(chunks)
    return subscribe(source.pipe(parse_json_frames(on_error=on_error)), fused)  # type: ignore[arg-type]


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


fused_or_not = pytest.mark.parametrize("fused", [False, True], ids=["items", "fused"])


@fused_or_not
@pytest.mark.parametrize("size", [1, 5, len(STREAM)])
@pytest.mark.parametrize("wrap", [bytearray, memoryview], ids=["bytearray", "memoryview"])
def test_bytearray_and_memoryview_chunks_give_the_frames_of_the_same_bytes(
    wrap: Callable[[bytes], Any], size: int, fused: bool
) -> None:
    expected = run(pieces(STREAM, size), fused)
    got = run([wrap(chunk) for chunk in pieces(STREAM, size)], fused)
    assert got.error is None and got.completed
    assert got.items == expected.items
    assert [m.type for m in got.items] == ["a", "parse_error", "b", "parse_error", "c"]
    errors = [m for m in got.items if isinstance(m, ParseError)]
    assert [type(error.excerpt) for error in errors] == [bytes, bytes]


@fused_or_not
def test_a_memoryview_of_a_reused_buffer_is_read_when_it_arrives(fused: bool) -> None:
    buffer = bytearray(8)
    view = memoryview(buffer)
    source: Subject[memoryview] = Subject()
    outcome = subscribe(source.pipe(parse_json_frames()), fused)
    for piece in pieces(b'{"type":"first"}\n{"type":"second"}\n', 8):
        buffer[: len(piece)] = piece  # as readinto() refills one buffer
        source.on_next(view[: len(piece)])
    source.on_completed()
    assert [m.type for m in outcome.items] == ["first", "second"]


@fused_or_not
@pytest.mark.parametrize(
    ("bad", "name"), [('{"type":"b"}\n', "str"), (None, "NoneType"), (42, "int")]
)
def test_an_item_that_is_not_bytes_like_fails_the_stream_after_what_arrived(
    bad: object, name: str, fused: bool
) -> None:
    source: Subject[Any] = Subject()
    outcome = subscribe(source.pipe(parse_json_frames()), fused)
    source.on_next(b'{"type":"a"}\n{"type":"cut')
    source.on_next(bad)
    assert not source.observers, "the source was not disposed"
    assert [m.type for m in outcome.items] == ["a", "parse_error"]
    cut = outcome.items[1]
    assert isinstance(cut, ParseError) and cut.reason == "truncated"
    assert isinstance(outcome.error, TypeError)
    assert str(outcome.error) == (
        f"chunks must be bytes-like (bytes, bytearray, memoryview), not {name}"
    )
    assert not outcome.completed


def test_in_raise_mode_the_cut_frame_before_a_bad_item_is_the_error() -> None:
    outcome = run([b'{"type":"a"}\n{"type":"cut', "text"], fused=False, on_error="raise")
    assert [m.type for m in outcome.items] == ["a"]
    assert isinstance(outcome.error, FrameDecodeError)
    assert outcome.error.error.reason == "truncated"


def test_a_bad_item_after_a_complete_line_ends_the_stream_with_the_type_error() -> None:
    outcome = run([b'{"type":"a"}\n', None, b'{"type":"b"}\n'], fused=False)
    assert [m.type for m in outcome.items] == ["a"]
    assert isinstance(outcome.error, TypeError) and "NoneType" in str(outcome.error)


def test_the_frame_decoder_raises_the_same_type_error() -> None:
    decoder = FrameDecoder(lambda message: None, lambda: EPOCH)
    with pytest.raises(TypeError, match=r"must be bytes-like .*, not str$"):
        decoder.feed('{"type":"a"}\n')  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"not NoneType$"):
        decoder.feed(None)  # type: ignore[arg-type]
