"""assemble_partials: partial-message recordings, the CLI's quirks, odd input, Rx behaviour."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import pytest
import reactivex
from corpus_files import EPOCH, decode, recording
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex.notification import OnError, OnNext
from reactivex.testing import ReactiveTest, TestScheduler

from rxclaude.messages import AssistantMessage, Message, ResultMessage, message_from_json
from rxclaude.messages.content import ContentBlock, TextBlock, ThinkingBlock, ToolUseBlock
from rxclaude.partials import (
    AssembledMessage,
    BlockComplete,
    BlockUpdate,
    PartialAssembler,
    PartialIssue,
    PartialItem,
    Superseded,
    assemble_partials,
)

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe

T = TypeVar("T", bound=PartialItem)

PARTIAL_RECORDINGS = [
    "local-mockapi-cli2.1.332__tool_use_partial",
    "local-mockapi-cli2.1.332__thinking_partial",
    "local-mockapi-cli2.1.332__midstream_sse_error_fallback",
    "local-mockapi-cli2.1.332__large_lines_590KB",
    "local-mockapi-cli2.1.332__subagent_task_forwarded_partial",
    "tyrchen__partial_stream_cli2.0.20",
]


def run(messages: Iterable[Message]) -> list[Message]:
    """Everything ``assemble_partials`` emits for ``messages``; fails on an error."""
    items: list[Message] = []
    errors: list[Exception] = []
    reactivex.from_iterable(messages).pipe(assemble_partials()).subscribe(
        items.append, errors.append
    )
    assert errors == []
    return items


def of_type(items: Iterable[Message], cls: type[T]) -> list[T]:
    """The items of class ``cls``, in order."""
    return [item for item in items if isinstance(item, cls)]


def of_assistant(messages: Iterable[Message]) -> list[AssistantMessage]:
    """The ``assistant`` frames, in order."""
    return [m for m in messages if isinstance(m, AssistantMessage)]


def content(block: ContentBlock) -> tuple[Any, ...]:
    """What a block says, by type: the fields the test compares."""
    if isinstance(block, TextBlock):
        return ("text", block.text)
    if isinstance(block, ThinkingBlock):
        return ("thinking", block.thinking, block.signature)
    if isinstance(block, ToolUseBlock):
        return ("tool_use", block.id, block.name, block.input)
    return (block.type, block.raw)


class Frames:
    """Builds frames for hand-written streams, at increasing offsets."""

    def __init__(self) -> None:
        self.offset = 0

    def frame(self, raw: dict[str, Any]) -> Message:
        nbytes = len(json.dumps(raw))
        message = message_from_json(raw, offset=self.offset, nbytes=nbytes, received_at=EPOCH)
        self.offset += nbytes + 1
        return message

    def event(self, event: dict[str, Any], parent: str | None = None, **extra: Any) -> Message:
        """A ``stream_event`` frame carrying ``event``."""
        return self.frame(
            {"type": "stream_event", "event": event, "parent_tool_use_id": parent, **extra}
        )

    def start(self, message_id: str, parent: str | None = None, **extra: Any) -> Message:
        body = {"id": message_id, "role": "assistant", "content": [], "usage": {"input_tokens": 7}}
        return self.event({"type": "message_start", "message": body}, parent, **extra)

    def block_start(self, index: int, block: dict[str, Any], **extra: Any) -> Message:
        return self.event(
            {"type": "content_block_start", "index": index, "content_block": block}, **extra
        )

    def delta(self, index: int, delta: dict[str, Any], **extra: Any) -> Message:
        return self.event({"type": "content_block_delta", "index": index, "delta": delta}, **extra)

    def text(self, index: int, text: str, **extra: Any) -> Message:
        return self.delta(index, {"type": "text_delta", "text": text}, **extra)

    def tool_json(self, index: int, partial_json: str, **extra: Any) -> Message:
        return self.delta(
            index, {"type": "input_json_delta", "partial_json": partial_json}, **extra
        )

    def block_stop(self, index: int, **extra: Any) -> Message:
        return self.event({"type": "content_block_stop", "index": index}, **extra)

    def message_delta(self, stop_reason: str = "end_turn", **extra: Any) -> Message:
        return self.event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 9, "input_tokens": None},
            },
            **extra,
        )

    def stop(self, **extra: Any) -> Message:
        return self.event({"type": "message_stop"}, **extra)

    def assistant(
        self, message_id: str, blocks: list[dict[str, Any]], parent: str | None = None
    ) -> Message:
        body = {"id": message_id, "role": "assistant", "content": blocks, "stop_reason": None}
        return self.frame({"type": "assistant", "message": body, "parent_tool_use_id": parent})


def text_stream(frames: Frames, message_id: str, pieces: Sequence[str]) -> list[Message]:
    """A one-text-block response as CLI 2.1.332 streams it, assistant frame included."""
    return [
        frames.start(message_id),
        frames.block_start(0, {"type": "text", "text": ""}),
        *(frames.text(0, piece) for piece in pieces),
        frames.assistant(message_id, [{"type": "text", "text": "".join(pieces)}]),
        frames.block_stop(0),
        frames.message_delta(),
        frames.stop(),
    ]


# --- every partial-message recording ------------------------------------------------------


@pytest.fixture(scope="module", params=PARTIAL_RECORDINGS)
def recorded(request: pytest.FixtureRequest) -> tuple[list[Message], list[Message]]:
    """A recording's messages and what the operator makes of them."""
    messages = decode(recording(request.param))
    return messages, run(messages)


