"""The transcript case: a generated ``~/.claude/projects`` tree read through
``from_transcripts``, with and without the transcript handlers, against a bare
``ujson.loads`` per line over the same files, in the same run.

The tree (:func:`generate_tree`) is deterministic for a size and seed: projects of sessions
spread over a month, each session a file of the CLI's transcript lines (camelCase envelope,
``user`` prompts, one ``assistant`` entry per content block repeating the response's usage,
``user`` tool results with ``toolUseResult``, ``progress`` hook lines, a
``file-history-snapshot`` per prompt, ``system/turn_duration``, ``cost-state`` running
totals), a third of them with a subagent file. Most bytes are tool results (1 to 60 KB).

Timed, in interleaved rounds (each round every runner once, rotating; a warm-up first):

* ``ta``: ``for path in files: for line in open(path): ujson.loads(line)``, the baseline;
* ``tr``: ``from_transcripts(tree)`` into a counting observer (the merge by time included);
* ``th``: ``tr | route_by_type(router)``, the router holding ``TranscriptUsageHandler`` and
  ``TranscriptToolHandler``;
* ``tstats``: what ``rxclaude stats TREE`` runs: ``tr | backpressure(BLOCK) |
  route_by_type(Router.default() + both handlers) | measure()``.

Each run checks its message count; an untimed pass checks that the handlers counted every
response and tool call the generator wrote. Peak RSS is sampled (psutil, every 2 ms) over the
rounds. ``python -m benchmarks`` runs it on a tree as large as its corpus (``--transcripts-mb``
to choose), cached beside its JSON results; ``python -m benchmarks.transcripts --mb 1000``
runs it alone.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import statistics
import string
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/transcripts.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import MB, MIB, BenchmarkError, drain
from rxclaude import Policy, Router, StreamMetrics, backpressure, measure, route_by_type
from rxclaude.handlers import TranscriptToolHandler, TranscriptUsageHandler
from rxclaude.transcripts import from_transcripts

TREE_VERSION = 1
"""Bump when the tree for a given (size, seed) changes, so cached trees are rebuilt."""

START = datetime(2026, 11, 1, 8, tzinfo=UTC)
DAYS = 30
MODELS = ("claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5")
PRICE_PER_MTOK = {"claude-sonnet-4-5": 3.0, "claude-opus-4-5": 15.0, "claude-haiku-4-5": 1.0}
TOOLS = ("Bash", "Read", "Edit", "Grep", "Glob", "Write", "WebFetch")
SAMPLE_INTERVAL_S = 0.002
LABELS = {
    "ta": "for path in files: for line in open(path): ujson.loads(line)",
    "tr": "from_transcripts(tree)",
    "th": "tr | route_by_type(TranscriptUsage + TranscriptTool handlers)",
    "tstats": "tr | backpressure | route_by_type(default + both) | measure",
}


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Writer:
    """Writes one session file's lines, keeping the envelope and the running figures."""

    def __init__(self, rng: random.Random, text: str, session: str, cwd: str) -> None:
        self.rng, self.text, self.session, self.cwd = rng, text, session, cwd
        self.parent: str | None = None
        self.lines: list[bytes] = []
        self.cost = 0.0
        self.responses = 0
        self.tool_calls = 0

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _words(self, size: int) -> str:
        start = self.rng.randrange(len(self.text) - size)
        return self.text[start : start + size]

    def entry(self, kind: str, moment: datetime, sidechain: str | None, **fields: Any) -> None:
        own = self._uuid()
        line: dict[str, Any] = {
            "parentUuid": self.parent,
            "isSidechain": sidechain is not None,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session,
            "version": "2.1.332",
            "gitBranch": "main",
        }
        if sidechain is not None:
            line["agentId"] = sidechain
        line |= {"type": kind, **fields, "uuid": own, "timestamp": _stamp(moment)}
        self.parent = own
        self.lines.append(json.dumps(line, ensure_ascii=False).encode() + b"\n")

    def turn(self, moment: datetime, sidechain: str | None = None) -> datetime:
        """A prompt, then API steps of thinking, text and tool calls; returns the time after."""
        rng = self.rng
        if sidechain is None:
            self.lines.append(
                json.dumps(
                    {
                        "type": "file-history-snapshot",
                        "messageId": self._uuid(),
                        "snapshot": {"trackedFileBackups": {}, "timestamp": _stamp(moment)},
                        "isSnapshotUpdate": False,
                    }
                ).encode()
                + b"\n"
            )
        prompt = {"role": "user", "content": self._words(rng.randint(20, 400))}
        self.entry("user", moment, sidechain, message=prompt, permissionMode="default")
        model = rng.choice(MODELS)
        for _step in range(rng.randint(1, 8)):
            moment += timedelta(seconds=rng.uniform(1, 20))
            message_id = "msg_" + "".join(rng.choices(string.ascii_letters, k=24))
            request_id = "req_" + "".join(rng.choices(string.ascii_letters, k=24))
            usage = {
                "input_tokens": rng.randint(1, 50),
                "cache_creation_input_tokens": rng.randint(0, 20_000),
                "cache_read_input_tokens": rng.randint(0, 150_000),
                "output_tokens": rng.randint(20, 2000),
            }
            self.responses += 1
            self.cost += (usage["input_tokens"] + usage["output_tokens"]) * (
                PRICE_PER_MTOK[model] / 1e6
            )
            blocks: list[dict[str, Any]] = [
                {
                    "type": "thinking",
                    "thinking": self._words(rng.randint(50, 800)),
                    "signature": "s",
                },
                {"type": "text", "text": self._words(rng.randint(20, 600))},
            ]
            calls = [
                {
                    "type": "tool_use",
                    "id": "toolu_" + "".join(rng.choices(string.ascii_letters, k=24)),
                    "name": rng.choice(TOOLS),
                    "input": {"command": self._words(rng.randint(10, 120))},
                }
                for _call in range(rng.choice((0, 1, 1, 2)))
            ]
            for block in blocks + calls:
                message = {
                    "model": model,
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "content": [block],
                    "stop_reason": None,
                    "usage": usage,
                }
                self.entry("assistant", moment, sidechain, message=message, requestId=request_id)
            for call in calls:
                self.tool_calls += 1
                moment += timedelta(milliseconds=rng.randint(5, 30_000))
                output = self._words(rng.choice((1000, 3000, 8000, 20_000, 60_000)))
                result = {"type": "tool_result", "tool_use_id": call["id"], "content": output}
                self.entry(
                    "user",
                    moment,
                    sidechain,
                    message={"role": "user", "content": [result]},
                    toolUseResult={"stdout": output[:2000], "stderr": "", "interrupted": False},
                )
                if sidechain is None and rng.random() < 0.3:
                    progress = {"type": "hook_progress", "hookEvent": "PostToolUse"}
                    self.entry("progress", moment, None, data=progress, toolUseID=call["id"])
        if sidechain is None:
            self.entry("system", moment, None, subtype="turn_duration", durationMs=12_000)
            self.lines.append(
                json.dumps(
                    {
                        "type": "cost-state",
                        "sessionId": self.session,
                        "totalCostUSD": round(self.cost, 6),
                        "timestamp": _stamp(moment),
                    }
                ).encode()
                + b"\n"
            )
        return moment


