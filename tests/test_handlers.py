"""The built-in handlers on the real recordings, alone and through Router.default()."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import reactivex
from corpus_files import EPOCH, bundled_recordings, decode, recording
from reactivex.testing import ReactiveTest, TestScheduler

from rxclaude.handlers import (
    BuiltinHandler,
    ChainHandler,
    CompleteHandler,
    DefaultRouter,
    ErrorHandler,
    MetadataHandler,
    ProgressHandler,
    StatusHandler,
    SystemHandler,
    TextHandler,
    ToolCall,
    ToolUseHandler,
)
from rxclaude.messages import Message, ResultMessage, message_from_json
from rxclaude.parse import parse_json_frames
from rxclaude.routing import ALL, HandlerError, Kind, Router, route_by_type

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed


def raw_frames(name: str) -> list[dict[str, Any]]:
    """The JSON objects of a bundled recording, decoded independently of rxclaude."""
    return [json.loads(line) for line in recording(name).splitlines() if line.strip()]


def feed(handler: BuiltinHandler, name: str) -> list[Message]:
    """Give every message of a recording to ``handler`` directly (no router)."""
    messages = decode(recording(name))
    for message in messages:
        handler.handle(message)
    return messages


def routed(router: Router, name: str, mode: str = "sync") -> list[Message]:
    """Route a recording through ``router``; the items that came out."""
    out: list[Message] = []
    reactivex.of(recording(name)).pipe(
        parse_json_frames(),
        route_by_type(router, mode="async" if mode == "async" else "sync"),
    ).subscribe(out.append)
    return out


def main_text_of_frames(raws: list[dict[str, Any]]) -> str:
    return "".join(
        block["text"]
        for raw in raws
        if raw["type"] == "assistant" and raw.get("parent_tool_use_id") is None
        for block in raw["message"]["content"]
        if block.get("type") == "text"
    )


def main_text_of_deltas(raws: list[dict[str, Any]]) -> str:
    return "".join(
        raw["event"]["delta"]["text"]
        for raw in raws
        if raw["type"] == "stream_event"
        and raw.get("parent_tool_use_id") is None
        and raw["event"]["type"] == "content_block_delta"
        and raw["event"]["delta"]["type"] == "text_delta"
    )


# -- TextHandler --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["tool_use_partial", "thinking_partial", "large_lines", "subagent_task"]
)
def test_text_equals_the_deltas_and_the_assistant_frames(name: str) -> None:
    raws = raw_frames(name)
    router = Router()
    text = TextHandler()
    router.register(Kind.TEXT, text)
    routed(router, name)
    assert text.text == main_text_of_frames(raws) == main_text_of_deltas(raws) != ""
    assert text.live_text == text.text


def test_live_text_runs_ahead_of_the_assistant_frames() -> None:
    text = TextHandler()
    confirmed = ""
    unconfirmed = ""
    for message, raw in zip(
        decode(recording("tool_use_partial")), raw_frames("tool_use_partial"), strict=True
    ):
        text.handle(message)
        if raw["type"] == "assistant":
            confirmed += "".join(b.get("text", "") for b in raw["message"]["content"])
            unconfirmed = ""
        elif (
            raw["type"] == "stream_event"
            and raw["event"].get("delta", {}).get("type") == "text_delta"
        ):
            unconfirmed += raw["event"]["delta"]["text"]
        assert (text.text, text.live_text) == (confirmed, confirmed + unconfirmed)


def test_assistant_frames_supersede_abandoned_deltas() -> None:
    text = TextHandler()
    states = []
    for message in decode(recording("midstream_sse_error_fallback")):
        text.handle(message)
        if message.type in ("stream_event", "assistant"):
            states.append((text.text, text.live_text))
    assert states[4] == ("", "Hello! This is a mock reply.")  # the last text delta
    assert states[6] == ("", "")  # message_stop abandoned the streamed block
    assert states[7] == ("ok", "ok")  # the non-streaming fallback answer
    assert text.texts_by_message == {"msg_mock_nonstream": "ok"}


def test_streams_without_assistant_frames_only_have_live_text() -> None:
    text = TextHandler()
    messages = feed(text, "tyrchen")
    result = messages[-1]
    assert isinstance(result, ResultMessage)
    assert text.text == ""
    assert text.live_text == result.result


def test_text_per_message_and_per_session() -> None:
    text = TextHandler()
    feed(text, "subagent_task")
    assert text.texts_by_message == {
        "msg_mock_1795695848524581": "Subagent finished listing files.",
        "msg_mock_1795695848628962": "Done: the command printed its output.",
    }
    assert text.text_by_session == {
        "f0016ba9-83f8-4032-bd9c-3a73bb571d43": "Done: the command printed its output."
    }

    multiturn = TextHandler()
    messages = feed(multiturn, "compact_boundary_multiturn.stdout")
    (session,) = {m.session_id for m in messages}
    assert multiturn.text_by_session == {session: multiturn.text}


# -- ToolUseHandler -----------------------------------------------------------------------


def tool_calls_in(raws: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each tool_use block of a recording by id, with its tool_result block."""
    calls: dict[str, dict[str, Any]] = {}
    for raw in raws:
        content = (
            raw.get("message", {}).get("content") if raw["type"] in ("assistant", "user") else None
        )
        for block in content if isinstance(content, list) else []:
            if block.get("type") == "tool_use":
                calls[block["id"]] = {"use": block, "parent": raw.get("parent_tool_use_id")}
            elif block.get("type") == "tool_result":
                calls[block["tool_use_id"]]["result"] = block
    return calls


