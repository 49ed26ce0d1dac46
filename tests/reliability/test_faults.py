"""Faults of the child process under the full pipeline: killed mid-frame, stdout closed
early, hanging, flooding stderr.

Every test runs ``from_cli`` → parse_json_frames → backpressure(BLOCK) → route_by_type →
measure. Waits are on events and process states; deadlines only keep a broken
implementation from hanging the run, and the bounds on elapsed time are liveness checks
(seconds where milliseconds are expected), not performance assertions.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
from corpus_files import decode
from reactivex.subject import Subject
from waiting import wait_until

from reliability.support import (
    Collector,
    child,
    child_processes,
    full_pipeline,
    is_zombie,
    only_child,
    recording_path,
)
from rxclaude import (
    CLIProcessError,
    Message,
    ParseError,
    Policy,
    Router,
    StreamMetrics,
    backpressure,
    from_cli,
)
from rxclaude.messages import ClaudeMessage, ResultMessage
from rxclaude.sources import STDERR_TAIL_BYTES

PROMPT = 5.0
"""Seconds a dispose may take: a liveness bound (it takes milliseconds)."""
RECORDING = recording_path("tool_use_partial")
UNICODE_RECORDING = recording_path("unicode_escaping")


class Run:
    """One full pipeline over a child process, with its own router and metrics."""

    def __init__(
        self,
        command: list[str],
        *,
        stdin: Subject[bytes] | None = None,
        buffer_size: int = 16,
        terminate_timeout: float = 2.0,
        router: Router | None = None,
    ) -> None:
        self.router = router if router is not None else Router.default()
        self.metrics = StreamMetrics()
        self.collector = Collector()
        source = from_cli(command, input=stdin, terminate_timeout=terminate_timeout)
        bp = backpressure(Policy.BLOCK, buffer_size=buffer_size)
        pipeline = full_pipeline(source, bp, self.router, self.metrics)
        self.subscription = pipeline.subscribe(self.collector)

    @property
    def items(self) -> list[Message]:
        return self.collector.items

    def dispose_promptly(self) -> float:
        """Dispose; check it returned in time with the child reaped; return its duration."""
        started = time.monotonic()
        self.subscription.dispose()
        elapsed = time.monotonic() - started
        assert elapsed < PROMPT, f"dispose took {elapsed:.1f} s"
        assert child_processes() == []
        return elapsed

    def check_counts(self) -> None:
        """The metrics and the router saw exactly the items delivered; no handler failed."""
        snapshot = self.metrics.snapshot()
        assert snapshot.messages_received == len(self.items)
        assert snapshot.parse_errors == sum(isinstance(m, ParseError) for m in self.items)
        assert snapshot.bytes_processed == sum(m.nbytes for m in self.items)
        assert self.router.statistics().messages == len(self.items)
        assert self.router.statistics().handler_errors == 0


def frame_ends(data: bytes) -> list[int]:
    """The offset just after each ``\\n`` of ``data``."""
    return [index + 1 for index, byte in enumerate(data) if byte == ord("\n")]


# -- killed mid-frame ------------------------------------------------------------------


def _cut_points() -> list[pytest.ParameterSet]:
    data = RECORDING.read_bytes()
    ends = frame_ends(data)
    unicode_data = UNICODE_RECORDING.read_bytes()
    inside_character = next(i for i, byte in enumerate(unicode_data) if byte >= 0xC0) + 1
    inside_null = data.index(b":null", ends[5]) + 3
    return [
        pytest.param(RECORDING, 1, 5, id="inside the first frame"),
        pytest.param(RECORDING, 1, (ends[9] + ends[10]) // 2, id="inside the 11th frame"),
        pytest.param(RECORDING, 1, ends[20], id="at a frame boundary"),
        pytest.param(
            UNICODE_RECORDING,
            1,
            inside_character,
            id="inside a UTF-8 character",
        ),
        pytest.param(
            RECORDING,
            1,
            inside_null,
            id="inside a null literal",
        ),
        pytest.param(RECORDING, 2, len(data) + ends[3] + 7, id="after a result frame"),
    ]


@pytest.mark.parametrize(("path", "repeat", "cut"), _cut_points())
def test_a_child_killed_mid_frame_delivers_every_frame_then_the_signal(
    path: Path, repeat: int, cut: int
) -> None:
    written = (path.read_bytes() * repeat)[:cut]
    run = Run(child("replay.py", path, "--repeat", repeat, "--cut", cut, "--then", "kill"))
    run.collector.wait()
    expected = decode(written)
    assert run.items == expected
    last = run.items[-1]
    if written.endswith(b"\n"):
        assert isinstance(last, ClaudeMessage)
    else:
        assert isinstance(last, ParseError)
        assert last.reason == "truncated"
        assert last.offset + last.nbytes == cut
    error = run.collector.error
    assert isinstance(error, CLIProcessError)
    assert error.returncode == -signal.SIGKILL
    results = [m for m in expected if isinstance(m, ResultMessage)]
    assert error.result == (results[-1] if results else None)
    run.check_counts()


def test_a_child_killed_while_the_consumer_is_stalled_loses_no_complete_frame() -> None:
    """SIGKILL from outside while the pipe, the buffer and the handler are all full."""
    first_item = threading.Event()
    release = threading.Event()

    def stall(message: Message) -> None:
        first_item.set()
        assert release.wait(60)

    router = Router()
    router.register("*", stall)
    run = Run(child("bp_flood.py", 100_000, 200), buffer_size=4, router=router)
    assert first_item.wait(60)
    only_child().send_signal(signal.SIGKILL)
    release.set()
    run.collector.wait()
    error = run.collector.error
    assert isinstance(error, CLIProcessError) and error.returncode == -signal.SIGKILL
    frames = [item for item in run.items if isinstance(item, ClaudeMessage)]
    errors = [item for item in run.items if isinstance(item, ParseError)]
    # Every complete frame, in order; at most a cut last one, reported as truncated.
    assert [frame.raw["seq"] for frame in frames] == list(range(len(frames)))
    assert run.items[: len(frames)] == frames
    assert [error.reason for error in errors] in ([], ["truncated"])
    assert 4 < len(frames) < 100_000
    run.check_counts()


# -- stdout closed, process still running ------------------------------------------------


def _has_fd(process: psutil.Process, fd: int) -> bool:
    return Path(f"/proc/{process.pid}/fd/{fd}").exists()


def test_a_child_that_closes_stdout_ends_the_stream_when_it_exits() -> None:
    """from_cli: the stream ends when stdout is at its end *and* the process has exited."""
    stdin: Subject[bytes] = Subject()
    run = Run(child("replay.py", RECORDING, "--then", "close-stdout"), stdin=stdin)
    expected = decode(RECORDING.read_bytes())
    process = only_child()
    wait_until(lambda: not _has_fd(process, 1) and len(run.items) == len(expected))
    # Whether the stream wrongly ended at end-of-file can only be seen by waiting a little.
    assert not run.collector.done.wait(0.5)
    assert process.is_running() and not is_zombie(process)
    stdin.on_completed()  # the child reads its stdin to the end, then exits with code 0
    run.collector.wait()
    assert run.collector.completed
    assert run.items == expected
    run.check_counts()


def test_disposing_a_child_that_closed_stdout_and_keeps_running_is_prompt() -> None:
    stdin: Subject[bytes] = Subject()
    run = Run(child("replay.py", RECORDING, "--then", "close-stdout"), stdin=stdin)
    process = only_child()
    wait_until(lambda: not _has_fd(process, 1))
    run.dispose_promptly()
    assert not run.collector.done.is_set()


# -- hanging children --------------------------------------------------------------------


def test_disposing_a_child_hanging_mid_frame_is_prompt_and_delivers_nothing_more() -> None:
    data = RECORDING.read_bytes()
    cut = (frame_ends(data)[5] + frame_ends(data)[6]) // 2
    run = Run(child("replay.py", RECORDING, "--cut", cut, "--then", "hang"))
    complete_frames = decode(data[: frame_ends(data)[5]])
    wait_until(lambda: len(run.items) == len(complete_frames))
    run.dispose_promptly()
    assert run.items == complete_frames  # the cut frame is neither delivered nor reported
    assert not run.collector.done.is_set()


def test_disposing_while_a_handler_is_stuck_and_the_child_hangs_is_prompt() -> None:
    """The consumer thread is stuck in a handler, the buffer is full, the child waits."""
    stuck = threading.Event()
    release = threading.Event()

    def get_stuck(message: Message) -> None:
        stuck.set()
        release.wait(60)

    router = Router()
    router.register("*", get_stuck)
    run = Run(child("replay.py", RECORDING, "--then", "hang"), buffer_size=2, router=router)
    assert stuck.wait(60)
    try:
        run.dispose_promptly()
    finally:
        release.set()
    assert len(run.items) <= 1


def test_a_child_ignoring_sigterm_is_killed_after_the_grace() -> None:
    grace = 0.5
    run = Run(child("ignore_sigterm.py"), terminate_timeout=grace)
    wait_until(lambda: len(run.items) == 1)  # "ready": not JSON, a parse error item
    assert isinstance(run.items[0], ParseError)
    elapsed = run.dispose_promptly()
    assert elapsed >= grace


# -- stderr flood --------------------------------------------------------------------------


def numbered_lines(size: int) -> bytes:
    """``size`` bytes of numbered lines: every tail of it is different."""
    return b"".join(b"stderr line %08d\n" % n for n in range(size // 20 + 1))[:size]


def test_stderr_is_drained_while_the_consumer_is_stuck(tmp_path: Path) -> None:
    """10 MB of stderr while the only consumer is stuck on the first frame: the child
    still writes all of it and exits, so stderr never waits for stdout's consumer."""
    stderr_content = numbered_lines(10_000_000)
    (tmp_path / "stderr").write_bytes(stderr_content)
    first_item = threading.Event()
    process_holder: list[psutil.Process] = []

    def stall_until_the_child_exits(message: Message) -> None:
        if not first_item.is_set():
            first_item.set()
            wait_until(lambda: bool(process_holder) and is_zombie(process_holder[0]))

    router = Router()
    router.register("*", stall_until_the_child_exits)
    run = Run(child("stderr_flood.py", tmp_path / "stderr", 20, 1), buffer_size=1, router=router)
    process_holder.append(only_child())
    run.collector.wait()
    assert [m.raw for m in run.items if isinstance(m, ClaudeMessage)] == [
        {"line": n} for n in range(20)
    ]
    error = run.collector.error
    assert isinstance(error, CLIProcessError) and error.returncode == 1
    assert error.stderr == stderr_content[-STDERR_TAIL_BYTES:].decode()
    run.check_counts()


def test_stderr_flood_with_a_large_slowly_consumed_stdout_does_not_deadlock(
    tmp_path: Path,
) -> None:
    """50,000 frames (more than a pipe holds) interleaved with 10 MB of stderr, through a
    one-item buffer and the default router."""
    (tmp_path / "stderr").write_bytes(numbered_lines(10_000_000))
    run = Run(child("stderr_flood.py", tmp_path / "stderr", 50_000, 0), buffer_size=1)
    run.collector.wait()
    assert run.collector.completed
    assert [m.raw["line"] for m in run.items if isinstance(m, ClaudeMessage)] == list(range(50_000))
    run.check_counts()
