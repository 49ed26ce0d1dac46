"""The real CLI against the fake API: what the pipeline delivers, and what handlers report.

Each scenario runs once (a CLI start costs about a second; ``long_text`` is shared with
the backpressure tests, see conftest.py) through
``from_cli | parse_json_frames | route_by_type(Router.default()) | assemble_partials``;
the tests compare the exact sequence of frames, the built-in handlers' results and the
partial-message items with what the fake server streamed (``rxclaude/testing/catalogue.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import reactivex
from reactivex import operators as ops
from reactivex.subject import Subject

from rxclaude import CLIProcessError, Kind, Message, Router
from rxclaude.messages import (
    ApiRetryMessage,
    AssistantMessage,
    ResultMessage,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from rxclaude.partials import AssembledMessage, BlockComplete, BlockUpdate, Superseded
from rxclaude.testing import (
    INPUT_TOKENS,
    SCENARIOS,
    APIError,
    Scenario,
    Streamed,
    can_isolate,
    cli_invocation,
)
from rxclaude.testing.sandbox import PROXY_VARIABLES

from .harness import (
    PARTIALS,
    STREAM_JSON,
    CLIRun,
    prompt_args,
    run_cli,
)

pytestmark = pytest.mark.e2e

DELTA = "stream_event/content_block_delta"
START, STOP = "stream_event/content_block_start", "stream_event/content_block_stop"
MESSAGE_START = ["system/status", "stream_event/message_start"]
MESSAGE_END = ["stream_event/message_delta", "stream_event/message_stop"]


def deltas(scenario: Scenario, step: int, block: int) -> list[str]:
    """The labels of one streamed block's deltas."""
    reply = scenario.steps[step].streaming
    assert isinstance(reply, Streamed)
    return [f"{DELTA}/{delta['type']}" for delta in reply.message.blocks[block].deltas]


def check_requests(run: CLIRun, expected: list[tuple[int, bool, int]]) -> None:
    """The fake API got exactly these ``(step, stream, status)`` requests, nothing else."""
    requests = run.invocation.requests()
    assert [(r["method"], r["path"].split("?")[0]) for r in requests] == [
        ("POST", "/v1/messages")
    ] * len(expected)
    assert [(r["step"], r["stream"], r["status"]) for r in requests] == expected


def check_usage(run: CLIRun, scenario: Scenario) -> None:
    """Token counts add up to what the fake API reported for the kept messages."""
    usage = run.router.handlers.metadata.usage
    assert usage["input_tokens"] == INPUT_TOKENS * len(scenario.messages)
    assert usage["output_tokens"] == sum(message.output_tokens for message in scenario.messages)


def only(items: list[Any], kind: type[Any]) -> list[Any]:
    return [item for item in items if isinstance(item, kind)]


# -- the environment ------------------------------------------------------------------


def test_invocation_is_confined_to_loopback(claude: str, workdir: Path) -> None:
    invocation = cli_invocation("plain_text", prompt_args("plain_text"), workdir=workdir)
    env = invocation.env
    assert not [name for name in env if name.lower() in PROXY_VARIABLES]
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert env["DISABLE_TELEMETRY"] == env["DISABLE_AUTOUPDATER"] == "1"
    assert urlsplit(env["ANTHROPIC_BASE_URL"]).hostname == "127.0.0.1"
    home = Path(env["HOME"])
    assert home.is_relative_to(workdir) and list(home.iterdir()) == []
    assert invocation.cwd.is_relative_to(workdir) and list(invocation.cwd.iterdir()) == []
    launcher = ["-m", "rxclaude.testing.sandbox", "--scenario", "plain_text"]
    assert invocation.argv[invocation.argv.index("-m") :][:4] == launcher
    assert invocation.argv[-len(prompt_args("plain_text")) - 1 :] == [
        claude,
        *prompt_args("plain_text"),
    ]
    isolation = ["unshare", "-n", "--"] if can_isolate() else []
    assert invocation.argv[: len(isolation) + 1] == [*isolation, sys.executable]
    assert invocation.isolated == bool(isolation)


# -- plain and long text --------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_text(claude: str, workdir: Path) -> CLIRun:
    return run_cli("plain_text", prompt_args("plain_text"), workdir=workdir)


def test_plain_text(plain_text: CLIRun) -> None:
    scenario = SCENARIOS["plain_text"]
    assert plain_text.error is None
    assert plain_text.labels == ["system/init", "assistant", "result/success"]
    handlers = plain_text.router.handlers
    assert handlers.text.text == handlers.text.live_text == scenario.text
    assert handlers.complete.result == scenario.text
    assert (handlers.complete.subtype, handlers.complete.is_error) == ("success", False)
    assert handlers.complete.num_turns == 1
    assert handlers.metadata.cwd == str(plain_text.invocation.cwd)
    assert handlers.metadata.session_id == plain_text.messages[0].session_id
    assert handlers.error.count == 0 and handlers.tool_use.count == 0
    assert plain_text.partials == []
    check_usage(plain_text, scenario)
    check_requests(plain_text, [(0, True, 200)])