def result_text(block: dict[str, Any]) -> str:
    content = block["content"]
    if isinstance(content, str):
        return content
    return "\n".join(part["text"] for part in content if part.get("type") == "text")


@pytest.mark.parametrize(
    "name", ["parallel_tools", "tool_use_partial", "subagent_task", "task_tool"]
)
def test_every_tool_use_is_paired_with_its_result(name: str) -> None:
    tools = ToolUseHandler(result_chars=None)
    feed(tools, name)
    expected = tool_calls_in(raw_frames(name))
    assert tools.running == [] and tools.unpaired_results == 0
    assert tools.count == len(expected) == len(tools.calls)
    for call in tools.calls:
        use, result = expected[call.id]["use"], expected[call.id]["result"]
        assert call.finished
        assert (call.name, call.input) == (use["name"], use["input"])
        assert call.parent_tool_use_id == expected[call.id]["parent"]
        assert call.result_text == result_text(result)
        assert call.is_error is result.get("is_error", False)
    assert tools.error_count == sum(1 for c in expected.values() if c["result"].get("is_error"))


def test_parallel_tool_calls_with_durations_in_virtual_time() -> None:
    lines = recording("parallel_tools").splitlines(keepends=True)
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(
        *[on_next(210 + 10 * n, line) for n, line in enumerate(lines)], on_completed(300)
    )
    router = Router()
    tools = ToolUseHandler()
    router.register(Kind.TOOL_USE, tools)
    scheduler.start(lambda: source.pipe(parse_json_frames(), route_by_type(router)))

    calls = tools.calls
    assert [c.name for c in calls] == ["Bash", "Bash", "Bash"]
    assert [c.input["command"] for c in calls] == [
        "ls -la /tmp",
        "date",
        'test -f /etc/passwd && echo "File exists" || echo "File does not exist"',
    ]
    assert [c.is_error for c in calls] == [True, False, True]
    assert calls[1].result_text == "Wed Jan 21 04:38:15 PM PST 2026"
    # tool_use frames at lines 1-3, results at lines 4-6: each result comes 3 lines later
    assert [c.started_at for c in calls] == [scheduler.to_datetime(220 + 10 * n) for n in range(3)]
    assert {c.duration for c in calls} == {scheduler.to_datetime(250) - scheduler.to_datetime(220)}
    assert tools.by_name == {"Bash": 3}


def test_server_tools_unpaired_results_running_calls_and_limits() -> None:
    tools = ToolUseHandler(keep=1, result_chars=5)
    frames = [
        {"type": "assistant", "message": {"content": [
            {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {"query": "rx"}},
            {"type": "tool_use", "id": "t1", "name": "Read", "input": {}},
        ]}},
        {"type": "assistant", "message": {"content": [
            {"type": "web_search_tool_result", "tool_use_id": "s1",
             "content": {"type": "web_search_tool_result_error", "error_code": "unavailable"}},
        ]}},
        {"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "ghost", "content": "no such call"},
        ]}},
    ]  # fmt: skip
    for raw in frames:
        tools.handle(message_from_json(raw, received_at=EPOCH))

    (running,) = tools.running
    assert (running.id, running.name, running.finished, running.duration) == (
        "t1",
        "Read",
        False,
        None,
    )
    assert tools.count == 2 and tools.error_count == 1 and tools.unpaired_results == 1
    finished, still_running = tools.calls  # keep=1: only the latest finished call is kept
    assert finished == ToolCall("ghost", None, {}, None, None, EPOCH, "no su", False)
    assert still_running is running


