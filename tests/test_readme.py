"""Every Python block of the README runs as written.

Each block runs in a fresh interpreter from the repository's root. Blocks that start the
CLI find it with ``find_claude()``: ``claude`` on ``PATH`` is, for them, a wrapper that
starts the real CLI through :mod:`rxclaude.testing` against a loopback fake API (the
``plain_text`` scenario, or the one an HTML comment ``<!-- readme-test: scenario=NAME -->``
just before the block names); blocks that use ``rxclaude.testing`` themselves get the CLI
as it is. Without the CLI those blocks skip, and so do blocks that start a private
``redis-server`` (``LocalRedis``) where there is none; the others always run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from rxclaude import find_claude
from rxclaude.testing import SCENARIOS, cli_invocation

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
BLOCK_TIMEOUT = 120
"""Seconds a block may run; only reached when one hangs."""

_FENCE = re.compile(
    r"(?:<!-- readme-test: scenario=(?P<scenario>\w+) -->\n)?```python\n(?P<code>.*?)^```$",
    re.DOTALL | re.MULTILINE,
)
_USES_THE_CLI = ("find_claude", "cli_invocation", "ClaudeSession")


@dataclass(frozen=True)
class Block:
    line: int
    code: str
    scenario: str

    @property
    def uses_the_cli(self) -> bool:
        return any(name in self.code for name in _USES_THE_CLI)


def readme_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [
        Block(
            text.count("\n", 0, match.start("code")) + 1,
            match.group("code"),
            match.group("scenario") or "plain_text",
        )
        for match in _FENCE.finditer(text)
    ]


BLOCKS = readme_blocks()


def test_the_readme_has_python_blocks_and_every_scenario_named_exists() -> None:
    assert len(BLOCKS) >= 5
    assert all(block.scenario in SCENARIOS for block in BLOCKS)


def claude_wrapper(folder: Path, scenario: str, claude: str) -> Path:
    """A ``claude`` in ``folder/bin`` that runs the real CLI against ``scenario`` offline."""
    invocation = cli_invocation(scenario, [], workdir=folder, claude=claude)
    (folder / "bin").mkdir()
    return invocation.write_executable(folder / "bin" / "claude")


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: f"line{block.line}")
def test_readme_block_runs(block: Block, tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    if "LocalRedis" in block.code and shutil.which("redis-server") is None:
        pytest.skip("the block starts redis-server, and none is installed")
    if block.uses_the_cli:
        claude = find_claude()
        if claude is None:
            pytest.skip("the block starts the CLI, and none is installed (the e2e extra)")
        if "cli_invocation" not in block.code:
            wrapper = claude_wrapper(tmp_path, block.scenario, claude)
            env["PATH"] = f"{wrapper.parent}{os.pathsep}{env.get('PATH', os.defpath)}"
    script = tmp_path / f"readme_line{block.line}.py"
    script.write_text(block.code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"README line {block.line}:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
