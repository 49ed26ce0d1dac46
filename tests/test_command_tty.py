"""``rxclaude view`` on a terminal (a pseudo-terminal): colours, a status line, live text.

Only stdout is the terminal; stdin is a pipe, so the test decides when each part of the
stream arrives and waits for what the terminal shows, never for a time.
"""

from __future__ import annotations

import os
import subprocess

from command_process import COMMAND, colour_terminal, read_terminal, read_terminal_to_end
from conftest import TIMEOUT

from rxclaude import sample_path


def test_a_terminal_gets_colours_a_status_line_and_the_text_as_it_streams() -> None:
    lines = sample_path("tool_use_partial").read_bytes().splitlines(keepends=True)
    first_delta = next(n for n, line in enumerate(lines) if b'"text_delta"' in line)
    terminal, command_side, environment = colour_terminal()
    with subprocess.Popen(
        [*COMMAND, "view", "-"],
        stdin=subprocess.PIPE,
        stdout=command_side,
        stderr=subprocess.PIPE,
        env=environment,
    ) as process:
        os.close(command_side)
        assert process.stdin is not None and process.stderr is not None
        try:
            # Up to the first text delta, "I'll run a c": the live region shows it at once.
            process.stdin.write(b"".join(lines[: first_delta + 1]))
            process.stdin.flush()
            early = read_terminal(terminal, b"I'll run a c")
            assert b"I'll run a command." not in early  # the rest has not been sent
            process.stdin.write(b"".join(lines[first_delta + 1 :]))
            process.stdin.close()
            late = read_terminal(terminal, "✓ done".encode()) + read_terminal_to_end(terminal)
        finally:
            os.close(terminal)
        stderr = process.stderr.read()
        assert process.wait(TIMEOUT) == 0, stderr
    shown = early + late
    assert b"\x1b[" in shown  # colours and cursor movements
    assert " messages · ".encode() in shown  # the status line
    assert b"I'll run a command." in late
    assert b"Done: the command printed its output." in late
    assert b"Traceback" not in stderr
