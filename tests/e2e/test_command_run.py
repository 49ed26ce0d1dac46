"""``rxclaude run`` driving the real CLI against the fake API, as a user would run it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rxclaude.testing import SCENARIOS, CLIInvocation, cli_invocation

pytestmark = pytest.mark.e2e


def command_line(
    scenario: str, claude: str, workdir: Path, tmp_path: Path, *claude_arguments: str
) -> tuple[list[str], CLIInvocation]:
    """``rxclaude run --claude WRAPPER -- CLAUDE_ARGUMENTS --no-session-persistence``, where
    the wrapper starts the CLI in the sandbox that serves ``scenario``; the command adds the
    stream-json flags itself."""
    invocation = cli_invocation(scenario, [], workdir=workdir, claude=claude)
    wrapper = invocation.write_executable(tmp_path / "claude")
    command = [sys.executable, "-m", "rxclaude", "run", "--claude", str(wrapper), "--"]
    return [*command, *claude_arguments, "--no-session-persistence"], invocation


def run_command(
    scenario: str,
    claude: str,
    workdir: Path,
    tmp_path: Path,
    *claude_arguments: str,
    stdin: bytes | None = None,
) -> tuple[subprocess.CompletedProcess[str], CLIInvocation]:
    """Runs :func:`command_line` to its end (by default ``-p PROMPT``, stdin empty)."""
    arguments = claude_arguments or ("-p", SCENARIOS[scenario].prompts[0])
    command, invocation = command_line(scenario, claude, workdir, tmp_path, *arguments)
    done = subprocess.run(
        command,
        input=None if stdin is None else stdin.decode(),
        stdin=subprocess.DEVNULL if stdin is None else None,
        env=invocation.env,
        cwd=invocation.cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, invocation


def turn(text: str) -> str:
    """A user turn for ``--input-format stream-json``."""
    message = {"role": "user", "content": text}
    return json.dumps({"type": "user", "message": message, "session_id": ""}) + "\n"


def prompts_sent(invocation: CLIInvocation) -> list[str]:
    """The last user message of each request the fake API received, as JSON text."""
    return [
        json.dumps([m for m in request["body"]["messages"] if m["role"] == "user"][-1])
        for request in invocation.requests()
    ]


def test_run_shows_the_answer_and_the_stats(claude: str, workdir: Path, tmp_path: Path) -> None:
    done, invocation = run_command("plain_text", claude, workdir, tmp_path)
    assert done.returncode == 0, done.stderr
    assert SCENARIOS["plain_text"].text in done.stdout
    assert "\x1b" not in done.stdout  # not a terminal: plain text
    assert "by type" in done.stdout and "result" in done.stdout
    assert [request["status"] for request in invocation.requests()] == [200]


def test_run_exits_with_the_cli_exit_code_after_an_api_error(
    claude: str, workdir: Path, tmp_path: Path
) -> None:
    done, invocation = run_command("error_500", claude, workdir, tmp_path)
    assert done.returncode == 1
    assert "API error (server_error)" in done.stdout  # highlighted in place
    assert "exited with code 1" in done.stdout  # and the CLI's failure at the end
    statuses = [request["status"] for request in invocation.requests()]
    assert statuses == [500] * (SCENARIOS["error_500"].max_retries + 1)


def test_a_piped_prompt_reaches_the_cli(claude: str, workdir: Path, tmp_path: Path) -> None:
    prompt = SCENARIOS["plain_text"].prompts[0]
    done, invocation = run_command(
        "plain_text", claude, workdir, tmp_path, "-p", stdin=f"{prompt}\n".encode()
    )
    assert done.returncode == 0, done.stderr
    assert SCENARIOS["plain_text"].text in done.stdout
    (sent,) = prompts_sent(invocation)
    assert prompt in sent


def test_turns_from_a_file_reach_the_cli(claude: str, workdir: Path, tmp_path: Path) -> None:
    scenario = SCENARIOS["multi_turn"]
    turns = tmp_path / "turns.jsonl"
    turns.write_text("".join(turn(prompt) for prompt in scenario.prompts), encoding="utf-8")
    command, invocation = command_line(
        "multi_turn", claude, workdir, tmp_path, "-p", "--input-format", "stream-json"
    )
    with turns.open("rb") as stdin:
        done = subprocess.run(
            command,
            stdin=stdin,
            env=invocation.env,
            cwd=invocation.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    first, second = (message.text for message in scenario.messages)
    assert done.stdout.index(first) < done.stdout.index(second)
    sent = prompts_sent(invocation)
    assert len(sent) == 2
    assert scenario.prompts[0] in sent[0] and scenario.prompts[1] in sent[1]


def test_turns_from_an_open_pipe_are_answered_as_they_come(
    claude: str, workdir: Path, tmp_path: Path
) -> None:
    scenario = SCENARIOS["multi_turn"]
    first, second = (message.text for message in scenario.messages)
    command, invocation = command_line(
        "multi_turn", claude, workdir, tmp_path, "-p", "--input-format", "stream-json"
    )
    with subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=invocation.env,
        cwd=invocation.cwd,
        text=True,
    ) as process:
        assert process.stdin and process.stdout and process.stderr
        watchdog = threading.Timer(120, process.kill)  # a hung CLI fails the test
        watchdog.start()
        try:
            process.stdin.write(turn(scenario.prompts[0]))
            process.stdin.flush()
            early = ""
            while first not in early:  # the first answer, while stdin is still open
                line = process.stdout.readline()
                assert line, f"no answer to the first turn: {early!r}"
                early += line
            assert len(invocation.requests()) == 1
            process.stdin.write(turn(scenario.prompts[1]))
            process.stdin.close()
            late = process.stdout.read()
            stderr = process.stderr.read()
        finally:
            watchdog.cancel()
        assert process.wait() == 0, stderr
    assert second not in early and second in late
    assert [request["status"] for request in invocation.requests()] == [200, 200]


def test_a_cli_that_writes_no_frame_never_exits_0(
    claude: str, workdir: Path, tmp_path: Path
) -> None:
    # stream-json input without any turn: the CLI exits 0 and writes nothing
    done, invocation = run_command(
        "multi_turn", claude, workdir, tmp_path, "-p", "--input-format", "stream-json", stdin=b""
    )
    assert done.returncode == 1
    assert done.stderr == "rxclaude run: the CLI wrote no stream-json frame\n"
    assert invocation.requests() == []
