"""Running the ``rxclaude`` command as a subprocess, as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

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
