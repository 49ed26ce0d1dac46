"""``rxclaude view``, run as a subprocess with its stdout on a pipe: the plain-text view."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from command_process import COMMAND, rxclaude
from corpus_files import recording
from hypothesis import given
from hypothesis import strategies as st

from rxclaude import Router, sample_names, sample_path
from rxclaude.command.format import SNIPPET, json_snippet
from rxclaude.command.listing import describe
from rxclaude.command.session import make_console
from rxclaude.command.view import Transcript
from rxclaude.command.view_calls import tool_call
from rxclaude.command.view_output import PlainOutput
from rxclaude.framing import MAX_NESTING_DEPTH
from rxclaude.messages import message_from_json

TOOL_USE = sample_path("tool_use_partial")
FIRST_TEXT = "I'll run a command."
LAST_TEXT = "Done: the command printed its output."


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


LAST_LINES = {
    "api_error_529_overloaded": (
        "✗ error · terminal_reason api_error · API 529 · 1 turn · 829 ms · 0 in / 0 out tokens · $0"
    ),
    "permission_denied": (
        "✓ done · completed · 2 turns · 255 ms · 84 in / 34 out tokens · $0.000762"
    ),
    "thinking_partial": "✓ done · completed · 1 turn · 170 ms · 42 in / 17 out tokens · $0.000381",
    "tool_use_partial": "✓ done · completed · 2 turns · 262 ms · 84 in / 34 out tokens · $0.000762",
}


@pytest.mark.parametrize("name", sample_names())
def test_every_sample_is_plain_text_ending_with_its_outcome(name: str) -> None:
    result = rxclaude("view", "--sample", name)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert result.stdout.splitlines()[-1] == LAST_LINES[name]


def test_streamed_text_is_shown_once_in_order_with_the_tool_call() -> None:
    # The deltas stream each text, the assistant frame repeats it and the result repeats
    # the last one: the view shows each text once.
    stdout = rxclaude("view", str(TOOL_USE)).stdout
    assert stdout.count(FIRST_TEXT) == 1
    assert stdout.count(LAST_TEXT) == 1
    order = [FIRST_TEXT, "● #1 Bash(", "  ⎿ hello-from-mock", LAST_TEXT, "✓ done"]
    positions = [stdout.index(piece) for piece in order]
    assert positions == sorted(positions)
    assert 'command="echo hello-from-mock"' in stdout
    assert "$0.000762" in stdout


def test_without_partial_messages_the_text_comes_from_the_assistant_frames() -> None:
    stdout = rxclaude("view", "--sample", "permission_denied").stdout
    assert stdout.count(LAST_TEXT) == 1
    (failed_tool,) = [line for line in stdout.splitlines() if "⎿" in line]
    assert failed_tool.startswith("  ⎿ error: Claude requested permissions to write")
    assert len(failed_tool) < 140  # the result is shortened


def test_thinking_and_text_from_deltas_are_shown_once() -> None:
    stdout = rxclaude("view", "--sample", "thinking_partial").stdout
    assert stdout.count("✻ The user wants a short answer. I will reply briefly.") == 1
    assert stdout.count("Short answer: 42.") == 1


def test_stdin_gives_the_view_of_the_file() -> None:
    def without_durations(text: str) -> str:
        return re.sub(r"  \(\d[\d.]* m?s\)", "", text)

    from_file = rxclaude("view", str(TOOL_USE))
    from_stdin = rxclaude("view", "-", stdin=TOOL_USE.read_bytes())
    implicit_stdin = rxclaude("view", stdin=TOOL_USE.read_bytes())
    assert from_stdin.returncode == implicit_stdin.returncode == 0, from_stdin.stderr
    assert without_durations(from_stdin.stdout) == without_durations(from_file.stdout)
    assert without_durations(implicit_stdin.stdout) == without_durations(from_file.stdout)


def test_parse_errors_are_highlighted_with_their_offset_and_the_view_goes_on(
    tmp_path: Path,
) -> None:
    lines = _lines(TOOL_USE)
    junk = b"[SandboxDebug] not json\n"
    corrupted = b"".join(lines[:2]) + junk + b"".join(lines[2:])
    path = tmp_path / "corrupted.jsonl"
    path.write_bytes(corrupted)
    stdout = rxclaude("view", str(path)).stdout
    offset = corrupted.index(junk)
    (error,) = [line for line in stdout.splitlines() if line.startswith("✗ parse:")]
    assert f"invalid_json at byte {offset} " in error
    assert stdout.count(FIRST_TEXT) == stdout.count(LAST_TEXT) == 1


def test_api_errors_and_retries_are_flagged_once() -> None:
    stdout = rxclaude("view", "--sample", "api_error_529_overloaded").stdout
    lines = stdout.splitlines()
    assert [line for line in lines if line.startswith("⚠ api_retry:")] == [
        "⚠ api_retry: attempt 1 of 1 failed (HTTP 529, overloaded)"
    ]
    (api_error,) = [line for line in lines if line.startswith("✗ API error")]
    assert "529 Overloaded" in api_error
    assert stdout.count("529 Overloaded") == 1  # the result repeats it; the view does not
    assert lines[-1].startswith("✗ error · terminal_reason api_error · API 529 · 1 turn · 829 ms")


def test_text_the_cli_withdraws_is_flagged_and_the_retry_is_shown() -> None:
    stream = recording("midstream_sse_error_fallback")
    stdout = rxclaude("view", "-", stdin=stream).stdout
    lines = stdout.splitlines()
    withdrawn = next(n for n, line in enumerate(lines) if line.startswith("↺ text abandoned:"))
    assert lines[withdrawn + 1] == "ok"  # the non-streamed retry's text


def test_subagent_frames_are_nested_under_the_call_that_started_them() -> None:
    stdout = rxclaude("view", "-", stdin=recording("subagent_task_forwarded")).stdout
    lines = [re.sub(r"  \(\d[\d.]* m?s\)$", "", line) for line in stdout.splitlines()]
    start = next(n for n, line in enumerate(lines) if line.startswith("● #1 Agent("))
    assert lines[start + 1 : start + 6] == [
        "  > SUBAGENT please run ls",
        '  ● #2 Bash(command="ls /home/user/project", description="List files")',
        "    ⎿ big.txt",
        "  │ Subagent finished listing files.",
        "  ⎿ #1 Agent · <tools-used-before-summary>Bash</tools-used-before-summary>",
    ]


def test_control_characters_in_the_text_are_shown_not_run(tmp_path: Path) -> None:
    frame = {
        "type": "assistant",
        "message": {"id": "m1", "content": [{"type": "text", "text": "red \x1b[31malert\x07"}]},
    }
    result = rxclaude("view", "-", stdin=json.dumps(frame).encode() + b"\n")
    assert result.returncode == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "red ␛[31malert␇" in result.stdout


def test_a_missing_file_is_a_usage_error() -> None:
    result = rxclaude("view", "/nonexistent/recording.jsonl")
    assert result.returncode == 2
    assert "no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_reader_that_goes_away_ends_the_view_quietly(tmp_path: Path) -> None:
    frame = {
        "type": "assistant",
        "message": {"id": "m", "content": [{"type": "text", "text": "x"}]},
    }
    path = tmp_path / "long.jsonl"
    path.write_bytes((json.dumps(frame) + "\n").encode() * 50_000)
    with subprocess.Popen(
        [*COMMAND, "view", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline() == b"x\n"
        process.stdout.close()
        _, stderr = process.communicate(timeout=60)
    assert b"Traceback" not in stderr and b"Broken pipe" not in stderr
    assert process.returncode == 1


# -- deep values: nothing recurses on message content ------------------------------------


def nested_list(depth: int) -> Any:
    """A list nested ``depth`` levels, built without recursion."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def deep_frames_around(depth: int) -> tuple[bytes, bytes]:
    """The tool_use_partial recording with a frame nesting ``depth`` levels in its middle,
    and that frame's line."""
    tool_use = {"type": "tool_use", "id": "toolu_deep", "name": "Deep", "input": {"x": 0}}
    frame = {"type": "assistant", "message": {"id": "msg_deep", "content": [tool_use]}}
    text = json.dumps(frame, separators=(",", ":"))
    deep = "[" * (depth - 5) + "]" * (depth - 5)  # the frame's own levels are 5
    line = text.replace('"x":0', f'"x":{deep}').encode()
    lines = _lines(TOOL_USE)
    return b"".join([*lines[:3], line + b"\n", *lines[3:]]), line


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH, 10_000])
def test_a_deeply_nested_line_between_frames_is_shown_or_reported_without_a_traceback(
    tmp_path: Path, depth: int
) -> None:
    stream, line = deep_frames_around(depth)
    path = tmp_path / "deep.jsonl"
    path.write_bytes(stream)
    result = rxclaude("view", str(path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stdout
    assert result.stdout.count(FIRST_TEXT) == result.stdout.count(LAST_TEXT) == 1
    assert result.stdout.splitlines()[-1].startswith("✓ done")
    errors = [line for line in result.stdout.splitlines() if line.startswith("✗")]
    if depth > MAX_NESTING_DEPTH:
        (error,) = errors
        assert error.startswith(f"✗ parse: invalid_json at byte {stream.index(line)} ")
    else:
        assert errors == []
        (call,) = [line for line in result.stdout.splitlines() if line.startswith("● #1 Deep(")]
        assert call == "● #1 Deep(x=" + "[" * (SNIPPET - 3) + "…)"


def transcript() -> tuple[Transcript, io.StringIO]:
    out = io.StringIO()
    return Transcript(PlainOutput(make_console(out)), Router.default().handlers), out


def test_deep_values_built_in_memory_are_shown_shortened() -> None:
    """Not framed, so not limited: the view still never recurses on them."""
    deep = nested_list(10_000)
    assistant = message_from_json(
        {
            "type": "assistant",
            "message": {
                "id": "m",
                "content": [
                    {"type": "tool_use", "id": "t1", "name": "Deep", "input": {"x": deep}},
                    {"type": "web_search_tool_result", "tool_use_id": "t2", "content": deep},
                ],
            },
        }
    )
    result = message_from_json(
        {"type": "result", "subtype": "success", "is_error": False, "usage": {"input_tokens": deep}}
    )
    view, out = transcript()
    view.show(assistant)
    view.show(result)
    lines = out.getvalue().splitlines()
    assert lines[0] == "● #1 Deep(x=" + "[" * (SNIPPET - 3) + "…)"
    assert lines[1] == "  ⎿ t2 · " + "[" * (SNIPPET - 1) + "…"  # its call was never seen
    assert lines[2].startswith("✓ done") and "? in / ? out tokens" in lines[2]


def test_the_listing_describes_a_deep_tool_input_shortened() -> None:
    tool_use = {"type": "tool_use", "id": "t", "name": "Deep", "input": {"x": nested_list(10_000)}}
    message = message_from_json({"type": "assistant", "message": {"content": [tool_use]}})
    description = describe(message)
    assert description.startswith('Deep({"x": [[[[') and description.endswith("…)")
    assert len(description) < 100


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@given(value=json_values, limit=st.integers(1, 200))
def test_json_snippet_is_the_start_of_json_dumps(value: Any, limit: int) -> None:
    whole = json.dumps(value, ensure_ascii=False)
    expected = whole if len(whole) <= limit else whole[:limit] + "…"
    assert json_snippet(value, limit) == expected


def test_tool_inputs_are_shown_as_json_arguments() -> None:
    assert tool_call("Bash", {"command": "ls -l", "n": [1, {"a": None}]}) == (
        'Bash(command="ls -l", n=[1, {"a": null}])'
    )
