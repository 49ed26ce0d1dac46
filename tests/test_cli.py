"""Tests of from_cli and CLIProcessError, with small child processes.

Threaded tests synchronise on events, queues and process exit; the timeouts below
only keep a broken implementation from hanging the run.
"""

import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import reactivex
import reactivex.operators as ops
from conftest import TIMEOUT, Recording
from reactivex.scheduler import NewThreadScheduler
from reactivex.subject import Subject
from reactivex.testing import TestScheduler
from waiting import wait_until

from rxclaude.sources import STDERR_TAIL_BYTES, CLIProcessError, from_cli

CHILDREN = Path(__file__).parent / "children"


def child(script: str, *arguments: object) -> list[str]:
    return [sys.executable, str(CHILDREN / script), *map(str, arguments)]


def numbered_lines(size: int) -> bytes:
    """Recognisable content of ``size`` bytes: every tail of it is different."""
    lines = b"".join(b"stderr line %08d\n" % number for number in range(size // 20 + 1))
    return lines[:size]


def cli_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("rxclaude-cli")]


def join_cli_threads() -> None:
    """Waits for the threads that end by themselves (a reader that disposed itself)."""
    for thread in cli_threads():
        thread.join(TIMEOUT)
    assert cli_threads() == []


def only_child() -> psutil.Process:
    (process,) = psutil.Process().children()
    return process


class ByteRecording(Recording[bytes]):
    """A ``Recording`` of chunks of bytes, which it joins as ``data``."""

    @property
    def data(self) -> bytes:
        return b"".join(self.items)

    def receive(self, expected: bytes) -> None:
        """Waits until the chunks received from now on add up to ``expected``."""
        received = b""
        while len(received) < len(expected):
            received += self.take()
        assert received == expected


@pytest.fixture(autouse=True)
def no_leftovers() -> Iterator[None]:
    """Every test leaves no child process, no rxclaude thread and no open descriptor."""
    fds_before = psutil.Process().num_fds()
    yield
    join_cli_threads()
    assert psutil.Process().children() == []
    assert psutil.Process().num_fds() == fds_before


# -- completion and errors -------------------------------------------------------------


def test_exit_zero_completes_with_every_byte_on_the_reader_thread() -> None:
    recorder = ByteRecording()
    from_cli(child("stderr_flood.py", os.devnull, 50, 0)).subscribe(recorder)
    recorder.wait_done()
    assert recorder.completed
    assert recorder.data == b"".join(b'{"line":%d}\n' % line for line in range(50))
    assert recorder.thread_names == {"rxclaude-cli-stdout"}


def test_nonzero_exit_delivers_every_chunk_then_cli_process_error() -> None:
    command = child("exit_with_partial_frame.py")
    recorder = ByteRecording()
    from_cli(command).subscribe(recorder)
    recorder.wait_done()
    assert recorder.data == b'{"type":"system"}\n{"type":"assistant"}\n{"type":"res'
    error = recorder.error
    assert isinstance(error, CLIProcessError)
    assert error.returncode == 3
    assert error.stderr == "starting\nfatal: the API key is missing\n"
    assert error.command == command
    assert error.args == tuple(command)
    assert error.result is None
    assert str(error).endswith("exited with code 3: fatal: the API key is missing")


def test_child_killed_mid_frame_is_an_error_with_negative_returncode() -> None:
    recorder = ByteRecording()
    from_cli(child("kill_self_mid_frame.py")).subscribe(recorder)
    recorder.wait_done()
    assert recorder.data == b'{"type":"system"}\n{"type":"assist'
    assert isinstance(recorder.error, CLIProcessError)
    assert recorder.error.returncode == -signal.SIGKILL
    assert "killed by signal 9 (SIGKILL)" in str(recorder.error)


def test_stderr_keeps_only_the_last_64_kib(tmp_path: Path) -> None:
    stderr_content = numbered_lines(1_000_000)
    (tmp_path / "stderr").write_bytes(stderr_content)
    recorder = ByteRecording()
    from_cli(child("stderr_flood.py", tmp_path / "stderr", 4, 1)).subscribe(recorder)
    recorder.wait_done()
    assert isinstance(recorder.error, CLIProcessError)
    assert recorder.error.returncode == 1
    assert recorder.error.stderr == stderr_content[-STDERR_TAIL_BYTES:].decode()


def test_stderr_flood_with_slow_stdout_does_not_deadlock(tmp_path: Path) -> None:
    (tmp_path / "stderr").write_bytes(numbered_lines(10_000_000))
    recorder = ByteRecording()
    from_cli(child("stderr_flood.py", tmp_path / "stderr", 20, 0)).subscribe(recorder)
    recorder.wait_done()
    assert recorder.completed
    assert recorder.data.count(b"\n") == 20


def test_missing_executable_is_an_error_not_a_raise() -> None:
    source = from_cli(["/nonexistent/rxclaude-test-executable", "-p"])
    recorder = ByteRecording()
    source.subscribe(recorder)
    assert isinstance(recorder.error, FileNotFoundError)
    assert cli_threads() == []


def test_cwd_and_env_are_given_to_the_process(tmp_path: Path) -> None:
    source = from_cli(
        child("report_environment.py"), cwd=tmp_path, env={"RXCLAUDE_TEST": "present"}
    )
    output = source.pipe(ops.to_list()).run()
    assert b"".join(output).decode() == (f'{{"cwd": "{tmp_path}", "RXCLAUDE_TEST": "present"}}\n')


def test_each_subscription_runs_its_own_process() -> None:
    source = from_cli([sys.executable, "-c", "import os; print(os.getpid())"])
    first, second = (b"".join(source.pipe(ops.to_list()).run()) for _ in range(2))
    assert first != second


def test_chunks_are_at_most_chunk_size() -> None:
    chunks = from_cli(["yes"], chunk_size=100).pipe(ops.take(20), ops.to_list()).run()
    assert len(chunks) == 20
    assert all(0 < len(chunk) <= 100 for chunk in chunks)


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("chunk_size", 0), ("chunk_size", -1), ("terminate_timeout", -0.5)],
)
def test_invalid_settings_are_rejected_at_assembly(keyword: str, value: float) -> None:
    with pytest.raises(ValueError, match=keyword):
        from_cli(["yes"], **{keyword: value})  # type: ignore[arg-type]