def test_long_text_with_partial_messages(long_text: CLIRun) -> None:
    scenario = SCENARIOS["long_text"]
    assert long_text.error is None
    text_deltas = deltas(scenario, 0, 0)
    assert len(text_deltas) > 1000
    assert long_text.labels == [
        "system/init",
        *MESSAGE_START,
        START,
        *text_deltas,
        "assistant",
        STOP,
        *MESSAGE_END,
        "result/success",
    ]
    streamed = "".join(
        message.raw["event"]["delta"]["text"]
        for message in long_text.messages
        if message.raw is not None and message.type == "stream_event"
        if message.raw["event"]["type"] == "content_block_delta"
    )
    assert streamed == scenario.streamed_text == scenario.text
    handlers = long_text.router.handlers
    assert handlers.text.text == handlers.text.live_text == scenario.text
    assert handlers.complete.result == scenario.text
    assert handlers.progress.current.text_chars == len(scenario.text)
    assert handlers.progress.current.finished
    check_usage(long_text, scenario)
    check_requests(long_text, [(0, True, 200)])


def test_long_text_assembled_from_partials_agrees(long_text: CLIRun) -> None:
    text = SCENARIOS["long_text"].text
    updates = only(long_text.partials, BlockUpdate)
    assert len(updates) == len(deltas(SCENARIOS["long_text"], 0, 0))
    assert updates[-1].text == text
    (complete,) = only(long_text.partials, BlockComplete)
    assert complete.confirmed and complete.stopped
    assert complete.block == complete.assembled == TextBlock({"type": "text", "text": text})
    (assembled,) = only(long_text.partials, AssembledMessage)
    assert assembled.complete and assembled.text == text
    assert assembled.stop_reason == "end_turn"
    assert assembled.message_id == "msg_fake_long"
    assert len(long_text.partials) == len(updates) + 2  # no Superseded, no PartialIssue


# -- thinking -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def thinking(claude: str, workdir: Path) -> CLIRun:
    return run_cli("thinking", prompt_args("thinking", PARTIALS), workdir=workdir)


def test_thinking(thinking: CLIRun) -> None:
    scenario = SCENARIOS["thinking"]
    assert thinking.error is None
    thinking_deltas = deltas(scenario, 0, 0)
    # The CLI reports its token estimate before each thinking delta.
    estimated = [
        label
        for delta in thinking_deltas
        for label in (
            ["system/thinking_tokens", delta] if delta.endswith("/thinking_delta") else [delta]
        )
    ]
    assert thinking.labels == [
        "system/init",
        *MESSAGE_START,
        START,
        *estimated,
        "assistant",
        STOP,
        START,
        *deltas(scenario, 0, 1),
        "assistant",
        STOP,
        *MESSAGE_END,
        "result/success",
    ]
    frames = only(thinking.messages, AssistantMessage)
    assert [type(block) for frame in frames for block in frame.content] == [
        ThinkingBlock,
        TextBlock,
    ]
    (thought,) = [block for block in frames[0].content if isinstance(block, ThinkingBlock)]
    assert thought.thinking == scenario.thinking
    assert thought.signature == "EqQBCkgIBxABGAIiQFakeSignatureBase64=="
    handlers = thinking.router.handlers
    assert handlers.text.text == scenario.text == "Short answer: 42."
    progress = handlers.progress.current
    assert progress.thinking_chars == len(scenario.thinking)
    assert progress.thinking_tokens_estimate is not None and progress.thinking_tokens_estimate > 0
    assert (progress.blocks_started, progress.blocks_stopped) == (2, 2)
    assert handlers.system.counts["thinking_tokens"] == thinking_deltas.count(
        f"{DELTA}/thinking_delta"
    )
    completes = only(thinking.partials, BlockComplete)
    assert [complete.block for complete in completes] == [
        ThinkingBlock(scenario.messages[0].blocks[0].final),
        TextBlock(scenario.messages[0].blocks[1].final),
    ]
    assert all(complete.confirmed for complete in completes)
    check_usage(thinking, scenario)
    check_requests(thinking, [(0, True, 200)])


# -- tools ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bash_echo(claude: str, workdir: Path) -> CLIRun:
    args = prompt_args("bash_echo", PARTIALS, "--allowedTools", "Bash")
    return run_cli("bash_echo", args, workdir=workdir)


