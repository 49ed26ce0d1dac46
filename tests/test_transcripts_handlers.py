"""Tests of the transcript handlers: usage counted once per API response, cost from
``cost-state`` and ``costUSD``, per-session, per-day and per-subagent totals, and tool
calls timed by their entries' timestamps."""

from __future__ import annotations

import json
import random
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transcript_files import CORPUS, T0, assistant_entry, collect, entry, line, stamp, write

from rxclaude import Router, route_by_type
from rxclaude.handlers import (
    DefaultRouter,
    TranscriptToolHandler,
    TranscriptUsageHandler,
    UsageTotals,
)
from rxclaude.handlers.transcripts import SIDECHAIN, TOKEN_FIELDS
from rxclaude.transcripts import from_transcripts

SESSION = "0b7e4d2a-1c3f-4e5a-9b8c-7d6e5f4a3b2c"
DAY = T0.date()


def read(path: Path, *handlers: TranscriptUsageHandler | TranscriptToolHandler) -> None:
    router = Router()
    for handler in handlers:
        handler.register(router)
    recording = collect(from_transcripts(path).pipe(route_by_type(router)))
    assert recording.completed, recording.error


def usage(output: int, *, input_tokens: int = 10, cache_read: int = 100) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output,
        "cache_creation_input_tokens": 5,
        "cache_read_input_tokens": cache_read,
    }


# -- deduplication --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    updates=st.lists(
        st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=8),
        min_size=1,
        max_size=4,
    ),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_streaming_updates_of_one_response_count_once(
    tmp_path_factory: pytest.TempPathFactory, updates: list[list[int]], seed: int
) -> None:
    """Each response's entries carry growing output counts (streaming updates, repeated
    blocks); in any order, in one file or spread over two, each response counts once, at
    its largest figures."""
    entries: list[dict[str, Any]] = []
    for number, outputs in enumerate(updates):
        for output in sorted(outputs):
            entries.append(
                assistant_entry(len(entries), f"msg_{number}", f"req_{number}", usage=usage(output))
            )
    random.Random(seed).shuffle(entries)
    folder = tmp_path_factory.mktemp("dedupe")
    half = len(entries) // 2
    write(folder / "one.jsonl", *map(line, entries[:half]))
    write(folder / "two.jsonl", *map(line, entries[half:]))
    handler = TranscriptUsageHandler()
    read(folder, handler)

    assert handler.total == UsageTotals(
        responses=len(updates),
        input_tokens=10 * len(updates),
        output_tokens=sum(max(outputs) for outputs in updates),
        cache_creation_input_tokens=5 * len(updates),
        cache_read_input_tokens=100 * len(updates),
        cost_usd=None,
    )
    assert handler.repeats == len(entries) - len(updates)


def test_the_same_message_id_in_another_request_is_another_response(tmp_path: Path) -> None:
    write(
        tmp_path / "a.jsonl",
        line(assistant_entry(1, "msg_1", "req_1", usage=usage(7))),
        line(assistant_entry(2, "msg_1", "req_2", usage=usage(7))),
        line(assistant_entry(3, None, None, usage=usage(7))),  # no id: counted as it comes
        line(assistant_entry(4, None, None, usage=usage(7))),
        line(assistant_entry(5, "synthetic", None, usage=usage(7), model="<synthetic>")),
    )
    handler = TranscriptUsageHandler()
    read(tmp_path, handler)
    assert handler.total.responses == 4 and handler.total.output_tokens == 28
    assert handler.repeats == 0


def test_the_real_transcripts_against_an_independent_count() -> None:
    """Top-level ``assistant`` entries and the ones ``agent_progress`` forwards, counted
    once per (message id, request id) with plain json."""
    best: dict[tuple[str, str], dict[str, int]] = {}
    for path in CORPUS:
        for line_json in map(json.loads, path.read_bytes().splitlines()):
            raw = line_json
            if raw["type"] == "progress" and raw["data"].get("type") == "agent_progress":
                raw = raw["data"]["message"]
            if raw["type"] != "assistant":
                continue
            key = (raw["message"]["id"], raw["requestId"])
            seen = best.setdefault(key, dict.fromkeys(TOKEN_FIELDS, 0))
            for name in TOKEN_FIELDS:
                seen[name] = max(seen[name], raw["message"]["usage"][name])
    handler = TranscriptUsageHandler()
    read(CORPUS[0].parent, handler)

    total = handler.total
    assert total.responses == len(best) == 23
    for name in TOKEN_FIELDS:
        assert getattr(total, name) == sum(tokens[name] for tokens in best.values()), name
    assert total.cost_usd is None  # CLI 2.1.38 wrote neither cost-state nor costUSD
    assert sum(row.responses for row in handler.by_session.values()) == 23
    assert sum(row.responses for row in handler.by_day.values()) == 23


