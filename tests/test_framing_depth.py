"""The nesting limit: a value deeper than MAX_NESTING_DEPTH is ``invalid_json``, on any stack.

One limit for every framing path (a line, several values on a line, an object over several
lines), checked before any JSON decoder runs: the outcome does not depend on the caller's
stack, and a thread with a small stack cannot overflow it inside the decoder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
from corpus_files import decode
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability.framing_oracle import check_spans

from rxclaude.framing import MAX_NESTING_DEPTH
from rxclaude.framing import depth as framing
from rxclaude.messages import ClaudeMessage, Message, ParseError

LIMIT = MAX_NESTING_DEPTH
BEFORE = b'{"type":"before"}\n'
AFTER = b'\n{"type":"after"}\n'
OPENERS = pytest.mark.parametrize("opener", [b"[", b'{"a":'], ids=["arrays", "objects"])


def nested(depth: int, opener: bytes = b"[", closed: bool = True) -> bytes:
    """A frame nesting ``depth`` levels in all (its own object is the first)."""
    inner = opener * (depth - 1)
    if closed:
        closer = b"]" if opener == b"[" else b"}"
        inner += (b"" if opener == b"[" else b"0") + closer * (depth - 1)
    return b'{"type":"deep","value":' + inner + (b"}" if closed else b"")


def kinds(messages: list[Message]) -> list[str]:
    return [m.reason if isinstance(m, ParseError) else m.type for m in messages]


def on_a_deeper_stack(frames: int, function: Callable[[], list[Message]]) -> list[Message]:
    """``function()`` called under ``frames`` more stack frames."""
    return function() if frames == 0 else on_a_deeper_stack(frames - 1, function)


# -- one line ----------------------------------------------------------------------------


@OPENERS
@pytest.mark.parametrize("depth", [LIMIT - 1, LIMIT])
def test_a_frame_nested_up_to_the_limit_decodes(opener: bytes, depth: int) -> None:
    frame = nested(depth, opener)
    stream = BEFORE + frame + AFTER
    messages = decode(stream)
    assert kinds(messages) == ["before", "deep", "after"]
    deep = messages[1]
    assert isinstance(deep, ClaudeMessage) and deep.raw == json.loads(frame)
    assert on_a_deeper_stack(300, lambda: decode(stream)) == messages


@OPENERS
@pytest.mark.parametrize("depth", [LIMIT + 1, 900, 10_000])
def test_a_frame_nested_past_the_limit_is_one_invalid_json_error(opener: bytes, depth: int) -> None:
    frame = nested(depth, opener)
    stream = BEFORE + frame + AFTER
    messages = decode(stream)
    assert kinds(messages) == ["before", "invalid_json", "after"]
    error = messages[1]
    assert isinstance(error, ParseError)
    assert (error.offset, error.nbytes, error.excerpt) == (len(BEFORE), len(frame), frame[:200])
    assert f"deeper than {LIMIT} levels" in error.detail
    assert on_a_deeper_stack(300, lambda: decode(stream)) == messages
    for size in (7, 4096):
        assert decode([stream[i : i + size] for i in range(0, len(stream), size)]) == messages


def test_a_frame_within_the_limit_on_an_exhausted_stack_is_an_error_that_says_so() -> None:
    frame, depth = nested(LIMIT), 0
    caller = sys._getframe()
    while caller.f_back is not None:
        caller, depth = caller.f_back, depth + 1
    spare = sys.getrecursionlimit() - depth - 100  # too few levels left for the frame
    messages = on_a_deeper_stack(spare, lambda: decode(BEFORE + frame + AFTER))
    assert kinds(messages) == ["before", "invalid_json", "after"]
    error = messages[1]
    assert isinstance(error, ParseError)
    assert error.detail == "the JSON value nests too deeply for the caller's stack"


@pytest.mark.parametrize("end", [AFTER, b""], ids=["mid-stream", "at the end"])
def test_an_unclosed_value_already_past_the_limit_is_invalid_not_truncated(end: bytes) -> None:
    frame = nested(LIMIT + 1, closed=False)
    messages = decode(BEFORE + frame + end)
    assert kinds(messages) == ["before", "invalid_json"] + (["after"] if end else [])
    check_spans(BEFORE + frame + end, messages)


def test_values_before_a_deep_one_on_its_line_arrive() -> None:
    line = b'{"type":"a"} {"type":"b"}' + nested(LIMIT + 1) + b'{"type":"c"}'
    stream = BEFORE + line + AFTER
    messages = decode(stream)
    assert kinds(messages) == ["before", "a", "b", "invalid_json", "after"]
    check_spans(stream, messages)
    assert messages[3].offset == len(BEFORE) + len(b'{"type":"a"} {"type":"b"}')


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps("[{" * LIMIT + '"\\ \\\\' + "[" * LIMIT).encode()
    frames = [
        b'{"type":"text","text":' + text + b"}",
        b'{"type":"keys","' + b"[" * (LIMIT + 1) + b'":"\\\\","b":"' + b"{" * LIMIT + b'"}',
        b'{"type":"escaped","a":"\\"' + b"[" * (LIMIT + 1) + b'\\""}',
    ]
    messages = decode(b"\n".join(frames) + b"\n")
    assert kinds(messages) == ["text", "keys", "escaped"]
    assert [m.raw for m in messages] == [json.loads(frame) for frame in frames]


def test_many_brackets_that_do_not_nest_deeply_decode() -> None:
    frame = json.dumps({"type": "list", "value": [[n, {"n": [n]}] for n in range(LIMIT)]})
    (message,) = decode(frame.encode() + b"\n")
    assert isinstance(message, ClaudeMessage) and message.raw == json.loads(frame)


# -- objects over several lines ------------------------------------------------------------


def test_a_deep_line_ends_an_object_held_over_lines_and_is_its_own_error() -> None:
    stream = BEFORE + b'{"type":"held",\n' + nested(LIMIT + 1) + AFTER
    messages = decode(stream)
    assert kinds(messages) == ["before", "truncated", "invalid_json", "after"]
    check_spans(stream, messages)


def test_a_deep_value_after_an_object_over_lines_closes_it_is_an_error() -> None:
    deep = b"[" * (LIMIT + 1) + b"]" * (LIMIT + 1)
    stream = BEFORE + b'{\n "type": "pretty"\n} ' + deep + AFTER
    messages = decode(stream)
    assert kinds(messages) == ["before", "pretty", "invalid_json", "after"]
    check_spans(stream, messages)


# -- a thread with a small stack ------------------------------------------------------------

SMALL_STACK_SCRIPT = """
import json, sys, threading
import reactivex
from rxclaude import ParseError, parse_json_frames

