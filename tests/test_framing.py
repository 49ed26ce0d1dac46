"""Framing rules of FrameDecoder: one test per rule, the corpus, and chunk-split invariance."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest
from corpus_files import SHARED_CORPUS, bundled_recordings, decode, recording
from hypothesis import given, settings
from hypothesis import strategies as st

from rxclaude.messages import (
    AssistantMessage,
    ClaudeMessage,
    Message,
    ParseError,
    ResultMessage,
    UnknownMessage,
)


def frame(obj: dict[str, object]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def kinds(messages: list[Message]) -> list[str]:
    return [m.reason if isinstance(m, ParseError) else m.type for m in messages]


def assert_spans_decode(stream: bytes, messages: list[Message]) -> None:
    """Each frame's offset and nbytes point at exactly its JSON text in the stream."""
    for message in messages:
        if isinstance(message, ClaudeMessage):
            span = stream[message.offset : message.offset + message.nbytes]
            assert json.loads(span) == message.raw


# -- the corpus ------------------------------------------------------------------------


@pytest.mark.parametrize("path", bundled_recordings(), ids=lambda p: p.name)
def test_every_real_recording_parses_without_error(path: Path) -> None:
    stream = path.read_bytes()
    messages = decode(stream)
    assert not [m for m in messages if isinstance(m, ParseError)]
    lines = [line for line in stream.split(b"\n") if line.strip()]
    assert [m.raw for m in messages] == [json.loads(line) for line in lines]
    assert_spans_decode(stream, messages)


@pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="../shared/corpus is not present")
def test_shared_corpus_matches_bundled_copy_and_parses() -> None:
    shared = sorted(SHARED_CORPUS.glob("*/*.json*"))
    assert shared, "the shared corpus has no recordings"
    bundled_names = {p.name for p in bundled_recordings()}
    for path in shared:
        if path.name in bundled_names:
            assert path.read_bytes() == recording(path.name)
        messages = decode(path.read_bytes())
        assert not [m for m in messages if isinstance(m, ParseError)], path.name


# -- line splitting --------------------------------------------------------------------


def test_splits_on_newline_bytes_only_so_raw_u2028_stays_inside_a_frame() -> None:
    text = "a\u2028b\u2029c\x0bd\x0ce\x1cf\x85g"
    stream = frame({"type": "user", "text": text}) + b"\n"
    (message,) = decode(stream)
    assert isinstance(message, ClaudeMessage)
    assert message.raw["text"] == text


def test_crlf_line_end_is_not_part_of_the_frame() -> None:
    stream = b'{"type":"a"}\r\n{"type":"b"}\r\n'
    first, second = decode(stream)
    assert (first.offset, first.nbytes) == (0, 12)
    assert (second.offset, second.nbytes) == (14, 12)


def test_blank_and_whitespace_lines_are_skipped() -> None:
    stream = b'\n\n  \t \r\n{"type":"a"}\n\n\n{"type":"b"}\n   '
    assert kinds(decode(stream)) == ["a", "b"]


def test_bom_at_stream_start_is_skipped_but_not_elsewhere() -> None:
    stream = b'\xef\xbb\xbf{"type":"a"}\n\xef\xbb\xbf{"type":"b"}\n'
    first, second = decode(stream)
    assert first.type == "a" and first.offset == 3 and first.nbytes == 12
    assert isinstance(second, ParseError) and second.reason == "invalid_json"


def test_last_frame_without_newline_is_a_frame() -> None:
    (message,) = decode([b'{"type":"res', b'ult"}'])
    assert isinstance(message, ResultMessage)
    assert (message.offset, message.nbytes) == (0, 17)


# -- recovery ------------------------------------------------------------------------------


def test_several_objects_on_one_line_are_each_a_frame_with_exact_spans() -> None:
    stream = b'{"type":"a","t":"\xc3\xa9"}{"type":"b"}  {"type":"c"}\n'
    messages = decode(stream)
    assert kinds(messages) == ["a", "b", "c"]
    assert_spans_decode(stream, messages)


