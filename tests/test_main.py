"""The ``rxclaude`` command, run as a subprocess like a user would: the listing, the help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from corpus_files import decode, recording

from rxclaude import sample_names, sample_path

COMMAND = [sys.executable, "-m", "rxclaude"]


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *arguments],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_list_without_recordings_summarises_every_bundled_sample() -> None:
    result = run("list", "--quiet")
    assert result.returncode == 0, result.stderr
    for name in sample_names():
        messages = decode(sample_path(name).read_bytes())
        assert f"== sample {name}" in result.stdout
        assert f"-- {len(messages)} messages" in result.stdout
    assert "0 parse errors" in result.stdout


def test_listing_shows_every_message_with_its_offset(tmp_path: Path) -> None:
    stream = recording("tool_use_partial") + b"[SandboxDebug] junk\n"
    path = tmp_path / "run.jsonl"
    path.write_bytes(stream)
    result = run(str(path))
    assert result.returncode == 0, result.stderr
    split = [line.split() for line in result.stdout.splitlines()]
    rows = [row for row in split if len(row) >= 3 and row[0].isdigit() and row[1].isdigit()]
    assert [int(row[0]) for row in rows] == [m.offset for m in decode(stream)]
    assert "1 parse errors" in result.stdout
    assert "Bash(" in result.stdout


def test_options_without_a_command_are_the_listing_s() -> None:
    bare = run("--quiet", "--sample", "permission_denied")
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout.startswith("== sample permission_denied\n-- 6 messages")


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    # Far more listing than a pipe holds, so the command is still writing when we leave.
    path = tmp_path / "long.jsonl"
    path.write_bytes(b'{"type":"stream_event","event":{"type":"ping"}}\n' * 20_000)
    with subprocess.Popen(
        [*COMMAND, str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline().startswith(b"==")
        process.stdout.close()
        stderr = process.stderr.read()
        process.wait(60)
    assert b"Traceback" not in stderr and b"Broken pipe" not in stderr
    assert process.returncode == 1


def test_the_list_subcommand_is_the_bare_command() -> None:
    def without_timing(text: str) -> list[str]:
        return [
            line.rsplit(",", 1)[0] if line.startswith("--") else line for line in text.splitlines()
        ]

    bare = run("--sample", "thinking_partial")
    listed = run("list", "--sample", "thinking_partial")
    assert bare.returncode == listed.returncode == 0
    assert without_timing(listed.stdout) == without_timing(bare.stdout)
    assert len(listed.stdout.splitlines()) > 21  # a line per message, then the summary


def test_the_help_points_to_the_demo() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "rxclaude demo" in " ".join(result.stdout.split())
    for command in ("list", "view", "stats", "run", "demo"):
        assert f"    {command} " in result.stdout


def test_a_max_frame_bytes_below_one_is_a_usage_error() -> None:
    for value in ("0", "-3", "many"):
        result = run("list", "--max-frame-bytes", value, str(sample_path(sample_names()[0])))
        assert result.returncode == 2
        assert "--max-frame-bytes" in result.stderr
        assert "Traceback" not in result.stderr