def test_every_message_passes_through_unchanged_and_in_order(
    recorded: tuple[list[Message], list[Message]],
) -> None:
    messages, items = recorded
    passed = [item for item in items if not isinstance(item, PartialItem)]
    assert len(passed) == len(messages)
    assert all(out is original for out, original in zip(passed, messages, strict=True))


def test_items_follow_their_frame_and_add_no_bytes(
    recorded: tuple[list[Message], list[Message]],
) -> None:
    messages, items = recorded
    assert sum(item.nbytes for item in items) == sum(m.nbytes for m in messages)
    frame: Message | None = None
    for item in items:
        if not isinstance(item, PartialItem):
            frame = item
        else:
            assert frame is not None
            assert item.raw is None
            assert (item.offset, item.received_at) == (frame.offset, frame.received_at)
            assert item.type.startswith("partial_")


def test_no_issues_on_real_recordings(recorded: tuple[list[Message], list[Message]]) -> None:
    assert of_type(recorded[1], PartialIssue) == []


def test_each_started_block_completes_once(recorded: tuple[list[Message], list[Message]]) -> None:
    messages, items = recorded
    started = [
        m.raw["event"]["index"]
        for m in messages
        if m.raw is not None and m.raw.get("event", {}).get("type") == "content_block_start"
    ]
    completes = of_type(items, BlockComplete)
    assert [complete.index for complete in completes] == started
    assert all(complete.stopped and complete.json_error is None for complete in completes)


def test_assembled_blocks_equal_the_cli_assistant_frames(
    recorded: tuple[list[Message], list[Message]],
) -> None:
    messages, items = recorded
    authoritative: dict[str | None, list[ContentBlock]] = {}
    for message in of_assistant(messages):
        authoritative.setdefault(message.message_id, []).extend(message.blocks)
    completes = of_type(items, BlockComplete)
    compared = 0
    for message_id, blocks in authoritative.items():
        streamed = [c for c in completes if c.message_id == message_id]
        if not streamed:
            continue
        assert [content(c.assembled) for c in streamed] == [content(b) for b in blocks]
        assert all(c.confirmed and c.block == b for c, b in zip(streamed, blocks, strict=True))
        compared += len(blocks)
    assert compared == sum(c.confirmed for c in completes)


def test_each_message_stop_yields_the_assembled_message(
    recorded: tuple[list[Message], list[Message]],
) -> None:
    messages, items = recorded
    stops = [m for m in messages if m.raw and m.raw.get("event", {}).get("type") == "message_stop"]
    assembled = of_type(items, AssembledMessage)
    assert [a.offset for a in assembled] == [stop.offset for stop in stops]
    completes = of_type(items, BlockComplete)
    for message in assembled:
        if message.complete:
            own = [c.block for c in completes if c.message_id == message.message_id]
            assert message.blocks == own
            assert message.stop_reason in ("end_turn", "tool_use")
            assert message.message.message_id == message.message_id
            assert message.usage["output_tokens"] > 1


# --- the recordings, one by one -------------------------------------------------------------


def test_tool_use_partial_parses_the_bash_input_and_completes_both_messages() -> None:
    items = run(decode(recording("tool_use_partial")))
    tool = next(c for c in of_type(items, BlockComplete) if c.block_type == "tool_use")
    expected = {"command": "echo hello-from-mock", "description": "Echo a marker"}
    assert isinstance(tool.assembled, ToolUseBlock)
    assert tool.assembled.input == expected
    assert (tool.assembled.id, tool.assembled.name) == ("toolu_mock_8358_1", "Bash")
    assert tool.partial_json == json.dumps(expected)
    first, second = of_type(items, AssembledMessage)
    assert [b.type for b in first.blocks] == ["text", "tool_use"]
    assert first.text == "I'll run a command."
    assert first.stop_reason == "tool_use"
    assert first.usage == {
        "input_tokens": 42,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 17,
        "service_tier": "standard",
    }
    assert first.complete and second.complete
    assert (second.text, second.stop_reason) == (
        "Done: the command printed its output.",
        "end_turn",
    )


