"""``rxclaude stats``, run as a subprocess: the JSON document against the recording itself."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from command_process import rxclaude
from corpus_files import bundled_recordings

from rxclaude import Kind, sample_names, sample_path
from rxclaude.command import stats

RECORDINGS = [sample_path(name) for name in sample_names()] + [
    path
    for path in bundled_recordings()
    if "parallel_tools" in path.name or "subagent_task" in path.name
]


def _frames(path: Path) -> list[dict[str, Any]]:
    """The recording's frames, decoded line by line without rxclaude."""
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _blocks(frames: list[dict[str, Any]], frame_type: str) -> list[dict[str, Any]]:
    return [
        block
        for frame in frames
        if frame["type"] == frame_type and isinstance(frame["message"]["content"], list)
        for block in frame["message"]["content"]
    ]


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda path: path.stem)
def test_the_json_figures_match_the_recording(path: Path) -> None:
    result = rxclaude("stats", "--json", str(path))
    assert result.returncode == 0, result.stderr
    document = result.json()
    frames = _frames(path)

    messages = document["messages"]
    assert messages["total"] == len(frames)
    assert messages["by_type"] == dict(Counter(frame["type"] for frame in frames))
    assert messages["bytes"] == sum(len(line) for line in path.read_bytes().splitlines())
    system = Counter(frame["subtype"] for frame in frames if frame["type"] == "system")
    assert messages["system_subtypes"] == dict(system)
    assert set(messages["by_kind"]) == {kind.value for kind in Kind}
    assert messages["by_kind"]["complete"] == messages["by_type"].get("result", 0)

    calls = Counter(b["name"] for b in _blocks(frames, "assistant") if b["type"] == "tool_use")
    failed = [
        b for b in _blocks(frames, "user") if b["type"] == "tool_result" and b.get("is_error")
    ]
    tools = document["tools"]
    assert {name: tool["calls"] for name, tool in tools["by_name"].items()} == dict(calls)
    assert tools["calls"] == sum(calls.values())
    assert tools["errors"] == len(failed) == sum(t["errors"] for t in tools["by_name"].values())

    results = [frame for frame in frames if frame["type"] == "result"]
    last = results[-1]
    assert document["result"] == {
        "subtype": last["subtype"],
        "is_error": last["is_error"],
        "num_turns": last["num_turns"],
        "duration_ms": last["duration_ms"],
        "duration_api_ms": last["duration_api_ms"],
        "total_cost_usd": last["total_cost_usd"],
        "stop_reason": last.get("stop_reason"),
        "terminal_reason": last.get("terminal_reason"),
        "api_error_status": last.get("api_error_status"),
        "errors": last.get("errors", []),
    }
    assert document["cost_usd"] == last["total_cost_usd"]
    assert document["tokens"] == {
        "input": sum(r["usage"]["input_tokens"] for r in results),
        "output": sum(r["usage"]["output_tokens"] for r in results),
        "cache_read": sum(r["usage"]["cache_read_input_tokens"] for r in results),
        "cache_creation": sum(r["usage"]["cache_creation_input_tokens"] for r in results),
    }

    latency = document["latency_ms"]
    assert latency["samples"] == len(frames)  # every message is timed
    assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    buffer = document["backpressure"]
    assert buffer["produced"] == buffer["delivered"] == len(frames)
    assert buffer["dropped"] == 0
    assert document["parse_errors"] == {"count": 0, "items": []}
    assert document["stream_error"] is None


def test_parse_errors_are_listed_with_their_offsets_and_reasons(tmp_path: Path) -> None:
    lines = sample_path("tool_use_partial").read_bytes().splitlines(keepends=True)
    debug, binary, cut = b"[SandboxDebug] probe\n", b"\xff\xfe{}\n", lines[6][:40]
    corrupted = b"".join([*lines[:3], debug, *lines[3:10], binary, *lines[10:], cut])
    path = tmp_path / "corrupted.jsonl"
    path.write_bytes(corrupted)
    document = rxclaude("stats", "--json", str(path)).json()

    expected = [
        (corrupted.index(debug), len(debug) - 1, "invalid_json"),
        (corrupted.index(binary), len(binary) - 1, "invalid_utf8"),
        (len(corrupted) - len(cut), len(cut), "truncated"),
    ]
    items = document["parse_errors"]["items"]
    assert [(item["offset"], item["nbytes"], item["reason"]) for item in items] == expected
    assert all(item["detail"] for item in items)
    assert document["parse_errors"]["count"] == 3
    assert document["messages"]["by_type"]["parse_error"] == 3
    assert document["messages"]["total"] == len(lines) + 3
    assert document["errors"]["by_source"] == {"parse": 3}
    assert document["result"]["subtype"] == "success"  # the rest was read on