# -- subagents ------------------------------------------------------------------------------------


def test_a_subagent_counted_once_from_its_file_and_the_parents_progress_lines(
    tmp_path: Path,
) -> None:
    project = tmp_path / "-home-user-project"
    sub_entry = assistant_entry(3, "msg_sub", "req_sub", usage=usage(40), session=SESSION)
    task_call = {"type": "tool_use", "id": "toolu_task", "name": "Task", "input": {}}
    write(
        project / f"{SESSION}.jsonl",
        line(
            assistant_entry(
                1, "msg_main", "req_main", usage=usage(20), session=SESSION, content=[task_call]
            )
        ),
        entry(
            "progress",
            3,
            sessionId=SESSION,
            parentToolUseID="toolu_task",
            toolUseID="agent_msg_sub",
            data={"type": "agent_progress", "agentId": "abc", "message": sub_entry},
        ),
        entry(
            "user",
            4,
            sessionId=SESSION,
            toolUseResult={"status": "completed", "agentId": "abc"},
            message={
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_task", "content": "ok"}],
            },
        ),
    )
    write(
        project / SESSION / "subagents" / "agent-abc.jsonl",
        line({**sub_entry, "isSidechain": True, "agentId": "abc"}),
    )
    handler = TranscriptUsageHandler()
    tools = TranscriptToolHandler()
    read(tmp_path, handler, tools)

    assert handler.total.responses == 2 and handler.repeats == 1
    assert handler.by_agent[None].output_tokens == 20
    assert handler.by_agent["abc"].output_tokens == 40
    agent = handler.agents["abc"]
    assert (agent.session_id, agent.tool_use_id) == (SESSION, "toolu_task")
    assert handler.by_session[SESSION].responses == 2
    assert handler.by_project == {"-home-user-project": handler.total}
    assert tools.by_name["Task"].calls == 1
    assert tools.by_name["Task"].total == timedelta(seconds=3)


def test_older_sidechain_entries_without_an_agent_id(tmp_path: Path) -> None:
    write(
        tmp_path / "a.jsonl",
        line(assistant_entry(1, "m1", "r1", usage=usage(3), isSidechain=True)),
        line(assistant_entry(2, "m2", "r2", usage=usage(4))),
    )
    handler = TranscriptUsageHandler()
    read(tmp_path, handler)
    assert handler.by_agent[SIDECHAIN].output_tokens == 3
    assert handler.by_agent[None].output_tokens == 4


# -- cost -----------------------------------------------------------------------------------------


def cost_state(at: float | None, total: float, **by_model: float) -> bytes:
    models = {model: {"costUSD": cost, "inputTokens": 1} for model, cost in by_model.items()}
    return entry(
        "cost-state", at, sessionId=SESSION, totalCostUSD=total, modelUsage=models, startTime=0
    )


def test_cost_from_cost_state_lines_per_session_day_and_model(tmp_path: Path) -> None:
    day = 86_400
    write(
        tmp_path / "a.jsonl",
        line(assistant_entry(1, "m1", "r1", usage=usage(3), session=SESSION, costUSD=9.0)),
        cost_state(None, 0.5, a=0.5),  # written without a timestamp: day 0, like the line before
        line(assistant_entry(day + 1, "m2", "r2", usage=usage(4), session=SESSION)),
        cost_state(None, 0.8, a=0.6, b=0.2),
        cost_state(None, 0.8, a=0.6, b=0.2),  # repeated: nothing new
        cost_state(None, 0.1, a=0.1),  # smaller: a new process that started from nothing
    )
    handler = TranscriptUsageHandler()
    read(tmp_path, handler)

    assert handler.by_session[SESSION].cost_usd == pytest.approx(0.9)  # not the 9.0 costUSD
    by_day = handler.by_day
    assert list(by_day) == [DAY, DAY + timedelta(days=1)]
    assert by_day[DAY].cost_usd == pytest.approx(0.5)
    assert by_day[DAY + timedelta(days=1)].cost_usd == pytest.approx(0.4)
    assert handler.by_model["a"].cost_usd == pytest.approx(0.7)
    assert handler.by_model["b"].cost_usd == pytest.approx(0.2)
    assert handler.total.cost_usd == pytest.approx(0.9)
    assert handler.by_day[DAY].output_tokens == 3


