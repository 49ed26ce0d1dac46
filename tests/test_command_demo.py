"""``rxclaude demo``: the bundled recordings replayed through the pipeline, at a watchable
pace by default, at their recorded pace (``--speed``) or without delays (``--fast``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from command_process import rxclaude

from rxclaude import sample_names, sample_path
from rxclaude.command.demo import (
    FRAME_MS,
    SAMPLE_NOTES,
    WATCH_MAX_MS,
    WATCH_MIN_MS,
    Frame,
    load,
    watchable,
)


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
    assert rows["result"] == "✓ done · completed · 2 turns · 262 ms (API 129 ms)"


def test_a_slower_replay_takes_at_least_its_paced_time() -> None:
    # At speed 4 the 262 ms of tool_use_partial take at least 65.5 ms: timers never fire
    # early. The figures' elapsed time covers the whole stream.
    result = rxclaude("demo", "--speed", "4")
    assert result.returncode == 0, result.stderr
    match = re.search(r"· (\d+\.\d+) s$", _rows(result.stdout)["messages"])
    assert match is not None
    assert float(match.group(1)) >= 0.262 / 4


def test_the_list_names_every_sample_with_its_pace_and_what_it_shows() -> None:
    result = rxclaude("demo", "--list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "api_error_529_overloaded     4 frames  829 ms recorded   4.0 s to watch  "
        "the API is overloaded: a retry, then the turn fails",
        "permission_denied            6 frames  255 ms recorded   4.0 s to watch  "
        "a Write the permissions refuse, then the answer",
        "thinking_partial            21 frames  170 ms recorded   4.0 s to watch  "
        "a thinking block and a short answer, streamed as deltas",
        "tool_use_partial            32 frames  262 ms recorded   4.0 s to watch  "
        "a Bash round-trip streamed as deltas (the default)",
    ]
    assert sorted(SAMPLE_NOTES) == sample_names()


def test_the_api_error_sample_ends_labelled_by_its_terminal_reason() -> None:
    result = rxclaude("demo", "--fast", "--sample", "api_error_529_overloaded")
    assert result.returncode == 0, result.stderr
    assert "✗ API error (server_error)" in result.stdout
    assert (
        "✗ error · terminal_reason api_error · API 529 · 1 turn · 829 ms · 0 in / 0 out tokens · $0"
        in result.stdout.splitlines()
    )
    assert "1 turn · 829 ms" in _rows(result.stdout)["result"]


def test_by_default_the_replay_is_stretched_to_be_watchable() -> None:
    result = rxclaude("demo", "--sample", "api_error_529_overloaded")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "rxclaude demo: sample api_error_529_overloaded (4 frames, 829 ms as recorded), "
        "replayed over 4.0 s (--speed 1: as recorded, --fast: without delays)"
    )
    match = re.search(r"· (\d+\.\d+) s$", _rows(result.stdout)["messages"])
    assert match is not None
    assert float(match.group(1)) >= WATCH_MIN_MS / 1000  # timers never fire early


def frames(*delays: float) -> list[Frame]:
    return [Frame(b"{}\n", delay) for delay in delays]


def test_a_quick_recording_is_stretched_keeping_its_proportions() -> None:
    paced = [frame.delay_ms for frame in watchable(frames(0, 100, 300))]
    assert paced == pytest.approx([0, WATCH_MIN_MS / 4, WATCH_MIN_MS * 3 / 4])


def test_a_long_recording_is_compressed_to_the_longest_replay() -> None:
    paced = [frame.delay_ms for frame in watchable(frames(0, 30_000, 90_000))]
    assert paced == pytest.approx([0, WATCH_MAX_MS / 4, WATCH_MAX_MS * 3 / 4])


def test_a_recording_between_the_bounds_keeps_its_pace() -> None:
    recorded = frames(0, 2_000, 5_000)
    assert watchable(recorded) == recorded


def test_a_recording_with_no_time_is_spread_evenly_and_one_frame_comes_at_once() -> None:
    even = WATCH_MIN_MS / 3
    assert [frame.delay_ms for frame in watchable(frames(0, 0, 0, 0))] == [0, even, even, even]
    assert watchable(frames(0)) == frames(0)


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
