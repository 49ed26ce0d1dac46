"""Interactive sessions against the real CLI and the fake API: permission prompts answered
by a function or an operator, hooks, interrupts, several turns, a CLI killed mid-turn.

Each test starts one ``ClaudeSession`` through the sandbox launcher
(``CLIInvocation.session``), records every message and every control frame both ways,
and compares their sequences exactly with what the scenario makes the CLI do.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import reactivex
from conftest import TIMEOUT, Recording
from reactivex import operators as ops
from waiting import wait_until

from rxclaude import CLIProcessError, Message
from rxclaude.aio import to_async_iterable
from rxclaude.backpressure import Policy, backpressure
from rxclaude.interactive import (
    ClaudeSession,
    ControlError,
    ControlEvent,
    HookMatcher,
    SessionClosedError,
    allow,
    deny,
)
from rxclaude.messages import ResultMessage, ToolResultBlock, UserMessage
from rxclaude.messages.control import CanUseToolRequest, HookCallbackRequest
from rxclaude.testing import SCENARIOS, cli_invocation

from .harness import label

pytestmark = pytest.mark.e2e

SESSION_ARGS = ["--permission-mode", "default", "--no-session-persistence"]

DELTA = "stream_event/content_block_delta/text_delta"


class SessionRun:
    """A session of a scenario, with recordings of its messages and control events."""

    def __init__(self, scenario: str, workdir: Path, *extra: str, **options: Any) -> None:
        self.invocation = cli_invocation(scenario, [], workdir=workdir)
        self.scenario = SCENARIOS[scenario]
        self.session = self.invocation.session(args=[*SESSION_ARGS, *extra], **options)
        self.messages: Recording[Message] = Recording()
        self.control: Recording[ControlEvent] = Recording()
        self.session.messages.subscribe(self.messages)
        self.session.control.subscribe(self.control)

    @property
    def labels(self) -> list[str]:
        return [label(message) for message in self.messages.items]

    @property
    def exchanges(self) -> list[tuple[str, str]]:
        """``(direction, subtype)`` of each control frame, the class name for responses."""
        return [(event.direction, exchange_name(event)) for event in self.control.items]

    def ask(self, prompt: str) -> list[Message]:
        """One turn, to its result (or its failure)."""
        turn: Recording[Message] = Recording()
        self.session.ask(prompt).subscribe(turn)
        turn.wait_done()
        assert turn.error is None, turn.error
        return turn.items

    def file(self, name: str) -> Path:
        return self.invocation.cwd / name


def exchange_name(event: ControlEvent) -> str:
    raw = event.message.raw or {}
    if raw.get("type") == "control_response":
        return f"response/{event.message.subtype}"
    return str(event.message.subtype)


HANDSHAKE = [("sent", "initialize"), ("received", "response/success")]
PERMISSION = [("received", "can_use_tool"), ("sent", "response/success")]
TOOL_TURN = ["system/init", "assistant", "assistant", "user", "assistant", "result/success"]
"""A turn of ``permission_write``: text, the tool call, its result, text, the result."""
TOUCH_TURN = ["system/init", "assistant", "user", "assistant", "result/success"]
"""A turn of ``bash_touch``: the tool call, its result, text, the result."""


@pytest.fixture
def runs() -> Iterator[list[SessionRun]]:
    """Closes the sessions a test made, whatever happened."""
    made: list[SessionRun] = []
    yield made
    for run in made:
        run.session.close(timeout=TIMEOUT)


def tool_result(messages: list[Message]) -> ToolResultBlock:
    (block,) = [
        block
        for message in messages
        if isinstance(message, UserMessage)
        for block in message.tool_results
    ]
    return block


# -- permissions ------------------------------------------------------------------------


@pytest.mark.parametrize("answered_by", ["function", "operator"])
def test_allowed_tool_runs_and_its_result_arrives(
    answered_by: str, workdir: Path, runs: list[SessionRun]
) -> None:
    requests: list[CanUseToolRequest] = []

    def allow_and_record(request: CanUseToolRequest) -> Any:
        requests.append(request)
        return allow(request)

    options: dict[str, Any] = (
        {"can_use_tool": allow_and_record}
        if answered_by == "function"
        else {"permission_policy": ops.map(allow_and_record)}
    )
    run = SessionRun("permission_write", workdir, **options)
    runs.append(run)
    run.session.start()
    assert run.session.initialize_response["pid"] > 0
    turn = run.ask(run.scenario.prompts[0])
    assert [label(message) for message in turn] == TOOL_TURN
    assert run.exchanges == HANDSHAKE + PERMISSION
    ((tool_id, name, tool_input),) = run.scenario.tool_calls
    (request,) = requests
    assert (request.tool_name, request.tool_use_id) == (name, tool_id)
    assert request.input == {**tool_input, "file_path": str(run.file("out.txt"))}
    answer = run.control.items[-1].message.raw
    assert answer == {
        "type": "control_response",
        "response": {
            "subtype": "success",
            "request_id": request.request_id,
            "response": {"behavior": "allow", "updatedInput": request.input},
        },
    }
    result = tool_result(turn)
    assert result.tool_use_id == tool_id and not result.is_error
    assert run.file("out.txt").read_text() == tool_input["content"]
    final = turn[-1]
    assert isinstance(final, ResultMessage) and final.result == run.scenario.messages[-1].text
    assert final.permission_denials == []


def test_denied_tool_is_reported_and_the_turn_goes_on(
    workdir: Path, runs: list[SessionRun]
) -> None:
    reason = "Writing files is not allowed in this test."
    run = SessionRun("permission_write", workdir, can_use_tool=lambda r: deny(r, reason))
    runs.append(run)
    run.session.start()
    turn = run.ask(run.scenario.prompts[0])
    assert [label(message) for message in turn] == TOOL_TURN
    assert run.exchanges == HANDSHAKE + PERMISSION
    ((tool_id, name, tool_input),) = run.scenario.tool_calls
    result = tool_result(turn)
    assert result.tool_use_id == tool_id and result.is_error
    assert result.text == reason
    final = turn[-1]
    assert isinstance(final, ResultMessage) and not final.is_error
    assert final.result == run.scenario.messages[-1].text
    resolved = {**tool_input, "file_path": str(run.file("out.txt"))}
    assert final.permission_denials == [
        {"tool_name": name, "tool_use_id": tool_id, "tool_input": resolved}
    ]
    assert not run.file("out.txt").exists()


def test_updated_input_changes_what_runs(workdir: Path, runs: list[SessionRun]) -> None:
    def other_content(request: CanUseToolRequest) -> Any:
        return allow(request, {**request.input, "content": "changed by the host\n"})

    run = SessionRun("permission_write", workdir, can_use_tool=other_content)
    runs.append(run)
    run.session.start()
    turn = run.ask(run.scenario.prompts[0])
    assert [label(message) for message in turn] == TOOL_TURN
    assert not tool_result(turn).is_error
    assert run.file("out.txt").read_text() == "changed by the host\n"


def test_permission_prompt_is_answered_while_the_consumer_is_held(
    workdir: Path, runs: list[SessionRun]
) -> None:
    """The consumer holds its thread in the first message and the BLOCK buffer (one slot)
    is full, so the message lane waits; the prompt is answered anyway and the tool runs."""
    run = SessionRun("permission_write", workdir, can_use_tool=allow)
    runs.append(run)
    buffer = backpressure(Policy.BLOCK, buffer_size=1)
    release = threading.Event()
    held: Recording[Message] = Recording()

    def hold_first(message: Message) -> None:
        held.on_next(message)
        if len(held.items) == 1:
            release.wait(TIMEOUT)

    run.session.messages.pipe(buffer).subscribe(hold_first, held.on_error, held.on_completed)
    run.session.start()
    run.session.send(run.scenario.prompts[0])
    wait_until(lambda: run.exchanges == HANDSHAKE + PERMISSION)
    wait_until(lambda: run.file("out.txt").exists())
    # The rest of the turn arrives while the lane is blocked: it waits in the lane.
    wait_until(lambda: run.session.queued == 3)  # the tool's result, the text, the result
    statistics = buffer.statistics()
    assert len(held.items) == 1 and statistics.size == statistics.capacity == 1
    release.set()
    wait_until(lambda: any(isinstance(message, ResultMessage) for message in held.items))
    assert [label(message) for message in held.items] == TOOL_TURN
    assert run.labels == TOOL_TURN
    assert run.file("out.txt").read_text() == "data\n"


# -- hooks -------------------------------------------------------------------------------


def test_hooks_are_called_back_and_a_pre_tool_hook_can_deny(
    workdir: Path, runs: list[SessionRun]
) -> None:
    calls: list[HookCallbackRequest] = []

    def refuse(request: HookCallbackRequest) -> dict[str, Any]:
        calls.append(request)
        output = {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "the hook refuses",
        }
        return {"hookSpecificOutput": output}

    def record(request: HookCallbackRequest) -> dict[str, Any]:
        calls.append(request)
        return {}

    hooks = {
        "PreToolUse": [HookMatcher([refuse], matcher="Bash")],
        "PostToolUse": [HookMatcher([record])],
    }
    run = SessionRun("bash_touch", workdir, hooks=hooks, can_use_tool=allow)
    runs.append(run)
    run.session.start()
    turn = run.ask(run.scenario.prompts[0])
    assert [label(message) for message in turn] == TOUCH_TURN
    assert run.exchanges == [
        *HANDSHAKE,
        ("received", "hook_callback"),
        ("sent", "response/success"),
    ]
    initialize = run.control.items[0].message.raw
    assert initialize["request"]["hooks"] == {
        "PreToolUse": [{"matcher": "Bash", "hookCallbackIds": ["hook_0"]}],
        "PostToolUse": [{"matcher": None, "hookCallbackIds": ["hook_1"]}],
    }
    ((tool_id, _, tool_input),) = run.scenario.tool_calls
    (call,) = calls
    assert (call.callback_id, call.hook_event_name, call.tool_use_id) == (
        "hook_0",
        "PreToolUse",
        tool_id,
    )
    assert call.input["tool_input"] == tool_input
    result = tool_result(turn)
    assert result.is_error and "the hook refuses" in result.text
    assert not run.file("touched.txt").exists()


def test_a_pre_tool_hook_allows_and_a_post_tool_hook_sees_the_result(
    workdir: Path, runs: list[SessionRun]
) -> None:
    """The PreToolUse hook's ``allow`` spares the permission prompt; PostToolUse follows."""
    calls: list[HookCallbackRequest] = []

    def let_it_run(request: HookCallbackRequest) -> dict[str, Any]:
        calls.append(request)
        output = {"hookEventName": "PreToolUse", "permissionDecision": "allow"}
        return {"hookSpecificOutput": output}

    def record(request: HookCallbackRequest) -> dict[str, Any]:
        calls.append(request)
        return {}

    hooks = {
        "PreToolUse": [HookMatcher([let_it_run], matcher="Bash")],
        "PostToolUse": [HookMatcher([record], matcher="Bash")],
    }
    run = SessionRun("bash_touch", workdir, hooks=hooks, can_use_tool=deny_everything)
    runs.append(run)
    run.session.start()
    turn = run.ask(run.scenario.prompts[0])
    assert [label(message) for message in turn] == TOUCH_TURN
    hook_exchange = [("received", "hook_callback"), ("sent", "response/success")]
    assert run.exchanges == [*HANDSHAKE, *hook_exchange, *hook_exchange]
    ((tool_id, _, tool_input),) = run.scenario.tool_calls
    assert [(call.hook_event_name, call.tool_use_id) for call in calls] == [
        ("PreToolUse", tool_id),
        ("PostToolUse", tool_id),
    ]
    assert calls[1].input["tool_input"] == tool_input
    assert "tool_response" in calls[1].input
    assert not tool_result(turn).is_error
    assert run.file("touched.txt").exists()