def test_cost_from_cost_usd_entries_counted_once_per_response(tmp_path: Path) -> None:
    write(
        tmp_path / "a.jsonl",
        line(assistant_entry(1, "m1", "r1", usage=usage(3), costUSD=0.01)),
        line(assistant_entry(2, "m1", "r1", usage=usage(3), costUSD=0.01)),
        line(assistant_entry(3, "m2", "r2", usage=usage(3), costUSD=0.02, session="other")),
        line(assistant_entry(4, "m3", "r3", usage=usage(3), session="free")),
    )
    handler = TranscriptUsageHandler()
    read(tmp_path, handler)
    assert handler.by_session["session-1"].cost_usd == pytest.approx(0.01)
    assert handler.by_session["other"].cost_usd == pytest.approx(0.02)
    assert handler.by_session["free"].cost_usd is None
    assert handler.total.cost_usd == pytest.approx(0.03)


def test_days_in_another_time_zone(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", line(assistant_entry(-11 * 3600, "m1", "r1", usage=usage(3))))
    utc, tokyo = TranscriptUsageHandler(), TranscriptUsageHandler(timezone=ZoneInfo("Asia/Tokyo"))
    read(tmp_path, utc, tokyo)
    assert list(utc.by_day) == [DAY - timedelta(days=1)]
    assert list(tokyo.by_day) == [DAY]


# -- tools ----------------------------------------------------------------------------------------


def test_tool_durations_from_the_entries_timestamps(tmp_path: Path) -> None:
    def call(call_id: str, name: str) -> dict[str, Any]:
        return {"type": "tool_use", "id": call_id, "name": name, "input": {"n": call_id}}

    def result(call_id: str, *, failed: bool = False) -> dict[str, Any]:
        return {"type": "tool_result", "tool_use_id": call_id, "content": "out", "is_error": failed}

    def answer(at: float, *results: dict[str, Any]) -> bytes:
        return entry("user", at, message={"role": "user", "content": list(results)})

    write(
        tmp_path / "a.jsonl",
        line(assistant_entry(10, "m1", "r1", content=[call("t1", "Bash")])),
        line(assistant_entry(10.5, "m1", "r1", content=[call("t2", "Bash")])),
        line(assistant_entry(10.5, "m1", "r1", content=[call("t2", "Bash")])),  # repeated
        answer(12.5, result("t1")),
        answer(14, result("t2", failed=True)),
        line(assistant_entry(20, "m2", "r2", content=[call("t3", "Read")])),
    )
    handler = TranscriptToolHandler()
    read(tmp_path, handler)

    bash = handler.by_name["Bash"]
    assert (bash.calls, bash.errors, bash.answered) == (2, 1, 2)
    assert bash.total == timedelta(seconds=6) and bash.longest == timedelta(seconds=3.5)
    assert bash.mean == timedelta(seconds=3)
    read_stats = handler.by_name["Read"]
    assert (read_stats.calls, read_stats.answered, read_stats.mean) == (1, 0, None)
    first = handler.calls[0]
    assert first.id == "t1" and first.started_at == T0 + timedelta(seconds=10)
    assert first.finished_at is not None
    assert first.finished_at.astimezone(UTC).isoformat() == "2026-03-01T10:00:12.500000+00:00"
    assert [call.id for call in handler.calls] == ["t1", "t2", "t3"]
    assert handler.calls[-1].finished_at is None
    assert handler.by_agent == {None: 3}
    assert stamp(12.5) == "2026-03-01T10:00:12.500Z"


def test_nothing_registers_the_transcript_handlers_by_default() -> None:
    router = Router.default()
    assert isinstance(router, DefaultRouter)
    names = {type(handler).__name__ for handler in router.handlers}
    assert not names & {"TranscriptUsageHandler", "TranscriptToolHandler"}
    registrations = TranscriptUsageHandler().register(router)
    registrations.dispose()


def test_results_text_kept_and_results_without_their_call(tmp_path: Path) -> None:
    calls = [{"type": "tool_use", "id": f"t{n}", "name": "Bash", "input": {}} for n in (1, 2)]
    results = [
        {"type": "tool_result", "tool_use_id": call_id, "content": "0123456789"}
        for call_id in ("t1", "t2", "unseen")
    ]
    write(
        tmp_path / "a.jsonl",
        line(assistant_entry(1, "m1", "r1", content=calls)),
        entry("user", 2, message={"role": "user", "content": results}),
    )
    whole, cut, none = (
        TranscriptToolHandler(),
        TranscriptToolHandler(result_chars=4),
        TranscriptToolHandler(result_chars=0),
    )
    read(tmp_path, whole, cut, none)
    assert [call.result_text for call in whole.calls] == ["0123456789"] * 2
    assert [call.result_text for call in cut.calls] == ["0123"] * 2
    assert [call.result_text for call in none.calls] == [""] * 2
    assert [call.duration for call in none.calls] == [timedelta(seconds=1)] * 2
    assert whole.unpaired_results == cut.unpaired_results == 1
    with pytest.raises(ValueError, match="result_chars must be at least 0"):
        TranscriptToolHandler(result_chars=-1)
