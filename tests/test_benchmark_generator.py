"""Tests for the seeded stream-json corpus generator used by the benchmarks."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generate import generate, main

TARGET = 2_000_000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    path = tmp_path_factory.mktemp("corpus") / "seed0.jsonl"
    n_bytes, n_messages = generate(path, TARGET, seed=0)
    return path, n_bytes, n_messages


@pytest.fixture(scope="module")
def frames(corpus: tuple[Path, int, int]) -> list[dict[str, Any]]:
    with open(corpus[0], "rb") as f:
        return [json.loads(line) for line in f]


def _kind(frame: dict[str, Any]) -> str:
    if frame["type"] == "system":
        return f"system/{frame['subtype']}"
    if frame["type"] == "stream_event":
        return f"stream_event/{frame['event']['type']}"
    return str(frame["type"])


def test_same_seed_same_bytes_other_seed_other_bytes(
    corpus: tuple[Path, int, int], tmp_path: Path
) -> None:
    again, other = tmp_path / "again.jsonl", tmp_path / "other.jsonl"
    assert generate(again, TARGET, seed=0) == corpus[1:]
    generate(other, TARGET, seed=1)
    assert again.read_bytes() == corpus[0].read_bytes()
    assert other.read_bytes() != corpus[0].read_bytes()


def test_counts_match_file(corpus: tuple[Path, int, int]) -> None:
    path, n_bytes, n_messages = corpus
    data = path.read_bytes()
    assert n_bytes == len(data) >= TARGET
    assert n_bytes < TARGET + 1_000_000  # stops within one API step of the target
    assert n_messages == data.count(b"\n")
    assert data.endswith(b"\n")


def test_every_line_is_a_compact_utf8_json_object_with_type(corpus: tuple[Path, int, int]) -> None:
    with open(corpus[0], "rb") as f:
        for line in f:
            frame = json.loads(line)
            assert isinstance(frame, dict)
            assert isinstance(frame["type"], str)
    data = corpus[0].read_bytes()
    assert b"\\u" not in data  # non-ASCII is raw UTF-8, as the CLI writes it
    assert not data.startswith(b'{"type": ')  # compact separators


def test_delta_share_is_about_sixty_percent(frames: list[dict[str, Any]]) -> None:
    deltas = sum(1 for f in frames if _kind(f) == "stream_event/content_block_delta")
    assert 0.5 <= deltas / len(frames) <= 0.7


def test_frame_kinds_of_a_partial_messages_session(frames: list[dict[str, Any]]) -> None:
    kinds = Counter(_kind(f) for f in frames)
    for kind in (
        "system/init",
        "system/status",
        "stream_event/message_start",
        "stream_event/content_block_start",
        "stream_event/content_block_delta",
        "stream_event/content_block_stop",
        "stream_event/message_delta",
        "stream_event/message_stop",
        "assistant",
        "user",
        "rate_limit_event",
        "result",
    ):
        assert kinds[kind] > 0, kind
    assert kinds["system/init"] == kinds["result"]
    delta_types = {
        f["event"]["delta"]["type"]
        for f in frames
        if _kind(f) == "stream_event/content_block_delta"
    }
    assert {"text_delta", "thinking_delta", "input_json_delta"} <= delta_types
    block_types = {
        b["type"] for f in frames if f["type"] == "assistant" for b in f["message"]["content"]
    }
    assert block_types == {"text", "thinking", "tool_use"}
    assert all("usage" in f["message"] for f in frames if f["type"] == "assistant")
    result = next(f for f in frames if f["type"] == "result")
    assert list(result)[:2] == ["duration_api_ms", "stop_reason"]  # CLI 2.1.332 key order
    assert {"usage", "modelUsage", "total_cost_usd"} <= result.keys()


def test_big_non_ascii_tool_results_with_tool_use_result(frames: list[dict[str, Any]]) -> None:
    users = [f for f in frames if f["type"] == "user"]
    assert all("tool_use_result" in f for f in users)
    contents = [b["content"] for f in users for b in f["message"]["content"]]
    sizes = [len(c.encode()) for c in contents]
    big = [c for c, n in zip(contents, sizes, strict=True) if 20_000 <= n <= 200_000]
    assert big
    assert all(not c.isascii() for c in big)
    assert max(sizes) <= 200_000


def test_cli_writes_the_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.jsonl"
    assert main([str(out), "--mb", "0.5", "--seed", "3"]) == 0
    assert out.stat().st_size >= 500_000
    assert "messages" in capsys.readouterr().out
