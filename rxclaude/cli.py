"""A child process's stdout as an observable of chunks (for ``claude -p --output-format
stream-json``, though any executable works).

Threads of one subscription:

* ``rxclaude-cli-stdout`` reads stdout and calls ``on_next`` synchronously, so a
  consumer that blocks in ``on_next`` stops the reading, the OS pipe fills, and the
  child waits: nothing is buffered without bound on our side.
* ``rxclaude-cli-stderr`` drains stderr into a bounded tail, so a child flooding
  stderr never stalls.
* ``rxclaude-cli-stdin`` (only when there is input) writes the input to stdin.
"""

import contextlib
import importlib.util
import os
import queue
import reprlib
import shutil
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable, SingleAssignmentDisposable

from rxclaude.sources import DEFAULT_CHUNK_SIZE

if TYPE_CHECKING:
    from rxclaude.messages import ResultMessage

STDERR_TAIL_BYTES = 64 * 1024
"""How much of the end of a child's stderr is kept for :class:`CLIProcessError`."""

_PIPE_READ_SIZE = 65536
_command_repr = reprlib.Repr()
_command_repr.maxlist = 8
_command_repr.maxstring = 80


class CLIProcessError(Exception):
    """The child process exited with a non-zero code or was killed by a signal.

    Attributes:
        returncode: The exit code; negative when a signal killed the process.
        stderr: The last 64 KiB of its stderr, decoded as UTF-8 (``errors="replace"``).
        command: The argument list it ran (``args`` holds it as a tuple).
        result: The stream's last result frame when a parsing operator saw one.
    """

    def __init__(
        self,
        command: Sequence[str],
        returncode: int,
        stderr: str = "",
        result: "ResultMessage | None" = None,
    ) -> None:
        super().__init__(*command)
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr
        self.result = result

    def __str__(self) -> str:
        if self.returncode < 0:
            outcome = f"was killed by signal {_signal_name(-self.returncode)}"
        else:
            outcome = f"exited with code {self.returncode}"
        message = f"command {_command_repr.repr(self.command)} {outcome}"
        stderr_lines = self.stderr.strip().splitlines()
        return f"{message}: {stderr_lines[-1]}" if stderr_lines else message

    def __reduce__(self) -> tuple[Any, ...]:
        arguments = (self.command, self.returncode, self.stderr, self.result)
        return type(self), arguments, self.__dict__


def _signal_name(number: int) -> str:
    try:
        return f"{number} ({signal.Signals(number).name})"
    except ValueError:
        return str(number)


def _join_unless_current(thread: threading.Thread | None) -> None:
    if thread is not None and thread is not threading.current_thread():
        thread.join()


