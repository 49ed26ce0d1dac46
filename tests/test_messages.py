"""The typed message model over real frames, and its promise never to raise."""

from __future__ import annotations

import gc
import pickle
from typing import Any, TypeVar

import pytest
from corpus_files import EPOCH, decode, recording
from hypothesis import given, settings
from hypothesis import strategies as st

from rxclaude.framing import FrameDecodeError
from rxclaude.messages import (
    ApiRetryMessage,
    AssistantMessage,
    ClaudeMessage,
    CompactBoundaryMessage,
    ControlRequestMessage,
    ControlResponseMessage,
    InitMessage,
    Message,
    ParseError,
    RateLimitEventMessage,
    ResultMessage,
    StatusMessage,
    StreamEventMessage,
    SystemMessage,
    ToolProgressMessage,
    UnknownMessage,
    UserMessage,
    message_from_json,
)
from rxclaude.messages.content import (
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    RedactedThinkingBlock,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    UnknownBlock,
    parse_block,
)
from rxclaude.partials import BlockUpdate
from rxclaude.routing import HandlerError

M = TypeVar("M", bound=Message)


def of_class(messages: list[Message], cls: type[M]) -> list[M]:
    return [m for m in messages if type(m) is cls]


def test_init_view() -> None:
    (init,) = of_class(decode(recording("tool_use_partial")), InitMessage)
    assert init.type == "system" and init.subtype == "init"
    assert init.session_id == "d2d40af3-c512-481c-aad9-9180f1e3080a"
    assert init.cwd == "/home/user/project"
    assert "Bash" in init.tools
    assert init.model == "claude-sonnet-4-5"
    assert init.claude_code_version == "2.1.332"
    assert init.permission_mode == "default"
    assert init.api_key_source == "ANTHROPIC_API_KEY"
    assert isinstance(init.mcp_servers, list)
    assert init.slash_commands and init.uuid


def test_old_init_without_newer_keys() -> None:
    (init,) = of_class(decode(recording("guess-claude_code__create_file")), InitMessage)
    assert init.claude_code_version is None
    assert init.slash_commands == []
    assert init.tools


def test_status_compact_boundary_and_api_retry_views() -> None:
    messages = decode(recording("compact_boundary_multiturn.stdout"))
    statuses = of_class(messages, StatusMessage)
    assert [s.status for s in statuses][:2] == ["compacting", None]
    assert statuses[1].compact_result == "success"
    (boundary,) = of_class(messages, CompactBoundaryMessage)
    assert (boundary.trigger, boundary.pre_tokens, boundary.post_tokens) == ("manual", 59, 2597)

    retries = of_class(decode(recording("api_error_401_auth")), ApiRetryMessage)
    assert [(r.attempt, r.max_retries, r.error_status) for r in retries] == [
        (1, 2, 401),
        (2, 2, 401),
    ]
    assert retries[0].error == "authentication_failed"
    assert retries[0].retry_delay_ms == 534.0


def test_other_system_subtypes_stay_system_messages() -> None:
    messages = decode(recording("subagent_task_forwarded_partial"))
    subtypes = {m.subtype for m in of_class(messages, SystemMessage)}
    assert {"task_started", "task_progress", "task_updated", "task_notification"} <= subtypes


def test_assistant_blocks_text_tool_use_and_usage() -> None:
    assistants = of_class(decode(recording("tool_use_partial")), AssistantMessage)
    tool_uses = [t for a in assistants for t in a.tool_uses]
    assert tool_uses and tool_uses[0].name == "Bash"
    assert tool_uses[0].id is not None and "command" in tool_uses[0].input
    texts = [a for a in assistants if a.text]
    assert texts and texts[0].message_id and texts[0].message_id.startswith("msg_mock_")
    assert texts[0].model == "claude-sonnet-4-5"
    assert "input_tokens" in texts[0].usage
    assert not texts[0].is_api_error and texts[0].error is None


def test_thinking_block() -> None:
    assistants = of_class(decode(recording("thinking_partial")), AssistantMessage)
    thinking = [b for a in assistants for b in a.content if isinstance(b, ThinkingBlock)]
    assert thinking and thinking[0].thinking and thinking[0].signature


def test_parallel_tool_calls_share_one_message_id() -> None:
    assistants = of_class(decode(recording("meawoppl__parallel_tools")), AssistantMessage)
    with_tools = [a for a in assistants if a.tool_uses]
    assert len(with_tools) == 3
    assert len({a.message_id for a in with_tools}) == 1


def test_synthetic_api_error_message() -> None:
    messages = decode(recording("api_error_529_overloaded"))
    (synthetic,) = [a for a in of_class(messages, AssistantMessage) if a.is_api_error]
    assert synthetic.model == "<synthetic>"
    assert synthetic.error == "server_error"
    assert "529" in synthetic.text
    (result,) = of_class(messages, ResultMessage)
    assert result.is_error and result.subtype == "success"
    assert result.terminal_reason == "api_error"