def test_object_pretty_printed_over_several_lines_is_recovered() -> None:
    pretty = json.dumps({"type": "assistant", "list": ["x", "y"], "n": {"k": 1}}, indent=2)
    stream = b'{"type":"a"}\n' + pretty.encode() + b'\n{"type":"b"}\n'
    messages = decode(stream)
    assert kinds(messages) == ["a", "assistant", "b"]
    assert isinstance(messages[1], AssistantMessage)
    assert messages[1].raw == json.loads(pretty)
    assert_spans_decode(stream, messages)


def test_pretty_printed_object_with_crlf_line_ends_keeps_exact_spans() -> None:
    pretty = json.dumps({"type": "x", "a": [1, 2]}, indent=1).replace("\n", "\r\n")
    stream = b'{"type":"a"}\r\n' + pretty.encode() + b"\r\n"
    messages = decode(stream)
    assert kinds(messages) == ["a", "x"]
    assert_spans_decode(stream, messages)


def test_broken_line_never_swallows_the_valid_frame_after_it() -> None:
    stream = b'{"type":"x","a":{\n{"type":"b"}\n{"type":"c"}\n'
    messages = decode(stream)
    assert kinds(messages) == ["truncated", "b", "c"]
    assert messages[0].offset == 0 and messages[0].nbytes == 17


def test_junk_after_an_unfinished_object_ends_the_attempt_and_is_reported() -> None:
    stream = b'{"type":"x",\n[SandboxDebug] hello\n{"type":"b"}\n'
    assert kinds(decode(stream)) == ["truncated", "invalid_json", "b"]


def test_object_followed_by_junk_on_one_line_keeps_the_object() -> None:
    messages = decode(b'{"type":"a"} trailing junk\n')
    assert kinds(messages) == ["a", "invalid_json"]
    error = messages[1]
    assert isinstance(error, ParseError)
    assert (error.offset, error.excerpt) == (13, b"trailing junk")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"[SandboxDebug] sandbox ready", "invalid_json"),
        (b"[log_0a1b] sending request", "invalid_json"),
        (b"Error: something", "invalid_json"),
        (b"42", "not_an_object"),
        (b'"a string"', "not_an_object"),
        (b"[1, 2, 3]", "not_an_object"),
        (b"null", "not_an_object"),
        (b"1 2 3", "not_an_object"),
        (b"\xff\xfe{}", "invalid_utf8"),
        (b'{"type":"a","t":"\xed\xa0\x80"}', "invalid_utf8"),
        (b'{"type":"a","mess', "truncated"),
        (b'{"a": NaN}', "invalid_json"),
        (b"{'single': 'quotes'}", "invalid_json"),
    ],
)
def test_bad_lines_become_parse_errors_in_place(line: bytes, reason: str) -> None:
    stream = b'{"type":"before"}\n' + line + b'\n{"type":"after"}\n'
    before, error, after = decode(stream)
    assert (before.type, after.type) == ("before", "after")
    assert isinstance(error, ParseError)
    assert error.reason == reason
    assert error.raw is None and error.type == "parse_error"
    assert error.offset == 18
    assert error.excerpt == line[:200]
    assert after.offset == 18 + len(line) + 1


def test_deeply_nested_json_is_an_error_not_a_crash() -> None:
    deep = b'{"type":"x","a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    messages = decode(deep + b'\n{"type":"b"}\n')
    assert kinds(messages) == ["invalid_json", "b"]


def test_big_integers_beyond_64_bits_still_parse() -> None:
    (message,) = decode(b'{"type":"a","n":123456789012345678901234567890}\n')
    assert isinstance(message, ClaudeMessage)
    assert message.raw["n"] == 123456789012345678901234567890


