"""Throughput, concurrency, latency and memory benchmarks for rxclaude's pipeline.

Run ``python -m benchmarks`` (or ``python benchmarks/run.py``); ``--quick`` for a short run.
Cases run in interleaved rounds (each round runs every case once, in a rotating order) and
the median over rounds is reported; then the live latency run and the memory run.
See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec

if __package__ in (None, ""):  # run as `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bounds import bound_ratio, measure_bounds
from benchmarks.claude_metrics import LABEL as CLAUDE_LABEL
from benchmarks.claude_metrics import check_claude, run_claude
from benchmarks.common import (
    MB,
    MIB,
    BenchmarkError,
    CaseUnavailableError,
    Runner,
    compiled_modules,
    drain,
    full_pipeline,
    timeout_for,
)
from benchmarks.concurrent_streams import ConcurrentStreams
from benchmarks.generate import GENERATOR_VERSION, generate
from benchmarks.latency import run_latency
from benchmarks.redis_path import RedisPath
from benchmarks.replay import replay_corpus
from benchmarks.sdk_path import OUTCOMES, check_sdk, prepare_sdk
from benchmarks.sparse_router import LABEL as SPARSE_LABEL
from benchmarks.sparse_router import check_sparse, run_sparse
from benchmarks.transcripts import report as report_transcripts

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "benchmarks" / "out"
TARGET_B_OVER_A = 1.25
TARGET_C_OVER_B = 0.80
TARGET_D_OVER_A = 0.80
TARGET_C_OVER_A = 1.0
TARGET_SPARSE_OVER_A = 1.5
TARGET_RSS_MIB = 32.0
SAMPLE_INTERVAL_S = 0.002
DEFAULT_STREAMS = 8
DEFAULT_RATE = 1000.0
REDIS_LABEL = "{n} x b | to_redis_stream, then from_redis_stream | d's stages"

Check = Callable[[str, int], dict[str, Any] | None]
"""Untimed verification of a case on the corpus (path, line count); may return details."""


# -- measured cases ------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A case ready to run: its timed runner, its untimed check, and what frees what it
    holds (a server, processes) once the rounds are over."""

    run: Runner
    check: Check | None = None
    close: Callable[[], None] | None = None


Prepare = Callable[[str, int], Prepared]
"""Set a case up for the corpus at the path, which has the given number of lines."""


def _prepare_ujson(_path: str, _lines: int) -> Prepared:
    import ujson  # noqa: PLC0415

    def run(path: str) -> None:
        with open(path, "rb") as f:
            for line in f:
                ujson.loads(line)

    return Prepared(run)


def _prepare_msgspec(_path: str, _lines: int) -> Prepared:
    decode = msgspec.json.Decoder().decode

    def run(path: str) -> None:
        with open(path, "rb") as f:
            for line in f:
                decode(line)

    return Prepared(run)


def _prepare_sdk(_path: str, _lines: int) -> Prepared:
    return Prepared(prepare_sdk(), check_sdk)


def _prepare_parse(_path: str, _lines: int) -> Prepared:
    from rxclaude.framing import parse_json_frames  # noqa: PLC0415
    from rxclaude.sources import from_file  # noqa: PLC0415

    def run(path: str) -> int:
        return drain(from_file(path).pipe(parse_json_frames()), timeout_for(path))

    return Prepared(run, _check_parse)


def _prepare_backpressure(_path: str, _lines: int) -> Prepared:
    from rxclaude.backpressure import Policy, backpressure  # noqa: PLC0415
    from rxclaude.framing import parse_json_frames  # noqa: PLC0415
    from rxclaude.sources import from_file  # noqa: PLC0415

    def run(path: str) -> int:
        pipeline = from_file(path).pipe(parse_json_frames(), backpressure(Policy.BLOCK))
        return drain(pipeline, timeout_for(path))

    return Prepared(run)


def _prepare_full_pipeline(_path: str, _lines: int) -> Prepared:
    from rxclaude.metrics import StreamMetrics  # noqa: PLC0415
    from rxclaude.sources import from_file  # noqa: PLC0415

    def run(path: str) -> int:
        metrics = StreamMetrics()
        count = drain(full_pipeline(from_file(path), metrics), timeout_for(path))
        if metrics.snapshot().messages_received != count:
            raise BenchmarkError("measure's messages_received differs from the count")
        return count

    return Prepared(run)