def test_user_string_content_and_tool_results() -> None:
    users = of_class(decode(recording("control_protocol.stdout")), UserMessage)
    assert users[0].content == "SCEN_WRITE create a note"
    assert users[0].is_replay and users[0].text == "SCEN_WRITE create a note"
    results = [r for u in users for r in u.tool_results]
    assert results and isinstance(results[0].content, str)
    assert results[0].text.startswith("File created successfully")
    assert not results[0].is_error


def test_tool_result_with_list_content_and_subagent_parent() -> None:
    users = of_class(decode(recording("matt-grain__task_tool_output")), UserMessage)
    list_results = [r for u in users for r in u.tool_results if isinstance(r.content, list)]
    assert list_results
    assert all(isinstance(b, TextBlock) for b in list_results[0].content or [])
    assert list_results[0].text
    assert any(u.parent_tool_use_id for u in users)


def test_error_tool_result_and_tool_use_result() -> None:
    users = of_class(decode(recording("guess-claude_code__error_case")), UserMessage)
    errors = [r for u in users for r in u.tool_results if r.is_error]
    assert errors and "does not exist" in errors[0].text
    bash = of_class(decode(recording("tool_use_partial")), UserMessage)
    assert any(isinstance(u.tool_use_result, dict) and "stdout" in u.tool_use_result for u in bash)


def test_result_views() -> None:
    (result,) = of_class(decode(recording("error_max_turns")), ResultMessage)
    assert result.subtype == "error_max_turns" and result.is_error
    assert result.result is None
    assert result.errors == ["Reached maximum number of turns (1)"]
    assert result.num_turns is not None and result.duration_ms is not None
    (ok,) = of_class(decode(recording("guess-claude_code__simple_hello")), ResultMessage)
    assert not ok.is_error and ok.result
    assert ok.total_cost_usd == pytest.approx(ok.raw["total_cost_usd"])
    assert ok.duration_api_ms is not None and ok.duration_ms is not None
    assert ok.duration_api_ms > ok.duration_ms
    (denied,) = of_class(decode(recording("permission_denied")), ResultMessage)
    assert denied.permission_denials[0]["tool_name"] == "Write"
    assert denied.model_usage and denied.usage


def test_result_cost_from_pre_1_0_22_field_names() -> None:
    old = message_from_json({"type": "result", "total_cost": 0.5})
    older = message_from_json({"type": "result", "cost_usd": 0.25})
    assert isinstance(old, ResultMessage) and isinstance(older, ResultMessage)
    assert (old.total_cost_usd, older.total_cost_usd) == (0.5, 0.25)


def test_stream_event_views() -> None:
    events = of_class(decode(recording("tool_use_partial")), StreamEventMessage)
    by_type = {e.event_type: e for e in events}
    assert {"message_start", "content_block_start", "content_block_delta", "message_stop"} <= set(
        by_type
    )
    delta_types = {e.delta_type for e in events if e.event_type == "content_block_delta"}
    assert {"text_delta", "input_json_delta"} <= delta_types
    start = [e for e in events if e.event_type == "content_block_start"]
    assert any(isinstance(e.content_block, ToolUseBlock) for e in start)
    assert start[0].index == 0
    assert events[0].uuid and events[0].parent_tool_use_id is None


def test_control_frames() -> None:
    messages = decode(recording("control_protocol.stdout"))
    requests = of_class(messages, ControlRequestMessage)
    assert requests[0].subtype == "can_use_tool" and requests[0].request_id
    assert requests[0].request["tool_name"] == "Write"
    responses = of_class(messages, ControlResponseMessage)
    errors = [r for r in responses if r.is_error]
    assert errors and errors[0].error and errors[0].request_id
    assert responses[0].subtype == "success" and responses[0].session_id is None


def test_rate_limit_event_tool_progress_and_unknown() -> None:
    rate = message_from_json(
        {"type": "rate_limit_event", "rate_limit_info": {"status": "allowed_warning"}}
    )
    assert isinstance(rate, RateLimitEventMessage) and rate.status == "allowed_warning"
    progress = message_from_json(
        {
            "type": "tool_progress",
            "tool_use_id": "t",
            "tool_name": "Bash",
            "elapsed_time_seconds": 3,
        }
    )
    assert isinstance(progress, ToolProgressMessage)
    assert (progress.tool_name, progress.elapsed_time_seconds) == ("Bash", 3.0)
    unknown = message_from_json({"type": "keep_alive"})
    assert isinstance(unknown, UnknownMessage) and unknown.raw == {"type": "keep_alive"}
    (command,) = decode(recording("nshkrdotcom"))[1:2]
    assert isinstance(command, UnknownMessage) and command.type == "command_lifecycle"