def test_tool_input_updates_show_the_json_so_far() -> None:
    items = run(decode(recording("tool_use_partial")))
    updates = [u for u in of_type(items, BlockUpdate) if u.block_type == "tool_use"]
    assert updates[0].partial_json == ""
    assert updates[1].partial_json == '{"command": "ec'
    assert all(u.delta_type == "input_json_delta" and u.text == "" for u in updates)


def test_thinking_partial_assembles_thinking_and_signature() -> None:
    items = run(decode(recording("thinking_partial")))
    thinking = of_type(items, BlockComplete)[0]
    assert isinstance(thinking.assembled, ThinkingBlock)
    assert thinking.assembled.thinking == "The user wants a short answer. I will reply briefly."
    assert thinking.assembled.signature == "EqQBCkgIBxABGAIiQMockSignatureBase64=="
    updates = [u for u in of_type(items, BlockUpdate) if u.block_type == "thinking"]
    assert [u.delta_type for u in updates][-1] == "signature_delta"
    assert updates[-2].signature == ""
    assert updates[-1].signature == thinking.assembled.signature
    (message,) = of_type(items, AssembledMessage)
    assert [b.type for b in message.blocks] == ["thinking", "text"]
    assert message.text == "Short answer: 42."


def test_large_write_input_is_streamed_in_64_kib_chunks_and_parsed() -> None:
    messages = decode(recording("large_lines_590KB"))
    items = run(messages)
    updates = [u for u in of_type(items, BlockUpdate) if u.block_type == "tool_use"]
    pieces = [u.delta["partial_json"] for u in updates]
    assert len(pieces) == 11
    assert all(len(piece) == 64 * 1024 for piece in pieces[2:-1])
    tool = of_type(items, BlockComplete)[0]
    (frame,) = [m for m in of_assistant(messages) if m.tool_uses]
    assert isinstance(tool.assembled, ToolUseBlock)
    assert tool.assembled.input == frame.tool_uses[0].input
    assert len(tool.assembled.input["content"]) > 580_000
    assert tool.partial_json == "".join(pieces)


def test_midstream_error_retracts_the_provisional_text_for_the_retry() -> None:
    messages = decode(recording("midstream_sse_error_fallback"))
    items = run(messages)
    partial = [item for item in items if isinstance(item, PartialItem)]
    assert [item.type for item in partial if not isinstance(item, BlockUpdate)] == [
        "partial_complete",
        "partial_superseded",
        "partial_message",
    ]
    (complete,) = of_type(items, BlockComplete)
    assert not complete.confirmed
    (superseded,) = of_type(items, Superseded)
    assert superseded.reason == "abandoned"
    assert superseded.indices == (0,)
    assert superseded.text == "Hello! This is a mock reply."
    (message,) = of_type(items, AssembledMessage)
    assert not message.complete and message.blocks == [] and message.stop_reason is None
    (final,) = of_assistant(items)
    assert items.index(final) > items.index(message)
    assert (final.message_id, final.text) == ("msg_mock_nonstream", "ok")


def without_abandon_marker(message: Message) -> Message:
    """``message`` without CLI 2.1.332's ``abandoned_blocks`` key, as older CLIs wrote it."""
    raw = message.raw
    if raw is None or "abandoned_blocks" not in raw:
        return message
    raw = {key: value for key, value in raw.items() if key != "abandoned_blocks"}
    return message_from_json(raw, offset=message.offset, nbytes=message.nbytes)


def test_midstream_error_without_the_abandon_marker_is_replaced_by_the_retry() -> None:
    messages = [without_abandon_marker(m) for m in decode(recording("midstream_sse_error"))]
    items = run(messages)
    (assembled,) = of_type(items, AssembledMessage)
    assert not assembled.complete and assembled.text == "Hello! This is a mock reply."
    (superseded,) = of_type(items, Superseded)
    (final,) = of_assistant(items)
    assert items.index(superseded) == items.index(final) + 1
    assert superseded.reason == "replaced"
    assert superseded.text == "Hello! This is a mock reply."
    assert superseded.replacement is final
    assert superseded.replacement_id == "msg_mock_nonstream"


