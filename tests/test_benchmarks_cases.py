"""The benchmark's cases on a tiny corpus: structure and message counts, never timings."""

from __future__ import annotations

import importlib.util
import itertools
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from benchmarks import run
from benchmarks.bounds import _split_tool_use_results, _utf8_checked, bound_ratio, measure_bounds
from benchmarks.common import BenchmarkError, CaseUnavailableError
from benchmarks.concurrent_streams import THREADS_PER_STREAM, ConcurrentStreams
from benchmarks.generate import generate
from benchmarks.latency import run_latency
from benchmarks.paced_writer import STAMP_KEY, frame_bodies
from benchmarks.replay import replay_corpus
from benchmarks.sdk_path import SdkPath

SDK_INSTALLED = importlib.util.find_spec("claude_agent_sdk") is not None
SDK_MODULES = (
    "claude_agent_sdk",
    "claude_agent_sdk._errors",
    "claude_agent_sdk._internal.message_parser",
    "claude_agent_sdk._internal.transport.subprocess_cli",
)
REDIS_AVAILABLE = (
    importlib.util.find_spec("redis") is not None and shutil.which("redis-server") is not None
)
needs_sdk = pytest.mark.skipif(not SDK_INSTALLED, reason="claude-agent-sdk (e2e extra) missing")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes]]:
    path = tmp_path_factory.mktemp("bench") / "tiny.jsonl"
    generate(path, 200_000, seed=5)
    return path, path.read_bytes().splitlines(keepends=True)


def _frame_type(line: bytes) -> str:
    return str(json.loads(line)["type"])


# -- sdk -------------------------------------------------------------------------------------


@needs_sdk
def test_sdk_replay_delivers_every_corpus_line_as_the_sdk_class_of_its_type(
    corpus: tuple[Path, list[bytes]],
) -> None:
    path, lines = corpus
    tally = SdkPath().replay(str(path), tally_classes=True)
    assert tally.lines == len(lines)
    assert tally.outcomes == Counter({"delivered": len(lines)})
    sdk_class = {
        "stream_event": "StreamEvent",
        "assistant": "AssistantMessage",
        "user": "UserMessage",
        "system": "SystemMessage",
        "result": "ResultMessage",
        "rate_limit_event": "RateLimitEvent",
    }
    assert tally.classes == Counter(sdk_class[_frame_type(line)] for line in lines)


