"""``rxclaude run`` driving the real CLI against the fake API, as a user would run it."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rxclaude.testing import SCENARIOS, CLIInvocation, cli_invocation

pytestmark = pytest.mark.e2e


def run_command(
    scenario: str, claude: str, workdir: Path, tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], CLIInvocation]:
    """``rxclaude run --claude WRAPPER -- -p PROMPT``, where the wrapper starts the CLI in
    the sandbox that serves ``scenario``; the command adds the stream-json flags itself."""
    invocation = cli_invocation(scenario, [], workdir=workdir, claude=claude)
    wrapper = tmp_path / "claude"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.join(invocation.argv)} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    prompt = SCENARIOS[scenario].prompts[0]
    command = [sys.executable, "-m", "rxclaude", "run", "--claude", str(wrapper), "--"]
    done = subprocess.run(
        [*command, "-p", prompt, "--no-session-persistence"],
        env=invocation.env,
        cwd=invocation.cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, invocation


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