def test_subagent_frames_leave_the_main_stream_alone() -> None:
    messages = decode(recording("subagent_task_forwarded_partial"))
    items = run(messages)
    subagent = [m for m in of_assistant(messages) if m.parent_tool_use_id is not None]
    assert len(subagent) == 2
    partial = [item for item in items if isinstance(item, PartialItem)]
    assert all(item.parent_tool_use_id is None for item in partial)
    assert of_type(items, Superseded) == []
    agent = of_type(items, BlockComplete)[0]
    assert isinstance(agent.assembled, ToolUseBlock)
    assert agent.assembled.input["prompt"] == "SUBAGENT please run ls"
    assert [m.stop_reason for m in of_type(items, AssembledMessage)] == ["tool_use", "end_turn"]


def test_first_text_in_message_start_is_not_doubled() -> None:
    messages = decode(recording("tyrchen"))
    items = run(messages)
    (message,) = of_type(items, AssembledMessage)
    (result,) = [m for m in messages if isinstance(m, ResultMessage)]
    assert message.text == result.result
    assert message.complete and message.stop_reason == "end_turn"
    assert message.usage["output_tokens"] == 214
    assert message.usage["cache_creation"] == {
        "ephemeral_5m_input_tokens": 337,
        "ephemeral_1h_input_tokens": 0,
    }
    (complete,) = of_type(items, BlockComplete)
    assert not complete.confirmed and complete.block is complete.assembled


# --- several blocks and streams --------------------------------------------------------------


def test_parallel_tool_calls_are_assembled_in_index_order() -> None:
    frames = Frames()
    calls = [
        {"type": "tool_use", "id": f"toolu_{n}", "name": "Read", "input": {}} for n in range(3)
    ]
    inputs = [{"file_path": f"/tmp/{n}.txt"} for n in range(3)]
    messages = [
        frames.start("msg_1"),
        *(frames.block_start(n, calls[n]) for n in range(3)),
        *(frames.tool_json(n, json.dumps(inputs[n])[:8]) for n in (2, 0, 1)),
        *(frames.tool_json(n, json.dumps(inputs[n])[8:]) for n in (1, 2, 0)),
        *(frames.assistant("msg_1", [{**calls[n], "input": inputs[n]}]) for n in (0, 1, 2)),
        *(frames.block_stop(n) for n in (0, 1, 2)),
        frames.message_delta("tool_use"),
        frames.stop(),
    ]
    items = run(messages)
    completes = of_type(items, BlockComplete)
    assert [(c.index, c.confirmed) for c in completes] == [(0, True), (1, True), (2, True)]
    assert [content(c.assembled) for c in completes] == [content(c.block) for c in completes]
    (message,) = of_type(items, AssembledMessage)
    assert [b.raw["input"] for b in message.message.tool_uses] == inputs
    assert of_type(items, Superseded) == []


def test_interleaved_streams_of_main_agent_and_subagent_are_kept_apart() -> None:
    frames = Frames()
    sub = "toolu_agent"
    messages = [
        frames.start("msg_main"),
        frames.start("msg_sub", parent=sub),
        frames.block_start(0, {"type": "text", "text": ""}),
        frames.block_start(0, {"type": "text", "text": ""}, parent_tool_use_id=sub),
        frames.text(0, "main "),
        frames.text(0, "sub ", parent_tool_use_id=sub),
        frames.text(0, "one", parent_tool_use_id=sub),
        frames.text(0, "two"),
        frames.block_stop(0, parent_tool_use_id=sub),
        frames.block_stop(0),
        frames.message_delta(parent_tool_use_id=sub),
        frames.stop(parent_tool_use_id=sub),
        frames.message_delta(),
        frames.stop(),
    ]
    items = run(messages)
    texts = {(m.parent_tool_use_id, m.message_id, m.text) for m in of_type(items, AssembledMessage)}
    assert texts == {(None, "msg_main", "main two"), (sub, "msg_sub", "sub one")}
    assert of_type(items, PartialIssue) == []


def test_a_late_frame_of_an_earlier_stream_is_not_mixed_into_the_current_one() -> None:
    frames = Frames()
    messages = [
        frames.start("msg_a"),
        frames.block_stop(0, api_message_id="msg_a"),
        frames.stop(api_message_id="msg_a"),
        frames.start("msg_b"),
        frames.block_start(0, {"type": "text", "text": ""}, api_message_id="msg_b"),
        frames.text(0, "late a", api_message_id="msg_a"),
        frames.text(0, "b"),
    ]
    items = run(messages)
    updates = of_type(items, BlockUpdate)
    assert [(u.message_id, u.text) for u in updates] == [("msg_a", "late a"), ("msg_b", "b")]
    issues = [(i.message_id, i.reason) for i in of_type(items, PartialIssue)]
    assert issues[:3] == [
        ("msg_a", "no_block_start"),
        ("msg_a", "no_message_start"),
        ("msg_a", "no_block_start"),
    ]
    assert sorted(issues[3:]) == [("msg_a", "unfinished_message"), ("msg_b", "unfinished_message")]


