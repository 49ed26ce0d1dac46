"""Fixtures of the e2e tests: the CLI (tests marked ``e2e`` skip without it), a workdir,
and the ``long_text`` run that the scenario and backpressure tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import PARTIALS, CLIRun, find_cli, prompt_args, run_cli

SKIP_REASON = (
    "the Claude Code CLI was not found: no `claude` on PATH and no binary bundled by "
    "claude-agent-sdk (pip install -e '.[e2e]')"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: runs the real Claude Code CLI against the loopback fake API"
    )


@pytest.fixture(scope="session")
def claude() -> str:
    """The CLI's path; skips the test when there is none."""
    path = find_cli()
    if path is None:
        pytest.skip(SKIP_REASON)
    return path


@pytest.fixture(autouse=True)
def _skip_e2e_without_claude(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("e2e") is not None:
        request.getfixturevalue("claude")


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where CLI runs keep their HOME, project directory and request log."""
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def long_text(claude: str, workdir: Path) -> CLIRun:
    """``long_text`` with partial messages, unthrottled (over a thousand frames)."""
    return run_cli("long_text", prompt_args("long_text", PARTIALS), workdir=workdir)
