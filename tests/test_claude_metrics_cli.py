"""ClaudeMetrics on runs of the real CLI (rxclaude.testing's loopback fake API): the
exposition equals the counts of the frames the run wrote, and a tool call's duration is
the time between the arrivals of its call and its result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_claude_metrics import comparable, counted_in_file, prometheus_client
from waiting import run_threaded

from rxclaude import find_claude
from rxclaude.framing import parse_json_frames
from rxclaude.handlers import ClaudeMetrics
from rxclaude.messages import AssistantMessage, Message, UserMessage
from rxclaude.metrics import StreamMetrics, measure
from rxclaude.metrics.prometheus import PrometheusExporter
from rxclaude.routing import Router, route_by_type
from rxclaude.sources import CLIProcessError
from rxclaude.testing import SCENARIOS, cli_invocation

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(find_claude() is None, reason="no Claude Code CLI (the e2e extra)"),
]

STREAM_JSON = ["--output-format", "stream-json", "--verbose", "--no-session-persistence"]


def run(scenario: str, tmp_path: Path, *extra: str) -> tuple[list[Message], ClaudeMetrics, str]:
    """The run's messages, its ClaudeMetrics and the scrape after it ended."""
    prompt = SCENARIOS[scenario].prompts[0]
    invocation = cli_invocation(scenario, ["-p", prompt, *STREAM_JSON, *extra], workdir=tmp_path)
    router, metrics, claude = Router(), StreamMetrics(), ClaudeMetrics()
    claude.attach(router)
    registry = prometheus_client.CollectorRegistry()
    PrometheusExporter(metrics, registry=registry, claude=claude)
    messages, errors = run_threaded(
        invocation.source().pipe(
            parse_json_frames(), route_by_type(router), measure(metrics, router=router)
        )
    )
    assert not errors or isinstance(errors[0], CLIProcessError), errors
    return messages, claude, prometheus_client.generate_latest(registry).decode()


def scraped(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("rxclaude_claude_") and not sample.name.endswith("_created")
    }


def frames_file(messages: list[Message], path: Path) -> Path:
    path.write_text("".join(json.dumps(m.raw) + "\n" for m in messages), encoding="utf-8")
    return path


def test_a_tool_call_of_the_real_cli(tmp_path: Path) -> None:
    messages, claude, text = run("bash_echo", tmp_path, "--allowedTools", "Bash")
    samples = scraped(text)
    assert comparable(samples) == counted_in_file(frames_file(messages, tmp_path / "run.jsonl"))
    (call,) = [m for m in messages if isinstance(m, AssistantMessage) and m.tool_uses]
    (answer,) = [m for m in messages if isinstance(m, UserMessage) and m.tool_results]
    seconds = (answer.received_at - call.received_at).total_seconds()
    assert seconds > 0
    assert samples[("rxclaude_claude_tool_duration_seconds_sum", (("tool", "Bash"),))] == (
        pytest.approx(seconds)
    )
    assert claude.figures().tool_calls == {"Bash": 1}


def test_an_overloaded_api_s_retry_and_error(tmp_path: Path) -> None:
    messages, claude, text = run("error_529", tmp_path)
    samples = scraped(text)
    assert comparable(samples) == counted_in_file(frames_file(messages, tmp_path / "run.jsonl"))
    assert samples[("rxclaude_claude_api_retries_total", (("status", "529"),))] == 1
    assert samples[("rxclaude_claude_api_errors_total", (("status", "529"),))] == 1
    assert claude.figures().turns == {("success", True): 1}