# --- the assistant frame is authoritative ------------------------------------------------------


def test_an_assistant_frame_that_differs_from_the_deltas_corrects_the_block() -> None:
    frames = Frames()
    messages = [
        frames.start("msg_1"),
        frames.block_start(0, {"type": "text", "text": ""}),
        frames.text(0, "Helo"),
        frames.assistant("msg_1", [{"type": "text", "text": "Hello"}]),
        frames.block_stop(0),
        frames.message_delta(),
        frames.stop(),
    ]
    items = run(messages)
    (superseded,) = of_type(items, Superseded)
    assert items.index(superseded) == items.index(messages[3]) + 1
    assert (superseded.reason, superseded.indices, superseded.text) == ("corrected", (0,), "Helo")
    assert superseded.replacement is messages[3]
    (complete,) = of_type(items, BlockComplete)
    assert complete.confirmed
    assert (content(complete.block), content(complete.assembled)) == (
        ("text", "Hello"),
        ("text", "Helo"),
    )
    assert of_type(items, AssembledMessage)[0].text == "Hello"


def test_an_assistant_frame_after_message_stop_confirms_late() -> None:
    frames = Frames()
    messages = [
        frames.start("msg_1"),
        frames.block_start(0, {"type": "text", "text": ""}),
        frames.text(0, "Hi"),
        frames.block_stop(0),
        frames.message_delta(),
        frames.stop(),
        frames.assistant("msg_1", [{"type": "text", "text": "Hi"}]),
        *text_stream(frames, "msg_2", ["Next"]),
    ]
    items = run(messages)
    assert of_type(items, Superseded) == []
    assert [c.confirmed for c in of_type(items, BlockComplete)] == [False, True]


def test_assistant_blocks_that_were_not_streamed_are_ignored() -> None:
    frames = Frames()
    stream = text_stream(frames, "msg_1", ["Hi"])
    redacted = {"type": "redacted_thinking", "data": "opaque"}
    stream[3] = frames.assistant("msg_1", [redacted, {"type": "text", "text": "Hi"}])
    items = run(stream)
    assert [item.type for item in items if isinstance(item, PartialItem)] == [
        "partial_block",
        "partial_complete",
        "partial_message",
    ]
    assert of_type(items, BlockComplete)[0].confirmed


def test_a_finished_unconfirmed_stream_is_not_superseded_by_the_next_message() -> None:
    frames = Frames()
    first = text_stream(frames, "msg_1", ["kept"])
    del first[3]  # the assistant frame, as in recordings that left it out
    items = run([*first, *text_stream(frames, "msg_2", ["next"])])
    assert of_type(items, Superseded) == []
    assert [m.text for m in of_type(items, AssembledMessage)] == ["kept", "next"]


def test_a_streaming_retry_replaces_an_unfinished_stream() -> None:
    frames = Frames()
    messages = [
        frames.start("msg_1"),
        frames.block_start(0, {"type": "text", "text": ""}),
        frames.text(0, "partial"),
        *text_stream(frames, "msg_2", ["retried"]),
    ]
    items = run(messages)
    (superseded,) = of_type(items, Superseded)
    assert items.index(superseded) == items.index(messages[3]) + 1
    assert (superseded.reason, superseded.message_id, superseded.text) == (
        "replaced",
        "msg_1",
        "partial",
    )
    assert (superseded.replacement, superseded.replacement_id) == (None, "msg_2")
    assert [c.message_id for c in of_type(items, BlockComplete)] == ["msg_2"]
    assert [m.text for m in of_type(items, AssembledMessage)] == ["retried"]


def test_a_synthetic_error_message_replaces_an_open_stream() -> None:
    frames = Frames()
    error = frames.assistant("0b7e-uuid", [{"type": "text", "text": "API Error: 529"}])
    messages = [
        frames.start("msg_1"),
        frames.block_start(0, {"type": "text", "text": ""}),
        frames.text(0, "Sure, "),
        error,
    ]
    items = run(messages)
    (superseded,) = of_type(items, Superseded)
    assert (superseded.text, superseded.replacement) == ("Sure, ", error)
    assert of_type(items, PartialIssue) == []
    assert of_type(items, AssembledMessage) == []


