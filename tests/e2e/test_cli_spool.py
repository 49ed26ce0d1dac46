"""``from_cli``'s spool against the real CLI: a consumer held until the CLI has exited
loses nothing (issue #12).

The CLI does not pause when its stdout pipe is full: it keeps calling the API and running
tools, buffers its output, and loses what it had not written when it exits. So these
tests hold the consumer (behind ``backpressure(BLOCK, buffer_size=16)``) at its 5th
message until the CLI process is gone, then let it go, and compare what arrives with an
unheld run of the same ``Read`` tool loop: ``read_loop`` (12 turns, 2.5 MB of
stream-json, inside the spool's default 4 MiB of memory) and ``read_loop_large``
(24 turns, 50 MB, through a 1 MiB memory spool: most of it goes to disk).

Frames are compared by digests of their fingerprints (``harness.fingerprint``), so the
test keeps no frame: the growth of this process's resident memory is the pipeline's
(mostly the 21 parsed frames the held consumer and the full buffer keep, about 40 MB in
``read_loop_large``). Each run's figures (CLI time, spool peaks, RSS growth) are recorded
as properties of the test's report (``--junitxml``, ``-o junit_family=legacy``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import Recording
from reactivex import operators as ops
from waiting import DEADLINE, wait_until

from rxclaude import Message, Policy, backpressure, from_cli, parse_json_frames
from rxclaude.backpressure import BackpressureStatistics
from rxclaude.sources import SpoolStatistics
from rxclaude.sources.spool import DEFAULT_SPOOL_MEMORY
from rxclaude.testing import SCENARIOS, CLIInvocation, cli_invocation
from rxclaude.testing.catalogue import ReadLoopFiles, read_loop_file

from .harness import fingerprint, label, prompt_args

pytestmark = pytest.mark.e2e

HOLD_AT = 5
"""The consumer holds at its 5th message, a ``user`` frame with the second file."""

BUFFER_SIZE = 16
MAX_RSS_GROWTH = 64 << 20
SMALL_SPOOL = 1 << 20

PROC_FD = Path("/proc/self/fd")

RecordProperty = Callable[[str, object], None]


def files_of(scenario: str) -> ReadLoopFiles:
    files = SCENARIOS[scenario].project_files
    assert isinstance(files, ReadLoopFiles)
    return files


def invocation_of(scenario: str, workdir: Path) -> CLIInvocation:
    return cli_invocation(
        scenario, prompt_args(scenario, "--allowedTools", "Read"), workdir=workdir
    )


# -- what a run delivered, without keeping it ------------------------------------------


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Frame:
    """What the test keeps of a frame: its label, where it was, and digests of what it
    says (``fingerprint``) and of the file a ``Read`` result carries."""

    label: str
    offset: int
    nbytes: int
    fingerprint: str | None
    """None for a ``ParseError`` (a frame the end of the stream cut)."""
    file_content: str | None

    @classmethod
    def of(cls, message: Message) -> Frame:
        raw = message.raw
        if raw is None:
            return cls(label(message), message.offset, message.nbytes, None, None)
        result = raw.get("tool_use_result")
        content = result["file"]["content"] if isinstance(result, dict) else None
        return cls(
            label(message),
            message.offset,
            message.nbytes,
            digest(fingerprint(message)),
            None if content is None else digest(content),
        )


class RunRecording(Recording[Frame]):
    """A ``Recording`` of the frames of one subscription, which also counts the chunks
    from the source."""

    def __init__(self) -> None:
        super().__init__()
        self.stream_bytes = 0

    def count(self, chunk: bytes) -> None:
        self.stream_bytes += len(chunk)

    def record(self, message: Message) -> None:
        self.on_next(Frame.of(message))

    def wait(self) -> list[Frame]:
        self.wait_done()
        return self.items


@dataclass(frozen=True)
class Reference:
    """The unheld run of a scenario."""

    invocation: CLIInvocation
    frames: list[Frame]
    stream_bytes: int


def reference_run(scenario: str, workdir: Path) -> Reference:
    invocation = invocation_of(scenario, workdir)
    recorder = RunRecording()
    source = from_cli(invocation.argv, cwd=invocation.cwd, env=invocation.env)
    subscription = source.pipe(
        ops.do_action(recorder.count), parse_json_frames(), ops.do_action(recorder.record)
    ).subscribe(on_error=recorder.on_error, on_completed=recorder.on_completed)
    with subscription:
        frames = recorder.wait()
    assert recorder.error is None
    # The scenario does what it says: one whole file read per turn, then an answer.
    files = files_of(scenario)
    assert [frame.label for frame in frames] == [
        "system/init",
        *["assistant", "user"] * files.parts,
        "assistant",
        "result/success",
    ]
    assert [frame.file_content for frame in frames if frame.label == "user"] == [
        digest(read_loop_file(part, files.size)) for part in range(1, files.parts + 1)
    ]
    return Reference(invocation, frames, recorder.stream_bytes)


def discard_request_log(invocation: CLIInvocation) -> None:
    """Deletes a request log of hundreds of megabytes (every request carries the files
    read before it) rather than leave it in pytest's kept temporary directories."""
    invocation.request_log.unlink()