def deny_everything(request: CanUseToolRequest) -> Any:
    return deny(request, "no prompt should reach the host")


# -- interrupt, several turns, a killed CLI -------------------------------------------------


def test_interrupt_mid_turn(workdir: Path, runs: list[SessionRun]) -> None:
    run = SessionRun("interrupted", workdir, "--include-partial-messages")
    runs.append(run)
    run.session.start()
    first: Recording[Message] = Recording()
    run.session.ask(run.scenario.prompts[0]).subscribe(first)
    wait_until(lambda: [label(m) for m in first.items].count(DELTA) == 3)
    assert run.session.interrupt() == {"still_queued": []}
    first.wait_done()
    assert first.error is None
    assert [label(message) for message in first.items] == [
        "system/init",
        "system/status",
        "stream_event/message_start",
        "stream_event/content_block_start",
        DELTA,
        DELTA,
        DELTA,
        "assistant",
        "user",
        "stream_event/content_block_stop",
        "stream_event/message_delta",
        "stream_event/message_stop",
        "result/error_during_execution",
    ]
    interrupted = first.items[-1]
    assert isinstance(interrupted, ResultMessage) and interrupted.is_error
    second = run.ask(run.scenario.prompts[1])
    assert second[-1].raw is not None and second[-1].raw["result"] == "Back after the interrupt."
    assert run.exchanges == [*HANDSHAKE, ("sent", "interrupt"), ("received", "response/success")]
    requests = run.invocation.requests()
    assert [(r["step"], r["status"]) for r in requests] == [(0, 200), (1, 200)]
    assert "[Request interrupted by user]" in str(requests[1]["body"]["messages"][-1])