# --- odd input: never raises, always reported ---------------------------------------------------


def test_a_delta_without_message_start_or_block_start_starts_both_implicitly() -> None:
    frames = Frames()
    items = run([frames.text(3, "orphan"), frames.block_stop(3)])
    issues = of_type(items, PartialIssue)
    assert [(i.reason, i.index) for i in issues] == [
        ("no_message_start", None),
        ("no_block_start", 3),
        ("unfinished_message", None),
    ]
    orphan = {"type": "text_delta", "text": "orphan"}
    assert issues[0].event == {"type": "content_block_delta", "index": 3, "delta": orphan}
    (update,) = of_type(items, BlockUpdate)
    assert (update.block_type, update.text, update.message_id) == ("text", "orphan", None)
    assert of_type(items, BlockComplete)[0].assembled == TextBlock(
        {"type": "text", "text": "orphan"}
    )


def test_unknown_and_citation_deltas_are_kept() -> None:
    frames = Frames()
    citation = {"type": "char_location", "cited_text": "x"}
    unknown = {"type": "compaction_delta", "content": "summary"}
    messages = [
        frames.start("msg_1"),
        frames.block_start(0, {"type": "text", "text": "a"}),
        frames.delta(0, {"type": "citations_delta", "citation": citation}),
        frames.delta(0, unknown),
        frames.text(0, "b"),
        frames.block_stop(0),
        frames.event({"type": "ping"}),
        frames.message_delta(),
        frames.stop(),
    ]
    items = run(messages)
    updates = of_type(items, BlockUpdate)
    assert [(u.delta_type, u.text) for u in updates] == [
        ("citations_delta", "a"),
        ("compaction_delta", "a"),
        ("text_delta", "ab"),
    ]
    assert updates[1].delta == unknown
    (complete,) = of_type(items, BlockComplete)
    assert complete.assembled.raw == {"type": "text", "text": "ab", "citations": [citation]}
    assert of_type(items, PartialIssue) == []


@pytest.mark.parametrize(
    ("pieces", "error"),
    [
        (['{"command": "l', "s"], "invalid JSON"),
        (["[1, 2]"], "valid JSON, but not an object"),
    ],
)
def test_tool_input_that_does_not_parse_is_reported_with_its_raw_json(
    pieces: list[str], error: str
) -> None:
    frames = Frames()
    start = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}
    messages = [
        frames.start("msg_1"),
        frames.block_start(0, start),
        *(frames.tool_json(0, piece) for piece in pieces),
        frames.block_stop(0),
    ]
    (complete,) = of_type(run(messages), BlockComplete)
    assert complete.json_error is not None and complete.json_error.startswith(error)
    assert complete.partial_json == "".join(pieces)
    assert complete.assembled.raw == start


def test_a_tool_call_without_input_fragments_keeps_its_start_input() -> None:
    frames = Frames()
    start = {"type": "tool_use", "id": "toolu_1", "name": "Now", "input": {}}
    messages = [frames.start("m"), frames.block_start(0, start), frames.tool_json(0, "")]
    messages.append(frames.block_stop(0))
    (complete,) = of_type(run(messages), BlockComplete)
    assert (complete.assembled.raw, complete.json_error, complete.partial_json) == (start, None, "")


def test_input_ending_mid_block_closes_the_stream() -> None:
    frames = Frames()
    messages = [
        frames.start("msg_1"),
        frames.block_start(0, {"type": "text", "text": ""}),
        frames.text(0, "cut"),
    ]
    items = run(messages)
    tail = items[len(messages) + 1 :]
    assert [item.type for item in tail] == ["partial_issue", "partial_complete", "partial_message"]
    issue, complete, message = tail
    assert isinstance(issue, PartialIssue) and issue.reason == "unfinished_message"
    assert isinstance(complete, BlockComplete) and not complete.stopped
    assert isinstance(message, AssembledMessage) and not message.complete
    assert message.text == "cut"
    end = messages[-1].offset + messages[-1].nbytes
    assert issue.offset == complete.offset == message.offset == end


def test_a_source_error_closes_unfinished_streams_first() -> None:
    frames = Frames()
    messages = [frames.start("msg_1"), frames.block_start(0, {"type": "text"})]
    failure = RuntimeError("CLI died")
    items: list[Message] = []
    errors: list[Exception] = []
    reactivex.concat(reactivex.from_iterable(messages), reactivex.throw(failure)).pipe(
        assemble_partials()
    ).subscribe(items.append, errors.append)
    assert errors == [failure]
    assert [item.type for item in items[2:]] == [
        "partial_issue",
        "partial_complete",
        "partial_message",
    ]


