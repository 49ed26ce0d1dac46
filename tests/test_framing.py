"""Framing rules of FrameDecoder: one test per rule, the corpus, and chunk-split invariance."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from corpus_files import EPOCH, SHARED_CORPUS, bundled_recordings, decode, recording
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability.framing_oracle import cut

from rxclaude import framing
from rxclaude.framing import MAX_NESTING_DEPTH, syntax
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


def test_blanks_around_a_frame_are_not_part_of_its_span() -> None:
    stream = b' \t{"type":"a"}  \n{"type":"b"} \r\n\t{"type":"c"}\r\n{"type":"d"}\r\n'
    messages = decode(stream)
    assert [stream[m.offset : m.offset + m.nbytes] for m in messages] == [
        b'{"type":"a"}',
        b'{"type":"b"}',
        b'{"type":"c"}',
        b'{"type":"d"}',
    ]


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


def test_an_object_over_many_lines_costs_linear_decoding_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each line is checked once as it arrives; the whole object is decoded once, at its end."""
    decoded: list[int] = []
    strict_decoder = syntax._strict_decoder

    class CountingDecoder:
        def raw_decode(self, text: str, position: int) -> tuple[Any, int]:
            decoded.append(len(text) - position)
            return strict_decoder.raw_decode(text, position)

    monkeypatch.setattr(syntax, "_strict_decoder", CountingDecoder())
    stream = b'{"type":"x",\n' + b'"k":1,\n' * 2000 + b'"z":0}\n{"type":"b"}\n'
    assert kinds(decode(stream)) == ["x", "b"]
    assert sum(decoded) < 3 * len(stream)


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("cut_line", [b' "text": "cut her', b' "text": "cut\\'], ids=["text", "\\"])
def test_a_line_of_an_object_over_lines_cut_inside_a_string_ends_the_attempt(
    line_end: bytes, cut_line: bytes
) -> None:
    """A string cannot go on over a line end: the lines so far are one error, CRLF or not."""
    lines = [b"{", b' "type": "x",', cut_line, b' "more": 1', b"}", b'{"type":"b"}']
    messages = decode(line_end.join(lines) + line_end)
    assert kinds(messages) == ["truncated", "invalid_json", "invalid_json", "invalid_json", "b"]
    assert (messages[0].offset, messages[0].nbytes) == (0, len(line_end.join(lines[:2])))


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


def test_a_line_nested_too_deeply_is_one_invalid_json_error_over_its_json_text() -> None:
    deep = b"[" * 5000 + b"]" * 5000
    before = b'{"type":"a"}\n\t'
    messages = decode(before + deep + b' \n{"type":"b"}\n')
    assert kinds(messages) == ["a", "invalid_json", "b"]
    error = messages[1]
    assert isinstance(error, ParseError)
    assert (error.offset, error.nbytes, error.excerpt) == (len(before), len(deep), deep[:200])
    assert "nests deeper than" in error.detail


def nested_over_lines(depth: int) -> bytes:
    """``depth`` objects, each in the one before, one level per line."""
    return b'{"a":\n' * depth + b"0" + b"\n}" * depth


def on_a_deeper_stack(frames: int, function: Callable[[], list[Message]]) -> list[Message]:
    """``function()`` called under ``frames`` more stack frames."""
    return function() if frames == 0 else on_a_deeper_stack(frames - 1, function)


def test_an_object_over_lines_may_nest_up_to_the_limit() -> None:
    at_limit = nested_over_lines(MAX_NESTING_DEPTH)
    (message,) = decode(at_limit + b"\n")
    assert isinstance(message, UnknownMessage)
    assert (message.offset, message.nbytes) == (0, len(at_limit))
    assert message.raw == json.loads(at_limit)


def test_an_object_over_lines_nested_deeper_is_an_error_whatever_the_chunks_and_stack() -> None:
    stream = nested_over_lines(MAX_NESTING_DEPTH + 1) + b'\n{"type":"b"}\n'
    messages = decode(stream)
    error = messages[0]
    assert isinstance(error, ParseError) and error.reason == "invalid_json"
    assert (error.offset, error.nbytes) == (0, len(b'{"a":\n' * MAX_NESTING_DEPTH) - 1)
    assert f"deeper than {MAX_NESTING_DEPTH} levels" in error.detail
    assert messages[-1].type == "b"
    for size in (1, 5, 4096):
        assert decode([stream[i : i + size] for i in range(0, len(stream), size)]) == messages
    assert on_a_deeper_stack(400, lambda: decode(stream)) == messages


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


CUT_AT_THE_END = [
    *(
        cut.encode()
        for cut in [
            '{"a":t',
            '{"a":tru',
            '{"a":f',
            '{"a":fals',
            '{"a":nu',
            '{"a":-',
            '{"a":-1.',
            '{"a":1.5e',
            '{"a":[1e+',
            '{"a":"\\',
            '{"a":"\\u',
            '{"a":"\\u00e',
            '{"a":"\\ud83d',
            '{"a":"\\ud83d\\ude0',
        ]
    ),
    '{"a":"é'.encode()[:-1],
    '{"a":"日'.encode()[:-2],
    *('{"a":"x😀'.encode()[:-cut] for cut in (1, 2, 3)),
]


@pytest.mark.parametrize("cut", CUT_AT_THE_END, ids=repr)
def test_a_frame_cut_inside_any_token_at_the_end_of_the_stream_is_truncated(cut: bytes) -> None:
    before = b'{"type":"a"}\n'
    for chunks in ([before + cut], [before + cut[:-1], cut[-1:]]):
        _, error = decode(chunks)
        assert isinstance(error, ParseError) and error.reason == "truncated", chunks
        assert (error.offset, error.nbytes, error.excerpt) == (len(before), len(cut), cut)


