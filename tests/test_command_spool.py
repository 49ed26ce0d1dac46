"""The command reports the spool (``run``, and ``stats`` on a pipe) and shows no secret."""

from __future__ import annotations

import subprocess
from pathlib import Path

from command_process import COMMAND, rxclaude
from test_command_run import FakeClaude, _rows

from rxclaude import sample_path

SECRET = "sk-ant-api03-TOPSECRETVALUE"
TOOL_USE = sample_path("tool_use_partial")


def test_run_reports_the_spool_and_redacts_credentials_in_every_line(tmp_path: Path) -> None:
    claude = FakeClaude(tmp_path)
    settings = f'{{"apiKey": "{SECRET}"}}'
    result = claude.run(
        "--", "-p", "hi", "--settings", settings, exit="2", stderr=f"bad key {SECRET}"
    )
    assert result.returncode == 2
    assert SECRET not in result.stdout + result.stderr
    assert claude.reported()["argv"][:4] == ["-p", "hi", "--settings", settings]  # exact
    rows = _rows(result.stdout)
    assert '"apiKey": "[redacted]"' in rows["source"]
    assert "exited with code 2: bad key sk-ant-[redacted]" in rows["stream error"]
    size = TOOL_USE.stat().st_size
    assert rows["spool"].startswith(f"{size:,} bytes kept · peak ")


def test_stats_reports_the_spool_of_a_pipe_and_none_for_a_file() -> None:
    data = TOOL_USE.read_bytes()
    piped = rxclaude("stats", "--json", "-", stdin=data).json()
    assert piped["spool"]["received_bytes"] == piped["spool"]["delivered_bytes"] == len(data)
    assert piped["spool"]["discarded_bytes"] == 0
    with TOOL_USE.open("rb") as file:
        done = subprocess.run(
            [*COMMAND, "stats", "--json", "-"], stdin=file, capture_output=True, check=True
        )
    assert '"spool": null' in done.stdout.decode()
    assert rxclaude("stats", "--json", str(TOOL_USE)).json()["spool"] is None
