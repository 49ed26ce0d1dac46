"""rxclaude.notebook's pandas views: one row per message, one row per metrics snapshot."""

from __future__ import annotations

import json

import pytest
from corpus_files import decode
from reactivex import operators as ops
from reactivex.testing import TestScheduler
from reactivex.testing.reactivetest import ReactiveTest

from rxclaude import _samples
from rxclaude.messages import message_from_json
from rxclaude.metrics import MetricsSnapshot, StreamMetrics, measure
from rxclaude.notebook import MESSAGE_COLUMNS, snapshots_to_dataframe, to_dataframe

pytest.importorskip("pandas")


def test_one_row_per_message_with_the_file_s_figures() -> None:
    data = _samples.sample_path("tool_use_partial").read_bytes() + b"[Sandbox] junk\n"
    frames = [json.loads(line) for line in data.splitlines()[:-1]]
    frame = to_dataframe(decode(data))
    assert list(frame.columns) == list(MESSAGE_COLUMNS)
    assert len(frame) == len(frames) + 1
    assert list(frame["type"][:-1]) == [raw["type"] for raw in frames]
    result = frame[frame["type"] == "result"].iloc[0]
    (raw_result,) = [raw for raw in frames if raw["type"] == "result"]
    assert result["cost_usd"] == raw_result["total_cost_usd"]
    assert result["output_tokens"] == raw_result["usage"]["output_tokens"]
    assert list(frame["tool_names"].dropna()) == ["Bash"]
    assert frame.iloc[-1]["type"] == "parse_error" and frame.iloc[-1]["is_error"]
    assert frame.iloc[-1]["subtype"] == "invalid_json"
    assert "tool_use" in frame[frame["tool_names"] == "Bash"].iloc[0]["kinds"]
    deltas = frame[frame["subtype"] == "content_block_delta"]
    assert "".join(deltas["text"]).startswith("I'll run a command.")


def test_a_metrics_time_series_is_one_row_per_snapshot() -> None:
    scheduler = TestScheduler()
    metrics = StreamMetrics(scheduler=scheduler)
    source = scheduler.create_hot_observable(
        *[ReactiveTest.on_next(200 + 30 * i, i) for i in range(10)],
        ReactiveTest.on_completed(600),
    )
    stream = source.pipe(
        ops.map(lambda i: message_from_json({"type": "assistant"}, nbytes=10)),
        measure(metrics),
    )
    scheduler.schedule_absolute(150.0, lambda *_: stream.subscribe())
    snapshots: list[MetricsSnapshot] = []
    scheduler.schedule_absolute(
        160.0, lambda *_: metrics.observe(100.0).subscribe(snapshots.append)
    )
    scheduler.advance_to(655)
    frame = snapshots_to_dataframe(snapshots)
    assert list(frame.index) == [snapshot.elapsed for snapshot in snapshots]
    # ticks at 260, 360, 460, 560; the frame due at 260 is scheduled first
    assert list(frame["messages_received"]) == [3, 6, 9, 10]
    assert list(frame["bytes_processed"]) == [30, 60, 90, 100]
    assert frame["by_type.assistant"].iloc[-1] == 10
