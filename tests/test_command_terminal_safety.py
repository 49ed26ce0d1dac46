"""No character a terminal would act on reaches the command's output, whatever the stream
puts in any field the command prints: C0 controls but newline and tab, DEL, C1 controls,
bidi controls and lone surrogates (issue #13, item 1). The fields include the user's
prompts, compaction, subagents' frames and the labels of their calls (item 3), and for
session transcripts the project folder's name, session and agent ids, prompts, models and
the ``--by`` tables' keys (issue #17), and for Redis streams the hosts and the stream keys
(issue #18)."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
import reactivex
import redis
import redis_server as servers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rxclaude.command import main
from rxclaude.framing import parse_json_frames
from rxclaude.redis import LocalRedis, to_redis_stream

redis_server = servers.redis_server
redis_client = servers.redis_client

UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
HOSTILE = st.text(
    alphabet=st.sampled_from(
        [
            "a",
            " ",
            "\n",
            "\t",
            "\x1b",
            "\x07",
            "\x00",
            "\x7f",
            "\x9b",
            "\x9c",
            "\x9d",
            "\u202e",
            "\u2066",
            "\u200f",
            "\u061c",
            "\ud800",
            "\udfff",
            "]",
            "[",
            "é",
        ]
    ),
    min_size=1,
    max_size=12,
)


def recording(text: str) -> bytes:
    """A stream with ``text`` in every field the commands print."""
    session = {"session_id": text, "uuid": text}
    frames = [
        {
            "type": "system",
            "subtype": "init",
            "model": text,
            "cwd": text,
            "tools": [text],
            **session,
        },
        {"type": "system", "subtype": text, **session},
        {
            "type": "assistant",
            "message": {
                "id": text,
                "model": text,
                "content": [
                    {"type": "text", "text": text},
                    {"type": "thinking", "thinking": text},
                    {"type": "tool_use", "id": "t1", "name": text, "input": {text: text}},
                ],
            },
            **session,
        },
        {
            "type": "user",
            "message": {
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": text, "is_error": True},
                ]
            },
            **session,
        },
        {"type": text, **session},
        # the user's prompts: string content, blocks (one of an unknown type), synthetic
        {"type": "user", "message": {"content": text}, **session},
        {
            "type": "user",
            "message": {"content": [{"type": "text", "text": text}, {"type": text}]},
            "isSynthetic": True,
            **session,
        },
        {
            "type": "system",
            "subtype": "compact_boundary",
            "compact_metadata": {"trigger": text, "pre_tokens": 7, "post_tokens": 3},
            **session,
        },
        # two subagents at once, called by a hostile name; one with a hostile id
        {
            "type": "assistant",
            "message": {
                "content": [
                    {"type": "tool_use", "id": "s1", "name": text, "input": {}},
                    {"type": "tool_use", "id": text, "name": text, "input": {}},
                ]
            },
            **session,
        },
        *(
            {
                "type": kind,
                "message": {"content": [{"type": "text", "text": text}]},
                "parent_tool_use_id": parent,
                **session,
            }
            for parent in ("s1", text, "s1")
            for kind in ("user", "assistant")
        ),
        {
            "type": "user",
            "message": {
                "content": [
                    {"type": "tool_result", "tool_use_id": "unseen" + text, "content": text},
                    {"type": "tool_result", "tool_use_id": text, "content": text},
                ]
            },
            **session,
        },
        {
            "type": "result",
            "subtype": text,
            "is_error": True,
            "result": text,
            "errors": [text],
            "stop_reason": text,
            "terminal_reason": text,
            "api_error_status": 529,
            **session,
        },
    ]
    lines = [
        json.dumps(frame, ensure_ascii=False).encode("utf-8", "surrogatepass") for frame in frames
    ]
    junk = text.encode("utf-8", "surrogatepass")  # a non-JSON line: a parse error's excerpt
    return b"\n".join([lines[0], junk, *lines[1:]]) + b"\n"


SESSION = "11111111-1111-4111-8111-111111111111"


def path_safe(text: str) -> str:
    """``text`` as a file name can hold it (no NUL, slash or lone surrogate)."""
    kept = "".join(c for c in text if c not in "\x00/" and not "\ud800" <= c <= "\udfff")
    return "p" + kept


def transcript_tree(root: Path, text: str) -> Path:
    """A projects folder with ``text`` in every field of a transcript the commands print;
    the project folder and a subagent file are named with it too."""
    project = root / path_safe(text)
    envelope = {"sessionId": text, "timestamp": "2026-03-01T10:00:00.000Z", "uuid": text}
    usage = {"input_tokens": 3, "output_tokens": 2}
    assistant = {
        "type": "assistant",
        "requestId": text,
        "message": {
            "id": text,
            "model": text,
            "usage": usage,
            "content": [
                {"type": "text", "text": text},
                {"type": "tool_use", "id": "t1", "name": text, "input": {text: text}},
            ],
        },
        **envelope,
    }
    lines = [
        {"type": "user", "message": {"role": "user", "content": text}, **envelope},
        assistant,
        {
            "type": "user",
            "message": {"content": [{"type": "tool_result", "tool_use_id": "t1", "content": text}]},
            "toolUseResult": {"agentId": text},
            **envelope,
        },
        {
            "type": "system",
            "subtype": "compact_boundary",
            "compactMetadata": {"trigger": text, "preTokens": 5},
            **envelope,
        },
        {
            "type": "progress",
            "data": {"type": "agent_progress", "agentId": text, "message": assistant},
            "parentToolUseID": text,
            **envelope,
        },
        {
            "type": "cost-state",
            "totalCostUSD": 0.5,
            "modelUsage": {text: {"costUSD": 0.5}},
            **envelope,
        },
        {"type": text, **envelope},
    ]
    session = project / f"{SESSION}.jsonl"
    subagent = project / SESSION / "subagents" / f"agent-{path_safe(text)}.jsonl"
    subagent.parent.mkdir(parents=True)
    for path in (session, subagent):
        path.write_bytes(
            b"".join(
                json.dumps(item).encode() + b"\n"  # escapes: the fields hold the text
                for item in lines
            )
            + text.encode("utf-8", "surrogatepass")  # a cut last line: a parse error
        )
    return root


def run(*arguments: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(arguments))
        except SystemExit as exit_:  # argparse usage errors
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=HOSTILE)
def test_no_command_prints_a_character_a_terminal_would_act_on(tmp_path: Path, text: str) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(recording(text))
    for command in (
        ["view", str(path)],
        ["stats", str(path)],
        ["stats", "--json", str(path)],
        ["list", str(path)],
        [str(path)],
    ):
        code, out, err = run(*command)
        assert code in (0, 1), (command, code, err)
        assert "Traceback" not in err
        assert UNSAFE.search(out) is None, (command, out)
        assert UNSAFE.search(err) is None, (command, err)
        assert out  # something was shown


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=HOSTILE)
def test_nor_over_transcripts(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    folder = str(transcript_tree(tmp_path_factory.mktemp("projects"), text))
    for command in (
        ["view", folder],
        ["stats", folder],
        ["stats", "--by", "session", folder],
        ["stats", "--by", "project", folder],
        ["stats", "--json", "--by", "day", folder],
    ):
        code, out, err = run(*command)
        assert code in (0, 1), (command, code, err)
        assert "Traceback" not in err
        assert UNSAFE.search(out) is None, (command, out)
        assert UNSAFE.search(err) is None, (command, err)
        assert out
        if command[0] == "view":  # the fields were read and shown, not parse errors only
            assert "── p" in out and "\n> " in out and "≡ compacted (" in out, out


def test_json_output_keeps_the_values_as_escapes(tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(recording("x\u202ey\x9b"))
    code, out, _ = run("stats", "--json", str(path))
    assert code == 0
    assert "\\u202e" in out and "\\u009b" in out
    document = json.loads(out)
    assert document["result"]["subtype"] == "x\u202ey\x9b"  # the same value, escaped


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=HOSTILE.map(lambda text: path_safe(text)[1:] or "a"))  # Redis takes no surrogate
def test_nor_from_redis(redis_server: LocalRedis, redis_client: redis.Redis, text: str) -> None:
    key = f"k{text}"
    redis_client.delete(key)
    sink = to_redis_stream(redis_client, key, host=text)
    reactivex.just(recording(text)).pipe(parse_json_frames(), sink).run()
    written = sink.statistics().written
    assert written > 0 and sink.statistics().failed == 0
    for command in (
        ["stats", "--from-redis", redis_server.url, key, "--count", str(written)],
        ["stats", "--json", "--from-redis", redis_server.url, key, "--count", str(written)],
    ):
        code, out, err = run(*command)
        assert code == 0, (command, err)
        assert UNSAFE.search(out) is None, (command, out)
        assert UNSAFE.search(err) is None, (command, err)
        assert "by host" in out or '"hosts"' in out
