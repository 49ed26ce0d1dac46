"""``rxclaude view --follow``: a live session's transcript shown as it is written, until
Ctrl-C (exit 130). The test appends to the files and waits for the command's output lines;
no sleeps."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from command_process import COMMAND
from transcript_files import append, assistant_entry, entry, line, write
from waiting import wait_until

S1 = "11111111-1111-4111-8111-111111111111"
S2 = "22222222-2222-4222-8222-222222222222"


class Following:
    """``rxclaude view --follow FOLDER`` running, its output lines gathered as they come."""

    def __init__(self, folder: Path, home: Path) -> None:
        env = {**os.environ, "HOME": str(home), "TZ": "UTC"}
        self.process = subprocess.Popen(
            [*COMMAND, "view", "--follow", str(folder)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.append(raw.decode().rstrip("\n"))

    def interrupt(self) -> str:
        """Ctrl-C; waits for the command to end and returns its stderr."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        self._reader.join(timeout=60)
        assert self.process.stderr is not None
        return self.process.stderr.read().decode()

    def shows(self, *expected: str) -> None:
        """Waits until the output's last lines are ``expected``."""
        wait_until(lambda: tuple(self.lines[-len(expected) :]) == expected)


@pytest.fixture
def following(tmp_path: Path) -> Iterator[tuple[Following, Path]]:
    folder = tmp_path / "projects" / "-home-u-alpha"
    write(
        folder / f"{S1}.jsonl",
        entry("user", 0, sessionId=S1, message={"role": "user", "content": "build it"}),
    )
    running = Following(folder.parent, tmp_path)
    yield running, folder
    if running.process.poll() is None:
        running.process.kill()
    running.process.wait(timeout=60)


def text(at: float, message_id: str, words: str, session: str) -> bytes:
    content = [{"type": "text", "text": words}]
    return line(assistant_entry(at, message_id, "r", content=content, session=session))


def test_lines_and_files_are_shown_as_they_are_written_until_ctrl_c(
    following: tuple[Following, Path],
) -> None:
    running, folder = following
    running.shows(f"── -home-u-alpha · session {S1}", "> build it")

    append(folder / f"{S1}.jsonl", text(1, "m1", "on it", S1))
    running.shows("> build it", "on it")

    write(  # a session that starts while it is followed
        folder / f"{S2}.jsonl",
        entry("user", 2, sessionId=S2, message={"role": "user", "content": "other"}),
    )
    running.shows(f"── -home-u-alpha · session {S2}", "> other")

    cut = text(3, "m2", "done", S1)
    append(folder / f"{S1}.jsonl", cut[:20])  # a line written in two goes
    append(folder / f"{S1}.jsonl", cut[20:])
    running.shows(f"── -home-u-alpha · session {S1}", "done")

    assert running.interrupt() == "rxclaude: interrupted\n"
    assert running.process.returncode == 130
    assert running.lines == [
        f"── -home-u-alpha · session {S1}",
        "> build it",
        "on it",
        f"── -home-u-alpha · session {S2}",
        "> other",
        f"── -home-u-alpha · session {S1}",
        "done",
    ]