def _concurrent_preparer(streams: int) -> Prepare:
    def prepare(path: str, lines: int) -> Prepared:
        concurrent = ConcurrentStreams(path, lines, streams)

        def run(_path: str) -> int:
            return sum(concurrent.run().delivered)

        def check(_path: str, _expected: int) -> dict[str, Any]:
            return concurrent.details(concurrent.run(sample_threads=True))

        return Prepared(run, check)

    return prepare


def _redis_preparer(producers: int) -> Prepare:
    def prepare(path: str, lines: int) -> Prepared:
        redis_path = RedisPath(path, lines, producers)

        def run(_path: str) -> int:
            return redis_path.run()

        def check(_path: str, _expected: int) -> dict[str, Any]:
            return redis_path.details()

        return Prepared(run, check, redis_path.close)

    return prepare


def _check_parse(path: str, expected: int) -> None:
    """Untimed: parse_json_frames must turn every corpus line into a non-error message."""
    from reactivex import operators as ops  # noqa: PLC0415

    from rxclaude.framing import parse_json_frames  # noqa: PLC0415
    from rxclaude.messages import Message, ParseError  # noqa: PLC0415
    from rxclaude.sources import from_file  # noqa: PLC0415

    def as_error(message: Message) -> ParseError | None:
        return message if isinstance(message, ParseError) else None

    items: list[ParseError | None] = (
        from_file(path).pipe(parse_json_frames(), ops.map(as_error), ops.to_list()).run()
    )
    if len(items) != expected:
        raise BenchmarkError(
            f"count mismatch: {len(items):,} messages, file has {expected:,} lines"
        )
    first = next((m for m in items if m is not None), None)
    if first is not None:
        raise BenchmarkError(f"parse error on valid input: {first.reason}: {first.detail}")


@dataclass
class Case:
    """One measured pipeline, its per-round timings and, if it failed, why."""

    key: str
    label: str
    prepare: Prepare
    copies: int = 1
    """How many times one run processes the corpus."""
    seconds: list[float] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None
    details: dict[str, Any] | None = None
    run: Runner | None = None
    close: Callable[[], None] | None = None

    @property
    def measured(self) -> bool:
        return self.error is None and self.skipped is None and bool(self.seconds)


def cases(streams: int = DEFAULT_STREAMS) -> list[Case]:
    """Every timed case, in table order."""
    return [
        Case("a", "for line in f: ujson.loads(line)", _prepare_ujson),
        Case("a2", "for line in f: msgspec decode(line)", _prepare_msgspec),
        Case("sdk", "claude-agent-sdk per line: framer, json.loads, parse_message", _prepare_sdk),
        Case("b", "from_file | parse_json_frames()", _prepare_parse),
        Case("c", "from_file | parse_json_frames() | backpressure(BLOCK)", _prepare_backpressure),
        Case("d", "c | route_by_type(Router.default()) | measure()", _prepare_full_pipeline),
        Case("sparse", SPARSE_LABEL, lambda _path, _lines: Prepared(run_sparse, check_sparse)),
        Case("claude", CLAUDE_LABEL, lambda _path, _lines: Prepared(run_claude, check_claude)),
        Case(
            "concurrent",
            f"{streams} x from_cli(cat corpus) | d's stages, at once",
            _concurrent_preparer(streams),
            copies=streams,
        ),
        Case("redis", REDIS_LABEL.format(n=1), _redis_preparer(1)),
        Case("redis_many", REDIS_LABEL.format(n=streams), _redis_preparer(streams), streams),
    ]


def _run_once(case: Case, path: str, expected: int) -> float:
    assert case.run is not None
    gc.collect()
    start = time.perf_counter()
    count = case.run(path)
    elapsed = time.perf_counter() - start
    if count is not None and count != expected * case.copies:
        raise BenchmarkError(
            f"count mismatch: {count:,} messages, expected {case.copies} x {expected:,} lines"
        )
    return elapsed


def run_rounds(cases: list[Case], path: str, expected: int, rounds: int) -> None:
    """Prepare and check each case, run an untimed warm-up round, then ``rounds`` timed
    rounds, each in a different rotation of the case order; then close them."""
    try:
        _run_rounds(cases, path, expected, rounds)
    finally:
        for case in cases:
            if case.close is not None:
                case.close()