def test_object_without_type_passes_through_as_unknown() -> None:
    first, second = decode(b'{"no_type":1}\n{"type":7}\n')
    assert isinstance(first, UnknownMessage) and first.type == ""
    assert isinstance(second, UnknownMessage) and second.raw == {"type": 7}


# -- the end of the stream -------------------------------------------------------------


def test_stream_ending_inside_a_frame_is_truncated() -> None:
    messages = decode([b'{"type":"a"}\n{"type":"b","x":[1,', b"2"])
    assert kinds(messages) == ["a", "truncated"]
    assert (messages[1].offset, messages[1].nbytes) == (13, 20)


def test_stream_ending_inside_a_pretty_printed_object_is_truncated() -> None:
    messages = decode(b'{"type":"a"}\n{\n  "type": "b",\n')
    assert kinds(messages) == ["a", "truncated"]


# -- size limit ------------------------------------------------------------------------


def test_oversized_line_is_one_error_and_the_next_frame_arrives() -> None:
    big = frame({"type": "user", "text": "x" * 5000})
    stream = b'{"type":"a"}\n' + big + b'\n{"type":"b"}\n'
    for chunk_size in (7, 100, 4096, len(stream)):
        chunks = [stream[i : i + chunk_size] for i in range(0, len(stream), chunk_size)]
        messages = decode(chunks, max_frame_bytes=1000)
        assert kinds(messages) == ["a", "frame_too_large", "b"], chunk_size
        error = messages[1]
        assert isinstance(error, ParseError)
        assert (error.offset, error.nbytes) == (13, len(big))
        assert error.excerpt == big[:200]
        assert "1000" in error.detail


def test_oversized_last_line_without_newline_is_reported() -> None:
    messages = decode([b'{"type":"a"}\n', b"y" * 3000], max_frame_bytes=1000)
    assert kinds(messages) == ["a", "frame_too_large"]
    assert messages[1].nbytes == 3000


def test_frame_exactly_at_the_limit_is_accepted() -> None:
    exact = frame({"type": "a", "pad": "p" * 100})
    messages = decode([exact[:50], exact[50:] + b"\n"], max_frame_bytes=len(exact))
    assert kinds(messages) == ["a"]


def test_invalid_max_frame_bytes_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_frame_bytes"):
        decode(b"", max_frame_bytes=0)


# -- chunking does not matter ------------------------------------------------------------

CHUNK_PROPERTY_FILES = [
    "tool_use_partial",
    "thinking_partial",
    "unicode_escaping",
    "control_protocol.stdout",
    "matt-grain__custom_agent_output",
    "tyrchen__partial_stream",
]
HOSTILE_TAIL = (
    b'\r\n[SandboxDebug] x\n\xff\xfe\n{"type":"a","b":\n{"type":"c"}{"type":"d"}\n'
    b'{\n "type": "pretty"\n}\n42\n\n{"type":"last'
)


def cut(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    return [stream[a:b] for a, b in pairwise(points)]


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(CHUNK_PROPERTY_FILES),
    cuts=st.lists(st.integers(min_value=0, max_value=10**7), max_size=40),
    hostile=st.booleans(),
)
def test_any_split_into_chunks_gives_the_same_messages(
    name: str, cuts: list[int], hostile: bool
) -> None:
    stream = recording(name) + (HOSTILE_TAIL if hostile else b"")
    assert decode(cut(stream, cuts)) == decode(stream)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(min_value=1, max_value=9))
def test_byte_by_byte_and_tiny_chunks_give_the_same_messages(size: int) -> None:
    stream = recording("unicode_escaping") + HOSTILE_TAIL
    chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
    assert decode(chunks) == decode(stream)


def test_chunk_cuts_inside_multibyte_utf8_sequences() -> None:
    stream = frame({"type": "user", "t": "é — 日本語 😀" * 50}) + b"\n"
    expected = decode(stream)
    for point in range(len(stream)):
        assert decode([stream[:point], stream[point:]]) == expected