def test_events_after_stop_and_without_index_are_ignored_and_reported() -> None:
    frames = Frames()
    messages = [
        frames.start("msg_1"),
        frames.block_start(0, {"type": "text", "text": ""}),
        frames.block_stop(0),
        frames.text(0, "late"),
        frames.block_stop(0),
        frames.event({"type": "content_block_delta", "delta": {"type": "text_delta"}}),
        frames.block_start(0, {"type": "text", "text": ""}),
        frames.stop(),
        frames.message_delta(),
        frames.stop(),
    ]
    issues = of_type(run(messages), PartialIssue)
    assert [(i.reason, i.index) for i in issues] == [
        ("late_event", 0),
        ("late_event", 0),
        ("invalid_event", None),
        ("repeated_start", 0),
        ("late_event", None),
        ("late_event", None),
    ]


def test_a_repeated_message_start_drops_the_first() -> None:
    frames = Frames()
    messages = [
        frames.start("msg_1"),
        frames.block_start(0, {"type": "text", "text": ""}),
        frames.text(0, "first"),
        frames.start("msg_1"),
        frames.block_start(0, {"type": "text", "text": ""}),
        frames.text(0, "second"),
    ]
    items = run(messages)
    assert [i.reason for i in of_type(items, PartialIssue)] == [
        "repeated_start",
        "unfinished_message",
    ]
    assert of_type(items, AssembledMessage)[0].text == "second"


JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
EVENT_TYPES = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
]


@st.composite
def odd_frames(draw: st.DrawFn) -> dict[str, Any]:
    """A frame that looks like a stream event or an assistant frame, often malformed."""
    value = st.recursive(
        JSON_LEAVES,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
        max_leaves=6,
    )
    if draw(st.integers(0, 5)) == 0:
        block = st.fixed_dictionaries({"type": st.sampled_from(["text", "tool_use", "x"])})
        body = st.fixed_dictionaries(
            {"id": st.sampled_from(["m1", "m2"]), "content": st.lists(block | value, max_size=2)}
        )
        return {"type": "assistant", "message": draw(body | value)}
    event = draw(
        st.fixed_dictionaries(
            {"type": st.sampled_from(EVENT_TYPES)},
            optional={
                "index": st.integers(0, 2) | value,
                "message": st.fixed_dictionaries({"id": st.sampled_from(["m1", "m2"])}) | value,
                "content_block": value,
                "delta": st.fixed_dictionaries(
                    {
                        "type": st.sampled_from(
                            ["text_delta", "input_json_delta", "signature_delta", "odd"]
                        ),
                        "text": value,
                        "partial_json": st.sampled_from(['{"a":', "1}", "]"]),
                        "signature": value,
                    }
                )
                | value,
                "usage": value,
            },
        )
    )
    extra = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "parent_tool_use_id": st.sampled_from([None, "toolu_x"]),
                "api_message_id": st.sampled_from(["m1", "m2"]) | value,
                "abandoned_blocks": value,
            },
        )
    )
    return {"type": "stream_event", "event": draw(st.just(event) | value), **extra}


@settings(derandomize=True, deadline=None)
@given(st.lists(odd_frames(), max_size=25))
def test_odd_input_never_raises_and_passes_every_message(frames_raw: list[dict[str, Any]]) -> None:
    frames = Frames()
    messages = [frames.frame(raw) for raw in frames_raw]
    items = run(messages)
    assert [item for item in items if not isinstance(item, PartialItem)] == messages


@settings(derandomize=True, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=20))
def test_accumulated_text_is_the_concatenation_of_the_deltas_so_far(pieces: list[str]) -> None:
    frames = Frames()
    messages = [
        frames.start("msg_1"),
        frames.block_start(0, {"type": "text", "text": ""}),
        *(frames.text(0, piece) for piece in pieces),
    ]
    updates = of_type(run(messages), BlockUpdate)
    assert [u.text for u in updates] == ["".join(pieces[: n + 1]) for n in range(len(pieces))]
    assert [u.delta["text"] for u in updates] == pieces


# --- Rx behaviour and the non-Rx assembler -------------------------------------------------------


