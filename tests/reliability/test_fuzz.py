"""Fuzzing parse_json_frames: mutated real frames, random bytes, giant and deep values.

Each example runs the operator over the stream cut into random chunks, on a worker
thread with a deadline (nothing may hang), and checks the oracle of ``framing_oracle``:
no exception escapes, the stream completes, every intact frame arrives, the items'
spans account for every byte, and ``measure`` counts reconcile with the items.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import reactivex
from conftest import TIMEOUT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reliability.framing_oracle import (
    Segment,
    Stream,
    build_stream,
    check_decoding,
    check_expected,
    check_spans,
    corpus_frames,
    cut,
    damage,
    decode_whole,
    intact,
    pretty,
    several,
)
from reliability.support import Collector
from rxclaude import (
    FrameDecodeError,
    Message,
    ParseError,
    Router,
    StreamMetrics,
    assemble_partials,
    measure,
    parse_json_frames,
    route_by_type,
)
from rxclaude.framing import DEFAULT_MAX_FRAME_BYTES, MAX_NESTING_DEPTH
from rxclaude.routing import HandlerError

FRAMES = corpus_frames()

JUNK_LINES = [
    b"[SandboxDebug] sandbox ready",
    b"Error: something went wrong",
    b"42",
    b"null",
    b'"a string"',
    b"[1, 2, 3]",
    b"1 2 3",
    b"}",
    b"]",
    b"{",
    b"[",
    b'{"type":"x",',
    b'"key": 1,',
    b"{'single': 'quotes'}",
    b'{"a": NaN}',
    b"\xef\xbb\xbf",
    b"\xef\xbb\xbf{}",
    b" \t ",
    b"",
]
INVALID_UTF8 = [b"\xff", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"]


# -- running the operator with a deadline ----------------------------------------------


def decode_in_chunks(
    chunks: Sequence[bytes], max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> tuple[Collector, StreamMetrics]:
    """parse_json_frames then measure over ``chunks``, on a thread that must finish in time."""
    metrics = StreamMetrics()
    collector = Collector()
    source = reactivex.from_iterable(chunks).pipe(
        parse_json_frames(max_frame_bytes=max_frame_bytes), measure(metrics)
    )
    worker = threading.Thread(target=source.subscribe, args=(collector,), daemon=True)
    worker.start()
    worker.join(TIMEOUT)
    assert not worker.is_alive(), f"decoding {sum(map(len, chunks))} bytes hung"
    return collector, metrics


def check_run(collector: Collector, metrics: StreamMetrics) -> None:
    """The stream completed, and the metrics count exactly the items that went through."""
    assert collector.error is None, f"an exception escaped: {collector.error!r}"
    assert collector.completed
    items = collector.items
    snapshot = metrics.snapshot()
    assert snapshot.messages_received == len(items)
    assert snapshot.parse_errors == sum(isinstance(item, ParseError) for item in items)
    assert snapshot.bytes_processed == sum(item.nbytes for item in items)
    assert snapshot.by_type == Counter(item.type for item in items)


# -- strategies ------------------------------------------------------------------------

real_frames = st.sampled_from(FRAMES)
cuts = st.lists(st.integers(min_value=0, max_value=10**8), max_size=30)


@st.composite
def bit_flipped(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(real_frames))
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
    return bytes(data)


@st.composite
def truncated(draw: st.DrawFn) -> bytes:
    frame = draw(real_frames)
    return frame[: draw(st.integers(min_value=0, max_value=len(frame) - 1))]


@st.composite
def with_invalid_utf8(draw: st.DrawFn) -> bytes:
    frame = draw(real_frames)
    position = draw(st.integers(min_value=0, max_value=len(frame)))
    return frame[:position] + draw(st.sampled_from(INVALID_UTF8)) + frame[position:]


@st.composite
def deeply_nested(draw: st.DrawFn, line_end: bytes) -> bytes:
    """An array or object nested deeply, closed or not: around the nesting limit, and on
    one line up to 10,000 levels (over lines, see
    ``test_deep_nesting_over_many_lines_decodes_the_same_in_any_chunks``).
    """
    over_lines = draw(st.booleans())
    around_limit = [MAX_NESTING_DEPTH - 1, MAX_NESTING_DEPTH, MAX_NESTING_DEPTH + 1]
    depth = draw(st.sampled_from([2, 100, *around_limit] + ([] if over_lines else [10_000])))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    closed = draw(st.booleans())
    levels = [opener] * depth + ([b"0"] + [closer] * depth if closed else [])
    text = (line_end if over_lines else b"").join(levels)
    if draw(st.booleans()):
        text = b'{"type":"deep","value":' + text + (b"}" if closed else b"")
    return text


@st.composite
def damaged_streams(draw: st.DrawFn, max_frame_bytes: int) -> Stream:
    """Real frames, intact or not, with damage of every kind between and inside them."""
    line_end = draw(st.sampled_from([b"\n", b"\r\n"]))
    kinds = st.sampled_from(
        ["intact"] * 4
        + ["several", "pretty", "flip", "truncate", "junk", "bytes", "utf8", "deep", "blank"]
    )
    segments: list[Segment] = []
    for kind in draw(st.lists(kinds, min_size=1, max_size=25)):
        if kind == "intact":
            segments.append(intact(draw(real_frames)))
        elif kind == "several":
            frames = draw(st.lists(real_frames, min_size=2, max_size=4))
            segments.append(several(frames, draw(st.sampled_from([b"", b" ", b"\t", b"  "]))))
        elif kind == "pretty":
            segments.append(pretty(draw(real_frames), line_end))
        elif kind == "flip":
            segments.append(damage(draw(bit_flipped())))
        elif kind == "truncate":
            segments.append(damage(draw(truncated())))
        elif kind == "junk":
            segments.append(damage(draw(st.sampled_from(JUNK_LINES))))
        elif kind == "bytes":
            segments.append(damage(draw(st.binary(max_size=300))))
        elif kind == "utf8":
            segments.append(damage(draw(with_invalid_utf8())))
        elif kind == "deep":
            segments.append(damage(draw(deeply_nested(line_end))))
        else:
            segments.append(damage(b""))
    return build_stream(segments, line_end, draw(st.booleans()), max_frame_bytes)


# -- the properties --------------------------------------------------------------------


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), max_frame_bytes=st.sampled_from([DEFAULT_MAX_FRAME_BYTES, 8192, 700]))
def test_damaged_real_streams_deliver_every_intact_frame(
    data: st.DataObject, max_frame_bytes: int
) -> None:
    stream = data.draw(damaged_streams(max_frame_bytes))
    collector, metrics = decode_in_chunks(cut(stream.data, data.draw(cuts)), max_frame_bytes)
    check_run(collector, metrics)
    check_decoding(stream, collector.items, max_frame_bytes)


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=2000), chunk_cuts=cuts)
def test_random_bytes_are_items_never_exceptions(data: bytes, chunk_cuts: list[int]) -> None:
    collector, metrics = decode_in_chunks(cut(data, chunk_cuts))
    check_run(collector, metrics)
    check_spans(data, collector.items)
    assert collector.items == decode_whole(data, DEFAULT_MAX_FRAME_BYTES)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_raise_mode_fails_exactly_at_the_first_parse_error(data: st.DataObject) -> None:
    stream = data.draw(damaged_streams(DEFAULT_MAX_FRAME_BYTES))
    emitted = decode_whole(stream.data, DEFAULT_MAX_FRAME_BYTES)
    items: list[Message] = []
    errors: list[Exception] = []
    completed: list[bool] = []
    reactivex.from_iterable(cut(stream.data, data.draw(cuts))).pipe(
        parse_json_frames(on_error="raise")
    ).subscribe(items.append, errors.append, lambda: completed.append(True))
    first_error = next((i for i, m in enumerate(emitted) if isinstance(m, ParseError)), None)
    if first_error is None:
        assert (items, errors, completed) == (emitted, [], [True])
        return
    assert items == emitted[:first_error]
    (error,) = errors
    assert isinstance(error, FrameDecodeError)
    assert error.error == emitted[first_error]
    assert completed == []


GIANT_CHARACTERS = ["x", "é", "日本", "\u2028", "😀", '\\"', "\\n"]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    character=st.sampled_from(GIANT_CHARACTERS),
    chunk_size=st.integers(min_value=1000, max_value=1 << 20),
    ending=st.sampled_from(["intact", "truncated", "unterminated"]),
    max_frame_bytes=st.sampled_from([DEFAULT_MAX_FRAME_BYTES, 1 << 20]),
    neighbours=st.lists(real_frames, min_size=2, max_size=2),
)
def test_a_five_megabyte_string_value(
    character: str, chunk_size: int, ending: str, max_frame_bytes: int, neighbours: list[bytes]
) -> None:
    """A 5 MB value, whole, cut short, or as the last line without a newline."""
    value = (character * (5_000_000 // len(character.encode()) + 1)).encode()
    giant = b'{"type":"user","text":"' + value + b'"}'
    before, after = neighbours
    if ending == "truncated":
        segments = [intact(before), damage(giant[: len(giant) // 2]), intact(after)]
    elif ending == "unterminated":
        segments = [intact(before), intact(after), intact(giant)]
    else:
        segments = [intact(before), intact(giant), intact(after)]
    stream = build_stream(segments, b"\n", False, max_frame_bytes)
    chunks = [stream.data[i : i + chunk_size] for i in range(0, len(stream.data), chunk_size)]
    collector, metrics = decode_in_chunks(chunks, max_frame_bytes)
    check_run(collector, metrics)
    check_decoding(stream, collector.items, max_frame_bytes)


def deep_nesting(opener: bytes, closed: bool, line_end: bytes) -> bytes:
    """10,000 levels of ``opener``, closed or not, joined by ``line_end``."""
    closer = b"]" if opener == b"[" else b"}"
    return line_end.join([opener] * 10_000 + ([b"0"] + [closer] * 10_000 if closed else []))


@pytest.mark.parametrize("line_end", [b"", b"\n"], ids=["one line", "one level per line"])
@pytest.mark.parametrize("closed", [True, False], ids=["closed", "unclosed"])
@pytest.mark.parametrize("opener", [b"[", b'{"a":'], ids=["arrays", "objects"])
def test_ten_thousand_levels_of_nesting_are_errors_not_crashes(
    opener: bytes, closed: bool, line_end: bytes
) -> None:
    segments = [
        intact(FRAMES[0]),
        damage(deep_nesting(opener, closed, line_end)),
        intact(FRAMES[1]),
    ]
    stream = build_stream(segments, b"\n", True, DEFAULT_MAX_FRAME_BYTES)
    for chunk_size in (7, 4096, len(stream.data)):
        chunks = [stream.data[i : i + chunk_size] for i in range(0, len(stream.data), chunk_size)]
        collector, metrics = decode_in_chunks(chunks)
        check_run(collector, metrics)
        check_spans(stream.data, collector.items)
        check_expected(stream, collector.items)
        errors = [item for item in collector.items if isinstance(item, ParseError)]
        assert errors, "10,000 levels of nesting decoded as a frame"


def test_deep_nesting_over_many_lines_decodes_the_same_in_any_chunks() -> None:
    """10,000 levels of objects, one per line: the lines are held and tried together."""
    deep = deep_nesting(b'{"a":', True, b"\n")
    stream = FRAMES[0] + b"\n" + deep + b"\n" + FRAMES[1] + b"\n"
    whole = decode_whole(stream, DEFAULT_MAX_FRAME_BYTES)
    for chunk_size in (1, 2, 3, 5, 7, 11, 4096):
        chunks = [stream[i : i + chunk_size] for i in range(0, len(stream), chunk_size)]
        collector, _ = decode_in_chunks(chunks)
        assert collector.items == whole, f"chunks of {chunk_size} bytes"


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(
        st.one_of(
            real_frames.map(lambda frame: (frame, "frame")),
            st.sampled_from(
                [b"[SandboxDebug] x", b"42", b"null", b"[1]", b"\xff\xfe", b'{"a":"b', b"{'a'}"]
            ).map(lambda junk: (junk, "junk")),
        ),
        max_size=40,
    ),
    chunk_cuts=cuts,
)
def test_each_line_that_cannot_continue_is_exactly_one_item(
    lines: list[tuple[bytes, str]], chunk_cuts: list[int]
) -> None:
    """Lines that are frames or junk that cannot start a multi-line object: counts reconcile."""
    data = b"".join(line + b"\n" for line, _ in lines)
    collector, metrics = decode_in_chunks(cut(data, chunk_cuts))
    check_run(collector, metrics)
    kinds = ["error" if isinstance(item, ParseError) else "frame" for item in collector.items]
    assert kinds == ["error" if kind == "junk" else "frame" for _, kind in lines]
    snapshot = metrics.snapshot()
    assert snapshot.messages_received - snapshot.parse_errors == kinds.count("frame")


def test_the_excerpt_of_a_long_line_does_not_depend_on_the_chunks() -> None:
    line = bytes(range(48, 123)) * 4  # 300 bytes
    for chunk_size in (1, 7, 50, 301):
        chunks = [line[i : i + chunk_size] for i in range(0, len(line), chunk_size)]
        collector, _ = decode_in_chunks([*chunks, b"\n"], max_frame_bytes=10)
        (error,) = collector.items
        assert isinstance(error, ParseError) and error.reason == "frame_too_large"
        assert error.excerpt == line[:200], f"chunks of {chunk_size} bytes"


CUT_FRAMES = [
    next(f for f in FRAMES if b":null" in f and b":false" in f and max(f) >= 0xC0),
    b'{"type":"result","is_error":false,"total_cost_usd":0.0123,"num_turns":-12,'
    + '"usage":{"n":1e-3,"m":null,"t":true},"s":"\\u00e9 é \\" \\\\ 日本 😀"}'.encode(),
]
"""A real frame with literals and UTF-8, and one with every kind of JSON token."""


def test_a_frame_cut_at_any_byte_at_the_end_of_the_stream_is_truncated() -> None:
    misreported: dict[bytes, str] = {}
    for frame in CUT_FRAMES:
        for cut_at in range(1, len(frame)):
            stream = b'{"type":"a"}\n' + frame[:cut_at]
            (item,) = decode_whole(stream, DEFAULT_MAX_FRAME_BYTES)[1:]
            if not isinstance(item, ParseError) or item.reason != "truncated":
                misreported[frame[:cut_at][-12:]] = item.subtype or item.type
    assert misreported == {}


def test_a_frame_span_is_exactly_its_json_text_even_with_blanks_around_it() -> None:
    stream = b' \t{"type":"a"}  \n{"type":"b"}\t\r\n'
    assert [stream[m.offset : m.offset + m.nbytes] for m in decode_whole(stream, 1000)] == [
        b'{"type":"a"}',
        b'{"type":"b"}',
    ]


# -- mutated values through the built-in handlers --------------------------------------


def _paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path into a JSON value (the root's is empty)."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


def _corpus_keys() -> list[str]:
    keys: set[str] = set()
    for frame in FRAMES:
        keys.update(
            key for path in _paths(json.loads(frame)) for key in path if isinstance(key, str)
        )
    return sorted(keys)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(_corpus_keys()) | st.text(max_size=6), children, max_size=3
        )
    ),
    max_leaves=8,
)


@st.composite
def mutated_frames(draw: st.DrawFn) -> dict[str, Any]:
    """A real frame with a few of its values replaced by arbitrary JSON, or removed."""
    frame = json.loads(draw(real_frames))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(frame)[1:]
        if not paths:
            break
        *parents, last = draw(st.sampled_from(paths))
        container = frame
        for key in parents:
            container = container[key]
        if isinstance(container, dict) and draw(st.booleans()):
            del container[last]
        else:
            container[last] = draw(json_values)
    return frame  # type: ignore[no-any-return]


def read_every_property(owner: object) -> None:
    """Call every property of ``owner``'s class; accessors must never raise."""
    for _, attribute in inspect.getmembers(type(owner), lambda a: isinstance(a, property)):
        attribute.fget(owner)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.lists(mutated_frames(), min_size=1, max_size=20))