@pytest.mark.parametrize(
    ("raw", "cls"),
    [
        ({"type": "text", "text": "t"}, TextBlock),
        ({"type": "thinking", "thinking": "t", "signature": "s"}, ThinkingBlock),
        ({"type": "redacted_thinking", "data": "d"}, RedactedThinkingBlock),
        ({"type": "tool_use", "id": "i", "name": "n", "input": {}}, ToolUseBlock),
        ({"type": "server_tool_use", "id": "i", "name": "web_search"}, ServerToolUseBlock),
        ({"type": "web_search_tool_result", "tool_use_id": "i"}, ServerToolResultBlock),
        ({"type": "tool_result", "tool_use_id": "i", "content": "x"}, ToolResultBlock),
        ({"type": "image", "source": {"type": "base64", "media_type": "image/png"}}, ImageBlock),
        ({"type": "document", "source": {"media_type": "application/pdf"}}, DocumentBlock),
        ({"type": "compaction", "content": "c"}, UnknownBlock),
        ({"no": "type"}, UnknownBlock),
    ],
)
def test_block_types(raw: dict[str, Any], cls: type[ContentBlock]) -> None:
    block = parse_block(raw)
    assert type(block) is cls and block.raw is raw


def test_image_and_redacted_blocks_are_kept_not_dropped() -> None:
    message = message_from_json(
        {
            "type": "assistant",
            "message": {
                "content": [
                    {"type": "redacted_thinking", "data": "xx"},
                    {"type": "web_search_tool_result", "tool_use_id": "s", "content": []},
                    {"type": "brand_new_block", "k": 1},
                    "not even an object",
                ]
            },
        }
    )
    assert isinstance(message, AssistantMessage)
    assert [type(b) for b in message.content] == [
        RedactedThinkingBlock,
        ServerToolResultBlock,
        UnknownBlock,
        UnknownBlock,
    ]
    assert message.content[2].raw == {"type": "brand_new_block", "k": 1}


def test_parse_error_is_a_message_kind() -> None:
    error = ParseError(
        reason="invalid_json",
        offset=5,
        nbytes=3,
        excerpt=b"x" * 1000,
        detail="d",
        received_at=EPOCH,
    )
    assert error.type == "parse_error" and error.raw is None and error.subtype == "invalid_json"
    assert len(error.excerpt) == 200
    assert error.session_id is None and error.uuid is None and error.parent_tool_use_id is None
    assert "byte 5" in str(error)


def test_messages_compare_by_content_and_place_not_arrival_time() -> None:
    a = message_from_json({"type": "user"}, offset=1, nbytes=2, received_at=EPOCH)
    b = message_from_json({"type": "user"}, offset=1, nbytes=2)
    c = message_from_json({"type": "user"}, offset=2, nbytes=2, received_at=EPOCH)
    assert a == b and a != c
    assert "UserMessage" in repr(a) and "offset=1" in repr(a)


def test_only_messages_that_can_hold_arbitrary_objects_are_tracked_by_the_gc() -> None:
    message = message_from_json({"type": "user", "message": {"content": []}}, received_at=EPOCH)
    assert not gc.is_tracked(message)  # freed by reference counting; no full collections
    failure = HandlerError(error=ValueError("x"), message=message, handler=print)
    assert gc.is_tracked(failure)  # its exception's traceback can lead back to it
    update = BlockUpdate(
        index=0,
        block_type="text",
        delta={"type": "text_delta", "text": "t"},
        text="t",
        thinking="",
        signature=None,
        partial_json="",
    )
    assert gc.is_tracked(update)  # assemble_partials' items may share objects with its state


def test_process_error_is_picklable_with_its_parse_error() -> None:
    error = ParseError(
        reason="truncated", offset=1, nbytes=2, excerpt=b"{", detail="d", received_at=EPOCH
    )
    copy = pickle.loads(pickle.dumps(FrameDecodeError(error)))
    assert copy.error == error


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
FIELD_NAMES = st.sampled_from(
    [
        "message",
        "content",
        "event",
        "request",
        "response",
        "compact_metadata",
        "subtype",
        "tools",
        "usage",
        "modelUsage",
        "errors",
        "permission_denials",
        "rate_limit_info",
        "session_id",
        "uuid",
        "parent_tool_use_id",
        "is_error",
        "total_cost_usd",
        "source",
    ]
)


def read_every_property(value: object) -> None:
    for cls in type(value).__mro__:
        for name, attribute in vars(cls).items():
            if isinstance(attribute, property):
                result = getattr(value, name)
                for item in result if isinstance(result, list) else []:
                    if isinstance(item, ContentBlock):
                        read_every_property(item)


@settings(max_examples=300, deadline=None)
@given(
    frame_type=st.sampled_from(
        [
            "system",
            "assistant",
            "user",
            "result",
            "stream_event",
            "control_request",
            "control_response",
            "rate_limit_event",
            "tool_progress",
            "other",
        ]
    ),
    subtype=st.sampled_from(["init", "status", "compact_boundary", "api_retry", "x"]),
    fields=st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=8),
    nested=st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=4),
)
def test_accessors_never_raise_on_missing_or_mistyped_fields(
    frame_type: str, subtype: str, fields: dict[str, Any], nested: dict[str, Any]
) -> None:
    raw = {**fields, "type": frame_type, "subtype": subtype, "message": nested, "event": nested}
    message = message_from_json(raw)
    assert isinstance(message, ClaudeMessage)
    read_every_property(message)
