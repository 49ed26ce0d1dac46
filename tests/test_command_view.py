"""``rxclaude view``, run as a subprocess with its stdout on a pipe: the plain-text view."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from command_process import COMMAND, rxclaude
from corpus_files import recording

from rxclaude import sample_names, sample_path

TOOL_USE = sample_path("tool_use_partial")
FIRST_TEXT = "I'll run a command."
LAST_TEXT = "Done: the command printed its output."


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize("name", sample_names())
def test_every_sample_is_plain_text_ending_with_its_outcome(name: str) -> None:
    result = rxclaude("view", "--sample", name)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    outcome = json.loads(_lines(sample_path(name))[-1])
    last_line = result.stdout.splitlines()[-1]
    assert last_line.startswith("✗ failed" if outcome["is_error"] else "✓ done")
    assert f"{outcome['num_turns']} turn" in last_line


def test_streamed_text_is_shown_once_in_order_with_the_tool_call() -> None:
    # The deltas stream each text, the assistant frame repeats it and the result repeats
    # the last one: the view shows each text once.
    stdout = rxclaude("view", str(TOOL_USE)).stdout
    assert stdout.count(FIRST_TEXT) == 1
    assert stdout.count(LAST_TEXT) == 1
    order = [FIRST_TEXT, "● Bash(", "⎿ hello-from-mock", LAST_TEXT, "✓ done"]
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
    assert lines[-1].startswith("✗ failed (success) · 1 turn · 829 ms")


def test_text_the_cli_withdraws_is_flagged_and_the_retry_is_shown() -> None:
    stream = recording("midstream_sse_error_fallback")
    stdout = rxclaude("view", "-", stdin=stream).stdout
    lines = stdout.splitlines()
    withdrawn = next(n for n, line in enumerate(lines) if line.startswith("↺ text abandoned:"))
    assert lines[withdrawn + 1] == "ok"  # the non-streamed retry's text


def test_subagent_frames_are_indented() -> None:
    stdout = rxclaude("view", "-", stdin=recording("subagent_task_forwarded")).stdout
    assert "● Agent(" in stdout
    assert "  ● Bash(" in stdout
    assert "  │ Subagent finished listing files." in stdout


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