@needs_sdk
def test_sdk_replay_counts_the_lines_the_sdk_skips_or_raises_on(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    lines = [
        b'{"type":"assistant","message":{"model":"m","content":[{"type":"text","text":"hi"}]}}',
        b'{"type":"future_frame","x":1}',  # parse_message: None
        b"[SandboxDebug] not json",  # _parse_stdout_line: None
        b"",  # blank
        b'{"type":"assistant","message":',  # json.loads fails
        b'{"type":"result"}',  # KeyError -> MessageParseError
        b'{"no_type":true}',  # MessageParseError
        b'{"type":"user","pad":"' + b"x" * (1 << 20) + b'"}',  # over the 1 MiB guard
        b'{"type":"system","subtype":"status","status":null}',  # last line, no "\n"
    ]
    path.write_bytes(b"\n".join(lines))
    tally = SdkPath().replay(str(path))
    assert tally.outcomes == Counter(
        delivered=2,
        skipped_unknown_type=1,
        skipped_blank_or_non_json=2,
        rejected_invalid_json=1,
        rejected_by_parse_message=2,
        rejected_over_buffer_limit=1,
    )
    assert tally.lines == len(lines)


def test_without_the_sdk_its_case_is_skipped_and_the_others_run(
    corpus: tuple[Path, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SDK_MODULES:
        monkeypatch.setitem(sys.modules, name, None)  # import of it raises ImportError
    with pytest.raises(CaseUnavailableError):
        SdkPath()
    path, lines = corpus
    cases = [c for c in run.cases() if c.key in ("a", "sdk", "b")]
    run.run_rounds(cases, str(path), len(lines), rounds=1)
    by_key = {c.key: c for c in cases}
    assert by_key["sdk"].skipped is not None
    assert "claude_agent_sdk" in by_key["sdk"].skipped
    assert by_key["sdk"].error is None
    assert by_key["a"].measured and by_key["b"].measured


# -- concurrent streams ----------------------------------------------------------------------


def test_concurrent_streams_each_deliver_the_whole_corpus(
    corpus: tuple[Path, list[bytes]],
) -> None:
    path, lines = corpus
    streams = ConcurrentStreams(path, len(lines), streams=3)
    result = streams.run(sample_threads=True)
    assert result.delivered == [len(lines)] * 3
    assert result.metrics_messages == 3 * len(lines)
    assert result.baseline_threads is not None and result.peak_threads is not None
    details = streams.details(result)
    assert details["expected_peak_threads"] == result.baseline_threads + 3 * THREADS_PER_STREAM
    assert details["delivered"] == result.delivered
    assert streams.run().peak_threads is None  # no sampler unless asked


def test_a_stream_that_delivers_fewer_messages_fails_the_case(
    corpus: tuple[Path, list[bytes]], tmp_path: Path
) -> None:
    path, lines = corpus
    short = tmp_path / "short.jsonl"
    short.write_bytes(b"".join(lines[:-1]))
    streams = ConcurrentStreams(path, len(lines), streams=2, command=lambda _: ["cat", str(short)])
    with pytest.raises(BenchmarkError, match="count mismatch"):
        streams.run()


def test_a_failing_child_fails_the_case(corpus: tuple[Path, list[bytes]]) -> None:
    path, lines = corpus
    exit_3 = [sys.executable, "-c", "raise SystemExit(3)"]
    streams = ConcurrentStreams(path, len(lines), streams=2, command=lambda _: exit_3)
    with pytest.raises(BenchmarkError, match="CLIProcessError"):
        streams.run()


# -- latency -----------------------------------------------------------------------------------


def test_paced_writer_stamps_every_frame_and_cycles_the_corpus(
    corpus: tuple[Path, list[bytes]],
) -> None:
    path, lines = corpus
    count = len(lines) + 3
    writer = Path(run.__file__).with_name("paced_writer.py")
    output = subprocess.run(
        [sys.executable, str(writer), str(path), str(count), "100000"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.splitlines(keepends=True)
    expected = lines + lines[:3]
    assert len(output) == count
    stamps = []
    for written, original in zip(output, expected, strict=True):
        prefix, _, rest = written.partition(b",")
        assert prefix.startswith(b'{"' + STAMP_KEY.encode() + b'":')
        stamps.append(json.loads(written)[STAMP_KEY])
        assert b"{" + rest == original
    assert stamps == sorted(stamps)


def test_paced_writer_refuses_frames_it_cannot_stamp(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"type":"a"}\n{}\n')
    with pytest.raises(ValueError, match="JSON object"):
        frame_bodies(str(path), 2)
    path.write_bytes(b"[1, 2]\n")
    with pytest.raises(ValueError, match="JSON object"):
        frame_bodies(str(path), 1)


def test_latency_run_measures_every_message_of_the_paced_stream(
    corpus: tuple[Path, list[bytes]],
) -> None:
    path, lines = corpus
    result = run_latency(str(path), rate=400.0, seconds=0.25)
    assert result["messages"] == 100
    first_100 = itertools.islice(itertools.cycle(lines), 100)  # the writer cycles a short corpus
    assert result["by_type"] == dict(Counter(_frame_type(line) for line in first_100))
    for key in ("arrival_to_handled_ms", "written_to_handled_ms"):
        assert result[key]["samples"] == 100
        assert set(result[key]) == {"samples", "p50", "p99", "max"}


# -- the whole command -------------------------------------------------------------------------


def test_main_runs_every_case_and_writes_the_json(
    corpus: tuple[Path, list[bytes]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, lines = corpus
    out = tmp_path / "results.json"
    arguments = ["--corpus", str(path), "--rounds", "1", "--rss-repeat", "1", "--json", str(out)]
    arguments += ["--streams", "2", "--rate", "500", "--latency-seconds", "0.2"]
    assert run.main(arguments) == 0
    printed = capsys.readouterr().out
    results = json.loads(out.read_text())
    assert results["ok"] is True
    assert results["corpus"]["messages"] == len(lines)
    cases = results["cases"]
    keys = ["a", "a2", "sdk", "b", "c", "d", "sparse", "claude", "concurrent", "redis"]
    assert list(cases) == [*keys, "redis_many"]
    measured = ["a", "a2", "b", "c", "d", "sparse", "claude", "concurrent"]
    measured += ["sdk"] if SDK_INSTALLED else []
    measured += ["redis", "redis_many"] if REDIS_AVAILABLE else []
    for key in measured:
        assert len(cases[key]["seconds"]) == 1, key
        assert cases[key]["vs_ujson"]["per_round"], key
        assert f"\n{key:<10} {cases[key]['label']}" in printed
    if SDK_INSTALLED:
        assert cases["sdk"]["details"]["outcomes"]["delivered"] == len(lines)
        assert cases["b"]["vs_sdk"]["median"] is not None
    else:
        assert "skipped" in cases["sdk"]
        assert cases["b"]["vs_sdk"]["median"] is None
    assert cases["concurrent"]["details"]["delivered"] == [len(lines)] * 2
    if REDIS_AVAILABLE:
        assert cases["redis_many"]["details"]["written"] == [len(lines)] * 2
    else:
        assert "skipped" in cases["redis"] and "skipped" in cases["redis_many"]
    assert cases["claude"]["details"]["turns"] == sum(
        _frame_type(line) == "result" for line in lines
    )
    assert "claude_metrics_us_per_message" in results["ratios"]
    assert cases["sparse"]["details"]["results"] == sum(
        _frame_type(line) == "result" for line in lines
    )
    assert results["latency"]["messages"] == 100
    assert results["memory"]["messages"] == len(lines)
    assert set(results["ratios"]) >= {"b/a", "b/a2", "c/b", "c/a", "d/a", "sparse/a"}
    transcripts = results["transcripts"]  # the transcript case, on a tree of the corpus' size
    assert list(transcripts["cases"]) == ["ta", "tr", "th", "tstats"]
    assert transcripts["tree"]["bytes"] >= path.stat().st_size
    assert f"\ntstats     {transcripts['cases']['tstats']['label']}" in printed
    bounds = results["bounds"]
    assert set(bounds["reachable"]) == {"b/a", "c/a", "d/a", "sparse/a"}
    assert bounds["tool_use_result_bytes"] > 0
    assert "decoding on demand, bounds" in printed


# -- bounds of decoding on demand ----------------------------------------------------------------


def test_bounds_defer_exactly_the_tool_use_result_values(
    corpus: tuple[Path, list[bytes]],
) -> None:
    _path, lines = corpus
    rest, deferred = _split_tool_use_results([line.rstrip(b"\n") for line in lines])
    frames = [json.loads(line) for line in lines]
    values = [frame["tool_use_result"] for frame in frames if "tool_use_result" in frame]
    assert values, "the corpus has tool results"
    assert [json.loads(value) for value in deferred] == values
    for frame in frames:
        frame.pop("tool_use_result", None)
    assert [json.loads(line) for line in rest] == frames


def test_the_bounds_utf8_check_rejects_what_the_decoder_rejects() -> None:
    assert _utf8_checked(b'{"type":"user","text":"caf\xc3\xa9"}')
    with pytest.raises(UnicodeDecodeError):
        _utf8_checked(b'{"type":"user","text":"caf\xc3"}')
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(b'{"type":"user","text":"caf\xc3"}')


def test_bounds_count_the_non_ascii_bytes(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes('{"type":"a","t":"é"}\n\n{"type":"b"}\n'.encode())
    bounds = measure_bounds(str(path), rounds=1)
    assert bounds["non_ascii_byte_share"] == 2 / (len('{"type":"a","t":"é"}'.encode()) + 12)
    assert bounds["tool_use_result_bytes"] == 0
    assert bound_ratio(1.0, 2.0, 1.0) == 1.0


# -- replayed recordings ---------------------------------------------------------------------------


def test_replay_corpus_repeats_the_output_recordings_only(tmp_path: Path) -> None:
    recordings = tmp_path / "real"
    recordings.mkdir()
    (recordings / "a.jsonl").write_bytes(b'{"type":"system"}\nnot json\n\n{"type":"result"}\n')
    (recordings / "b.ndjson").write_bytes(b'{"type":"assistant"}')
    (recordings / "b.stdin.jsonl").write_bytes(b'{"type":"user"}\n')
    (recordings / "x_large_lines.jsonl").write_bytes(b'{"type":"big"}\n')
    (recordings / "t.jsonl").write_bytes(b'{"type":"user","sessionId":"s","parentUuid":null}\n')
    (recordings / "notes.txt").write_bytes(b'{"type":"note"}\n')
    path = replay_corpus(recordings, tmp_path / "out", mb=0.0001)
    block = b'{"type":"system"}\n{"type":"result"}\n{"type":"assistant"}\n'
    data = path.read_bytes()
    assert len(data) >= 100 and len(data) % len(block) == 0
    assert data == block * (len(data) // len(block))
    assert replay_corpus(recordings, tmp_path / "out", mb=0.0001) == path


def test_replay_corpus_refuses_a_folder_without_recordings(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no stream-json recordings"):
        replay_corpus(tmp_path, tmp_path / "out", mb=1)
