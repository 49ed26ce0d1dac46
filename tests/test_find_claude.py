"""``find_claude``: ``claude`` on PATH first, then the binary bundled in claude-agent-sdk."""

from __future__ import annotations

import importlib.util
import stat
import sys
from pathlib import Path

import pytest

from rxclaude import find_claude


def executable(path: Path, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(mode)
    return path


@pytest.fixture
def fake_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable ``claude_agent_sdk`` package in ``tmp_path/site`` (ahead of the real
    one), without a bundled binary yet; PATH is an empty directory."""
    package = tmp_path / "site" / "claude_agent_sdk"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('find_claude must not import me')\n")
    monkeypatch.delitem(sys.modules, "claude_agent_sdk", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return package


def test_claude_on_path_comes_first(
    fake_sdk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    executable(fake_sdk / "_bundled" / "claude")
    on_path = executable(tmp_path / "bin" / "claude")
    monkeypatch.setenv("PATH", f"{tmp_path / 'nothing-here'}:{on_path.parent}")
    assert find_claude() == str(on_path)


def test_the_bundled_binary_when_path_has_none(fake_sdk: Path) -> None:
    bundled = executable(fake_sdk / "_bundled" / "claude")
    assert find_claude() == str(bundled)


def test_a_claude_on_path_that_cannot_run_is_passed_over(
    fake_sdk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_runnable = executable(tmp_path / "bin" / "claude", mode=stat.S_IRUSR | stat.S_IWUSR)
    monkeypatch.setenv("PATH", str(not_runnable.parent))
    bundled = executable(fake_sdk / "_bundled" / "claude")
    assert find_claude() == str(bundled)


def test_none_when_the_package_has_no_runnable_binary(fake_sdk: Path) -> None:
    assert find_claude() is None
    executable(fake_sdk / "_bundled" / "claude", mode=0o644)
    assert find_claude() is None
    (fake_sdk / "_bundled" / "claude").unlink()
    (fake_sdk / "_bundled" / "claude").mkdir()
    assert find_claude() is None


def test_none_without_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: None)
    assert find_claude() is None


def test_the_e2e_extra_provides_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With claude-agent-sdk installed (the ``e2e`` extra), the bundled CLI is found."""
    if importlib.util.find_spec("claude_agent_sdk") is None:
        pytest.skip("claude-agent-sdk (the e2e extra) is not installed")
    monkeypatch.setenv("PATH", str(tmp_path))
    found = find_claude()
    assert found is not None
    assert Path(found).parts[-3:] == ("claude_agent_sdk", "_bundled", "claude")
    assert Path(found).stat().st_mode & stat.S_IXUSR