def test_bash_round_trip(bash_echo: CLIRun) -> None:
    scenario = SCENARIOS["bash_echo"]
    assert bash_echo.error is None
    assert bash_echo.labels == [
        "system/init",
        *MESSAGE_START,
        START,
        *deltas(scenario, 0, 0),
        "assistant",
        STOP,
        START,
        *deltas(scenario, 0, 1),
        "assistant",
        STOP,
        *MESSAGE_END,
        "user",
        *MESSAGE_START,
        START,
        *deltas(scenario, 1, 0),
        "assistant",
        STOP,
        *MESSAGE_END,
        "result/success",
    ]
    tools = bash_echo.router.handlers.tool_use
    ((tool_id, name, tool_input),) = scenario.tool_calls
    (call,) = tools.calls
    assert (call.id, call.name, call.input) == (tool_id, name, tool_input)
    assert call.finished and call.is_error is False
    assert call.result_text is not None and call.result_text.strip() == "hello"
    assert (tools.count, tools.error_count, tools.unpaired_results) == (1, 0, 0)
    assert tools.by_name == {"Bash": 1}
    handlers = bash_echo.router.handlers
    assert handlers.text.text == scenario.text
    assert handlers.complete.num_turns == 2
    tool_block = only(bash_echo.partials, BlockComplete)[1]
    assert isinstance(tool_block.assembled, ToolUseBlock)
    assert tool_block.assembled.input == tool_input and tool_block.json_error is None
    check_usage(bash_echo, scenario)
    check_requests(bash_echo, [(0, True, 200), (1, True, 200)])
    tool_results = [
        block
        for message in bash_echo.invocation.requests()[1]["body"]["messages"]
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    assert [result["tool_use_id"] for result in tool_results] == [tool_id]


@pytest.fixture(scope="module")
def read_file(claude: str, workdir: Path) -> CLIRun:
    args = prompt_args("read_file", "--allowedTools", "Read")
    return run_cli("read_file", args, workdir=workdir)


def test_read_tool(read_file: CLIRun) -> None:
    scenario = SCENARIOS["read_file"]
    assert read_file.error is None
    assert read_file.labels == ["system/init", "assistant", "user", "assistant", "result/success"]
    (call,) = read_file.router.handlers.tool_use.calls
    assert (call.id, call.name, call.input) == scenario.tool_calls[0]
    assert call.is_error is False and call.result_text is not None
    assert "first line" in call.result_text and "second line" in call.result_text
    assert read_file.router.handlers.text.text == scenario.text
    check_requests(read_file, [(0, True, 200), (1, True, 200)])


@pytest.fixture(scope="module")
def write_denied(claude: str, workdir: Path) -> CLIRun:
    return run_cli("write_denied", prompt_args("write_denied"), workdir=workdir)


def test_write_denied(write_denied: CLIRun) -> None:
    scenario = SCENARIOS["write_denied"]
    assert write_denied.error is None
    assert write_denied.labels == [
        "system/init",
        "assistant",
        "system/permission_denied",
        "user",
        "assistant",
        "result/success",
    ]
    ((tool_id, name, tool_input),) = scenario.tool_calls
    result = write_denied.messages[-1]
    assert isinstance(result, ResultMessage)
    # The denial names the path the CLI resolved in its working directory.
    resolved = {**tool_input, "file_path": str(write_denied.invocation.cwd / "out.txt")}
    assert result.permission_denials == [
        {"tool_name": name, "tool_use_id": tool_id, "tool_input": resolved}
    ]
    handlers = write_denied.router.handlers
    (call,) = handlers.tool_use.calls
    assert call.is_error is True and handlers.tool_use.error_count == 1
    assert handlers.error.by_source == {"tool_result": 1}
    assert handlers.system.counts["permission_denied"] == 1
    assert handlers.complete.is_error is False and handlers.text.text == scenario.text
    assert not (write_denied.invocation.cwd / "out.txt").exists()


# -- API errors -----------------------------------------------------------------------


@pytest.fixture(scope="module", params=["error_401", "error_500", "error_529"])
def api_error(request: pytest.FixtureRequest, claude: str, workdir: Path) -> tuple[str, CLIRun]:
    scenario: str = request.param
    return scenario, run_cli(scenario, prompt_args(scenario), workdir=workdir)


def test_api_error_delivers_every_frame_then_cli_process_error(
    api_error: tuple[str, CLIRun],
) -> None:
    """The CLI exits 1 after a result with is_error: true. The pipeline delivers every
    frame, the result included, then ``CLIProcessError``, whose ``result`` is that frame."""
    name, run = api_error
    scenario = SCENARIOS[name]
    reply = scenario.steps[0].streaming
    assert isinstance(reply, APIError)
    assert run.labels == ["system/init", "system/api_retry", "assistant", "result/success"]
    error = run.error
    assert isinstance(error, CLIProcessError) and error.returncode == 1
    result = run.messages[-1]
    assert isinstance(result, ResultMessage) and error.result is result
    assert result.is_error and result.terminal_reason == "api_error"
    retry = run.messages[1]
    assert isinstance(retry, ApiRetryMessage)
    assert (retry.attempt, retry.max_retries) == (1, scenario.max_retries)
    assert retry.error_status == reply.status
    synthetic = run.messages[2]
    assert isinstance(synthetic, AssistantMessage) and synthetic.is_api_error
    handlers = run.router.handlers
    assert handlers.error.by_source == {"api_retry": 1, "api_error": 1, "result": 1}
    assert handlers.complete.is_error and handlers.text.text == synthetic.text
    check_requests(run, [(0, True, reply.status)] * (scenario.max_retries + 1))


@pytest.fixture(scope="module")
def midstream_error(claude: str, workdir: Path) -> CLIRun:
    args = prompt_args("midstream_error", PARTIALS)
    return run_cli("midstream_error", args, workdir=workdir)


def test_midstream_error_falls_back_to_a_non_streaming_request(midstream_error: CLIRun) -> None:
    scenario = SCENARIOS["midstream_error"]
    broken = scenario.steps[0].streaming
    assert isinstance(broken, Streamed) and broken.broken_after is not None
    assert midstream_error.error is None
    assert midstream_error.labels == [
        "system/init",
        *MESSAGE_START,
        START,
        *deltas(scenario, 0, 0)[: broken.broken_after],
        STOP,
        "stream_event/message_stop",
        "assistant",
        "result/success",
    ]
    handlers = midstream_error.router.handlers
    assert handlers.text.text == handlers.text.live_text == scenario.text
    assert handlers.complete.result == scenario.text
    (superseded,) = only(midstream_error.partials, Superseded)
    assert superseded.reason == "abandoned"
    assert superseded.text == scenario.streamed_text
    assert superseded.text != scenario.text
    (assistant,) = only(midstream_error.messages, AssistantMessage)
    assert assistant.message_id == "msg_fake_fallback"
    check_requests(midstream_error, [(0, True, 200), (0, False, 200)])


# -- several turns through --input-format stream-json ---------------------------------


def user_line(text: str) -> bytes:
    """A user turn for ``--input-format stream-json`` (one NDJSON line)."""
    message = {"role": "user", "content": text}
    turn = {"type": "user", "message": message, "parent_tool_use_id": None, "session_id": ""}
    return (json.dumps(turn) + "\n").encode()


@pytest.fixture(scope="module")
def multi_turn(claude: str, workdir: Path) -> CLIRun:
    """Sends the first prompt at once and the next one when a result arrives; ends the
    input (closes stdin) after the last result."""
    prompts = list(SCENARIOS["multi_turn"].prompts)
    later_turns: Subject[bytes] = Subject()

    def next_turn(message: Message) -> None:
        if prompts:
            later_turns.on_next(user_line(prompts.pop(0)))
        else:
            later_turns.on_completed()

    router = Router.default()
    router.register(Kind.COMPLETE, next_turn)
    turns = reactivex.of(user_line(prompts.pop(0))).pipe(ops.concat(later_turns))
    args = ["-p", "--input-format", "stream-json", *STREAM_JSON]
    return run_cli("multi_turn", args, workdir=workdir, input=turns, router=router)


def test_multi_turn_conversation(multi_turn: CLIRun) -> None:
    scenario = SCENARIOS["multi_turn"]
    assert multi_turn.error is None
    assert multi_turn.labels == ["system/init", "assistant", "result/success"] * 2
    handlers = multi_turn.router.handlers
    texts = [message.text for message in scenario.messages]
    assert [result.result for result in handlers.complete.results] == texts
    assert handlers.text.text == "".join(texts) == scenario.text
    assert len(set(message.session_id for message in multi_turn.messages)) == 1
    assert handlers.progress.turns_finished == 2
    check_usage(multi_turn, scenario)
    check_requests(multi_turn, [(0, True, 200), (1, True, 200)])
    conversation = [
        (message["role"], message["content"])
        for message in multi_turn.invocation.requests()[1]["body"]["messages"]
        if message["role"] != "system"
    ]
    assert [role for role, _ in conversation] == ["user", "assistant", "user"]
    assert json.dumps(conversation[0][1]).count(scenario.prompts[0]) == 1
    assert conversation[1][1] == [{"type": "text", "text": texts[0]}]
    assert scenario.prompts[1] in json.dumps(conversation[2][1])