def test_a_command_string_or_an_empty_command_is_rejected() -> None:
    with pytest.raises(TypeError):
        from_cli("yes")
    with pytest.raises(ValueError, match="executable"):
        from_cli([])


# -- input -----------------------------------------------------------------------------


def test_input_bytes_are_written_to_stdin_then_closed() -> None:
    data = bytes(range(256)) * 4096
    output = from_cli(["cat"], input=data).pipe(ops.to_list()).run()
    assert b"".join(output) == data


def test_empty_input_closes_stdin_at_once() -> None:
    assert from_cli(["cat"], input=b"").pipe(ops.to_list()).run() == []


def test_input_the_child_does_not_read_is_not_an_error() -> None:
    source = from_cli([sys.executable, "-c", "print('done')"], input=b"x" * 10_000_000)
    assert b"".join(source.pipe(ops.to_list()).run()) == b"done\n"


def test_input_observable_feeds_stdin_turn_by_turn() -> None:
    turns: Subject[bytes] = Subject()
    recorder = ByteRecording()
    from_cli(["cat"], input=turns).subscribe(recorder)
    turns.on_next(b'{"turn":1}\n')
    recorder.receive(b'{"turn":1}\n')
    turns.on_next(b'{"turn":2}\n')
    recorder.receive(b'{"turn":2}\n')
    turns.on_completed()
    recorder.wait_done()
    assert recorder.completed


def test_input_observable_error_ends_the_process_and_the_output() -> None:
    turns: Subject[bytes] = Subject()
    recorder = ByteRecording()
    from_cli(["cat"], input=turns).subscribe(recorder)
    turns.on_next(b"hello\n")
    recorder.receive(b"hello\n")
    failure = ValueError("input failed")
    turns.on_error(failure)
    recorder.wait_done()
    assert recorder.error is failure