def _run_rounds(cases: list[Case], path: str, expected: int, rounds: int) -> None:
    for case in cases:
        try:
            prepared = case.prepare(path, expected)
            case.run, case.close = prepared.run, prepared.close
            if prepared.check is not None:
                case.details = prepared.check(path, expected)
        except CaseUnavailableError as skip:
            case.skipped = str(skip)
        except Exception as exc:
            case.error = f"{type(exc).__name__}: {exc}"
    for r in range(-1, rounds):
        live = [c for c in cases if c.error is None and c.skipped is None]
        shift = max(r, 0) % max(len(live), 1)
        for case in live[shift:] + live[:shift]:
            try:
                elapsed = _run_once(case, path, expected)
            except Exception as exc:
                case.error = f"{type(exc).__name__}: {exc}"
                print(f"ERROR in case {case.key}: {case.error}", file=sys.stderr)
                continue
            if r >= 0:
                case.seconds.append(elapsed)


# -- memory (fresh child process) ----------------------------------------------------------


class _Replay(io.RawIOBase):
    """A raw binary reader that plays a file ``times`` times back to back."""

    def __init__(self, path: str, times: int) -> None:
        super().__init__()
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed in close()
        self._left = times - 1

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            n = self._file.readinto(buffer)
            if n or self._left == 0:
                return n or 0
            self._left -= 1
            self._file.seek(0)

    def close(self) -> None:
        self._file.close()
        super().close()


def _kernel_hwm_reset() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs``); False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _kernel_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise BenchmarkError("VmHWM missing from /proc/self/status")


