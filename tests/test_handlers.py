"""The built-in handlers on the real recordings, alone and through Router.default()."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import reactivex
from corpus_files import EPOCH, bundled_recordings, decode, recording
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex.testing import ReactiveTest, TestScheduler

from rxclaude.framing import parse_json_frames
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


def assistant_text(text: str, message: str, session: str, parent: str | None = None) -> Message:
    raw = {
        "type": "assistant",
        "message": {"id": message, "content": [{"type": "text", "text": text}]},
        "parent_tool_use_id": parent,
        "session_id": session,
    }
    return message_from_json(raw, received_at=EPOCH)


def test_text_keeps_the_last_sessions_and_messages() -> None:
    text = TextHandler(keep_sessions=2, keep_messages=3, keep_chars=None)
    frames = [
        ("a", "m1", "s1", None),
        ("b", "m2", "s2", None),
        ("c", "m3", "s1", None),
        ("sub", "m4", "s1", "task"),  # a subagent's text: a message, in no session
        ("d", "m5", "s3", None),  # third session: s1, which appeared first, is dropped
        ("e", "m6", "s4", None),  # then s2
        ("f", "m7", "s1", None),  # s1 again: a new entry, after s4
    ]
    for frame in frames:
        text.handle(assistant_text(*frame))
    assert list(text.text_by_session.items()) == [("s4", "e"), ("s1", "f")]
    assert list(text.texts_by_message.items()) == [("m5", "d"), ("m6", "e"), ("m7", "f")]
    assert text.text == text.live_text == "abcdef"  # keep_chars=None: all the text


def many_sessions(handler: TextHandler, sessions: int, messages_per_session: int) -> str:
    """Feed ``handler`` one text frame per message; the text of all of them."""
    texts = []
    for session in range(sessions):
        for message in range(messages_per_session):
            texts.append(f"<{session}.{message}>")
            handler.handle(assistant_text(texts[-1], f"m{session}.{message}", f"s{session}"))
    return "".join(texts)


def test_text_bounds_by_default_and_none_lifts_them() -> None:
    unbounded = TextHandler(keep_sessions=None, keep_messages=None, keep_chars=None)
    everything = many_sessions(unbounded, sessions=150, messages_per_session=10)
    assert (len(unbounded.text_by_session), len(unbounded.texts_by_message)) == (150, 1500)
    assert unbounded.text == everything

    bounded = TextHandler()
    assert many_sessions(bounded, sessions=150, messages_per_session=10) == everything
    assert list(bounded.text_by_session) == [f"s{n}" for n in range(50, 150)]
    assert list(bounded.texts_by_message) == list(unbounded.texts_by_message)[500:]
    assert bounded.text_by_session == {
        key: value
        for key, value in unbounded.text_by_session.items()
        if key in bounded.text_by_session
    }
    assert bounded.text == everything  # under 1,000,000 characters: all of it


def test_the_defaults_keep_all_of_one_long_session() -> None:
    bounded, unbounded = TextHandler(), TextHandler(keep_messages=None, keep_chars=None)
    for message in range(999):  # of 1000 characters each, one in seven a subagent's
        parent = None if message % 7 else "task"
        frame = assistant_text(f"{message:<1000}", f"m{message}", "s", parent)
        bounded.handle(frame)
        unbounded.handle(frame)
    assert len(bounded.texts_by_message) == 999 and len(bounded.text) == 856 * 1000
    assert bounded.text == unbounded.text
    assert bounded.text_by_session == unbounded.text_by_session == {"s": unbounded.text}
    assert bounded.texts_by_message == unbounded.texts_by_message


TEXT_FRAMES = st.lists(
    st.tuples(
        st.text(alphabet="xyz", min_size=1, max_size=8),
        st.sampled_from(["m1", "m2", "m3", "m4"]),
        st.sampled_from(["s1", "s2", "s3"]),
        st.sampled_from([None, "task"]),
    ),
    max_size=30,
)


@settings(derandomize=True, deadline=None, max_examples=300)
@given(frames=TEXT_FRAMES, keep_chars=st.integers(0, 60))
def test_keep_chars_keeps_the_end_of_the_text(
    frames: list[tuple[str, str, str, str | None]], keep_chars: int
) -> None:
    text = TextHandler(keep_chars=keep_chars)
    for frame in frames:
        text.handle(assistant_text(*frame))

    # The model: of all the frames' text, in order, the last keep_chars characters count.
    first_kept = max(0, sum(len(frame[0]) for frame in frames) - keep_chars)
    main, position = "", 0
    by_session: dict[str, str] = {}
    by_message: dict[str, str] = {}
    for chars, message, session, parent in frames:
        kept = chars[max(0, first_kept - position) :]
        position += len(chars)
        if kept:
            by_message[message] = by_message.get(message, "") + kept
            if parent is None:
                main += kept
                by_session[session] = by_session.get(session, "") + kept
    assert (text.text, text.text_by_session, text.texts_by_message) == (
        main,
        by_session,
        by_message,
    )


@pytest.mark.parametrize(
    ("handler", "bound"),
    [
        (TextHandler, "keep_sessions"),
        (TextHandler, "keep_messages"),
        (TextHandler, "keep_chars"),
        (ToolUseHandler, "keep_running"),
        (MetadataHandler, "keep_sessions"),
    ],
)
def test_bounds_cannot_be_negative(handler: type[BuiltinHandler], bound: str) -> None:
    with pytest.raises(ValueError, match=f"{bound} must be None or at least 0, not -1"):
        handler(**{bound: -1})


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
    assert tools.running == [] and tools.unpaired_results == tools.unanswered_calls == 0
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


def ndjson(*frames: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(frame).encode() + b"\n" for frame in frames)


def tool_use_frame(call_id: str, session: str, parent: str | None = None) -> dict[str, Any]:
    block = {"type": "tool_use", "id": call_id, "name": "Bash", "input": {}}
    return {
        "type": "assistant",
        "message": {"content": [block]},
        "parent_tool_use_id": parent,
        "session_id": session,
    }


def tool_result_frame(call_id: str, session: str) -> dict[str, Any]:
    block = {"type": "tool_result", "tool_use_id": call_id, "content": "late"}
    return {"type": "user", "message": {"content": [block]}, "session_id": session}


def result_frame(session: str, cost: float = 0.0, **fields: Any) -> dict[str, Any]:
    return {
        "type": "result",
        "subtype": "success",
        "session_id": session,
        "total_cost_usd": cost,
        **fields,
    }


def test_a_turn_that_ends_gives_up_its_unanswered_calls() -> None:
    router = Router.default()
    tools = router.handlers.tool_use
    assert ToolUseHandler.kinds == (Kind.TOOL_USE, Kind.COMPLETE)

    def stream(*frames: dict[str, Any]) -> None:
        reactivex.of(ndjson(*frames)).pipe(parse_json_frames(), route_by_type(router)).subscribe()

    stream(
        tool_use_frame("main", "s1"),
        tool_use_frame("sub", "s1", parent="task"),  # a subagent's call: not given up
        tool_use_frame("other", "s2"),  # another session's call: not given up
        result_frame("s1"),
    )
    given_up, *running = tools.calls
    assert (given_up.id, given_up.finished, given_up.duration, given_up.result_text) == (
        "main",
        False,
        None,
        None,
    )
    assert running == tools.running and [call.id for call in running] == ["sub", "other"]
    assert (tools.count, tools.unanswered_calls, tools.unpaired_results) == (3, 1, 0)

    stream(
        tool_result_frame("main", "s1"), result_frame("s2")
    )  # too late for "main"; s2's turn ends
    assert [(call.id, call.name, call.finished) for call in tools.calls] == [
        ("main", "Bash", False),
        ("main", None, True),
        ("other", "Bash", False),
        ("sub", "Bash", False),
    ]
    assert (tools.unanswered_calls, tools.unpaired_results) == (2, 1)


@pytest.mark.parametrize(("keep_running", "running"), [(2, 2), (1000, 1000), (None, 1500)])
def test_running_calls_are_bounded(keep_running: int | None, running: int) -> None:
    tools = ToolUseHandler(keep_running=keep_running, keep=None)
    for n in range(1500):
        tools.handle(message_from_json(tool_use_frame(f"t{n}", "s"), received_at=EPOCH))
    assert [call.id for call in tools.running] == [f"t{n}" for n in range(1500 - running, 1500)]
    assert tools.unanswered_calls == 1500 - running
    assert [call.id for call in tools.calls] == [f"t{n}" for n in range(1500)]
    assert tools.count == 1500 and not any(call.finished for call in tools.calls)


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


def test_errors_keep_the_last_hundred_by_default() -> None:
    errors = ErrorHandler()
    for turn in range(150):
        failed = result_frame("s", subtype="error_max_turns", errors=[f"turn {turn}"])
        errors.handle(message_from_json(failed | {"is_error": True}))
    assert errors.count == 150 and len(errors.errors) == 100
    assert errors.errors[0].description == "error_max_turns: turn 50"


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


def test_metadata_keeps_the_sessions_that_reported_last_and_totals_all() -> None:
    def usage(cost: float) -> dict[str, Any]:
        return {"modelUsage": {"opus": {"costUSD": cost, "inputTokens": int(cost * 8)}}}

    reports = [
        result_frame("a", 1.0, **usage(1.0)),
        result_frame("b", 0.5, **usage(0.5)),
        result_frame("a", 2.0, **usage(2.0)),  # running totals: a reports again, is kept
        result_frame("c", 0.25, **usage(0.25)),  # third session: b, the least recent, goes
    ]
    bounded, unbounded = MetadataHandler(keep_sessions=2), MetadataHandler(keep_sessions=None)
    for raw in reports:
        bounded.handle(message_from_json(raw, received_at=EPOCH))
        unbounded.handle(message_from_json(raw, received_at=EPOCH))
    assert list(bounded.cost_by_session.items()) == [("a", 2.0), ("c", 0.25)]
    assert unbounded.cost_by_session == {"a": 2.0, "b": 0.5, "c": 0.25}
    assert bounded.cost_usd == unbounded.cost_usd == 2.75
    assert (
        bounded.model_usage
        == unbounded.model_usage
        == {"opus": {"costUSD": 2.75, "inputTokens": 22}}
    )
    assert bounded.session_id == "c"


def test_metadata_keeps_a_hundred_sessions_by_default() -> None:
    metadata = MetadataHandler()
    for session in range(150):
        metadata.handle(message_from_json(result_frame(f"s{session}", 0.5), received_at=EPOCH))
    assert list(metadata.cost_by_session) == [f"s{session}" for session in range(50, 150)]
    assert metadata.cost_usd == 75.0


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
