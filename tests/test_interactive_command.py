"""``rxclaude.command.interactive``: the terminal conversation, against the real CLI and
the fake API, with the typed lines scripted and the console written to a string."""

from __future__ import annotations

import io
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TIMEOUT
from rich.console import Console
from waiting import wait_until

from rxclaude import find_claude
from rxclaude.command.interactive import EXIT, converse, terminal_session
from rxclaude.testing import SCENARIOS, Scenario, Streamed, cli_invocation, reply, text_block

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        find_claude() is None, reason="the Claude Code CLI was not found (the e2e extra)"
    ),
]


class Typist:
    """Answers each prompt with the next scripted line (None: end of input); records the
    prompts it was shown."""

    def __init__(self, lines: list[str | None]) -> None:
        self.lines: Iterator[str | None] = iter(lines)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str | None:
        self.prompts.append(prompt)
        return next(self.lines, None)


def conversation(
    scenario: str, lines: list[str | None], workdir: Path
) -> tuple[int, str, Typist, Path]:
    invocation = cli_invocation(scenario, [], workdir=workdir)
    output = io.StringIO()
    console = Console(file=output, force_terminal=False, width=200)
    typist = Typist(lines)
    session = terminal_session(
        invocation.argv,
        ["--permission-mode", "default", "--no-session-persistence"],
        console,
        typist,
        cwd=invocation.cwd,
        env=invocation.env,
    )
    code = converse(session, console, typist)
    return code, output.getvalue(), typist, invocation.cwd


def test_a_permission_prompt_allowed_on_the_terminal(tmp_path: Path) -> None:
    scenario = SCENARIOS["permission_write"]
    code, output, typist, cwd = conversation(
        "permission_write", [scenario.prompts[0], "y", EXIT], tmp_path
    )
    assert code == 0
    assert typist.prompts == ["> ", "allow? [y/N] ", "> "]
    assert (cwd / "out.txt").read_text() == "data\n"
    lines = output.splitlines()
    text_before, text_after = (message.text for message in scenario.messages)
    assert lines[0] == text_before
    assert lines[1] == "⚙ Write"
    assert lines[3].startswith('? Write {"file_path": ')
    assert lines[4].startswith("✓ ")
    assert lines[5] == text_after
    assert lines[6].startswith("[success: 2 model turns, ")


def test_a_permission_prompt_refused_and_the_end_of_input(tmp_path: Path) -> None:
    scenario = SCENARIOS["permission_write"]
    code, output, typist, cwd = conversation(
        "permission_write", [scenario.prompts[0], "n"], tmp_path
    )
    assert code == 0
    assert typist.prompts == ["> ", "allow? [y/N] ", "> "]  # the last one read the end
    assert not (cwd / "out.txt").exists()
    assert "✗ The user did not allow this tool call." in output


def test_terminal_controls_in_the_stream_are_shown_not_obeyed(tmp_path: Path) -> None:
    hostile = Scenario("hostile", (reply("msg_hostile", text_block("red \x1b[31m bell \x07")),))
    invocation = cli_invocation(hostile, [], workdir=tmp_path)
    output = io.StringIO()
    console = Console(file=output, force_terminal=False, width=200)
    typist = Typist(["Say it.", None])
    session = terminal_session(
        invocation.argv, [], console, typist, cwd=invocation.cwd, env=invocation.env
    )
    assert converse(session, console, typist) == 0
    assert "\x1b" not in output.getvalue() and "\x07" not in output.getvalue()
    assert "red ␛[31m bell ␇" in output.getvalue()


def test_ctrl_c_during_an_answer_interrupts_the_turn(tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) while the answer streams: the turn is interrupted, the conversation
    goes on to the next prompt."""
    scenario = SCENARIOS["interrupted"]
    invocation = cli_invocation("interrupted", [], workdir=tmp_path)
    output = io.StringIO()
    console = Console(file=output, force_terminal=False, width=200)
    typist = Typist([scenario.prompts[0], scenario.prompts[1], None])
    session = terminal_session(
        invocation.argv, [], console, typist, cwd=invocation.cwd, env=invocation.env
    )
    streamed = scenario.steps[0].streaming
    assert isinstance(streamed, Streamed)
    three_deltas = "".join(
        data["delta"]["text"] for name, data in streamed.events() if name == "content_block_delta"
    )

    def press_ctrl_c() -> None:
        wait_until(lambda: three_deltas in output.getvalue())
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c, daemon=True)
    presser.start()
    assert converse(session, console, typist) == 0
    presser.join(TIMEOUT)
    lines = output.getvalue().splitlines()
    assert lines[0] == three_deltas
    assert lines[1].startswith("[error_during_execution: ")
    assert lines[2] == scenario.messages[-1].text
    assert typist.prompts == ["> ", "> ", "> "]