def test_three_turns_in_one_process_keep_the_session(workdir: Path, runs: list[SessionRun]) -> None:
    run = SessionRun("session_turns", workdir, can_use_tool=allow)
    runs.append(run)
    run.session.start()
    turns = [run.ask(prompt) for prompt in run.scenario.prompts]
    assert [[label(message) for message in turn] for turn in turns] == [
        ["system/init", "assistant", "result/success"],
        TOOL_TURN,
        ["system/init", "assistant", "result/success"],
    ]
    texts = [message.text for message in run.scenario.messages]
    results = [turn[-1] for turn in turns]
    assert [result.raw["result"] for result in results if result.raw] == [
        texts[0],
        texts[2],
        texts[3],
    ]
    assert len({message.session_id for turn in turns for message in turn}) == 1
    assert run.exchanges == HANDSHAKE + PERMISSION
    assert run.file("turn_two.txt").read_text() == "two\n"
    requests = run.invocation.requests()
    assert [(r["step"], r["status"]) for r in requests] == [(0, 200), (1, 200), (2, 200), (3, 200)]
    run.session.close(timeout=TIMEOUT)
    run.messages.wait_done()
    assert run.messages.completed and run.control.completed


def test_cli_killed_mid_turn_ends_the_streams_after_every_frame(
    workdir: Path, runs: list[SessionRun]
) -> None:
    run = SessionRun("interrupted", workdir, "--include-partial-messages")
    runs.append(run)
    run.session.start()
    turn: Recording[Message] = Recording()
    run.session.ask(run.scenario.prompts[0]).subscribe(turn)
    wait_until(lambda: run.labels.count(DELTA) == 3)
    os.kill(run.session.initialize_response["pid"], signal.SIGKILL)
    run.messages.wait_done()
    turn.wait_done()
    run.control.wait_done()
    assert run.labels == [
        "system/init",
        "system/status",
        "stream_event/message_start",
        "stream_event/content_block_start",
        DELTA,
        DELTA,
        DELTA,
    ]
    error = run.messages.error
    assert isinstance(error, CLIProcessError) and error.returncode == -signal.SIGKILL
    assert turn.error is error and run.control.error is error
    assert len(turn.items) == len(run.labels)
    with pytest.raises(SessionClosedError) as closed:
        run.session.send("anyone there?")
    assert closed.value.__cause__ is error
    with pytest.raises(SessionClosedError):
        run.session.interrupt()