streams = [stream.encode("latin-1") for stream in json.load(sys.stdin)]
results = []

def run():
    for stream in streams:
        items = []
        chunks = [stream[i : i + 4096] for i in range(0, len(stream), 4096)]
        reactivex.from_iterable(chunks).pipe(parse_json_frames()).subscribe(items.append)
        results.append([m.reason if isinstance(m, ParseError) else m.type for m in items])

threading.stack_size(256 * 1024)
worker = threading.Thread(target=run)
worker.start()
worker.join()
print(json.dumps(results))
"""


def test_a_thread_with_a_256_kib_stack_gets_the_same_items() -> None:
    """Run in a child process: an overflow there is a failed test, not a crashed run."""
    lines = [nested(depth, opener) for opener in (b"[", b'{"a":') for depth in (LIMIT, LIMIT + 1)]
    lines += [
        nested(10_000, b'{"a":'),
        b'{"type":"a"} ' + nested(LIMIT),  # several values: the slow path's decoder
        b'{"a":\n' * (LIMIT - 1) + b"0" + b"\n}" * (LIMIT - 1),  # an object over lines
    ]
    streams = [BEFORE + line + AFTER for line in lines]
    done = subprocess.run(
        [sys.executable, "-c", SMALL_STACK_SCRIPT],
        input=json.dumps([stream.decode("latin-1") for stream in streams]).encode(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"the child died ({done.returncode}): {done.stderr[-2000:]!r}"
    expected = [kinds(decode(stream)) for stream in streams]
    assert json.loads(done.stdout) == expected
    assert [result[1] for result in expected] == [
        "deep",
        "invalid_json",
        "deep",
        "invalid_json",
        "invalid_json",
        "a",
        "",
    ]


# -- the two depth scans agree --------------------------------------------------------------


def reference_too_deep(text: str, limit: int) -> int:
    """Index of the first bracket past ``limit`` outside strings, -1 if none (the rules
    by hand: strings end at an unescaped quote; an unmatched closing bracket stops)."""
    depth, inside, index = 0, False, 0
    while index < len(text):
        char = text[index]
        if inside:
            if char == "\\":
                index += 1
            elif char == '"':
                inside = False
        elif char == '"':
            inside = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return index
        elif char in "]}":
            if not depth:
                return -1
            depth -= 1
        index += 1
    return -1


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet='[]{}"\\ a:,', max_size=60), limit=st.integers(1, 6))
def test_the_fast_check_and_the_positional_scan_follow_the_same_rules(
    text: str, limit: int
) -> None:
    expected = reference_too_deep(text, limit)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(framing, "MAX_NESTING_DEPTH", limit)
        assert framing._nesting_limit_index(text, 0) == expected
        assert framing._nests_too_deep(text.encode()) == (expected >= 0)
        long_line = (text + " " * framing._COUNTED_LINE_BYTES).encode()  # found, not counted
        assert framing._nests_too_deep(long_line) == (expected >= 0)