@pytest.fixture(scope="module")
def read_loop(claude: str, workdir: Path) -> Reference:
    return reference_run("read_loop", workdir)


@pytest.fixture(scope="module")
def read_loop_large(claude: str, workdir: Path) -> Reference:
    reference = reference_run("read_loop_large", workdir)
    discard_request_log(reference.invocation)
    return reference


# -- the process: its memory, its descriptors, the CLI among its descendants -----------


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


class PeakRSS:
    """The largest resident set size of this process while it is entered.

    On Linux the kernel's high-water mark (``VmHWM``, reset through
    ``/proc/self/clear_refs``) sees every peak; elsewhere a thread samples ``rss()``.
    """

    def __init__(self) -> None:
        self.start = 0
        self.peak = 0
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    @property
    def growth(self) -> int:
        return self.peak - self.start

    def __enter__(self) -> PeakRSS:
        self.start = self.peak = rss()
        try:
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM := the RSS now
        except OSError:
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._sampler is None:
            status = Path("/proc/self/status").read_text()
            match = re.search(r"^VmHWM:\s+(\d+) kB$", status, re.MULTILINE)
            assert match is not None, status
            self.peak = max(self.peak, int(match[1]) * 1024)
        else:
            self._stop.set()
            self._sampler.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, rss())


def descriptors_into(directory: Path) -> list[str]:
    """Where this process's open file descriptors into ``directory`` point (read from
    ``/proc/self/fd``; without it, psutil's open files, which omit unlinked ones)."""
    prefix = f"{directory.resolve()}{os.sep}"
    if not PROC_FD.is_dir():
        return [f.path for f in psutil.Process().open_files() if f.path.startswith(prefix)]
    targets = []
    for fd in PROC_FD.iterdir():
        with contextlib.suppress(OSError):  # the listing's own descriptor, closed since
            targets.append(os.readlink(fd))
    return [target for target in targets if target.startswith(prefix)]


def find_cli_process(claude: str) -> psutil.Process:
    """The CLI among this process's descendants (under the launcher), once started."""
    executable = os.path.realpath(claude)
    found: list[psutil.Process] = []

    def started() -> bool:
        for process in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a process starting or ending
                if process.exe() == executable:
                    found.append(process)
                    return True
        return False

    wait_until(started)
    return found[0]


# -- the held run ----------------------------------------------------------------------