def test_mutated_frames_never_make_accessors_or_builtin_handlers_raise(
    frames: list[dict[str, Any]],
) -> None:
    data = b"".join(json.dumps(frame).encode() + b"\n" for frame in frames)
    router, metrics = Router.default(), StreamMetrics()
    collector = Collector()
    reactivex.of(data).pipe(
        parse_json_frames(), route_by_type(router), measure(metrics), assemble_partials()
    ).subscribe(collector)
    assert [item for item in collector.items if isinstance(item, HandlerError)] == []
    assert collector.completed and collector.error is None
    assert router.statistics().handler_errors == 0
    assert metrics.snapshot().messages_received == len(frames)
    for item in collector.items:
        read_every_property(item)
        for block in getattr(item, "content", None) or []:
            read_every_property(block)
    for handler in router.handlers:
        read_every_property(handler)


# -- liveness of multi-line recovery ---------------------------------------------------

MANY_LINES_SCRIPT = """
import sys
from rxclaude.framing import FrameDecoder
from datetime import datetime, timezone
lines = int(sys.argv[1])
stream = b'{"type":"x",\\n' + b'"k":1,\\n' * lines + b'"z":0}\\n{"type":"b"}\\n'
items = []
decoder = FrameDecoder(items.append, lambda: datetime.now(timezone.utc))
decoder.feed(stream)
decoder.finish()
assert [item.type for item in items] == ["x", "b"], items
"""


