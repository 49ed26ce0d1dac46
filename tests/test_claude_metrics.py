"""ClaudeMetrics through PrometheusExporter: the exposition of a recording run through the
pipeline equals what this test counts in the file itself, one ``json.loads`` per line."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from corpus_files import BUNDLED_CORPUS

from rxclaude import _samples
from rxclaude.framing import parse_json_frames
from rxclaude.handlers import ClaudeMetrics
from rxclaude.messages import message_from_json
from rxclaude.metrics import StreamMetrics, measure
from rxclaude.routing import Router, route_by_type
from rxclaude.sources import from_file

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from rxclaude.metrics.prometheus import PrometheusExporter  # noqa: E402

SAMPLES = [_samples.sample_path(name) for name in _samples.sample_names()]
REAL = [
    BUNDLED_CORPUS / name
    for name in (
        "matt-grain__task_tool_output.jsonl",
        "meawoppl__parallel_tools_cli2.1.15.jsonl",
        "local-mockapi-cli2.1.332__control_protocol.stdout.jsonl",
        "local-mockapi-cli2.1.332__compact_boundary_multiturn.stdout.jsonl",
        "local-mockapi-cli2.1.332__api_error_401_auth.jsonl",
        "local-mockapi-cli2.1.332__subagent_task_forwarded_partial.jsonl",
        "tyrchen__partial_stream_cli2.0.20.jsonl",
    )
]

RATE_LIMITS_AND_JUNK = b"\n".join(
    [
        b'{"type":"system","subtype":"init","session_id":"s1","model":"m"}',
        b'{"type":"rate_limit_event","session_id":"s1","rate_limit_info":'
        b'{"status":"allowed","rateLimitType":"five_hour","utilization":0.5,"resetsAt":1767000000}}',
        b'{"type":"rate_limit_event","session_id":"s1","rate_limit_info":'
        b'{"status":"allowed_warning","rateLimitType":"five_hour","utilization":0.91}}',
        b'{"type":"rate_limit_event","session_id":"s1","rate_limit_info":'
        b'{"status":"rejected","rateLimitType":"seven_day","resetsAt":1767100000}}',
        b'{"type":"system","subtype":"api_retry","attempt":1,"max_retries":3,'
        b'"error_status":null,"error":"unknown","session_id":"s1"}',
        b"[SandboxDebug] not json",
        b"[1, 2]",
        b'{"type":"system","subtype":"api_retry","attempt":2,"max_retries":3,'
        b'"error_status":529,"error":"overloaded","session_id":"s1"}',
        b'{"type":"result","subtype":"success","is_error":true,"api_error_status":529,'
        b'"session_id":"s1","total_cost_usd":0}',
    ]
)


LATEST_STATE = tuple(
    f"rxclaude_claude_rate_limit_{name}" for name in ("state", "utilization", "resets_at")
)
"""The gauges of each limit's latest report (test_rate_limits_retries_and_parse_errors)."""