def _text(rng: random.Random) -> str:
    """A block of words to cut prompts, thinking and tool output from."""
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(4000)]
    words += ["naïve", "Привет", "λόγος", "日本語", "한국어", "🙂", "{", "}", '"quoted"', "\\path"]
    return " ".join(rng.choice(words) for _ in range(200_000))


def generate_tree(folder: Path, target_bytes: int, seed: int = 0) -> dict[str, int]:
    """Write a projects tree of about ``target_bytes`` into ``folder``; return its facts:
    ``files``, ``lines``, ``bytes``, ``responses``, ``tool_calls``."""
    rng = random.Random(seed)
    text = _text(rng)
    facts = {"files": 0, "lines": 0, "bytes": 0, "responses": 0, "tool_calls": 0}
    projects = [f"-home-user-project{index}" for index in range(max(2, target_bytes // 50_000_000))]
    while facts["bytes"] < target_bytes:
        project = rng.choice(projects)
        session = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        writer = _Writer(rng, text, session, "/" + project.strip("-").replace("-", "/"))
        moment = START + timedelta(days=rng.randrange(DAYS), hours=rng.uniform(0, 14))
        files = [(folder / project / f"{session}.jsonl", writer)]
        for _turn in range(rng.randint(2, 12)):
            moment = writer.turn(moment) + timedelta(minutes=rng.uniform(1, 30))
        if rng.random() < 0.33:
            agent = "".join(rng.choices(string.hexdigits.lower(), k=17))
            subagent = _Writer(rng, text, session, writer.cwd)
            subagent.turn(moment - timedelta(minutes=20), sidechain=agent)
            files.append(
                (folder / project / session / "subagents" / f"agent-{agent}.jsonl", subagent)
            )
        for path, lines in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            data = b"".join(lines.lines)
            path.write_bytes(data)
            facts["files"] += 1
            facts["lines"] += len(lines.lines)
            facts["bytes"] += len(data)
            facts["responses"] += lines.responses
            facts["tool_calls"] += lines.tool_calls
    return facts


def tree_for(out_dir: Path, mb: float, seed: int) -> tuple[Path, dict[str, int]]:
    """The cached tree of ``mb`` MB for ``seed`` (generated on first use) and its facts."""
    folder = out_dir / f"transcripts-v{TREE_VERSION}-{mb:g}MB-seed{seed}"
    facts_path = folder.parent / f"{folder.name}.json"
    if not facts_path.exists():
        shutil.rmtree(folder, ignore_errors=True)  # what an interrupted generation left
        facts = generate_tree(folder / "projects", int(mb * MB), seed)
        facts_path.write_text(json.dumps(facts))
    return folder / "projects", json.loads(facts_path.read_text())


# -- the runners --------------------------------------------------------------------------------


def _files(folder: str) -> list[str]:
    return sorted(
        os.path.join(directory, name)
        for directory, _folders, names in os.walk(folder)
        for name in names
        if name.endswith(".jsonl")
    )


def run_ujson(folder: str) -> int:
    """``ta``: every line of every file through ``ujson.loads``."""
    import ujson  # noqa: PLC0415 - the bench extra

    count = 0
    loads = ujson.loads
    for path in _files(folder):
        with open(path, "rb") as file:
            for line in file:
                loads(line)
                count += 1
    return count


def run_read(folder: str) -> int:
    """``tr``."""

    return drain(from_transcripts(folder), timeout=3600)


def _handlers() -> tuple[TranscriptUsageHandler, TranscriptToolHandler, Router]:

    usage, tools, router = TranscriptUsageHandler(), TranscriptToolHandler(), Router()
    usage.register(router)
    tools.register(router)
    return usage, tools, router


def run_handled(folder: str, keep: list[Any] | None = None) -> int:
    """``th``; ``keep`` receives the two handlers."""

    usage, tools, router = _handlers()
    count = drain(from_transcripts(folder).pipe(route_by_type(router)), timeout=3600)
    if keep is not None:
        keep += [usage, tools]
    return count


def run_stats(folder: str) -> int:
    """``tstats``: the stages of ``rxclaude stats`` after the reading."""

    router = Router.default()
    TranscriptUsageHandler().register(router)
    TranscriptToolHandler(result_chars=0).register(router)  # as the command makes it
    stages = from_transcripts(folder).pipe(
        backpressure(Policy.BLOCK), route_by_type(router), measure(StreamMetrics(), router=router)
    )
    return drain(stages, timeout=3600)


RUNNERS: dict[str, Callable[[str], int]] = {
    "ta": run_ujson,
    "tr": run_read,
    "th": run_handled,
    "tstats": run_stats,
}


def check(folder: str, facts: dict[str, int]) -> None:
    """The handlers count what the generator wrote (an untimed pass)."""
    kept: list[Any] = []
    run_handled(folder, kept)
    usage, tools = kept
    calls = sum(stats.calls for stats in tools.by_name.values())
    if usage.total.responses != facts["responses"] or calls != facts["tool_calls"]:
        raise BenchmarkError(
            f"the handlers counted {usage.total.responses:,} responses and {calls:,} tool "
            f"calls; the tree has {facts['responses']:,} and {facts['tool_calls']:,}"
        )


class _PeakRss:
    """The process's peak RSS, sampled every 2 ms while running."""

    def __init__(self) -> None:
        import psutil  # noqa: PLC0415 - the bench extra

        self._process = psutil.Process()
        self.baseline = self._process.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def measure_tree(folder: Path, facts: dict[str, int], rounds: int) -> dict[str, Any]:
    """Check, warm up, then time every runner ``rounds`` times, interleaved; MB/s and the
    ratios to ``ta`` per round (medians), and the peak RSS from the check on (its baseline
    taken before it, with the modules imported)."""
    path = str(folder)
    seconds: dict[str, list[float]] = {key: [] for key in RUNNERS}
    keys = list(RUNNERS)
    with _PeakRss() as rss:
        check(path, facts)
        for number in range(-1, rounds):
            shift = max(number, 0) % len(keys)
            for key in keys[shift:] + keys[:shift]:
                gc.collect()
                start = time.perf_counter()
                count = RUNNERS[key](path)
                elapsed = time.perf_counter() - start
                if count != facts["lines"]:
                    raise BenchmarkError(
                        f"{key}: {count:,} messages, the tree has {facts['lines']:,}"
                    )
                if number >= 0:
                    seconds[key].append(elapsed)
    results: dict[str, Any] = {}
    for key, timings in seconds.items():
        ratios = [base / own for base, own in zip(seconds["ta"], timings, strict=True)]
        results[key] = {
            "label": LABELS[key],
            "seconds": timings,
            "mb_per_s": statistics.median(facts["bytes"] / MB / s for s in timings),
            "msgs_per_s": statistics.median(facts["lines"] / s for s in timings),
            "vs_ujson": {"median": statistics.median(ratios), "per_round": ratios},
        }
    return {
        "tree": {"path": path, **facts},
        "rounds": rounds,
        "cases": results,
        "rss": {
            "baseline_mib": rss.baseline / MIB,
            "peak_mib": rss.peak / MIB,
            "peak_growth_mib": (rss.peak - rss.baseline) / MIB,
        },
    }


def report(out_dir: Path, mb: float, seed: int, rounds: int) -> dict[str, Any]:
    """Generate (or reuse) the tree, measure it and print the table; the results, or
    ``{"error": …}``."""
    started = time.perf_counter()
    folder, facts = tree_for(out_dir, mb, seed)
    print(
        f"\ntranscripts: {facts['bytes'] / MB:,.1f} MB tree, {facts['files']:,} files, "
        f"{facts['lines']:,} lines, {facts['responses']:,} responses "
        f"(ready in {time.perf_counter() - started:.1f} s), {rounds} rounds"
    )
    try:
        results = measure_tree(folder, facts, rounds)
    except BenchmarkError as exc:
        print(f"transcripts: ERROR: {exc}")
        return {"error": str(exc)}
    print(f"{'case':<10} {'pipeline':<62} {'MB/s':>8} {'msg/s':>10} {'vs ujson':>8}")
    for key, case in results["cases"].items():
        ratio = case["vs_ujson"]["median"]
        print(
            f"{key:<10} {case['label']:<62} {case['mb_per_s']:8.1f} {case['msgs_per_s']:10,.0f} "
            f"{ratio:8.3f}"
        )
    rss = results["rss"]
    print(
        f"           peak RSS {rss['peak_mib']:.1f} MiB over the check and the rounds "
        f"(+{rss['peak_growth_mib']:.1f} MiB over {rss['baseline_mib']:.1f} MiB before them)"
    )
    return results


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.transcripts``: the transcript case alone."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.transcripts")
    parser.add_argument("--mb", type=float, default=100.0, help="tree size in MB (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"load average at start {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    results = report(args.out, args.mb, args.seed, args.rounds)
    results["load_average_at_end"] = os.getloadavg()
    print(f"load average at end {' '.join(f'{v:.2f}' for v in results['load_average_at_end'])}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if "error" in results else 0


if __name__ == "__main__":
    raise SystemExit(main())