def test_an_object_spread_over_many_lines_is_decoded_in_time() -> None:
    """A 280 KB object over 40,000 short lines: linear work takes well under a second."""
    command = [sys.executable, "-c", MANY_LINES_SCRIPT, "40000"]
    try:
        subprocess.run(command, check=True, timeout=5.0)
    except subprocess.TimeoutExpired:
        pytest.fail("recovering a 280 KB multi-line object took over 5 s")


# -- atheris -----------------------------------------------------------------------------

ATHERIS_TARGET = Path(__file__).with_name("atheris_parse.py")


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed")
def test_atheris_finds_no_failure_in_a_bounded_run(tmp_path: Path) -> None:
    """Coverage-guided fuzzing of the decoder for 15 s, seeded with real frames.

    ``-timeout`` makes an input that takes over 10 s a failure: nothing may hang.
    """
    seeds = tmp_path / "corpus"
    seeds.mkdir()
    for index, frame in enumerate(FRAMES[:: max(1, len(FRAMES) // 40)]):
        (seeds / f"seed-{index}").write_bytes(frame + b"\n")
    tests_directory = Path(__file__).resolve().parents[1]
    command = [
        sys.executable,
        str(ATHERIS_TARGET),
        "-max_total_time=15",
        "-timeout=10",
        "-max_len=4096",
        f"-artifact_prefix={tmp_path}/",
        str(seeds),
    ]
    result = subprocess.run(
        command,
        env={**os.environ, "PYTHONPATH": str(tests_directory)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Done" in result.stderr, result.stderr[-2000:]