def test_input_observable_erroring_at_once_is_the_output_error() -> None:
    failure = ValueError("no input")
    recorder = ByteRecording()
    from_cli(["cat"], input=reactivex.throw(failure)).subscribe(recorder)
    recorder.wait_done()
    assert recorder.error is failure


# -- consumer pace ---------------------------------------------------------------------


def test_a_blocked_consumer_holds_the_spool_and_the_child_finishes() -> None:
    size = 4_000_000
    writer = [sys.executable, "-c", f"import sys; sys.stdout.buffer.write(b'x' * {size})"]
    release = threading.Event()
    recorder = ByteRecording()

    def block_on_first_chunk(chunk: bytes) -> None:
        recorder.on_next(chunk)
        assert release.wait(TIMEOUT)

    source = from_cli(writer, spool_memory=1 << 20)
    source.subscribe(block_on_first_chunk, recorder.on_error, recorder.on_completed)
    recorder.wait_first()
    # The pipe is drained while on_next blocks: the child writes everything and exits.
    assert only_child().wait(timeout=TIMEOUT) == 0
    wait_until(lambda: source.statistics().received_bytes == size)
    held = source.statistics()
    assert len(recorder.items) == 1
    assert held.held_bytes == size - len(recorder.items[0])
    assert held.disk_bytes > 0 and held.memory_bytes <= 1 << 20
    release.set()
    recorder.wait_done()
    assert recorder.completed
    assert recorder.data == b"x" * size
    done = source.statistics()
    assert (done.delivered_bytes, done.held_bytes, done.discarded_bytes) == (size, 0, 0)


# -- disposal --------------------------------------------------------------------------


def test_dispose_ends_a_child_that_writes_forever() -> None:
    threads_before = threading.active_count()
    recorder = ByteRecording()
    subscription = from_cli(["yes"]).subscribe(recorder)
    recorder.wait_first()
    subscription.dispose()
    received = len(recorder.items)
    assert psutil.Process().children() == []
    assert cli_threads() == []
    assert threading.active_count() == threads_before
    assert len(recorder.items) == received
    assert not recorder.done.is_set()


def test_dispose_from_inside_on_next_reaps_the_child() -> None:
    recorder = ByteRecording()
    from_cli(["yes"], chunk_size=10).pipe(ops.take(3)).subscribe(recorder)
    recorder.wait_done()
    join_cli_threads()
    assert recorder.completed
    assert len(recorder.items) == 3
    assert psutil.Process().children() == []


def test_dispose_from_another_thread_waits_for_an_on_next_in_progress() -> None:
    in_on_next = threading.Event()
    release = threading.Event()
    on_next_returned = threading.Event()
    returned_before_dispose_ended: list[bool] = []

    def block_once(_: bytes) -> None:
        if not in_on_next.is_set():
            in_on_next.set()
            assert release.wait(TIMEOUT)
            on_next_returned.set()

    subscription = from_cli(["yes"]).subscribe(block_once)

    def dispose() -> None:
        subscription.dispose()
        returned_before_dispose_ended.append(on_next_returned.is_set())

    assert in_on_next.wait(TIMEOUT)
    disposer = threading.Thread(target=dispose)
    disposer.start()
    release.set()
    disposer.join(TIMEOUT)
    assert returned_before_dispose_ended == [True]


def test_a_child_ignoring_sigterm_is_killed_after_the_grace() -> None:
    grace = 0.3
    recorder = ByteRecording()
    subscription = from_cli(child("ignore_sigterm.py"), terminate_timeout=grace).subscribe(recorder)
    recorder.receive(b"ready\n")
    started = time.monotonic()
    subscription.dispose()
    assert time.monotonic() - started >= grace
    assert psutil.Process().children() == []


