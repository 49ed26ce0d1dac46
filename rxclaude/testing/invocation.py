"""How to start the real CLI against the fake API, on loopback only.

:func:`cli_invocation` gives the argument list, environment and working directory of one
run: the argument list starts the launcher (:mod:`rxclaude.testing.sandbox`), inside
``unshare -n`` where that works, which serves the scenario on 127.0.0.1 and runs the CLI.
:meth:`CLIInvocation.source` starts it through :func:`rxclaude.from_cli`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pickle
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reactivex import Observable

from rxclaude.interactive import ClaudeSession
from rxclaude.sources import SpooledSource, find_claude, from_cli

from .catalogue import SCENARIOS
from .fake_api import LOOPBACK
from .scenario import Scenario

PACKAGE_PARENT = Path(__file__).resolve().parents[2]
"""The folder that holds the ``rxclaude`` package: the launcher's ``PYTHONPATH``."""

FAKE_API_KEY = "sk-ant-fake-offline-key"
"""The API key every run gets: the fake API accepts anything, and no real key is ever used."""


@functools.cache
def can_isolate() -> bool:
    """Whether ``unshare -n`` works here (probed once): runs are then loopback-only."""
    if shutil.which("unshare") is None:
        return False
    try:
        probe = subprocess.run(
            ["unshare", "-n", "true"], check=False, capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@dataclass(frozen=True)
class CLIInvocation:
    """How to start one CLI run: ``from_cli(argv, cwd=cwd, env=env)``."""

    argv: list[str]
    env: dict[str, str]
    """The complete environment: fresh HOME, dummy key, loopback base URL, no traffic,
    and the scenario's own settings (``Scenario.env``)."""
    cwd: Path
    """The CLI's working directory: empty but for the scenario's project files."""
    home: Path
    """The run's own ``HOME`` (the CLI writes its settings and transcripts there)."""
    request_log: Path
    """JSON lines, one per request the fake API received."""
    isolated: bool
    """True when the run is inside ``unshare -n`` (loopback only)."""

    def requests(self) -> list[dict[str, Any]]:
        """The request log's records, in arrival order."""
        with self.request_log.open(encoding="utf-8") as log:
            return [json.loads(line) for line in log]

    def source(self, *, input: Observable[bytes] | None = None, **options: Any) -> SpooledSource:
        """The run as a source of stdout chunks: :func:`~rxclaude.from_cli` with this
        run's argument list, directory and environment; ``options`` go to ``from_cli``."""
        return from_cli(self.argv, cwd=self.cwd, env=self.env, input=input, **options)

    def write_executable(self, path: Path) -> Path:
        """An executable at ``path`` that starts this run's CLI with the arguments it is
        given, in this run's environment and directory: the path to hand a program that
        starts the CLI itself (``rxclaude run --claude PATH``, ``find_claude`` on ``PATH``).
        """
        settings = "".join(
            f"export {name}={shlex.quote(value)}\n" for name, value in self.env.items()
        )
        path.write_text(
            f"#!/bin/sh\n{settings}cd {shlex.quote(str(self.cwd))}\n"
            f'exec {shlex.join(self.argv)} "$@"\n',
            encoding="utf-8",
        )
        path.chmod(0o755)
        return path

    def session(self, **options: Any) -> ClaudeSession:
        """An interactive session of this run (not started): :class:`~rxclaude.interactive.
        ClaudeSession` with this run's argument list (whose CLI arguments are the session's
        ``args``), directory and environment; ``options`` go to ``ClaudeSession``."""
        return ClaudeSession(self.argv, cwd=self.cwd, env=self.env, **options)


def cli_invocation(
    scenario: str | Scenario,
    claude_args: Sequence[str],
    *,
    workdir: Path | None = None,
    claude: str | None = None,
) -> CLIInvocation:
    """A fresh run of the CLI (``claude``, or :func:`~rxclaude.find_claude`'s) against
    ``scenario`` (a built-in one's name, or a :class:`Scenario` of your own).

    Creates a new directory under ``workdir`` (default: the system's temporary folder)
    holding the HOME, the project directory (with the scenario's files) and the request
    log. Nothing is started until the argument list is run.

    Raises:
        KeyError: no built-in scenario has that name.
        FileNotFoundError: no CLI was given or found.
    """
    script = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    executable = claude if claude is not None else find_claude()
    if executable is None:
        raise FileNotFoundError(
            "the Claude Code CLI was not found: pip install 'rxclaude[e2e]' bundles it"
        )
    run_dir = Path(tempfile.mkdtemp(prefix=f"{script.name}-", dir=workdir))
    home, project = run_dir / "home", run_dir / "project"
    home.mkdir()
    project.mkdir()
    for name, content in script.project_files.items():
        (project / name).write_text(content, encoding="utf-8")
    request_log = run_dir / "requests.jsonl"
    request_log.touch()
    env = {
        **script.env,  # first: the settings below always win
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "PYTHONPATH": str(PACKAGE_PARENT),  # for the launcher; it drops it for the CLI
        "ANTHROPIC_API_KEY": FAKE_API_KEY,
        "ANTHROPIC_BASE_URL": f"http://{LOOPBACK}",  # the launcher adds the fake API's port
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_MAX_RETRIES": str(script.max_retries),
    }
    launcher = [sys.executable, "-m", "rxclaude.testing.sandbox"]
    if isinstance(scenario, str):
        launcher += ["--scenario", scenario]
    else:
        # The launcher needs the replies only: the harness wrote the files, set the env.
        scenario_file = run_dir / "scenario.pickle"
        served = dataclasses.replace(script, project_files={}, env={})
        scenario_file.write_bytes(pickle.dumps(served))
        launcher += ["--scenario-file", str(scenario_file)]
    launcher += ["--request-log", str(request_log)]
    isolated = can_isolate()
    if isolated:
        launcher = ["unshare", "-n", "--", *launcher, "--isolated"]
    argv = [*launcher, "--", executable, *claude_args]
    return CLIInvocation(argv, env, project, home, request_log, isolated)
