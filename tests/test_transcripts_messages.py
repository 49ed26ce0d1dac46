"""Tests of the typed views of transcript-only line types (rxclaude.messages.transcript).

The lines are the shapes CLI 2.1.38 (the real transcripts in tests/data/transcripts) and
CLI 2.1.332 (a run against the loopback fake API, figures fake) write.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from transcript_files import CORPUS

from rxclaude.messages import (
    ApiRequestBlobMessage,
    ApiRequestMessage,
    ApiRequestShapeMessage,
    AtisLatchMessage,
    AttachmentMessage,
    CompactBoundaryMessage,
    CostStateMessage,
    FileHistorySnapshotMessage,
    Kind,
    LastPromptMessage,
    LocalCommandMessage,
    ProgressMessage,
    QueueOperationMessage,
    StopHookSummaryMessage,
    SummaryMessage,
    SystemMessage,
    ToolsUsedMessage,
    TurnDurationMessage,
    UnknownMessage,
    kinds_of,
    message_from_json,
)

OPUS_USAGE = {"inputTokens": 84, "outputTokens": 12, "costUSD": 0.000576}
COST_STATE: dict[str, Any] = {
    "type": "cost-state",
    "sessionId": "e7510bfc-0d17-43dc-9826-b3013a29f204",
    "totalCostUSD": 0.000576,
    "totalAPIDuration": 70,
    "totalAPIDurationWithoutRetries": 64,
    "totalToolDuration": 36,
    "totalLinesAdded": 3,
    "totalLinesRemoved": 1,
    "totalDuration": 693,
    "startTime": 1796287966044,
    "modelUsage": {
        "claude-opus-5-5": OPUS_USAGE,
        "broken": "not an object",
    },
    "hasUnknownModelCost": False,
}


def first_line(kind: str, data_type: str | None = None) -> dict[str, Any]:
    for path in CORPUS:
        for raw in map(json.loads, path.read_bytes().splitlines()):
            if raw["type"] == kind and (data_type is None or raw["data"]["type"] == data_type):
                return dict(raw)
    raise LookupError(kind)


def test_cost_state() -> None:
    message = message_from_json(COST_STATE)
    assert isinstance(message, CostStateMessage)
    assert message.total_cost_usd == 0.000576
    assert message.model_usage == {"claude-opus-5-5": OPUS_USAGE}
    assert (message.total_duration_ms, message.total_api_duration_ms) == (693, 70)
    assert message.total_tool_duration_ms == 36
    assert (message.total_lines_added, message.total_lines_removed) == (3, 1)
    assert message.start_time_ms == 1796287966044 and not message.has_unknown_model_cost
    empty = message_from_json({"type": "cost-state", "totalCostUSD": "n/a"})
    assert isinstance(empty, CostStateMessage)
    assert (empty.total_cost_usd, empty.model_usage, empty.start_time_ms) == (None, {}, None)


def test_progress_lines_of_the_real_transcripts() -> None:
    hook = message_from_json(first_line("progress", "hook_progress"))
    assert isinstance(hook, ProgressMessage)
    assert hook.data_type == "hook_progress" and hook.agent_message is None
    assert hook.tool_use_id == hook.parent_tool_use_id == "3382059c-1d1a-4972-9e58-d3bc5edaf4d0"

    agent = message_from_json(first_line("progress", "agent_progress"))
    assert isinstance(agent, ProgressMessage)
    assert agent.agent_id == "afb92ff"
    assert agent.parent_tool_use_id == "toolu_01Cz2Pnv7qNcnK1ZiocxWhQX"
    assert agent.agent_message is not None and agent.agent_message["type"] == "user"


def test_file_history_snapshot_and_queue_operation_of_the_real_transcripts() -> None:
    snapshot = message_from_json(first_line("file-history-snapshot"))
    assert isinstance(snapshot, FileHistorySnapshotMessage)
    assert snapshot.message_id == "7d48cbd2-6615-4dd8-87f6-38f12b8167d6"
    assert snapshot.tracked_files == [] and not snapshot.is_snapshot_update
    assert snapshot.snapshot["timestamp"] == "2026-02-10T21:11:56.906Z"

    queued = message_from_json(first_line("queue-operation"))
    assert isinstance(queued, QueueOperationMessage)
    assert (queued.operation, queued.content) == ("enqueue", "/mcp")


def test_system_lines_only_transcripts_have() -> None:
    local = message_from_json(first_line("system") | {"subtype": "local_command"})
    assert isinstance(local, LocalCommandMessage) and local.level == "info"
    assert local.content is not None and local.content.startswith("<command-name>/")
    hooks = message_from_json(
        {"type": "system", "subtype": "stop_hook_summary", "hookCount": 3, "hookErrors": ["x"]}
        | {"preventedContinuation": False, "stopReason": ""}
    )
    assert isinstance(hooks, StopHookSummaryMessage)
    assert (hooks.hook_count, hooks.hook_errors, hooks.prevented_continuation) == (3, ["x"], False)
    assert hooks.stop_reason == ""
    turn = message_from_json({"type": "system", "subtype": "turn_duration", "durationMs": 1234})
    assert isinstance(turn, TurnDurationMessage) and turn.duration_ms == 1234
    assert kinds_of(turn) == frozenset({Kind.SYSTEM})


@pytest.mark.parametrize(
    ("raw", "cls", "reads"),
    [
        ({"type": "summary", "summary": "Fix the server", "leafUuid": "u1"}, SummaryMessage,
         {"summary": "Fix the server", "leaf_uuid": "u1"}),
        ({"type": "attachment", "attachment": {"type": "date", "date": "2026-12-03"}},
         AttachmentMessage, {"attachment_type": "date"}),
        ({"type": "last-prompt", "lastPrompt": "Say something.", "leafUuid": "u2"},
         LastPromptMessage, {"last_prompt": "Say something.", "leaf_uuid": "u2"}),
        ({"type": "atis-latch", "atis": ""}, AtisLatchMessage, {"atis": ""}),
        ({"type": "tools-used", "tools": ["Bash", 3]}, ToolsUsedMessage, {"tools": ["Bash"]}),
        ({"type": "api-request", "id": "r1", "querySource": "sdk", "params": {"model": "m"}},
         ApiRequestMessage, {"request_ref": "r1", "model": "m", "query_source": "sdk"}),
        ({"type": "api-request-shape", "shapeHash": "h1"}, ApiRequestShapeMessage,
         {"shape_hash": "h1"}),
        ({"type": "api-request-blob", "hash": "h2", "message": {"role": "user"}},
         ApiRequestBlobMessage, {"hash": "h2", "message": {"role": "user"}}),
    ],
)  # fmt: skip
def test_the_line_types_of_cli_2_1_332(
    raw: dict[str, Any], cls: type[Any], reads: dict[str, Any]
) -> None:
    message = message_from_json(raw)
    assert type(message) is cls
    assert {name: getattr(message, name) for name in reads} == reads
    assert kinds_of(message) == frozenset()  # routed by type


def test_unknown_line_types_keep_everything() -> None:
    raw = {"type": "custom-title", "customTitle": "x", "sessionId": "s"}
    message = message_from_json(raw)
    assert type(message) is UnknownMessage and message.raw == raw
    odd = message_from_json({"type": "system", "subtype": "something_new"})
    assert type(odd) is SystemMessage


def test_compact_boundary_reads_the_transcripts_camel_case_metadata() -> None:
    transcript = message_from_json(
        {
            "type": "system",
            "subtype": "compact_boundary",
            "compactMetadata": {"trigger": "auto", "preTokens": 155_000, "durationMs": 812},
            "logicalParentUuid": "u-1",
        }
    )
    assert isinstance(transcript, CompactBoundaryMessage)
    assert transcript.compact_metadata["trigger"] == "auto"
    assert (transcript.trigger, transcript.pre_tokens, transcript.post_tokens) == (
        "auto",
        155_000,
        None,
    )
    assert transcript.duration_ms == 812
    stream = message_from_json(
        {
            "type": "system",
            "subtype": "compact_boundary",
            "compact_metadata": {"trigger": "manual", "pre_tokens": 59, "post_tokens": 7},
            "compactMetadata": {"trigger": "auto", "preTokens": 1},
        }
    )
    assert isinstance(stream, CompactBoundaryMessage)
    assert (stream.trigger, stream.pre_tokens, stream.post_tokens) == ("manual", 59, 7)
    assert stream.duration_ms is None