def test_items_are_emitted_at_the_virtual_time_of_their_frame() -> None:
    scheduler = TestScheduler()
    frames = Frames()
    stream = text_stream(frames, "msg_1", ["He", "llo"])
    source = scheduler.create_hot_observable(
        *(on_next(210 + 10 * n, message) for n, message in enumerate(stream)),
        on_completed(400),
    )
    results = scheduler.start(lambda: source.pipe(assemble_partials()))
    delivered = [(r.time, r.value.value) for r in results.messages if isinstance(r.value, OnNext)]
    updates = [(t, item.text) for t, item in delivered if isinstance(item, BlockUpdate)]
    assert updates == [(220 + 10, "He"), (230 + 10, "Hello")]
    (assembled,) = [t for t, item in delivered if isinstance(item, AssembledMessage)]
    assert assembled == 210 + 10 * (len(stream) - 1)
    assert results.messages[-1] == on_completed(400)
    assert source.subscriptions == [subscribe(200, 400)]


def test_disposal_unsubscribes_and_emits_nothing_more() -> None:
    scheduler = TestScheduler()
    frames = Frames()
    stream = text_stream(frames, "msg_1", ["a", "b", "c"])
    source = scheduler.create_hot_observable(
        *(on_next(210 + 10 * n, message) for n, message in enumerate(stream))
    )
    results = scheduler.start(lambda: source.pipe(assemble_partials()), disposed=245)
    assert source.subscriptions == [subscribe(200, 245)]
    assert max(r.time for r in results.messages) == 240
    assert not any(isinstance(r.value, OnError) for r in results.messages)


def test_each_subscription_has_its_own_state() -> None:
    frames = Frames()
    stream = reactivex.from_iterable(text_stream(frames, "msg_1", ["x", "y"]))
    operator = stream.pipe(assemble_partials())
    first: list[Message] = []
    second: list[Message] = []
    operator.subscribe(first.append)
    operator.subscribe(second.append)
    assert [type(item) for item in first] == [type(item) for item in second]
    assert of_type(second, PartialIssue) == []


def test_the_assembler_works_without_rx_and_restarts_after_finish() -> None:
    frames = Frames()
    assembler = PartialAssembler()
    fed = [assembler.feed(m) for m in text_stream(frames, "msg_1", ["o", "k"])[:4]]
    assert [[item.type for item in items] for items in fed] == [
        [],
        [],
        ["partial_block"],
        ["partial_block"],
    ]
    leftovers = assembler.finish()
    assert [item.type for item in leftovers] == [
        "partial_issue",
        "partial_complete",
        "partial_message",
    ]
    assert assembler.finish() == []
    assert assembler.feed(frames.text(0, "z"))[0].type == "partial_issue"


def test_items_route_by_type_and_subtype() -> None:
    frames = Frames()
    stream = text_stream(frames, "msg_1", ["a"])
    stream[3] = frames.assistant("msg_1", [{"type": "text", "text": "b"}])
    stream.insert(5, frames.text(0, "late"))
    partial = [item for item in run(stream) if isinstance(item, PartialItem)]
    assert [(item.type, item.subtype) for item in partial] == [
        ("partial_block", "text"),
        ("partial_superseded", "corrected"),
        ("partial_complete", "text"),
        ("partial_issue", "late_event"),
        ("partial_message", None),
    ]


def test_message_delta_fields_reach_the_assembled_message() -> None:
    frames = Frames()
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "pause_turn", "stop_sequence": None, "container": {"id": "c"}},
        "usage": {"output_tokens": 3, "input_tokens": None, "server_tool_use": {"n": 1}},
        "context_management": {"applied_edits": []},
    }
    messages = [frames.start("msg_1"), frames.event(delta), frames.stop()]
    (assembled,) = of_type(run(messages), AssembledMessage)
    body = assembled.message.message
    assert (assembled.stop_reason, body["stop_sequence"]) == ("pause_turn", None)
    assert (body["container"], body["context_management"]) == ({"id": "c"}, {"applied_edits": []})
    assert assembled.usage == {"input_tokens": 7, "output_tokens": 3, "server_tool_use": {"n": 1}}
    assert assembled.complete and assembled.blocks == []


def test_items_compare_by_value_and_show_their_fields() -> None:
    messages = decode(recording("midstream_sse_error_fallback"))
    first, second = run(messages), run(messages)
    assert first == second
    partial = [item for item in first if isinstance(item, PartialItem)]
    assert all(a != b for a, b in itertools.pairwise(partial))
    assert partial[0] != messages[0] and partial[0].raw is None
    assert repr(partial[0]).startswith(
        "BlockUpdate(parent_tool_use_id=None, message_id='msg_mock_1795695714959086', index=0,"
    )
    frames = Frames()
    issues = of_type(run([frames.event({"type": "content_block_stop"})]), PartialIssue)
    (issue,) = [issue for issue in issues if issue.reason == "invalid_event"]
    assert (
        str(issue)
        == "invalid_event at byte 0: content_block_stop without an integer index; ignored"
    )