@pytest.mark.parametrize(
    ("last_line", "reason"),
    [
        (b'{"a":tx', "invalid_json"),
        (b'{"a":1.5.', "invalid_json"),
        (b'{"a":true.', "invalid_json"),
        (b'{"a":"\\u00zz', "invalid_json"),
        (b"t", "invalid_json"),
        (b"caf\xc3", "invalid_utf8"),
        (b'{"a":tr\xc3', "invalid_utf8"),
        (b'{"a":"\xc3(', "invalid_utf8"),
    ],
)
def test_a_last_line_that_no_more_bytes_could_complete_keeps_its_reason(
    last_line: bytes, reason: str
) -> None:
    _, error = decode(b'{"type":"a"}\n' + last_line)
    assert isinstance(error, ParseError)
    assert (error.reason, error.offset, error.excerpt) == (reason, 13, last_line)


def test_only_the_end_of_the_stream_cuts_a_character() -> None:
    cut = '{"a":"é'.encode()[:-1]
    assert kinds(decode(cut + b'\n{"type":"b"}\n')) == ["invalid_utf8", "b"]


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_a_line_cut_inside_a_literal_mid_stream_is_truncated(line_end: bytes) -> None:
    messages = decode(b'{"type":"a","b":fal' + line_end + b'{"type":"b"}' + line_end)
    assert kinds(messages) == ["truncated", "b"]
    assert (messages[0].offset, messages[0].nbytes) == (0, 19)


@pytest.mark.parametrize(
    "cut",
    ['{\n  "type": "x",\n  "text": "日本'.encode()[:-1], b'{\n  "type": "x",\n  "ok": nu'],
    ids=["inside a character", "inside a literal"],
)
def test_an_object_over_lines_cut_at_the_end_of_the_stream_is_one_truncated_error(
    cut: bytes,
) -> None:
    before = b'{"type":"a"}\n'
    _, error = decode(before + cut)
    assert isinstance(error, ParseError) and error.reason == "truncated"
    assert (error.offset, error.nbytes, error.excerpt) == (len(before), len(cut), cut)


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


@pytest.mark.parametrize("line_end", [b"\n", b""], ids=["with a line end", "last line"])
@pytest.mark.parametrize("chunk_size", [1, 7, 150, 301])
def test_the_excerpt_of_a_line_over_a_small_limit_is_its_first_200_bytes(
    chunk_size: int, line_end: bytes
) -> None:
    line = bytes(range(48, 123)) * 4
    stream = line + line_end
    messages = decode([stream[i : i + chunk_size] for i in range(0, len(stream), chunk_size)], 10)
    (error,) = messages
    assert isinstance(error, ParseError) and error.reason == "frame_too_large"
    assert (error.nbytes, error.excerpt) == (len(line), line[:200])


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


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(CHUNK_PROPERTY_FILES),
    cuts=st.lists(st.integers(min_value=0, max_value=10**7), max_size=40),
    hostile=st.booleans(),
    views=st.booleans(),
)
def test_any_split_into_chunks_gives_the_same_messages(
    name: str, cuts: list[int], hostile: bool, views: bool
) -> None:
    stream = recording(name) + (HOSTILE_TAIL if hostile else b"")
    chunks = cut(stream, cuts)
    if views:  # memoryviews of one reused buffer, as a reader with readinto() hands out
        messages: list[Message] = []
        decoder = framing.FrameDecoder(messages.append, lambda: EPOCH)
        buffer = bytearray(max(map(len, chunks), default=0))
        for chunk in chunks:
            buffer[: len(chunk)] = chunk
            decoder.feed(memoryview(buffer)[: len(chunk)])
        decoder.finish()
        assert messages == decode(stream)
    else:
        assert decode(chunks) == decode(stream)


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


# -- the decoder's interface ---------------------------------------------------------------


def test_feed_returns_what_each_chunk_completes_and_finish_the_rest() -> None:
    decoder = framing.FrameDecoder(now=lambda: EPOCH)
    first = decoder.feed(b'{"type":"a"}\n{"type":"b"}\n{"ty')
    assert decoder.feed(b"pe") == []
    second = decoder.feed(b'":"c"}\n[junk\n{"type":"d"}')
    last = decoder.finish()
    assert kinds(first) == ["a", "b"]
    assert kinds(second) == ["c", "invalid_json"]
    assert kinds(last) == ["d"]
    assert first + second + last == decode(
        b'{"type":"a"}\n{"type":"b"}\n{"type":"c"}\n[junk\n{"type":"d"}'
    )


def test_with_an_emit_callback_messages_go_there_as_they_are_decoded() -> None:
    emitted: list[Message] = []
    decoder = framing.FrameDecoder(emitted.append, lambda: EPOCH)
    assert decoder.feed(b'{"type":"a"}\n{"ty') == []
    assert kinds(emitted) == ["a"]
    assert decoder.finish() == []
    assert kinds(emitted) == ["a", "truncated"]


def test_last_result_is_the_last_result_frame_of_either_path() -> None:
    assert framing.FrameDecoder().last_result is None
    decoder = framing.FrameDecoder()
    (fast,) = decoder.feed(b'{"type":"result","n":1}\n')
    assert decoder.last_result is fast
    slow = decoder.feed(b'{"type":"result","n":2} {"type":"result","n":3}\n')
    assert decoder.last_result is slow[-1]
    (fast,) = decoder.feed(b'{"type":"result","n":4}\n')
    assert decoder.last_result is fast


def test_the_default_clock_is_the_wall_clock_in_utc() -> None:
    before = datetime.now(UTC)
    (message,) = framing.FrameDecoder().feed(b'{"type":"a"}\n')
    assert before <= message.received_at <= datetime.now(UTC)