def test_dispose_of_a_silent_child_returns_promptly() -> None:
    recorder = ByteRecording()
    subscription = from_cli(child("sleep_forever.py"), terminate_timeout=TIMEOUT).subscribe(
        recorder
    )
    started = time.monotonic()
    subscription.dispose()
    assert time.monotonic() - started < TIMEOUT / 2
    assert recorder.items == []
    assert not recorder.done.is_set()


def test_dispose_ends_the_whole_process_group() -> None:
    recorder = ByteRecording()
    subscription = from_cli(child("spawn_grandchild.py")).subscribe(recorder)
    recorder.wait_first()
    assert int(recorder.data) > 0
    # The grandchild shares stdout and only ever waits for a signal: stdout reaches its
    # end, and disposing returns, only once the signal to the group has ended it too.
    disposer = threading.Thread(target=subscription.dispose)
    disposer.start()
    disposer.join(TIMEOUT)
    assert not disposer.is_alive()


# -- scheduler -------------------------------------------------------------------------


def test_the_read_loop_runs_on_the_given_scheduler() -> None:
    scheduler = TestScheduler()
    recorder = ByteRecording()
    from_cli(child("stderr_flood.py", os.devnull, 3, 0), scheduler=scheduler).subscribe(recorder)
    assert recorder.items == []
    scheduler.start()
    assert recorder.completed
    assert recorder.data == b'{"line":0}\n{"line":1}\n{"line":2}\n'
    assert recorder.thread_names == {threading.current_thread().name}


def test_dispose_before_the_scheduled_loop_runs_releases_everything() -> None:
    scheduler = TestScheduler()
    recorder = ByteRecording()
    subscription = from_cli(["yes"], scheduler=scheduler).subscribe(recorder)
    subscription.dispose()
    assert psutil.Process().children() == []
    scheduler.start()
    assert recorder.items == []
    assert not recorder.done.is_set()


def test_dispose_waits_for_a_loop_running_on_a_scheduler_thread() -> None:
    recorder = ByteRecording()
    subscription = from_cli(["yes"], scheduler=NewThreadScheduler()).subscribe(recorder)
    recorder.wait_first()
    subscription.dispose()
    received = len(recorder.items)
    assert psutil.Process().children() == []
    assert recorder.thread_names.isdisjoint({"rxclaude-cli-stdout", "MainThread"})
    assert len(recorder.items) == received


# -- many cycles -----------------------------------------------------------------------


def test_a_thousand_subscribe_dispose_cycles_leave_nothing_behind() -> None:
    threads_before = threading.active_count()
    fds_before = psutil.Process().num_fds()
    for cycle in range(1000):
        recorder = ByteRecording()
        kind = cycle % 4
        if kind in (0, 1):
            subscription = from_cli(["yes"]).subscribe(recorder)
            if kind == 1:
                recorder.wait_first()
        else:
            turns: Subject[bytes] = Subject()
            subscription = from_cli(["cat"], input=turns).subscribe(recorder)
            if kind == 3:
                turns.on_next(b"ping\n")
                recorder.receive(b"ping\n")
        subscription.dispose()
    assert psutil.Process().children() == []
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
    assert threading.active_count() == threads_before
    assert psutil.Process().num_fds() == fds_before


# -- CLIProcessError -------------------------------------------------------------------


def test_cli_process_error_pickles_with_its_attributes() -> None:
    error = CLIProcessError(["claude", "-p", "hi"], 2, "usage: claude\nbad flag\n")
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, CLIProcessError)
    assert (copy.command, copy.returncode, copy.stderr, copy.result) == (
        ["claude", "-p", "hi"],
        2,
        "usage: claude\nbad flag\n",
        None,
    )
    assert copy.args == ("claude", "-p", "hi")
    assert str(copy) == str(error) == "command ['claude', '-p', 'hi'] exited with code 2: bad flag"


def test_cli_process_error_message_without_stderr_and_with_an_unknown_signal() -> None:
    assert str(CLIProcessError(["x"], 1)) == "command ['x'] exited with code 1"
    assert str(CLIProcessError(["x"], -200)) == "command ['x'] was killed by signal 200"