# -- ErrorHandler -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "sources"),
    [
        ("api_error_529", ["api_retry", "api_error", "result"]),
        ("api_error_401", ["api_retry", "api_retry", "api_error", "result"]),
        ("permission_denied", ["tool_result"]),
        ("parallel_tools", ["tool_result", "tool_result"]),
        ("error_max_turns", ["result"]),
        ("startup_failure", ["result"]),
        ("simple_hello", []),
    ],
)
def test_errors_of_the_recordings(name: str, sources: list[str]) -> None:
    errors = ErrorHandler()
    router = Router()
    router.register(ALL, errors)  # everything: non-errors must be ignored
    routed(router, name)
    assert [e.source for e in errors.errors] == sources
    assert errors.count == len(sources)


def test_error_descriptions() -> None:
    errors = ErrorHandler()
    feed(errors, "api_error_529")
    retry, api_error, result = (e.description for e in errors.errors)
    assert retry == "attempt 1 of 1 failed (HTTP 529, overloaded)"
    assert api_error.startswith("server_error: API Error: 529 Overloaded.")
    assert result.startswith("success: API Error: 529 Overloaded.")

    max_turns = ErrorHandler()
    feed(max_turns, "error_max_turns")
    assert max_turns.errors[0].description == "error_max_turns: Reached maximum number of turns (1)"


def test_parse_and_handler_errors_are_recorded() -> None:
    router = Router()
    errors = ErrorHandler()
    router.register(Kind.ERROR, errors)

    def broken(message: Message) -> None:
        raise LookupError("nope")

    router.register("result", broken)
    reactivex.of(b"not json\n" + recording("simple_hello")).pipe(
        parse_json_frames(), route_by_type(router)
    ).subscribe()

    assert errors.by_source == {"parse": 1, "handler": 1}
    parse_error, handler_error = errors.errors
    assert parse_error.message.type == "parse_error"
    assert isinstance(handler_error.message, HandlerError)
    assert "broken raised LookupError('nope')" in handler_error.description


# -- CompleteHandler, MetadataHandler -----------------------------------------------------


def test_complete_handler_on_a_failed_turn() -> None:
    complete = CompleteHandler()
    assert complete.wait(0) is False and not complete.completed
    feed(complete, "api_error_529")
    assert complete.wait(0) is True and complete.last is not None
    assert complete.is_error is True
    assert complete.subtype == "success"
    assert (complete.result or "").startswith("API Error: 529 Overloaded.")
    assert (complete.cost_usd, complete.num_turns, complete.errors) == (0.0, 1, [])


def test_complete_handler_on_error_subtypes_and_several_turns() -> None:
    max_turns = CompleteHandler()
    feed(max_turns, "error_max_turns")
    assert (max_turns.subtype, max_turns.is_error, max_turns.result) == (
        "error_max_turns",
        True,
        None,
    )
    assert max_turns.errors == ["Reached maximum number of turns (1)"]

    complete = CompleteHandler()
    feed(complete, "compact_boundary_multiturn.stdout")
    results = [
        raw for raw in raw_frames("compact_boundary_multiturn.stdout") if raw["type"] == "result"
    ]
    assert [r.raw for r in complete.results] == results
    assert complete.cost_usd == results[-1]["total_cost_usd"]
    assert complete.num_turns == results[-1]["num_turns"]
    assert complete.duration_ms == results[-1]["duration_ms"]


def test_metadata_of_a_session() -> None:
    metadata = MetadataHandler()
    feed(metadata, "parallel_tools")
    init, *_, result = raw_frames("parallel_tools")
    assert metadata.session_id == init["session_id"]
    assert metadata.model == init["model"] == "claude-sonnet-4-5-20250929"
    assert metadata.tools == init["tools"] and len(metadata.tools) == 18
    assert (metadata.cwd, metadata.permission_mode) == (init["cwd"], init["permissionMode"])
    assert metadata.cost_usd == result["total_cost_usd"]
    assert metadata.usage["output_tokens"] == result["usage"]["output_tokens"]
    assert "modelUsage" not in result and metadata.model_usage == {}