def test_an_unknown_request_to_the_cli_fails_with_its_error(
    workdir: Path, runs: list[SessionRun]
) -> None:
    run = SessionRun("plain_text", workdir)
    runs.append(run)
    run.session.start()
    with pytest.raises(ControlError) as refused:
        run.session.request("no_such_subtype").run()
    assert refused.value.subtype == "no_such_subtype"
    assert refused.value.error_code == "unsupported_request"
    assert run.exchanges == [
        *HANDSHAKE,
        ("sent", "no_such_subtype"),
        ("received", "response/error"),
    ]
    turn = run.ask(run.scenario.prompts[0])  # the session goes on
    assert [label(message) for message in turn] == ["system/init", "assistant", "result/success"]


def test_set_permission_mode(workdir: Path, runs: list[SessionRun]) -> None:
    """``acceptEdits`` lets the write run without a permission prompt."""
    run = SessionRun("permission_write", workdir, can_use_tool=allow)
    runs.append(run)
    run.session.start()
    assert run.session.set_permission_mode("acceptEdits") == {"mode": "acceptEdits"}
    turn = run.ask(run.scenario.prompts[0])
    # The CLI reports the new mode at once, ahead of the turn it applies to.
    assert [label(message) for message in turn] == ["system/status", *TOOL_TURN]
    status = turn[0]
    assert status.raw is not None and status.raw["permissionMode"] == "acceptEdits"
    assert run.exchanges == [
        *HANDSHAKE,
        ("sent", "set_permission_mode"),
        ("received", "response/success"),
    ]
    assert run.file("out.txt").read_text() == "data\n"