def test_stdin_is_read_like_a_file() -> None:
    path = sample_path("thinking_partial")
    from_stdin = rxclaude("stats", "--json", "-", stdin=path.read_bytes()).json()
    from_file = rxclaude("stats", "--json", str(path)).json()
    assert from_stdin["source"] == "<stdin>"
    for key in ("messages", "tools", "tokens", "cost_usd", "errors", "parse_errors", "result"):
        assert from_stdin[key] == from_file[key]


def test_the_documented_keys_are_the_keys() -> None:
    document = rxclaude("stats", "--json", "--sample", "permission_denied").json()
    documented = re.findall(r"^``(\w+)``$", stats.__doc__ or "", re.MULTILINE)
    assert list(document) == documented
    assert document["source"] == "sample permission_denied"
    assert document["errors"]["by_source"] == {"tool_result": 1}
    assert document["tools"]["by_name"]["Write"]["errors"] == 1


def test_the_table_is_plain_aligned_text_off_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "with_junk.jsonl"
    path.write_bytes(b"junk\n" + sample_path("tool_use_partial").read_bytes())
    result = rxclaude("stats", str(path))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    rows = dict(
        re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in result.stdout.splitlines()
    )
    assert rows["messages"].startswith("33 · ")
    assert rows["parse errors"] == "1"
    assert rows["at byte 0"].startswith("invalid_json: ")
    assert rows["Bash"].startswith("1 call · 0 failed")
    assert rows["result"] == "✓ done · completed · 2 turns · 262 ms (API 129 ms)"
    assert rows["cost"] == "$0.000762"
    value_columns = set()
    for line in result.stdout.splitlines():
        match = re.match(r"\s*\S.*?\s{2,}(\S)", line)
        assert match is not None, line
        value_columns.add(match.start(1))
    assert len(value_columns) == 1  # aligned


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "table"])
def test_a_line_nested_ten_thousand_deep_is_one_parse_error_between_the_frames(
    tmp_path: Path, as_json: bool
) -> None:
    lines = sample_path("tool_use_partial").read_bytes().splitlines(keepends=True)
    deep = b'{"type":"assistant","message":{"content":[{"type":"tool_use","input":{"x":'
    deep += b"[" * 10_000 + b"]" * 10_000 + b"}}]}}\n"
    stream = b"".join([*lines[:3], deep, *lines[3:]])
    path = tmp_path / "deep.jsonl"
    path.write_bytes(stream)
    result = rxclaude("stats", *(["--json"] if as_json else []), str(path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    if not as_json:
        assert f"at byte {stream.index(deep)}" in result.stdout
        assert "invalid_json: the JSON value nests deeper than 512 levels" in result.stdout
        return
    document = result.json()
    (error,) = document["parse_errors"]["items"]
    assert (error["offset"], error["nbytes"]) == (stream.index(deep), len(deep) - 1)
    assert error["reason"] == "invalid_json"
    assert document["messages"]["total"] == len(lines) + 1
    assert document["tools"]["by_name"]["Bash"]["calls"] == 1
    assert document["result"]["subtype"] == "success"


# -- issue #13, item 4: the first parse errors, honest figures for recordings ------------


def _table(stdout: str) -> dict[str, str]:
    return dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in stdout.splitlines())


def test_the_first_parse_errors_are_listed_and_the_rest_counted(tmp_path: Path) -> None:
    first = sample_path("permission_denied").read_bytes()
    junk = [f"[debug] line {n}\n".encode() for n in range(25)]
    stream = first + b"".join(junk)
    path = tmp_path / "noisy.jsonl"
    path.write_bytes(stream)
    offsets = [stream.index(line) for line in junk]

    document = rxclaude("stats", "--json", str(path)).json()
    assert document["parse_errors"]["count"] == 25
    assert [item["offset"] for item in document["parse_errors"]["items"]] == offsets[:20]

    result = rxclaude("stats", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    listed = [line.split()[2] for line in lines if line.lstrip().startswith("at byte ")]
    assert listed == [str(offset) for offset in offsets[:20]]
    assert _table(result.stdout)["…"] == "5 more"


def test_objects_without_a_type_are_shown_with_a_placeholder(tmp_path: Path) -> None:
    path = tmp_path / "untyped.jsonl"
    path.write_bytes(b'{"type":"system","subtype":"init"}\n{"no":"type"}\n')
    assert _table(rxclaude("stats", str(path)).stdout)["by type"] == "(no type) 1 · system 1"
    assert rxclaude("stats", "--json", str(path)).json()["messages"]["by_type"][""] == 1
    listing = rxclaude("list", str(path)).stdout.splitlines()
    assert listing[3].split()[2] == "(no"  # offset, bytes, then the placeholder
    assert "(no type)" in listing[3]
    assert "        1  (no type)" in listing


def test_costs_are_rounded_where_they_are_printed() -> None:
    # the CLI wrote total_cost_usd 0.0007620000000000001 in this recording
    listing = rxclaude("list", "--sample", "tool_use_partial").stdout
    assert "cost=$0.000762\n" in listing
    assert "0000000" not in listing
    table = _table(rxclaude("stats", "--sample", "tool_use_partial").stdout)
    assert table["cost"] == "$0.000762"


def test_without_samples_the_latency_is_none_not_zero() -> None:
    result = rxclaude("stats", "--json", "-", stdin=b"")
    assert result.returncode == 0, result.stderr
    latency = result.json()["latency_ms"]
    assert latency == {"p50": None, "p90": None, "p99": None, "max": None, "samples": 0}
    assert _table(rxclaude("stats", "-", stdin=b"").stdout)["latency"] == "none sampled"


def test_a_recording_s_timings_are_reading_times_and_say_so() -> None:
    result = rxclaude("stats", "--sample", "tool_use_partial")
    table = _table(result.stdout)
    assert "throughput" not in table
    assert re.fullmatch(r"[\d,]+ msg/s · [\d.,]+ MB/s", table["read speed"])
    assert re.fullmatch(r"32 · 15,309 bytes · read in \d+\.\d{3} s", table["messages"])
    assert table["Bash"] == "1 call · 0 failed"  # no duration: the recording has none
    document = rxclaude("stats", "--json", "--sample", "tool_use_partial").json()
    assert document["live"] is False
    bash = document["tools"]["by_name"]["Bash"]
    assert bash["duration_ms"] == {"total": None, "mean": None, "max": None}


def test_a_pipe_s_timings_are_its_own() -> None:
    piped = sample_path("tool_use_partial").read_bytes()
    table = _table(rxclaude("stats", "-", stdin=piped).stdout)
    assert "read speed" not in table
    assert re.fullmatch(r"[\d,]+ msg/s · [\d.,]+ MB/s", table["throughput"])
    assert re.fullmatch(r"1 call · 0 failed · \d+ ms total · max \d+ ms", table["Bash"])
    document = rxclaude("stats", "--json", "-", stdin=piped).json()
    assert document["live"] is True
    assert document["tools"]["by_name"]["Bash"]["duration_ms"]["total"] >= 0


def test_the_result_row_says_a_turn_that_died_on_an_api_error_failed() -> None:
    # the CLI wrote subtype "success" with is_error true and terminal_reason api_error
    table = _table(rxclaude("stats", "--sample", "api_error_529_overloaded").stdout)
    assert table["result"].startswith("✗ error · terminal_reason api_error · API 529 · 1 turn")
    document = rxclaude("stats", "--json", "--sample", "api_error_529_overloaded").json()
    assert document["result"]["subtype"] == "success"
    assert document["result"]["is_error"] is True
    assert document["result"]["terminal_reason"] == "api_error"
    assert document["result"]["api_error_status"] == 529
