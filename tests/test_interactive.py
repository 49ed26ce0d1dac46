"""The parts of ``rxclaude.interactive`` that need no CLI: typed control frames, decisions,
hooks, the frames a session writes, and the host's pending requests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import reactivex
from conftest import TIMEOUT, Recording
from reactivex import operators as ops

from rxclaude.framing import parse_json_frames
from rxclaude.interactive import (
    ClaudeSession,
    ControlError,
    ControlTimeoutError,
    HookMatcher,
    SessionClosedError,
    allow,
    deny,
)
from rxclaude.interactive.handlers import HookRegistry
from rxclaude.interactive.protocol import (
    RequestIds,
    control_request,
    encode,
    error_response,
    session_argv,
    success_response,
    user_turn,
)
from rxclaude.interactive.requests import PendingRequests
from rxclaude.messages import (
    ClaudeMessage,
    ContentBlock,
    ControlResponseMessage,
    Message,
    TextBlock,
)
from rxclaude.messages.control import (
    CanUseToolRequest,
    ControlCancelRequestMessage,
    ControlErrorResponse,
    ControlSuccessResponse,
    HookCallbackRequest,
    InterruptRequest,
    SetModelRequest,
    control_message,
    typed_control,
)

CAN_USE_TOOL = {
    "type": "control_request",
    "request_id": "r1",
    "request": {
        "subtype": "can_use_tool",
        "tool_name": "Write",
        "input": {"file_path": "/p/out.txt", "content": "data\n"},
        "tool_use_id": "toolu_1",
        "description": "out.txt",
        "permission_suggestions": [{"type": "setMode", "mode": "acceptEdits"}, "junk"],
    },
}


def decoded(*frames: dict[str, Any]) -> list[Message]:
    data = b"".join(encode(frame) for frame in frames)
    recording: Recording[Message] = Recording()
    reactivex.of(data).pipe(parse_json_frames()).subscribe(recording)
    return recording.items


def permission_request() -> CanUseToolRequest:
    (message,) = decoded(CAN_USE_TOOL)
    assert isinstance(message, ClaudeMessage)
    request = typed_control(message)
    assert isinstance(request, CanUseToolRequest)
    return request


def test_decoded_control_frames_get_the_class_of_their_subtype() -> None:
    hook = {
        "type": "control_request",
        "request_id": "r2",
        "request": {
            "subtype": "hook_callback",
            "callback_id": "hook_0",
            "input": {"hook_event_name": "PreToolUse", "tool_input": {}},
            "tool_use_id": "toolu_1",
        },
    }
    cancel = {"type": "control_cancel_request", "request_id": "r1"}
    error = {"type": "control_response", "response": error_response("r3", "no")["response"]}
    error["response"]["error_code"] = "unsupported_request"
    success = success_response("r4", {"still_queued": []})
    other = {"type": "control_request", "request_id": "r5", "request": {"subtype": "elicitation"}}
    messages = decoded(hook, cancel, error, success, other, {"type": "result"})
    typed = [typed_control(m) for m in messages if isinstance(m, ClaudeMessage)]
    assert [type(m).__name__ for m in typed] == [
        "HookCallbackRequest",
        "ControlCancelRequestMessage",
        "ControlErrorResponse",
        "ControlSuccessResponse",
        "ControlRequestMessage",
        "ResultMessage",
    ]
    hook_request, cancelled, refused, answered, _, result = typed
    assert result is messages[-1]  # anything else is left as it is
    assert isinstance(hook_request, HookCallbackRequest)
    assert (hook_request.callback_id, hook_request.hook_event_name) == ("hook_0", "PreToolUse")
    assert hook_request.tool_use_id == "toolu_1"
    assert isinstance(cancelled, ControlCancelRequestMessage) and cancelled.request_id == "r1"
    assert isinstance(refused, ControlErrorResponse)
    assert (refused.request_id, refused.error, refused.error_code) == (
        "r3",
        "no",
        "unsupported_request",
    )
    assert isinstance(answered, ControlSuccessResponse)
    assert answered.payload == {"still_queued": []}
    assert (refused.offset, refused.nbytes) == (messages[2].offset, messages[2].nbytes)


def test_can_use_tool_accessors() -> None:
    request = permission_request()
    assert (request.request_id, request.tool_name, request.tool_use_id) == (
        "r1",
        "Write",
        "toolu_1",
    )
    assert request.input == {"file_path": "/p/out.txt", "content": "data\n"}
    assert request.permission_suggestions == [{"type": "setMode", "mode": "acceptEdits"}]
    assert (request.description, request.blocked_path) == ("out.txt", None)


def test_frames_the_host_writes_are_typed_too() -> None:
    interrupt = control_message(control_request("req_1_x", "interrupt", {}))
    model = control_message(control_request("req_2_x", "set_model", {"model": "m"}))
    answer = control_message(success_response("r1", {}))
    assert isinstance(interrupt, InterruptRequest) and interrupt.request_id == "req_1_x"
    assert isinstance(model, SetModelRequest) and model.model == "m"
    assert isinstance(answer, ControlSuccessResponse) and (answer.offset, answer.nbytes) == (0, 0)
    with pytest.raises(ValueError, match="not a control frame"):
        control_message({"type": "user"})


def test_decisions() -> None:
    request = permission_request()
    assert allow(request).payload() == {"behavior": "allow", "updatedInput": request.input}
    changed = allow(request, {"file_path": "/p/other.txt"}, updated_permissions=[{"type": "x"}])
    assert changed.payload() == {
        "behavior": "allow",
        "updatedInput": {"file_path": "/p/other.txt"},
        "updatedPermissions": [{"type": "x"}],
    }
    assert deny(request, "no").payload() == {"behavior": "deny", "message": "no"}
    assert deny(request, "stop", interrupt=True).payload() == {
        "behavior": "deny",
        "message": "stop",
        "interrupt": True,
    }


def test_hook_registry() -> None:
    def first(_: HookCallbackRequest) -> dict[str, Any]:
        return {"continue": True}

    def second(_: HookCallbackRequest) -> dict[str, Any]:
        return {}

    registry = HookRegistry(
        {
            "PreToolUse": [HookMatcher([first, second], matcher="Bash", timeout=5)],
            "Stop": [HookMatcher([second])],
        }
    )
    assert registry.config == {
        "PreToolUse": [{"matcher": "Bash", "hookCallbackIds": ["hook_0", "hook_1"], "timeout": 5}],
        "Stop": [{"matcher": None, "hookCallbackIds": ["hook_2"]}],
    }
    request = HookCallbackRequest(
        "control_request", {"request_id": "r", "request": {"callback_id": "hook_0"}}
    )
    assert registry.answer(request) == {"continue": True}
    unknown = HookCallbackRequest("control_request", {"request": {"callback_id": "hook_7"}})
    with pytest.raises(LookupError, match="hook_7"):
        registry.answer(unknown)


def test_user_turns_and_lines() -> None:
    blocks: list[Mapping[str, Any] | ContentBlock] = [
        TextBlock({"type": "text", "text": "a"}),
        {"type": "text", "text": "b"},
    ]
    assert user_turn(blocks)["message"] == {
        "role": "user",
        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
    }
    line = encode(user_turn("caf\u00e9 \u2028"))
    assert line.endswith(b"\n") and line.count(b"\n") == 1 and line.isascii()
    assert json.loads(line)["message"]["content"] == "caf\u00e9 \u2028"
    assert b", " not in line and b": " not in line
    ids = RequestIds("ab")
    assert [ids.next(), ids.next()] == ["req_1_ab", "req_2_ab"]


def test_session_argv() -> None:
    flags = ["--input-format", "stream-json", "--output-format", "stream-json", "--verbose"]
    assert session_argv("/bin/claude", ["--model", "m"], False) == [
        "/bin/claude",
        *flags,
        "--model",
        "m",
    ]
    assert session_argv(["launcher", "--", "claude"], [], True) == [
        "launcher",
        "--",
        "claude",
        *flags,
        "--permission-prompt-tool",
        "stdio",
    ]


def test_one_permission_handler_only() -> None:
    with pytest.raises(ValueError, match="not both"):
        ClaudeSession("claude", can_use_tool=allow, permission_policy=ops.map(allow))


def test_nothing_is_written_before_start() -> None:
    session = ClaudeSession("claude")
    with pytest.raises(SessionClosedError, match="not been started"):
        session.send("hello")
    session.close()


# -- the host's pending requests ---------------------------------------------------------


def pending(timeout: float = TIMEOUT) -> tuple[PendingRequests, Recording[Any]]:
    requests, recording = PendingRequests(), Recording[Any]()
    requests.add("req_1", "interrupt", recording, timeout)
    return requests, recording


def response(frame: dict[str, Any]) -> ControlResponseMessage:
    message = control_message(frame)
    assert isinstance(message, ControlResponseMessage)
    return message


def test_a_success_response_is_the_request_s_item() -> None:
    requests, recording = pending()
    requests.resolve(response(success_response("req_1", {"still_queued": []})))
    assert recording.items == [{"still_queued": []}] and recording.completed
    requests.resolve(response(success_response("req_1", {})))  # a second answer: ignored
    assert recording.items == [{"still_queued": []}]


def test_an_error_response_is_a_control_error() -> None:
    requests, recording = pending()
    frame = error_response("req_1", "no such thing")
    frame["response"]["error_code"] = "unsupported_request"
    requests.resolve(response(frame))
    error = recording.error
    assert isinstance(error, ControlError)
    assert (error.subtype, error.error, error.error_code) == (
        "interrupt",
        "no such thing",
        "unsupported_request",
    )
    assert str(error) == (
        "the CLI refused the control request 'interrupt' (unsupported_request): no such thing"
    )


def test_no_answer_in_time_is_a_timeout() -> None:
    requests, recording = pending(timeout=0.01)
    recording.wait_done()
    error = recording.error
    assert isinstance(error, ControlTimeoutError)
    assert (
        str(error) == "the CLI did not answer the control request 'interrupt' (req_1) within 0.01 s"
    )
    requests.resolve(response(success_response("req_1", {})))  # too late: ignored
    assert recording.items == []


def test_the_cli_ending_fails_every_pending_request() -> None:
    requests, first = pending()
    second: Recording[Any] = Recording()
    requests.add("req_2", "set_model", second, TIMEOUT)
    cause = RuntimeError("the CLI died")
    requests.fail_all(cause)
    for recording, subtype in ((first, "interrupt"), (second, "set_model")):
        error = recording.error
        assert isinstance(error, SessionClosedError) and error.__cause__ is cause
        assert subtype in str(error)


def test_a_dropped_request_is_not_answered() -> None:
    requests, recording = pending()
    requests.drop("req_1")
    requests.resolve(response(success_response("req_1", {})))
    assert recording.items == [] and not recording.done.is_set()


def test_a_cli_that_cannot_start_fails_start_with_the_reason(tmp_path: Path) -> None:
    session = ClaudeSession(str(tmp_path / "no-such-claude"))
    messages: Recording[Message] = Recording()
    session.messages.subscribe(messages)
    with pytest.raises(SessionClosedError, match=r"the CLI has ended: .*No such file") as failed:
        session.start()
    assert isinstance(failed.value.__cause__, FileNotFoundError)
    messages.wait_done()
    assert messages.error is failed.value.__cause__