def exposition(path: Path, **exporter: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The ``rxclaude_claude_*`` samples scraped after ``path`` ran through the pipeline."""
    router, metrics, claude = Router(), StreamMetrics(), ClaudeMetrics()
    claude.attach(router)
    from_file(path).pipe(
        parse_json_frames(), route_by_type(router), measure(metrics, router=router)
    ).run()
    registry = prometheus_client.CollectorRegistry()
    PrometheusExporter(metrics, registry=registry, claude=claude, **exporter)
    text = prometheus_client.generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("rxclaude_claude_") and not sample.name.endswith("_created")
    }


def counted_in_file(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The same figures counted straight from the file (bucket series left out)."""
    frames: list[dict[str, Any]] = []
    parse_errors: Counter[str] = Counter()
    for line in path.read_bytes().split(b"\n"):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            parse_errors["invalid_json"] += 1
            continue
        if isinstance(value, dict):
            frames.append(value)
        else:
            parse_errors["not_an_object"] += 1
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def add(name: str, value: float, **labels: str) -> None:
        key = (f"rxclaude_claude_{name}", tuple(sorted(labels.items())))
        found[key] = found.get(key, 0) + value

    last_result: dict[str, dict[str, Any]] = {}
    sessions = {frame["session_id"] for frame in frames if frame.get("session_id")}
    calls: dict[str, tuple[str, int]] = {}  # id -> (tool, index of its frame)
    answered: set[str] = set()
    responses: dict[str, tuple[str, dict[str, Any]]] = {}  # message id -> (model, usage)
    tokens = ("input", "output", "cache_read", "cache_creation")
    for index, frame in enumerate(frames):
        kind = frame.get("type")
        message = frame["message"] if kind in ("assistant", "user") else {}
        content = message["content"] if isinstance(message.get("content"), list) else []
        if kind == "assistant":
            responses[message.get("id") or f"#{index}"] = (message["model"], message["usage"])
        for block in content:
            block_type = block.get("type", "")
            if block_type in ("tool_use", "server_tool_use", "mcp_tool_use"):
                calls[block["id"]] = (block["name"], index)
                add("tool_calls_total", 1, tool=block["name"])
            elif block_type == "tool_result" or block_type.endswith("_tool_result"):
                tool = calls[block["tool_use_id"]][0]
                answered.add(block["tool_use_id"])
                add("tool_duration_seconds_count", 1, tool=tool)
                add("tool_errors_total", block.get("is_error") is True, tool=tool)
        if kind == "result":
            last_result[frame["session_id"]] = frame
            add("turns_total", 1, subtype=frame["subtype"], is_error=str(frame["is_error"]).lower())
            if frame.get("api_error_status") is not None:
                add("api_errors_total", 1, status=str(frame["api_error_status"]))
        if kind == "system" and frame.get("subtype") == "api_retry":
            status = frame["error_status"]
            add("api_retries_total", 1, status="none" if status is None else str(status))
        if kind == "rate_limit_event":
            add("rate_limit_events_total", 1, status=frame["rate_limit_info"]["status"])
    for model, usage in responses.values():
        add("responses_total", 1, model=model)
        for name in tokens:
            key = f"{name}_input_tokens" if "cache" in name else f"{name}_tokens"
            add("response_tokens_total", usage.get(key, 0), model=model, type=name)
    for result in last_result.values():
        add("cost_usd_total", result.get("total_cost_usd", 0))
        for model, usage in (result.get("modelUsage") or {}).items():
            add("model_cost_usd_total", usage["costUSD"], model=model)
            for name, key in zip(tokens, ("inputTokens", "outputTokens", "cacheReadInputTokens",
                                          "cacheCreationInputTokens"), strict=True):  # fmt: skip
                add("tokens_total", usage[key], model=model, type=name)
    add("sessions_total", len(sessions))
    given_up = {
        call_id
        for call_id, (_, start) in calls.items()
        for later in frames[start:]
        if later.get("type") == "result"
        and later.get("session_id") == frames[start].get("session_id")
        and frames[start].get("parent_tool_use_id") is None
    }
    add("tools_running", len(set(calls) - answered - given_up))
    for reason, count in parse_errors.items():
        add("parse_errors_total", count, reason=reason)
    return {key: value for key, value in found.items() if value}


def comparable(scraped: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> dict[Any, float]:
    """Non-zero samples, bucket and sum series and the gauges of the latest state left out."""
    return {
        (name, labels): value
        for (name, labels), value in scraped.items()
        if value
        and not name.endswith(("_bucket", "_seconds_sum"))
        and not name.startswith(LATEST_STATE)
    }


@pytest.mark.parametrize("path", SAMPLES + REAL, ids=lambda path: path.name)
def test_the_exposition_equals_the_counts_in_the_file(path: Path) -> None:
    scraped = exposition(path)
    expected = counted_in_file(path)
    assert comparable(scraped) == pytest.approx(expected)
    assert any(name.endswith("_turns_total") for name, _ in expected)


def test_rate_limits_retries_and_parse_errors(tmp_path: Path) -> None:
    path = tmp_path / "rate_limits.jsonl"
    path.write_bytes(RATE_LIMITS_AND_JUNK)
    scraped = exposition(path)
    assert comparable(scraped) == counted_in_file(path)
    state = {
        labels: value
        for (name, labels), value in scraped.items()
        if name.startswith("rxclaude_claude_rate_limit_") and not name.endswith("events_total")
    }
    assert state == {
        (("limit", "five_hour"), ("status", "allowed_warning")): 1.0,
        (("limit", "five_hour"),): 0.91,
        (("limit", "seven_day"), ("status", "rejected")): 1.0,
        (("limit", "seven_day"),): 1767100000.0,
    }
    assert scraped[("rxclaude_claude_parse_errors_total", (("reason", "not_an_object"),))] == 1


def test_labels_are_bounded_and_sessions_only_on_request() -> None:
    path = REAL[0]
    default = exposition(path)
    assert not any(key == "session" for _, labels in default for key, _ in labels)
    with_sessions = exposition(path, session_labels=True)
    (session_cost,) = [
        value for (name, _), value in with_sessions.items() if "session_cost" in name
    ]
    assert session_cost == pytest.approx(default[("rxclaude_claude_cost_usd_total", ())])


def test_past_the_bound_label_values_count_as_other() -> None:
    claude = ClaudeMetrics(max_label_values=2)
    lines = [
        {"type": "assistant", "session_id": "s", "message": {"id": f"m{n}", "model": "x",
         "usage": {}, "content": [{"type": "tool_use", "id": f"t{n}", "name": f"tool{n}",
                                   "input": {}}]}}
        for n in range(4)
    ]  # fmt: skip
    for line in lines:
        claude.handle(message_from_json(line))
    assert claude.figures().tool_calls == {"tool0": 1, "tool1": 1, "(other)": 2}


def test_a_session_reported_twice_counts_its_growth_once() -> None:
    claude = ClaudeMetrics()
    for cost, tokens in ((0.5, 10), (0.75, 30)):
        claude.handle(message_from_json({
            "type": "result", "subtype": "success", "is_error": False, "session_id": "s",
            "total_cost_usd": cost,
            "modelUsage": {"m": {"inputTokens": tokens, "outputTokens": 1, "costUSD": cost}},
        }))  # fmt: skip
    figures = claude.figures()
    assert figures.cost_usd == 0.75
    assert figures.model_cost_usd == {"m": 0.75}
    assert figures.tokens[("m", "input")] == 30
    assert figures.turns == {("success", False): 2}
    assert figures.to_dict()["claude_cost_usd"] == {
        "type": "counter",
        "help": "Estimated cost (USD).",
        "samples": [{"labels": {}, "value": 0.75}],
    }


def test_a_response_s_repeated_usage_counts_once_and_never_falls() -> None:
    claude = ClaudeMetrics()
    for output in (5, 9, 7):
        claude.handle(message_from_json({
            "type": "assistant", "session_id": "s",
            "message": {"id": "m1", "model": "m", "content": [],
                        "usage": {"input_tokens": 3, "output_tokens": output}},
        }))  # fmt: skip
    figures = claude.figures()
    assert figures.responses == {"m": 1}
    assert figures.response_tokens[("m", "output")] == 9
    assert figures.response_tokens[("m", "input")] == 3


def test_tool_durations_run_from_the_call_s_arrival_to_its_result_s() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    claude, ended = ClaudeMetrics(), []
    claude.add_tool_listener(lambda *call: ended.append(call))
    call = {
        "type": "assistant",
        "session_id": "s",
        "message": {"content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
    }
    result = {
        "type": "user",
        "session_id": "s",
        "message": {
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "no", "is_error": True}
            ]
        },
    }
    claude.handle(message_from_json(call, received_at=start))
    assert claude.figures().tools_running == 1
    claude.handle(message_from_json(result, received_at=start + timedelta(seconds=2.5)))
    figures = claude.figures()
    assert ended == [("Bash", 2.5, True)]
    assert figures.tools_running == 0 and figures.tool_errors == {"Bash": 1}
    histogram = figures.tool_durations["Bash"]
    assert (histogram.count, histogram.total) == (1, 2.5)
    assert dict(histogram.cumulative())["1.0"] == 0
    assert dict(histogram.cumulative())["2.5"] == 1