@dataclass(frozen=True)
class HeldRun:
    invocation: CLIInvocation
    frames: list[Frame]
    error: Exception | None
    stream_bytes: int
    statistics: SpoolStatistics
    buffer: BackpressureStatistics
    at_cli_exit: SpoolStatistics
    """The spool once the CLI had exited, the consumer still held."""
    buffer_at_cli_exit: BackpressureStatistics
    listing_at_cli_exit: list[Path]
    descriptors_at_cli_exit: list[str]
    cli_seconds: float
    """From the CLI's start to its exit."""
    cli_seconds_held: float
    """From the moment the consumer held to the CLI's exit."""
    rss_growth: int

    def record(self, record_property: RecordProperty) -> None:
        """The run's figures, as properties of the test's report."""
        statistics, at_exit = self.statistics, self.at_cli_exit
        for name, value in {
            "frames": len(self.frames),
            "stream_bytes": self.stream_bytes,
            "cli_seconds": round(self.cli_seconds, 2),
            "cli_seconds_held": round(self.cli_seconds_held, 2),
            "delivered_bytes_at_cli_exit": at_exit.delivered_bytes,
            "held_bytes_at_cli_exit": at_exit.held_bytes,
            "disk_bytes_at_cli_exit": at_exit.disk_bytes,
            "peak_memory_bytes": statistics.peak_memory_bytes,
            "peak_disk_bytes": statistics.peak_disk_bytes,
            "peak_bytes": statistics.peak_bytes,
            "spilled_bytes": statistics.spilled_bytes,
            "rss_growth": self.rss_growth,
        }.items():
            record_property(name, value)


def held_run(
    scenario: str,
    claude: str,
    workdir: Path,
    spool_dir: Path,
    spool_memory: int = DEFAULT_SPOOL_MEMORY,
) -> HeldRun:
    """Runs ``scenario`` with a consumer that holds at its 5th message until the CLI
    process has exited, then lets everything through."""
    invocation = invocation_of(scenario, workdir)
    holding, release = threading.Event(), threading.Event()
    recorder = RunRecording()
    bp = backpressure(Policy.BLOCK, buffer_size=BUFFER_SIZE)

    def hold(message: Message) -> None:
        recorder.record(message)
        if len(recorder.items) == HOLD_AT:
            holding.set()
            assert release.wait(DEADLINE), "the consumer was never released"

    source = from_cli(
        invocation.argv,
        cwd=invocation.cwd,
        env=invocation.env,
        spool_memory=spool_memory,
        spool_dir=spool_dir,
    )
    with PeakRSS() as memory:
        subscription = source.pipe(
            ops.do_action(recorder.count), parse_json_frames(), bp, ops.do_action(hold)
        ).subscribe(on_error=recorder.on_error, on_completed=recorder.on_completed)
        try:
            cli = find_cli_process(claude)
            assert holding.wait(DEADLINE), "the consumer never got its 5th message"
            held_since = time.monotonic()
            cli.wait(DEADLINE)  # psutil.TimeoutExpired: the CLI waited for the consumer
            cli_exit, cli_exit_clock = time.monotonic(), time.time()
            at_cli_exit, buffer_at_cli_exit = source.statistics(), bp.statistics()
            listing = list(spool_dir.iterdir())
            descriptors = descriptors_into(spool_dir)
        finally:
            release.set()
            with subscription:
                frames = recorder.wait()
    return HeldRun(
        invocation=invocation,
        frames=frames,
        error=recorder.error,
        stream_bytes=recorder.stream_bytes,
        statistics=source.statistics(),
        buffer=bp.statistics(),
        at_cli_exit=at_cli_exit,
        buffer_at_cli_exit=buffer_at_cli_exit,
        listing_at_cli_exit=listing,
        descriptors_at_cli_exit=descriptors,
        cli_seconds=cli_exit_clock - cli.create_time(),
        cli_seconds_held=cli_exit - held_since,
        rss_growth=memory.growth,
    )


def check_everything_arrived(run: HeldRun, reference: Reference) -> None:
    """Every frame of the unheld run, in order, and every byte: the frames tile the
    stream, the spool passed on all it took, and each frame has its reference's size but
    the first and the last, whose width varies from run to run (``system/init`` names
    the CLI's pid in ``messaging_socket_path``; the result has durations and a cost)."""
    assert run.error is None
    assert [(frame.label, frame.fingerprint) for frame in run.frames] == [
        (frame.label, frame.fingerprint) for frame in reference.frames
    ]
    assert [frame.file_content for frame in run.frames] == [
        frame.file_content for frame in reference.frames
    ]
    ends = [0, *(frame.offset + frame.nbytes + 1 for frame in run.frames)]
    assert [frame.offset for frame in run.frames] == ends[:-1]
    assert run.stream_bytes == ends[-1]
    init, *frames, result = run.frames
    reference_init, *reference_frames, reference_result = reference.frames
    assert [frame.nbytes for frame in frames] == [frame.nbytes for frame in reference_frames]
    assert (
        run.stream_bytes - init.nbytes - result.nbytes
        == reference.stream_bytes - reference_init.nbytes - reference_result.nbytes
    )
    statistics = run.statistics
    assert statistics.received_bytes == statistics.delivered_bytes == run.stream_bytes
    assert (statistics.memory_bytes, statistics.disk_bytes) == (0, 0)
    buffer = run.buffer
    assert buffer.produced == buffer.delivered == len(reference.frames)
    assert (buffer.dropped, buffer.discarded, buffer.peak_size) == (0, 0, BUFFER_SIZE)