def test_metadata_adds_turns_and_sessions_up() -> None:
    metadata = MetadataHandler()
    feed(metadata, "compact_boundary_multiturn.stdout")
    feed(metadata, "control_protocol.stdout")
    results = [
        raw
        for name in ("compact_boundary_multiturn.stdout", "control_protocol.stdout")
        for raw in raw_frames(name)
        if raw["type"] == "result"
    ]
    last_per_session = {r["session_id"]: r for r in results}
    assert metadata.cost_by_session == {s: r["total_cost_usd"] for s, r in last_per_session.items()}
    assert metadata.cost_usd == pytest.approx(
        sum(r["total_cost_usd"] for r in last_per_session.values())
    )
    assert metadata.usage["input_tokens"] == sum(r["usage"]["input_tokens"] for r in results)
    (model,) = metadata.model_usage
    assert metadata.model_usage[model]["costUSD"] == pytest.approx(metadata.cost_usd)
    assert metadata.claude_code_version == "2.1.332"


# -- StatusHandler, SystemHandler, ProgressHandler ----------------------------------------


def test_status_changes() -> None:
    status = StatusHandler()
    feed(status, "compact_boundary_multiturn.stdout")
    expected = [
        raw["status"]
        for raw in raw_frames("compact_boundary_multiturn.stdout")
        if raw.get("subtype") == "status"
    ]
    assert expected == ["compacting", None]
    assert [change.value for change in status.history] == expected
    assert status.current is None


def test_rate_limits_session_state_and_a_bounded_history() -> None:
    status = StatusHandler(keep=2)
    status.handle(
        message_from_json({"type": "system", "subtype": "status", "status": "requesting"})
    )
    status.handle(
        message_from_json({"type": "rate_limit_event", "rate_limit_info": {"status": "allowed"}})
    )
    status.handle(
        message_from_json({"type": "system", "subtype": "session_state_changed", "state": "idle"})
    )
    assert (status.current, status.session_state) == ("requesting", "idle")
    assert status.rate_limit == {"status": "allowed"}
    assert [(c.source, c.value) for c in status.history] == [
        ("rate_limit", "allowed"),
        ("session_state", "idle"),
    ]


def test_system_frames_by_subtype() -> None:
    system = SystemHandler(keep=1)
    messages = feed(system, "subagent_task")
    subtypes = [raw["subtype"] for raw in raw_frames("subagent_task") if raw["type"] == "system"]
    assert system.counts == {s: subtypes.count(s) for s in subtypes}
    assert {s: len(frames) for s, frames in system.messages_by_subtype.items()} == dict.fromkeys(
        subtypes, 1
    )
    assert system.last("init") is messages[0]
    assert system.last("status") is [m for m in messages if m.subtype == "status"][-1]
    assert system.last("nothing") is None


def expected_progress(raws: list[dict[str, Any]]) -> dict[str, Any]:
    events = [raw["event"] for raw in raws if raw["type"] == "stream_event"]
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    final_tokens: dict[int, int] = {}
    responses = 0
    for event in events:
        if event["type"] == "message_start":
            responses += 1
        if event["type"] == "message_delta":
            final_tokens[responses] = event["usage"]["output_tokens"]
    return {
        "responses": responses,
        "blocks_started": sum(e["type"] == "content_block_start" for e in events),
        "blocks_stopped": sum(e["type"] == "content_block_stop" for e in events),
        "text_chars": sum(len(d["text"]) for d in deltas if d["type"] == "text_delta"),
        "thinking_chars": sum(len(d["thinking"]) for d in deltas if d["type"] == "thinking_delta"),
        "tool_input_chars": sum(
            len(d["partial_json"]) for d in deltas if d["type"] == "input_json_delta"
        ),
        "output_tokens": sum(final_tokens.values()),
    }


@pytest.mark.parametrize("name", ["tool_use_partial", "thinking_partial", "large_lines"])
def test_progress_of_a_turn(name: str) -> None:
    progress = ProgressHandler()
    router = Router()
    for kind in ProgressHandler.kinds:
        router.register(kind, progress)
    routed(router, name)
    current = progress.current
    expected = expected_progress(raw_frames(name))
    assert {key: getattr(current, key) for key in expected} == expected
    assert current.finished and current.open_block is None and current.stop_reason == "end_turn"
    assert progress.turns_finished == 1