def rss_child(path: str, times: int) -> dict[str, Any]:
    """Stream ``times`` x the corpus through from_reader | parse_json_frames; measure RSS."""
    import psutil  # noqa: PLC0415

    from rxclaude.framing import parse_json_frames  # noqa: PLC0415
    from rxclaude.sources import from_reader  # noqa: PLC0415

    proc = psutil.Process()

    def stream(n: int) -> int:
        with io.BufferedReader(_Replay(path, n)) as reader:
            return drain(from_reader(reader).pipe(parse_json_frames()), timeout_for(path) * n)

    stream(1)  # warm-up: imports, caches, allocator pools
    gc.collect()
    baseline = proc.memory_info().rss
    hwm_ok = _kernel_hwm_reset()
    peak = baseline
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, proc.memory_info().rss)
            stop.wait(SAMPLE_INTERVAL_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    count = stream(times)
    elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    peak = max(peak, proc.memory_info().rss)
    hwm = _kernel_hwm() if hwm_ok else None
    growth = max(peak, hwm or 0) - baseline
    return {
        "streamed_bytes": os.path.getsize(path) * times,
        "messages": count,
        "seconds": elapsed,
        "baseline_rss_mib": baseline / MIB,
        "sampled_peak_growth_mib": (peak - baseline) / MIB,
        "kernel_hwm_growth_mib": None if hwm is None else (hwm - baseline) / MIB,
        "peak_growth_mib": growth / MIB,
    }


def _measure_rss(path: Path, times: int, expected: int) -> dict[str, Any]:
    """Run :func:`rss_child` in a fresh interpreter and check its message count."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "benchmarks.run", "--rss-child", str(path.resolve())]
    proc = subprocess.run(
        [*cmd, "--rss-repeat", str(times)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise BenchmarkError(f"memory child failed: {tail[0]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["messages"] != expected * times:
        raise BenchmarkError(
            f"count mismatch in memory run: {result['messages']:,} messages, "
            f"expected {expected * times:,}"
        )
    return result


# -- corpus, machine info ------------------------------------------------------------------


def _corpus(args: argparse.Namespace) -> Path:
    if args.recordings is not None:
        return replay_corpus(args.recordings, OUT_DIR, args.mb)
    if args.corpus is not None:
        path: Path = args.corpus
        if not path.is_file():
            raise SystemExit(f"corpus not found: {path}")
        return path
    path = OUT_DIR / f"corpus-v{GENERATOR_VERSION}-{args.mb:g}MB-seed{args.seed}.jsonl"
    if not path.is_file():
        print(f"generating {path.relative_to(REPO)} ...", flush=True)
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        generate(tmp, int(args.mb * MB), args.seed)
        tmp.replace(path)
    return path


def _scan(path: Path) -> tuple[int, Counter[str]]:
    """Line count and frame-kind mix (``type``, ``system/<subtype>``, ``stream_event/<event>``)."""
    mix: Counter[str] = Counter()
    lines = 0
    with open(path, "rb") as f:
        for line in f:
            lines += 1
            frame = msgspec.json.decode(line)
            kind = str(frame.get("type"))
            if kind == "system":
                kind = f"system/{frame.get('subtype')}"
            elif kind == "stream_event":
                kind = f"stream_event/{frame.get('event', {}).get('type')}"
            mix[kind] += 1
    return lines, mix


def _machine() -> dict[str, Any]:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        cpuinfo = []
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    versions = {}
    for dist in ("rxclaude", "reactivex", "msgspec", "ujson", "psutil", "claude-agent-sdk"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    git = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "cpu": models[0] if models else platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "versions": versions,
        "git": git.stdout.strip() or None,
        "load_average": os.getloadavg(),
        "compiled": compiled_modules(),
    }


# -- report --------------------------------------------------------------------------------


def _median_ratio(num: Case, den: Case) -> tuple[float | None, list[float]]:
    """Per-round throughput ratio num/den (= den seconds / num seconds) and its median."""
    if not (num.measured and den.measured):
        return None, []
    per_round = [
        (num.copies * d) / (den.copies * n) for n, d in zip(num.seconds, den.seconds, strict=True)
    ]
    return statistics.median(per_round), per_round


def _verdict(value: float | None, ok: bool) -> str:
    return "n/a" if value is None else ("PASS" if ok else "FAIL")


def _ratio_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _print_header(
    path: Path, lines: int, mix: Counter[str], *, machine: dict[str, Any], date: str, rounds: int
) -> None:
    deltas = mix["stream_event/content_block_delta"]
    top: Counter[str] = Counter()
    for kind, n in mix.items():
        top[kind.split("/", 1)[0]] += n
    top_text = " · ".join(f"{k} {100 * n / lines:.1f}%" for k, n in top.most_common())
    load = " ".join(f"{v:.2f}" for v in machine["load_average"])
    print(f"rxclaude benchmarks   {date}")
    print(
        f"machine   {machine['cpu']}, {machine['cores']} cores "
        f"({machine['usable_cores']} usable), {machine['platform']}, {machine['python']}; "
        f"load average {load} at start"
    )
    print(
        "versions  "
        + ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
        + f" (git {machine['git']})"
    )
    compiled = machine["compiled"]
    print(
        "build     "
        + (f"compiled with mypyc: {', '.join(compiled)}" if compiled else "pure Python")
    )
    print(f"corpus    {path}: {path.stat().st_size / MB:.2f} MB, {lines:,} messages")
    print(f"frames    {top_text}; content_block_delta {100 * deltas / lines:.1f}%")
    print(f"rounds    {rounds} timed (+1 warm-up), interleaved in rotating order; medians\n")


def _print_sdk_details(details: dict[str, Any]) -> None:
    outcomes = details["outcomes"]
    skipped = outcomes["skipped_blank_or_non_json"] + outcomes["skipped_unknown_type"]
    rejected = sum(outcomes[name] for name in OUTCOMES if name.startswith("rejected"))
    print(
        f"sdk         claude-agent-sdk {details['sdk_version']}: of {details['lines']:,} lines "
        f"{outcomes['delivered']:,} delivered, {skipped:,} skipped "
        f"({outcomes['skipped_blank_or_non_json']:,} blank/non-JSON, "
        f"{outcomes['skipped_unknown_type']:,} unknown type), {rejected:,} raised "
        f"({outcomes['rejected_over_buffer_limit']:,} over 1 MiB, "
        f"{outcomes['rejected_invalid_json']:,} invalid JSON, "
        f"{outcomes['rejected_by_parse_message']:,} by parse_message)"
    )


def _print_concurrent_details(details: dict[str, Any]) -> None:
    print(
        f"concurrent  {details['streams']} streams of {details['messages_per_stream']:,} "
        f"messages each, all delivered; the shared StreamMetrics counted "
        f"{details['metrics_messages_received']:,}"
    )
    print(
        f"            peak {details['peak_threads']} OS threads (psutil, sampled every 1 ms in "
        f"the untimed check run); expected {details['expected_peak_threads']} = "
        f"{details['threads_before']} before + {details['streams']} x "
        f"{details['threads_per_stream']} (from_cli pipe drain, delivery and stderr drain, "
        "backpressure consumer)"
    )


def report_throughput(
    path: Path, lines: int, cases: list[Case], args: argparse.Namespace
) -> dict[str, Any]:
    """Print the throughput table and the target ratios; return them for the JSON."""
    size = path.stat().st_size
    by_key = {c.key: c for c in cases}
    print(f"{'case':<10} {'pipeline':<62} {'MB/s':>8} {'msg/s':>10} {'vs ujson':>8} {'vs sdk':>7}")
    results: dict[str, Any] = {}
    for case in cases:
        entry: dict[str, Any] = {"label": case.label, "seconds": case.seconds}
        if case.details is not None:
            entry["details"] = case.details
        head = f"{case.key:<10} {case.label:<62}"
        if case.measured:
            mbs = statistics.median(case.copies * size / MB / s for s in case.seconds)
            msgs = statistics.median(case.copies * lines / s for s in case.seconds)
            vs_ujson, ujson_rounds = _median_ratio(case, by_key["a"])
            vs_sdk, sdk_rounds = _median_ratio(case, by_key["sdk"])
            entry |= {
                "mb_per_s": mbs,
                "msgs_per_s": msgs,
                "median_seconds": statistics.median(case.seconds),
                "vs_ujson": {"median": vs_ujson, "per_round": ujson_rounds},
                "vs_sdk": {"median": vs_sdk, "per_round": sdk_rounds},
            }
            print(
                f"{head} {mbs:8.1f} {msgs:10,.0f} "
                f"{_ratio_text(vs_ujson):>8} {_ratio_text(vs_sdk):>7}"
            )
        elif case.skipped is not None:
            entry["skipped"] = case.skipped
            print(f"{head} skipped: {case.skipped}")
        else:
            entry["error"] = case.error
            print(f"{head} ERROR: {case.error}")
        results[case.key] = entry
    print()
    if by_key["sdk"].details is not None:
        _print_sdk_details(by_key["sdk"].details)
    if by_key["concurrent"].details is not None:
        _print_concurrent_details(by_key["concurrent"].details)

    print(f"\n{'ratio':<8} {'median':>7}   {'per round':<40} target")
    ratios: dict[str, Any] = {}
    for name, num, den, target in (
        ("b/a", "b", "a", TARGET_B_OVER_A),
        ("b/a2", "b", "a2", None),
        ("c/b", "c", "b", TARGET_C_OVER_B),
        ("c/a", "c", "a", TARGET_C_OVER_A),
        ("d/a", "d", "a", TARGET_D_OVER_A),
        ("sparse/a", "sparse", "a", TARGET_SPARSE_OVER_A),
        ("redis/d", "redis", "d", None),
        ("redis_many/d", "redis_many", "d", None),
    ):
        value, per_round = _median_ratio(by_key[num], by_key[den])
        rounds_text = " ".join(f"{v:.3f}" for v in per_round)
        if target is None:
            target_text = "(info)"
        else:
            verdict = _verdict(value, value is not None and value >= target)
            target_text = f">= {target:.2f}  {verdict}"
        print(f"{name:<8} {_ratio_text(value):>7}   {rounds_text:<40} {target_text}")
        ratios[name] = {"median": value, "per_round": per_round, "target": target}
    c, d = by_key["c"], by_key["d"]
    if c.measured and d.measured:
        per_message = (statistics.median(d.seconds) - statistics.median(c.seconds)) / lines
        print(
            f"\nroute_by_type + measure: {per_message * 1e6:.2f} µs per message "
            "((d - c) / messages, medians)"
        )
        ratios["route_measure_us_per_message"] = per_message * 1e6
    claude = by_key["claude"]
    if d.measured and claude.measured:
        per_message = (statistics.median(claude.seconds) - statistics.median(d.seconds)) / lines
        print(
            f"Claude-level metrics: {per_message * 1e6:.2f} µs per message "
            "((claude - d) / messages, medians)"
        )
        ratios["claude_metrics_us_per_message"] = per_message * 1e6
    return {"rounds": args.rounds, "cases": results, "ratios": ratios}


def report_bounds(path: Path, cases: list[Case], rounds: int) -> dict[str, Any]:
    """Time what decoding on demand could save (``benchmarks/bounds.py``); print the
    ratios the lazy designs could reach at most, from this run's medians."""
    by_key = {c.key: c for c in cases}
    bounds = measure_bounds(str(path), rounds)
    generic = bounds["generic_s"]
    deferred_saving = generic - bounds["deferred_s"]
    envelope_saving = generic - bounds["envelope_s"]
    print(
        f"\ndecoding on demand, bounds (lines in memory, medians of {rounds}): "
        f"msgspec decode {generic * 1e3:.1f} ms; all but tool_use_result "
        f"({bounds['tool_use_result_bytes'] / MB:.1f} MB) + its UTF-8 check "
        f"{bounds['deferred_s'] * 1e3:.1f} ms; envelope + UTF-8 check of the line "
        f"{bounds['envelope_s'] * 1e3:.1f} ms; non-ASCII bytes "
        f"{100 * bounds['non_ascii_byte_share']:.2f} %"
    )
    if not all(by_key[key].measured for key in ("a", "b", "c", "d", "sparse")):
        return bounds
    median = {key: statistics.median(by_key[key].seconds) for key in ("a", "b", "c", "d", "sparse")}
    reach: dict[str, float] = {}
    for name, case, saving, target in (
        ("b/a", "b", deferred_saving, TARGET_B_OVER_A),
        ("c/a", "c", deferred_saving, TARGET_C_OVER_A),
        ("d/a", "d", deferred_saving, TARGET_D_OVER_A),
        ("sparse/a", "sparse", envelope_saving, TARGET_SPARSE_OVER_A),
    ):
        reach[name] = bound_ratio(median["a"], median[case], saving)
        design = "envelope-only" if case == "sparse" else "on-demand tool_use_result"
        print(
            f"        {name:<8} at most {reach[name]:.3f} with {design} decoding "
            f"(saves {saving * 1e3:.1f} ms; now {median['a'] / median[case]:.3f}, "
            f"target {target:.2f})"
        )
    return bounds | {"reachable": reach}


def report_latency(path: Path, rate: float, seconds: float) -> dict[str, Any]:
    """Run the live latency benchmark; print its lines."""
    label = "from_cli(paced writer) | d's stages"
    try:
        result = run_latency(str(path), rate, seconds)
    except BenchmarkError as exc:
        print(f"\nlatency {label}: ERROR: {exc}")
        return {"error": str(exc)}
    achieved = result["achieved_rate"]
    achieved_text = "n/a" if achieved is None else f"{achieved:,.0f}/s"
    print(
        f"\nlatency {rate:,.0f} messages/s live for {seconds:g} s "
        f"({result['messages']:,} messages, written at {achieved_text}) through {label}:"
    )
    for key, name in (
        ("arrival_to_handled_ms", "chunk arrival -> handled (StreamMetrics, every message)"),
        ("written_to_handled_ms", "written -> handled (writer's time.time_ns, exact)"),
    ):
        ms = result[key]
        print(
            f"        {name:<58} p50 {ms['p50']:7.3f} ms   p99 {ms['p99']:7.3f} ms   "
            f"max {ms['max']:7.3f} ms"
        )
    return result


def _report_memory(path: Path, lines: int, times: int) -> dict[str, Any]:
    label = "from_reader | parse_json_frames()"
    try:
        mem = _measure_rss(path, times, lines)
    except BenchmarkError as exc:
        print(f"\nmemory  {label}: ERROR: {exc}")
        return {"error": str(exc)}
    growth = mem["peak_growth_mib"]
    verdict = _verdict(growth, growth <= TARGET_RSS_MIB)
    hwm = mem["kernel_hwm_growth_mib"]
    hwm_text = "n/a" if hwm is None else f"+{hwm:.1f} MiB"
    print(
        f"\nmemory  peak RSS growth streaming {mem['streamed_bytes'] / MB / 1000:.2f} GB "
        f"({times} x corpus) through {label}: {growth:.1f} MiB   "
        f"target <= {TARGET_RSS_MIB:.0f} MiB  {verdict}"
    )
    print(
        f"        baseline {mem['baseline_rss_mib']:.1f} MiB after imports + warm-up pass; "
        f"sampled peak +{mem['sampled_peak_growth_mib']:.1f} MiB, kernel VmHWM {hwm_text}; "
        f"{mem['messages']:,} messages in {mem['seconds']:.1f} s"
    )
    return mem | {"target_mib": TARGET_RSS_MIB}


# -- entry point ---------------------------------------------------------------------------


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark rxclaude's stream-json pipeline against a bare ujson loop "
        "and the official SDK's parse path.",
    )
    parser.add_argument("--mb", type=float, help="corpus size in MB (default 100; quick: 20)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--rounds", type=int, help="timed rounds (default 5; quick: 3)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="20 MB corpus, 3 rounds, 3 s latency run, 200 MB memory run",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=OUT_DIR / "results.json",
        help="also write results as JSON here (default benchmarks/out/results.json)",
    )
    parser.add_argument(
        "--corpus", type=Path, help="use this NDJSON file instead of a generated corpus"
    )
    parser.add_argument(
        "--recordings",
        type=Path,
        help="replay the stream-json recordings in this folder (e.g. ../shared/corpus/real) "
        "to --mb MB as the corpus (benchmarks/replay.py)",
    )
    parser.add_argument(
        "--streams",
        type=int,
        default=DEFAULT_STREAMS,
        help=f"from_cli children of the concurrent case (default {DEFAULT_STREAMS})",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help=f"messages per second of the latency run (default {DEFAULT_RATE:g})",
    )
    parser.add_argument(
        "--latency-seconds", type=float, help="length of the latency run (default 10; quick: 3)"
    )
    parser.add_argument(
        "--rss-repeat",
        type=int,
        default=10,
        help="the memory run streams the corpus this many times (default 10)",
    )
    parser.add_argument(
        "--transcripts-mb",
        type=float,
        help="size of the transcript tree in MB (default: the corpus' size; 1000 for 1 GB)",
    )
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mb is None:
        args.mb = 20.0 if args.quick else 100.0
    if args.rounds is None:
        args.rounds = 3 if args.quick else 5
    if args.latency_seconds is None:
        args.latency_seconds = 3.0 if args.quick else 10.0
    if min(args.rounds, args.rss_repeat, args.streams) < 1:
        parser.error("--rounds, --rss-repeat and --streams must be at least 1")
    if min(args.mb, args.rate, args.latency_seconds) <= 0:
        parser.error("--mb, --rate and --latency-seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the table, write JSON; non-zero exit if a case failed."""
    args = _parse_args(argv)
    if args.rss_child is not None:
        print(json.dumps(rss_child(str(args.rss_child), args.rss_repeat)))
        return 0
    started = time.perf_counter()
    path = _corpus(args)
    lines, mix = _scan(path)
    date = datetime.now(UTC).isoformat(timespec="seconds")
    machine = _machine()
    _print_header(path, lines, mix, machine=machine, date=date, rounds=args.rounds)
    measured = cases(args.streams)
    run_rounds(measured, str(path), lines, args.rounds)
    results: dict[str, Any] = {
        "date": date,
        "machine": machine,
        "corpus": {
            "path": str(path),
            "bytes": path.stat().st_size,
            "messages": lines,
            "seed": None if args.corpus or args.recordings else args.seed,
            "generator_version": None if args.corpus or args.recordings else GENERATOR_VERSION,
            "frame_mix": dict(mix.most_common()),
        },
    }
    results |= report_throughput(path, lines, measured, args)
    results["bounds"] = report_bounds(path, measured, args.rounds)
    results["latency"] = report_latency(path, args.rate, args.latency_seconds)
    results["memory"] = _report_memory(path, lines, args.rss_repeat)
    tree_mb = args.transcripts_mb or path.stat().st_size / MB
    args.json.parent.mkdir(parents=True, exist_ok=True)
    results["transcripts"] = report_transcripts(args.json.parent, tree_mb, args.seed, args.rounds)
    results["load_average_at_end"] = os.getloadavg()
    results["total_seconds"] = time.perf_counter() - started
    ok = all(c.error is None for c in measured) and not any(
        "error" in results[part] for part in ("latency", "memory", "transcripts")
    )
    results["ok"] = ok
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(
        f"\ntotal {results['total_seconds']:.1f} s; load average at end "
        + " ".join(f"{v:.2f}" for v in results["load_average_at_end"])
    )
    print(f"results written to {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