def check_held_while_the_cli_ended(run: HeldRun) -> None:
    """When the CLI had exited, the consumer was still at its 5th message, the buffer
    full, its producer (the spool's side) waiting, and the spool held what was to come."""
    buffer = run.buffer_at_cli_exit
    assert (buffer.delivered, buffer.size, buffer.producers_waiting) == (
        HOLD_AT,
        BUFFER_SIZE,
        1,
    )
    spool = run.at_cli_exit
    assert spool.held_bytes > 0
    assert spool.delivered_bytes < run.stream_bytes


def test_consumer_held_past_the_cli_exit_loses_nothing(
    read_loop: Reference,
    claude: str,
    workdir: Path,
    tmp_path: Path,
    record_property: RecordProperty,
) -> None:
    """Issue #12: the whole stream, ``result`` included, after the CLI exited with the
    consumer held. 2.5 MB fit in the default 4 MiB of memory: nothing goes to disk."""
    run = held_run("read_loop", claude, workdir, tmp_path)
    run.record(record_property)

    assert read_loop.stream_bytes >= 2_000_000
    check_everything_arrived(run, read_loop)
    check_held_while_the_cli_ended(run)
    assert run.listing_at_cli_exit == list(tmp_path.iterdir()) == []
    assert run.descriptors_at_cli_exit == descriptors_into(tmp_path) == []
    statistics = run.statistics
    assert 0 < statistics.peak_memory_bytes == statistics.peak_bytes < run.stream_bytes
    assert (statistics.peak_disk_bytes, statistics.spilled_bytes) == (0, 0)
    assert run.rss_growth < MAX_RSS_GROWTH
    # The CLI ran the whole loop: one request per step, each answered.
    requests = run.invocation.requests()
    assert [(r["step"], r["stream"], r["status"]) for r in requests] == [
        (step, True, 200) for step in range(files_of("read_loop").parts + 1)
    ]


def test_fifty_megabytes_through_a_one_megabyte_memory_spool(
    read_loop_large: Reference,
    claude: str,
    workdir: Path,
    tmp_path: Path,
    record_property: RecordProperty,
) -> None:
    """50 MB held past the CLI's exit: the spool keeps at most 1 MiB in memory, the rest
    in its unlinked file in ``spool_dir``, and this process's memory stays small."""
    run = held_run("read_loop_large", claude, workdir, tmp_path, spool_memory=SMALL_SPOOL)
    discard_request_log(run.invocation)
    run.record(record_property)

    assert read_loop_large.stream_bytes >= 48_000_000
    check_everything_arrived(run, read_loop_large)
    check_held_while_the_cli_ended(run)
    assert run.at_cli_exit.disk_bytes > 0
    # The spool's file is in spool_dir, unlinked: open while held, never listed.
    assert run.listing_at_cli_exit == []
    if PROC_FD.is_dir():  # where unlinked files are seen
        assert run.descriptors_at_cli_exit != []
        assert all(target.endswith(" (deleted)") for target in run.descriptors_at_cli_exit)
    assert list(tmp_path.iterdir()) == []
    assert descriptors_into(tmp_path) == []
    statistics = run.statistics
    assert 0 < statistics.peak_memory_bytes <= SMALL_SPOOL < statistics.peak_bytes
    assert 0 < statistics.peak_disk_bytes <= statistics.spilled_bytes
    assert run.rss_growth < MAX_RSS_GROWTH
