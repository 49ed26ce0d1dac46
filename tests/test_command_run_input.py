"""``rxclaude run`` passes its stdin to the CLI when stdin is not a terminal (issue #13,
item 2): a piped prompt, turns from a file, turns from a pipe that stays open (streamed as
they come, not read to the end first), and ``/dev/null`` for the CLI on a terminal.

The CLI is ``tests/children/echo_claude.py``: it answers each line of its stdin at once
with ``echo: TEXT`` and writes its result at the end of stdin.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

from command_process import (
    CHILDREN,
    COMMAND,
    executable,
    read_lines_until,
    rxclaude,
    watched,
)
from conftest import TIMEOUT


def echo_claude(folder: Path) -> Path:
    return executable(folder / "claude", CHILDREN / "echo_claude.py")


def turn(text: str) -> bytes:
    """A user turn for ``--input-format stream-json``."""
    message = {"role": "user", "content": text}
    return (json.dumps({"type": "user", "message": message, "session_id": ""}) + "\n").encode()


def run_command(claude: Path, *claude_arguments: str) -> list[str]:
    return [*COMMAND, "run", "--claude", str(claude), "--", *claude_arguments]


def test_a_piped_prompt_reaches_the_cli(tmp_path: Path) -> None:
    claude = echo_claude(tmp_path)
    result = rxclaude("run", "--claude", str(claude), "--", "-p", stdin=b"Say hello\n")
    assert result.returncode == 0, result.stderr
    assert "echo: Say hello\n" in result.stdout
    assert result.stderr == ""


def test_turns_from_a_file_reach_the_cli(tmp_path: Path) -> None:
    claude = echo_claude(tmp_path)
    turns = tmp_path / "turns.jsonl"
    turns.write_bytes(turn("first") + turn("second"))
    arguments = run_command(claude, "-p", "--input-format", "stream-json")
    with turns.open("rb") as stdin:
        done = subprocess.run(
            arguments, stdin=stdin, capture_output=True, timeout=TIMEOUT, check=False
        )
    stdout = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    assert stdout.index("echo: first\n") < stdout.index("echo: second\n")
    assert "result        ✓ done · 2 turns" in stdout


def test_turns_from_an_open_pipe_are_streamed_as_they_come(tmp_path: Path) -> None:
    claude = echo_claude(tmp_path)
    arguments = run_command(claude, "-p", "--input-format", "stream-json")
    # Watched: a command that waits for the end of stdin would never answer.
    with watched(
        arguments, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdin and process.stdout and process.stderr
        process.stdin.write(turn("first"))
        process.stdin.flush()
        early = read_lines_until(process.stdout, b"echo: first")
        # The first answer came while stdin is still open; only now the second turn.
        process.stdin.write(turn("second"))
        process.stdin.close()
        late = process.stdout.read()
        stderr = process.stderr.read()
        assert process.wait() == 0, stderr
    assert b"echo: second" not in early
    assert b"echo: second\n" in late
    assert b"2 turns" in late


def test_on_a_terminal_the_cli_reads_nothing(tmp_path: Path) -> None:
    claude = echo_claude(tmp_path)
    terminal, command_side = pty.openpty()
    try:
        done = subprocess.run(
            run_command(claude, "-p", "hi"),
            stdin=command_side,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    finally:
        os.close(command_side)
        os.close(terminal)
    assert done.returncode == 0, done.stderr
    stdout = done.stdout.decode()
    assert "echo:" not in stdout  # the CLI's stdin was /dev/null, not the terminal
    assert "result        ✓ done · 0 turns" in stdout


def test_the_cli_arguments_are_not_read_from_stdin(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    claude = echo_claude(tmp_path)
    result = rxclaude(
        "run",
        "--claude",
        str(claude),
        "--",
        "-p",
        stdin=b"one\ntwo\n",
        env={**os.environ, "ECHO_CLAUDE_REPORT": str(report)},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(report.read_text())["argv"] == [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
    ]
    assert "echo: one\n" in result.stdout and "echo: two\n" in result.stdout