def test_set_model(workdir: Path, runs: list[SessionRun]) -> None:
    """The CLI checks the model with a non-streaming request, then uses it for the turn."""
    run = SessionRun("model_switch", workdir)
    runs.append(run)
    run.session.start()
    run.session.set_model("claude-fake-2")
    turn = run.ask(run.scenario.prompts[0])
    assert [label(message) for message in turn] == ["system/init", "assistant", "result/success"]
    assert run.exchanges == [*HANDSHAKE, ("sent", "set_model"), ("received", "response/success")]
    requests = run.invocation.requests()
    assert [(r["step"], r["stream"], r["body"]["model"]) for r in requests] == [
        (0, False, "claude-fake-2"),
        (0, True, "claude-fake-2"),
    ]


def test_turns_from_an_observable_and_the_end_of_the_input(
    workdir: Path, runs: list[SessionRun]
) -> None:
    """Both turns are written at once; the end of the turns closes stdin only after the
    second result, and the CLI then exits: the messages complete."""
    run = SessionRun("multi_turn", workdir)
    runs.append(run)
    run.session.start()
    reactivex.from_iterable(run.scenario.prompts).subscribe(run.session.turns)
    run.messages.wait_done()
    assert run.messages.completed and run.messages.error is None
    assert run.labels == ["system/init", "assistant", "result/success"] * 2
    results = [message for message in run.messages.items if isinstance(message, ResultMessage)]
    assert [result.result for result in results] == [m.text for m in run.scenario.messages]
    with pytest.raises(SessionClosedError, match="the CLI has ended: it exited"):
        run.session.send("one more")


def test_await_a_turn_and_iterate_one_with_asyncio(workdir: Path, runs: list[SessionRun]) -> None:
    run = SessionRun("multi_turn", workdir)
    runs.append(run)
    run.session.start()

    async def converse() -> tuple[Message, list[str]]:
        result = await run.session.ask(run.scenario.prompts[0])
        second = to_async_iterable(run.session.ask(run.scenario.prompts[1]), maxsize=1)
        return result, [label(message) async for message in second]

    result, labels = asyncio.run(asyncio.wait_for(converse(), TIMEOUT))
    assert isinstance(result, ResultMessage)
    assert result.result == run.scenario.messages[0].text
    assert labels == ["system/init", "assistant", "result/success"]
    assert run.labels == labels * 2


def test_closing_ends_the_cli_and_the_streams(workdir: Path) -> None:
    run = SessionRun("plain_text", workdir)
    with run.session:
        run.ask(run.scenario.prompts[0])
    run.messages.wait_done()
    assert run.messages.completed and run.messages.error is None
    with pytest.raises(SessionClosedError):
        run.session.send("more")


def test_session_from_a_path(claude: str, tmp_path: Path) -> None:
    """The argument list: the CLI, the session's flags, the permission flags, ``args``."""
    session = ClaudeSession(claude, args=["--model", "m"], can_use_tool=allow)
    assert session.argv == [
        claude,
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
        "--permission-prompt-tool",
        "stdio",
        "--model",
        "m",
    ]
    assert ClaudeSession(claude).argv[-1] == "--verbose"
