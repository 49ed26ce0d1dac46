"""The transcript the real CLI writes says what its stream-json said.

Run without ``--no-session-persistence``, Claude Code 2.1.332 writes its session to
``$HOME/.claude/projects/<slug>/<session>.jsonl`` as well as streaming it on stdout. Read
back with ``from_transcripts``, the transcript must give the same assistant text, the same
tool calls and results, and the same usage (each response once) and cost as the stream.

Usage: the stream's ``assistant`` frames carry a response's usage as it started (CLI
2.1.332 writes them before the response ends: one output token so far), the transcript
its final usage; the ``result`` frame's totals are the reference for both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rxclaude import Router, from_cli, parse_json_frames, route_by_type
from rxclaude.handlers import TranscriptToolHandler, TranscriptUsageHandler
from rxclaude.messages import (
    AssistantMessage,
    CostStateMessage,
    InitMessage,
    Message,
    ParseError,
    ResultMessage,
    UnknownMessage,
    UserMessage,
)
from rxclaude.testing import SCENARIOS, cli_invocation
from rxclaude.transcripts import TranscriptReadError, from_transcripts, provenance

from .harness import collect

OUTPUT = ["--output-format", "stream-json", "--verbose"]
"""stream-json, with the session persisted (the harness' STREAM_JSON turns that off)."""

RUNS = {
    "bash_echo": ["--allowedTools", "Bash"],
    "thinking": [],
}


def text_of(messages: list[Message]) -> list[str]:
    return [m.text for m in messages if isinstance(m, AssistantMessage) and m.text]


def tool_calls(messages: list[Message]) -> list[tuple[str | None, str | None, dict[str, Any]]]:
    return [
        (block.id, block.name, block.input)
        for m in messages
        if isinstance(m, AssistantMessage)
        for block in m.tool_uses
    ]


def tool_results(messages: list[Message]) -> list[tuple[str | None, str, bool]]:
    return [
        (block.tool_use_id, block.text, block.is_error)
        for m in messages
        if isinstance(m, UserMessage)
        for block in m.tool_results
    ]


def counted(messages: list[Message]) -> TranscriptUsageHandler:
    handler = TranscriptUsageHandler()
    for message in messages:
        handler.handle(message)
    return handler


@pytest.mark.e2e
@pytest.mark.parametrize("scenario", list(RUNS))
def test_the_transcript_matches_the_stream_json_of_the_same_run(
    claude: str, workdir: Path, scenario: str
) -> None:
    args = ["-p", SCENARIOS[scenario].prompts[0], *OUTPUT, *RUNS[scenario]]
    run = cli_invocation(scenario, args, workdir=workdir, claude=claude)
    streamed = collect(from_cli(run.argv, cwd=run.cwd, env=run.env).pipe(parse_json_frames()))
    assert streamed.error is None
    stream = streamed.items
    (init,) = [m for m in stream if isinstance(m, InitMessage)]
    (result,) = [m for m in stream if isinstance(m, ResultMessage)]

    projects = Path(run.env["HOME"]) / ".claude" / "projects"
    files = sorted(projects.rglob("*.jsonl"))
    assert [path.name for path in files] == [f"{init.session_id}.jsonl"]
    router, usage, tools = Router(), TranscriptUsageHandler(), TranscriptToolHandler()
    usage.register(router)
    tools.register(router)
    read = collect(from_transcripts(projects).pipe(route_by_type(router)))
    assert read.error is None
    transcript = read.items

    assert not [m for m in transcript if isinstance(m, ParseError | TranscriptReadError)]
    unknown = {m.type for m in transcript if isinstance(m, UnknownMessage)}
    assert not unknown, f"line types without a class: {unknown}"
    assert {m.session_id for m in transcript} == {init.session_id}
    assert all(provenance(m) is not None for m in transcript)

    assert text_of(transcript) == text_of(stream)
    assert "".join(text_of(transcript)) == SCENARIOS[scenario].text
    assert tool_calls(transcript) == tool_calls(stream) == SCENARIOS[scenario].tool_calls
    assert tool_results(transcript) == tool_results(stream)

    from_stream, from_file = counted(stream).total, usage.total
    assert from_file.responses == from_stream.responses == len(SCENARIOS[scenario].steps)
    assert from_file.input_tokens == from_stream.input_tokens
    for name in ("input_tokens", "output_tokens", "cache_read_input_tokens"):
        assert getattr(from_file, name) == result.usage[name], name
    assert from_stream.output_tokens < from_file.output_tokens  # the stream's are provisional
    (cost_state, *_) = reversed([m for m in transcript if isinstance(m, CostStateMessage)])
    assert cost_state.total_cost_usd == pytest.approx(result.total_cost_usd)
    assert from_file.cost_usd == pytest.approx(result.total_cost_usd)
    for model, figures in result.model_usage.items():
        written = cost_state.model_usage[model]
        for name in ("inputTokens", "outputTokens", "costUSD"):
            assert written[name] == pytest.approx(figures[name]), (model, name)

    assert sum(stats.calls for stats in tools.by_name.values()) == len(tool_calls(stream))
    assert all(stats.answered == stats.calls for stats in tools.by_name.values())
