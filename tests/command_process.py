"""Running the ``rxclaude`` command as a subprocess, as a user would, and reading what it
shows as it shows it (a pipe line by line, a pseudo-terminal), never waiting for a time."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

from conftest import TIMEOUT

COMMAND = [sys.executable, "-m", "rxclaude"]
CHILDREN = Path(__file__).parent / "children"


class Outcome(NamedTuple):
    """How a run of the command ended."""

    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout, parsed as one JSON document."""
        return json.loads(self.stdout)


def rxclaude(*arguments: str, stdin: bytes = b"", env: Mapping[str, str] | None = None) -> Outcome:
    """Run ``rxclaude ARGUMENTS`` with pipes for stdin, stdout and stderr."""
    done = subprocess.run(
        [*COMMAND, *arguments],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
        env=None if env is None else dict(env),
    )
    return Outcome(done.returncode, done.stdout.decode(), done.stderr.decode())


def executable(path: Path, script: Path) -> Path:
    """An executable at ``path`` that runs the Python ``script`` with this interpreter."""
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    path.chmod(0o755)
    return path


def read_lines_until(stream: IO[bytes], marker: bytes) -> bytes:
    """Lines of ``stream`` up to the one holding ``marker`` (fails at its end)."""
    seen = b""
    while marker not in seen:
        line = stream.readline()
        assert line, f"{marker!r} never came; got {seen!r}"
        seen += line
    return seen


def read_terminal(fd: int, marker: bytes) -> bytes:
    """What the pseudo-terminal ``fd`` shows until ``marker`` appears in it."""
    seen = b""
    end = time.monotonic() + TIMEOUT
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], max(end - time.monotonic(), 0))
        assert ready, f"{marker!r} not shown; the terminal shows {seen!r}"
        seen += os.read(fd, 65536)
    return seen


def read_terminal_to_end(fd: int) -> bytes:
    """What the pseudo-terminal ``fd`` shows until the command closes it (Linux: EIO)."""
    seen = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return seen
        if not chunk:
            return seen
        seen += chunk


@contextmanager
def watched(arguments: list[str], **options: Any) -> Iterator[subprocess.Popen[bytes]]:
    """``subprocess.Popen(arguments, **options)``, killed if it still runs after
    ``TIMEOUT``: a test waiting on a command that never answers fails instead of hanging."""
    with subprocess.Popen(arguments, **options) as process:
        watchdog = threading.Timer(TIMEOUT, process.kill)
        watchdog.start()
        try:
            yield process
        finally:
            watchdog.cancel()


def colour_terminal() -> tuple[int, int, dict[str, str]]:
    """A 30 x 120 pseudo-terminal and an environment in which the command sees a colour
    terminal: the side to read, the side to give the command, and the environment."""
    terminal, command_side = pty.openpty()
    fcntl.ioctl(command_side, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "LINES")
    }
    environment["TERM"] = "xterm-256color"
    return terminal, command_side, environment