class _ProcessRun:
    """The state of one subscription: the process, its pipes and its threads.

    Ownership: the stdin writer closes stdin (end of input is what the child waits
    for); stdout and stderr are closed by :meth:`_release`, which runs once every
    thread reading them has finished, or, when the stdout reader disposes from inside
    ``on_next``, from that same thread, which then checks the disposed flag before
    touching stdout again.
    """

    def __init__(
        self,
        command: list[str],
        process: "subprocess.Popen[bytes]",
        observer: abc.ObserverBase[bytes],
        chunk_size: int,
        terminate_timeout: float,
    ) -> None:
        assert process.stdout is not None and process.stderr is not None
        self._command = command
        self._process = process
        self._stdout = process.stdout
        self._stderr = process.stderr
        self._observer = observer
        self._chunk_size = chunk_size
        self._terminate_timeout = terminate_timeout
        self._lock = threading.Lock()
        self._disposed = threading.Event()
        self._reader_ident: int | None = None
        self._reader_finished = threading.Event()
        self._reader_thread: threading.Thread | None = None
        self._stderr_tail = bytearray()
        self._stderr_thread = threading.Thread(
            target=self._drain_stderr, name="rxclaude-cli-stderr", daemon=True
        )
        self._stdin_thread: threading.Thread | None = None
        self._input_queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._input_subscription = SingleAssignmentDisposable()
        self._input_error: Exception | None = None

    # -- start -----------------------------------------------------------------------

    def start(
        self,
        input: bytes | Observable[bytes] | None,
        scheduler: abc.SchedulerBase | None,
        input_scheduler: abc.SchedulerBase | None,
    ) -> abc.DisposableBase:
        """Starts the threads and subscribes the input; returns the subscription."""
        self._stderr_thread.start()
        if input is not None:
            self._stdin_thread = threading.Thread(
                target=self._write_stdin, name="rxclaude-cli-stdin", daemon=True
            )
            self._stdin_thread.start()
        if isinstance(input, Observable):
            self._input_subscription.disposable = input.subscribe(
                self._input_queue.put,
                self._on_input_error,
                self._stop_input,
                scheduler=input_scheduler,
            )
        elif input is not None:
            self._input_queue.put(input)
            self._input_queue.put(None)
        if scheduler is not None:
            scheduled = scheduler.schedule(self._read_stdout_action)
            return CompositeDisposable(Disposable(self.dispose), scheduled)
        self._reader_thread = threading.Thread(
            target=self._read_stdout, name="rxclaude-cli-stdout", daemon=True
        )
        self._reader_thread.start()
        return Disposable(self.dispose)

    # -- stdout ----------------------------------------------------------------------

    def _read_stdout_action(self, _: abc.SchedulerBase, __: Any = None) -> None:
        self._read_stdout()

    def _read_stdout(self) -> None:
        with self._lock:
            if self._disposed.is_set():
                return
            self._reader_ident = threading.get_ident()
        try:
            self._pump_stdout()
        finally:
            self._reader_finished.set()

    def _pump_stdout(self) -> None:
        stdout_fd = self._stdout.fileno()
        chunk_size = self._chunk_size
        on_next = self._observer.on_next
        disposed = self._disposed
        try:
            while not disposed.is_set():
                chunk = os.read(stdout_fd, chunk_size)
                if not chunk:
                    break
                if disposed.is_set():
                    return
                on_next(chunk)
        except Exception as error:
            self._shutdown()
            if not disposed.is_set():
                self._observer.on_error(error)
            return
        if not disposed.is_set():
            self._end_of_output()

    def _end_of_output(self) -> None:
        """Stdout is at its end: waits for the exit and signals how the process ended."""
        returncode = self._process.wait()
        self._shutdown()
        if self._disposed.is_set():
            return
        if self._input_error is not None:
            self._observer.on_error(self._input_error)
        elif returncode == 0:
            self._observer.on_completed()
        else:
            stderr = self._stderr_tail[-STDERR_TAIL_BYTES:].decode("utf-8", errors="replace")
            self._observer.on_error(CLIProcessError(self._command, returncode, stderr))

    # -- stderr and stdin ------------------------------------------------------------

    def _drain_stderr(self) -> None:
        stderr_fd = self._stderr.fileno()
        tail = self._stderr_tail
        while chunk := os.read(stderr_fd, _PIPE_READ_SIZE):
            tail += chunk
            if len(tail) > 2 * STDERR_TAIL_BYTES:
                del tail[:-STDERR_TAIL_BYTES]

    def _write_stdin(self) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            while (chunk := self._input_queue.get()) is not None:
                pending = memoryview(chunk)
                while pending:
                    pending = pending[os.write(stdin.fileno(), pending) :]
        except BrokenPipeError:
            # The child exited or closed its stdin: it wants no more input.
            self._input_subscription.dispose()
        finally:
            stdin.close()

    def _stop_input(self) -> None:
        self._input_subscription.dispose()
        self._input_queue.put(None)

    def _on_input_error(self, error: Exception) -> None:
        self._input_error = error
        self._stop_input()
        self._terminate_process()

    # -- shutdown --------------------------------------------------------------------

    def dispose(self) -> None:
        with self._lock:
            if self._disposed.is_set():
                return
            self._disposed.set()
        self._shutdown()

    def _shutdown(self) -> None:
        """Ends the process, joins the other threads and closes the pipes."""
        self._terminate_process()
        self._stop_input()
        _join_unless_current(self._stderr_thread)
        _join_unless_current(self._stdin_thread)
        self._wait_for_reader()
        self._release()

    def _terminate_process(self) -> None:
        """SIGTERM to the process group, SIGKILL after the grace; reaps the process."""
        process = self._process
        if process.poll() is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            process.wait(self._terminate_timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            process.wait()

    def _signal_group(self, signal_number: signal.Signals) -> None:
        # The group may be gone already; macOS answers EPERM when only zombies are left.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal_number)

    def _wait_for_reader(self) -> None:
        if self._reader_thread is not None:
            _join_unless_current(self._reader_thread)
            return
        with self._lock:
            reader_ident = self._reader_ident
        if reader_ident is not None and reader_ident != threading.get_ident():
            self._reader_finished.wait()

    def _release(self) -> None:
        with self._lock:  # closing twice is a no-op, closing concurrently is not
            self._stdout.close()
            self._stderr.close()


def from_cli(
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | Observable[bytes] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    terminate_timeout: float = 2.0,
    scheduler: abc.SchedulerBase | None = None,
) -> Observable[bytes]:
    """Runs a command per subscription and streams its stdout as chunks.

    ::

        process stdout:  --b"{..}\\n{.."--b"..}\\n"--|  (exit 0)
        from_cli(args):  --b"{..}\\n{.."--b"..}\\n"--|

        process stdout:  --b"{..}\\n{.."--|  (exit 3, or killed by a signal)
        from_cli(args):  --b"{..}\\n{.."--#CLIProcessError

    ``args`` is an argument list, run without a shell in a new session (its own
    process group). Chunks are read with ``os.read`` as they arrive and delivered by
    the stdout reader thread, synchronously: a consumer that blocks in ``on_next`` makes
    the child wait on a full pipe. The stream ends when stdout reaches end-of-file and
    the process has exited: code 0 completes, anything else is a
    :class:`CLIProcessError` carrying the tail of stderr. Descendants that inherit
    stdout keep the stream open until they exit. A process that cannot start (missing
    executable, bad ``cwd``) is an ``on_error`` with the ``OSError``.

    Disposing terminates the process group (SIGTERM, then SIGKILL after
    ``terminate_timeout``), reaps the process, joins the threads and closes the pipes;
    it also works from inside ``on_next``. From another thread, it waits for an
    ``on_next`` in progress to return: an operator blocking in ``on_next`` must release
    it when disposed.

    Args:
        args: The command and its arguments.
        cwd: The working directory of the process.
        env: Its complete environment (as in ``subprocess``); the current one if None.
        input: Nothing (stdin is ``/dev/null``), bytes written to stdin and then closed,
            or an observable of chunks written as they come, with stdin closed when it
            completes. An input error ends the process and becomes the output's error.
        chunk_size: The largest chunk read from stdout at once.
        terminate_timeout: Seconds between SIGTERM and SIGKILL when disposing.
        scheduler: Runs the stdout read loop instead of a dedicated thread. The
            scheduler given to ``subscribe`` is not used for it: the loop blocks.

    Raises:
        TypeError: ``args`` is a single string instead of a list.
        ValueError: ``args`` is empty, or ``chunk_size`` or ``terminate_timeout`` is
            out of range.
    """
    if isinstance(args, str | bytes):
        raise TypeError("args must be a sequence of arguments, not a single string")
    command = list(args)
    if not command:
        raise ValueError("args must contain at least the executable")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    if terminate_timeout < 0:
        raise ValueError(f"terminate_timeout must not be negative, got {terminate_timeout}")
    environment = None if env is None else dict(env)

    def subscribe(
        observer: abc.ObserverBase[bytes], scheduler_: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        try:
            process = subprocess.Popen(
                command,
                shell=False,
                cwd=cwd,
                env=environment,
                stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
                start_new_session=True,
            )
        except OSError as error:
            observer.on_error(error)
            return Disposable()
        run = _ProcessRun(command, process, observer, chunk_size, terminate_timeout)
        return run.start(input, scheduler, scheduler_)

    return Observable(subscribe)


def find_claude() -> str | None:
    """The path of the Claude Code CLI, or None when there is none.

    ``claude`` on ``PATH`` comes first; then the binary bundled in the ``claude-agent-sdk``
    wheel (``claude_agent_sdk/_bundled/claude``, installed by the ``e2e`` extra), which is
    located without importing the package.
    """
    name = "claude.exe" if os.name == "nt" else "claude"
    on_path = shutil.which(name)
    if on_path is not None:
        return on_path
    package = importlib.util.find_spec("claude_agent_sdk")
    locations = package.submodule_search_locations if package is not None else None
    for location in locations or ():
        bundled = Path(location) / "_bundled" / name
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
    return None


__all__ = ["STDERR_TAIL_BYTES", "CLIProcessError", "find_claude", "from_cli"]