def test_progress_mid_turn_and_across_turns() -> None:
    progress = ProgressHandler()
    messages = decode(recording("thinking_partial")) + decode(recording("tool_use_partial"))
    estimate = None
    for message in messages:
        progress.handle(message)
        if message.subtype == "thinking_tokens":
            estimate = message.raw and message.raw["estimated_tokens"]
        if (
            message.type == "stream_event"
            and message.raw
            and message.raw["event"].get("delta", {}).get("type") == "thinking_delta"
        ):
            assert progress.current.open_block == "thinking"
            assert progress.current.thinking_tokens_estimate == estimate
            assert not progress.current.finished
    assert progress.turns_finished == 2
    assert progress.current.thinking_chars == 0  # the second turn has no thinking
    assert (
        progress.current.tool_input_chars
        == expected_progress(raw_frames("tool_use_partial"))["tool_input_chars"]
    )

    progress.handle(
        message_from_json(
            {"type": "tool_progress", "tool_use_id": "t", "elapsed_time_seconds": 2.5}
        )
    )
    assert progress.current.tool_elapsed_seconds == {"t": 2.5}
    assert not progress.current.finished and progress.current.responses == 0


def test_subagent_events_are_counted_apart() -> None:
    progress = ProgressHandler()
    event = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "sub"}}
    progress.handle(
        message_from_json({"type": "stream_event", "event": event, "parent_tool_use_id": "t"})
    )
    assert (progress.current.subagent_events, progress.current.text_chars) == (1, 0)


# -- ChainHandler, Router.default() -------------------------------------------------------


def test_chain_runs_its_handlers_in_order_and_stops_at_a_failure() -> None:
    calls: list[str] = []
    text = TextHandler()

    def fails(message: Message) -> None:
        calls.append("fails")
        raise ValueError("chain")

    chain = ChainHandler(
        [lambda m: calls.append("first"), text, fails, lambda m: calls.append("never")], priority=4
    )
    router = Router()
    router.register(Kind.TEXT, chain)
    out = routed(router, "simple_hello")

    assert chain.priority == 4
    assert calls == ["first", "fails"]
    assert text.text != ""
    (error,) = [m for m in out if isinstance(m, HandlerError)]
    assert error.handler is chain
    (note,) = error.error.__notes__
    assert note == f"raised by {fails.__qualname__} in a ChainHandler"


def test_default_router_registers_every_builtin_handler_under_its_kinds() -> None:
    router = Router.default()
    assert isinstance(router, DefaultRouter)
    handlers = list(router.handlers)
    assert [type(h).__name__ for h in handlers] == [
        "TextHandler",
        "ToolUseHandler",
        "ErrorHandler",
        "SystemHandler",
        "MetadataHandler",
        "StatusHandler",
        "ProgressHandler",
        "CompleteHandler",
    ]
    assert ProgressHandler.kinds == (Kind.PROGRESS, Kind.COMPLETE)
    assert {kind for h in handlers for kind in h.kinds} == set(Kind)


def test_default_results_are_readable_during_the_stream() -> None:
    router = Router.default()
    seen: list[tuple[str, str, int]] = []
    reactivex.of(recording("tool_use_partial")).pipe(
        parse_json_frames(), route_by_type(router)
    ).subscribe(
        lambda m: seen.append(
            (m.type, router.handlers.text.live_text, len(router.handlers.tool_use.calls))
        )
    )
    live = [text for _, text, _ in seen]
    assert live[4] == "I'll run a command."[: len(live[4])] and live[4] != ""
    assert live[-1] == "I'll run a command.Done: the command printed its output."
    assert [calls for frame_type, _, calls in seen if frame_type == "user"] == [1]


def summary(router: DefaultRouter) -> tuple[object, ...]:
    h = router.handlers
    return (
        h.text.text,
        h.text.live_text,
        h.text.texts_by_message,
        [(c.id, c.name, c.result_text, c.is_error) for c in h.tool_use.calls],
        [(e.source, e.description) for e in h.error.errors],
        h.system.counts,
        (h.metadata.session_id, h.metadata.model, h.metadata.cost_by_session, h.metadata.usage),
        [c.value for c in h.status.history],
        h.progress.current,
        h.progress.turns_finished,
        [r.raw for r in h.complete.results],
    )


@pytest.mark.parametrize("path", bundled_recordings(), ids=lambda p: p.name)
def test_async_mode_gives_the_same_results_as_sync(path: Path) -> None:
    sync_router, async_router = Router.default(), Router.default()
    name = path.name
    sync_out = routed(sync_router, name)
    async_out = routed(async_router, name, mode="async")
    assert async_out == sync_out
    assert summary(async_router) == summary(sync_router)
    assert async_router.statistics() == sync_router.statistics()
