"""``rxclaude demo``: the bundled recordings replayed through the pipeline, at their pace."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from command_process import rxclaude

from rxclaude import sample_names, sample_path
from rxclaude.command.demo import FRAME_MS, load


def _rows(stdout: str) -> dict[str, str]:
    rows = [line.strip().split("  ", 1) for line in stdout.splitlines() if "  " in line.strip()]
    return {label: value.strip() for label, value in rows}


def test_fast_demo_shows_the_view_then_the_stats() -> None:
    result = rxclaude("demo", "--fast")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "No API key, no network." in result.stdout.splitlines()[0]
    assert result.stdout.count("I'll run a command.") == 1
    assert result.stdout.index("✓ done") < result.stdout.index("by type")
    rows = _rows(result.stdout)
    assert rows["source"] == "sample tool_use_partial"
    assert rows["messages"].startswith("32 · ")
    assert rows["result"] == "success (ok) · 2 turns · 262 ms (API 129 ms)"


def test_a_slower_replay_takes_at_least_its_paced_time() -> None:
    # At speed 4 the 262 ms of tool_use_partial take at least 65.5 ms: timers never fire
    # early. The figures' elapsed time covers the whole stream.
    result = rxclaude("demo", "--speed", "4")
    assert result.returncode == 0, result.stderr
    match = re.search(r"· (\d+\.\d+) s$", _rows(result.stdout)["messages"])
    assert match is not None
    assert float(match.group(1)) >= 0.262 / 4


def test_every_sample_can_be_replayed_and_listed() -> None:
    listed = rxclaude("demo", "--list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == sample_names()
    result = rxclaude("demo", "--fast", "--sample", "api_error_529_overloaded")
    assert result.returncode == 0, result.stderr
    assert "✗ API error (server_error)" in result.stdout
    assert _rows(result.stdout)["result"].startswith("success (failed) · 1 turn · 829 ms")


def test_speed_must_be_positive_and_excludes_fast() -> None:
    assert rxclaude("demo", "--speed", "0").returncode == 2
    assert rxclaude("demo", "--speed", "2", "--fast").returncode == 2


@pytest.mark.parametrize("name", sample_names())
def test_the_frames_are_the_recording_and_the_pace_is_the_recorded_duration(name: str) -> None:
    path = sample_path(name)
    frames = load(path)
    lines = path.read_bytes().splitlines(keepends=True)
    assert [frame.chunk for frame in frames] == lines
    decoded = [json.loads(line) for line in lines]
    assert frames[0].delay_ms == 0
    assert sum(frame.delay_ms for frame in frames) == pytest.approx(decoded[-1]["duration_ms"])
    for frame, previous in zip(decoded[1:], [frame.delay_ms for frame in frames[1:]], strict=True):
        event = frame.get("event", {})
        if event.get("type") == "message_start":
            assert previous == frame["ttft_ms"]


def test_the_retry_delay_paces_the_frame_after_an_api_retry() -> None:
    frames = load(sample_path("api_error_529_overloaded"))
    # init, api_retry (retry_delay_ms 585), the error message, the result (829 ms in all)
    assert [frame.delay_ms for frame in frames] == pytest.approx([0, 122, 585, 122])


def test_frames_of_a_turn_without_a_result_take_the_default_pace(tmp_path: Path) -> None:
    lines = sample_path("tool_use_partial").read_bytes().splitlines(keepends=True)[:4]
    path = tmp_path / "cut.jsonl"
    path.write_bytes(b"".join(lines))
    delays = [frame.delay_ms for frame in load(path)]
    ttft = json.loads(lines[2])["ttft_ms"]
    assert delays == [0, FRAME_MS, ttft, FRAME_MS]
