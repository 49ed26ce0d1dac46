"""``rxclaude run``, as a subprocess, with a fake ``claude`` that prints a real recording.

The fake (``tests/children/fake_claude.py``) records the arguments it was given and exits
with the code the test chooses, so the flags ``run`` adds and the exit code it passes on
are checked end to end, through ``from_cli``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import psutil
import pytest
from command_process import CHILDREN, COMMAND, Outcome, executable, rxclaude

from rxclaude import sample_path

TOOL_USE = sample_path("tool_use_partial")


class FakeClaude:
    """A ``claude`` executable in a temporary directory, and what it reported."""

    def __init__(self, folder: Path) -> None:
        self.path = executable(folder / "claude", CHILDREN / "fake_claude.py")
        self.report = folder / "report.json"

    def environment(self, recording: Path = TOOL_USE, **variables: str) -> dict[str, str]:
        return {
            **os.environ,
            "FAKE_CLAUDE_REPORT": str(self.report),
            "FAKE_CLAUDE_RECORDING": str(recording),
            **{f"FAKE_CLAUDE_{name.upper()}": value for name, value in variables.items()},
        }

    def run(self, *arguments: str, recording: Path = TOOL_USE, **variables: str) -> Outcome:
        return rxclaude(
            "run",
            "--claude",
            str(self.path),
            *arguments,
            env=self.environment(recording, **variables),
        )

    def reported(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.report.read_text())
        return report


@pytest.fixture
def claude(tmp_path: Path) -> FakeClaude:
    return FakeClaude(tmp_path)


def _rows(stdout: str) -> dict[str, str]:
    """The stats table's rows, by label (the lines with two or more spaces inside)."""
    rows = [line.strip().split("  ", 1) for line in stdout.splitlines() if "  " in line.strip()]
    return {label: value.strip() for label, value in rows}


def test_the_stream_json_flags_are_added_and_the_stream_is_shown(claude: FakeClaude) -> None:
    result = claude.run("--", "-p", "Run echo")
    assert result.returncode == 0, result.stderr
    assert claude.reported()["argv"] == [
        "-p",
        "Run echo",
        "--output-format",
        "stream-json",
        "--verbose",
    ]
    assert "\x1b" not in result.stdout
    assert result.stdout.count("I'll run a command.") == 1
    assert 'Bash(command="echo hello-from-mock"' in result.stdout
    assert "✓ done" in result.stdout
    rows = _rows(result.stdout)
    assert rows["messages"].startswith("32 · ")
    assert rows["source"] == f"{claude.path} -p Run echo --output-format stream-json --verbose"


def test_flags_already_given_are_kept_once_and_before_a_double_dash(claude: FakeClaude) -> None:
    arguments = ["-p", "hi", "--verbose", "--output-format=stream-json", "--model", "m"]
    assert claude.run("--", *arguments).returncode == 0
    assert claude.reported()["argv"] == arguments
    assert claude.run("--", "-p", "--", "a prompt").returncode == 0
    expected = ["-p", "--output-format", "stream-json", "--verbose", "--", "a prompt"]
    assert claude.reported()["argv"] == expected


@pytest.mark.parametrize("code", [1, 3])
def test_the_cli_exit_code_after_its_result_is_the_command_exit_code(
    claude: FakeClaude, code: int
) -> None:
    result = claude.run(
        "--",
        "-p",
        "hi",
        recording=sample_path("api_error_529_overloaded"),
        exit=str(code),
        stderr="the API is overloaded",
    )
    assert result.returncode == code
    assert "API Error: 529 Overloaded." in result.stdout
    assert f"exited with code {code}: the API is overloaded" in result.stdout
    rows = _rows(result.stdout)
    assert rows["result"].startswith("✗ error · terminal_reason api_error · API 529 · 1 turn")
    assert rows["stream error"].endswith(f"exited with code {code}: the API is overloaded")
    assert "Traceback" not in result.stderr


def test_a_cli_that_fails_without_output_shows_its_stderr(
    claude: FakeClaude, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    message = "Error: When using --print, --output-format=stream-json requires --verbose"
    result = claude.run("--", "-p", "hi", recording=empty, exit="1", stderr=message)
    assert result.returncode == 1
    assert f"  {message}" in result.stdout.splitlines()


def test_another_output_format_is_a_usage_error(claude: FakeClaude) -> None:
    result = claude.run("--", "-p", "hi", "--output-format", "text")
    assert result.returncode == 2
    assert "stream-json, not --output-format text" in result.stderr
    assert not claude.report.exists()


def test_the_cli_arguments_come_after_a_double_dash(claude: FakeClaude) -> None:
    result = claude.run()
    assert result.returncode == 2
    assert "after '--'" in result.stderr


def test_a_cli_that_fails_without_any_frame_exits_with_its_code_and_says_so(
    claude: FakeClaude, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    result = claude.run("--", "-p", "hi", recording=empty, exit="3", stderr="it broke")
    assert result.returncode == 3
    assert result.stderr == "rxclaude run: the CLI wrote no stream-json frame\n"
    assert "exited with code 3: it broke" in result.stdout


def test_a_cli_that_exits_0_without_any_frame_exits_1(claude: FakeClaude, tmp_path: Path) -> None:
    not_json = tmp_path / "not-json.txt"
    not_json.write_bytes(b"Usage: claude [options]\n")  # no frame: one parse error
    result = claude.run("--", "-p", "hi", recording=not_json)
    assert result.returncode == 1
    assert result.stderr == "rxclaude run: the CLI wrote no stream-json frame\n"
    assert "parse errors  1" in result.stdout


def test_claude_is_found_on_the_path(claude: FakeClaude) -> None:
    environment = claude.environment()
    environment["PATH"] = f"{claude.path.parent}{os.pathsep}{environment['PATH']}"
    result = rxclaude("run", "--", "-p", "hi", env=environment)
    assert result.returncode == 0, result.stderr
    assert claude.reported()["argv"][:2] == ["-p", "hi"]


def test_the_policy_and_buffer_size_reach_the_pipeline(claude: FakeClaude) -> None:
    result = claude.run("--policy", "drop_newest", "--buffer-size", "8", "--", "-p", "hi")
    assert result.returncode == 0, result.stderr
    assert _rows(result.stdout)["buffer"].startswith("drop_newest · peak ")
    assert "/8 · " in _rows(result.stdout)["buffer"]


def test_ctrl_c_ends_the_cli_and_exits_130(claude: FakeClaude) -> None:
    environment = claude.environment(hang="1")
    command = [*COMMAND, "run", "--claude", str(claude.path), "--", "-p", "hi"]
    with subprocess.Popen(
        command,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        # The fake prints all but the result, then waits: once the last text is shown,
        # the CLI is running and the pipeline waits for more.
        for line in process.stdout:
            if line.startswith(b"Done: the command printed its output."):
                break
        fake = claude.reported()["pid"]
        assert psutil.pid_exists(fake)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert b"interrupted" in stderr and b"Traceback" not in stderr
    assert not psutil.pid_exists(fake)
    assert b"\xe2\x9c\x93 done" not in stdout  # no result was shown
