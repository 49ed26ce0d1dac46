"""``rxclaude run`` on a terminal, without ``-p``: a conversation with the real CLI.

stdin, stdout and stderr are one pseudo-terminal, as in a shell (``input()`` may write
its prompt to stderr); the test types a turn when the
prompt shows and waits for what the terminal shows, never for a time.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from command_process import read_terminal
from conftest import TIMEOUT

from rxclaude.testing import SCENARIOS, cli_invocation

pytestmark = pytest.mark.e2e


def test_run_on_a_terminal_converses_turn_by_turn(claude: str, tmp_path: Path) -> None:
    invocation = cli_invocation("session_turns", [], workdir=tmp_path, claude=claude)
    wrapper = invocation.write_executable(tmp_path / "claude")
    terminal, command_side = pty.openpty()
    command = [sys.executable, "-m", "rxclaude", "run", "--claude", str(wrapper), "--"]
    with subprocess.Popen(
        [*command, "--no-session-persistence"],
        stdin=command_side,
        stdout=command_side,
        stderr=command_side,
        cwd=invocation.cwd,
        env={**invocation.env, "TERM": "dumb"},
    ) as process:
        os.close(command_side)
        try:
            read_terminal(terminal, b"> ")
            os.write(terminal, b"First question\n")
            first = read_terminal(terminal, b"> ")
            os.write(terminal, b"/exit\n")
            code = process.wait(TIMEOUT)
        finally:
            os.close(terminal)
    expected = SCENARIOS["session_turns"].steps[0].kept
    assert expected is not None
    assert code == 0, first
    assert expected.text.encode() in first
    assert [record["status"] for record in invocation.requests()] == [200]
