"""A child process's stdout as an observable of chunks (for ``claude -p --output-format
stream-json``, though any executable works).

The pipe is not the backpressure channel. The Claude Code CLI does not pause when its
stdout pipe is full: it keeps calling the API and running tools, buffers its output in its
own memory, and loses what it had not written when it exits. So the pipe is always drained,
into a :class:`~rxclaude.sources.spool.Spool` (memory, then a private unlinked temporary file), and
the consumer's pace holds the spool instead of the child.

Threads of one subscription:

* ``rxclaude-cli-drain`` drains stdout into the spool, whatever the consumer does.
* ``rxclaude-cli-stdout`` (or the ``scheduler`` given to :func:`from_cli`) takes the
  spool's chunks and calls ``on_next``: a consumer that blocks in ``on_next`` holds this
  thread only.
* ``rxclaude-cli-stderr`` drains stderr into a bounded tail.
* ``rxclaude-cli-stdin`` (only when there is input) writes the input to stdin.

The pipe threads wait with ``poll`` on their pipe and on a wake-up pipe, so disposing
stops them at once even when a descendant that left the process group keeps the pipes
open.
"""

import contextlib
import os
import queue
import select
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable, SingleAssignmentDisposable

from rxclaude.sources.claude import CLIProcessError
from rxclaude.sources.files import DEFAULT_CHUNK_SIZE, check_chunk_size
from rxclaude.sources.pipes import InputChunk, ProcessInput, WakeUp, check_input, input_bytes
from rxclaude.sources.spool import (
    DEFAULT_SPOOL_MEMORY,
    Spool,
    SpooledSource,
    check_spool_settings,
)

if TYPE_CHECKING:
    pass

STDERR_TAIL_BYTES = 64 * 1024
"""How much of the end of a child's stderr is kept for :class:`CLIProcessError`."""

STRAGGLER_TIMEOUT = 1.0
"""Seconds that disposing waits, after the process has ended, for the subscription's
threads to finish (a consumer blocked in ``on_next`` can hold one); they are daemon
threads and are left to finish on their own after that."""

_PIPE_READ_SIZE = 65536


class _ProcessRun:
    """The state of one subscription: the process, its pipes, its spool and its threads.

    Ownership: each pipe thread closes its own pipe when it ends; the delivery loop is the
    only caller of ``on_next`` and of the terminal signal; :meth:`dispose` ends the
    process, wakes the pipe threads, releases the spool and waits a bounded time for the
    threads (see :data:`STRAGGLER_TIMEOUT`).
    """

    def __init__(
        self,
        command: list[str],
        process: "subprocess.Popen[bytes]",
        observer: abc.ObserverBase[bytes],
        spool: Spool,
        *,
        chunk_size: int,
        terminate_timeout: float,
        has_input: bool,
    ) -> None:
        assert process.stdout is not None and process.stderr is not None
        self._command = command
        self._process = process
        self._observer = observer
        self._spool = spool
        self._chunk_size = chunk_size
        self._terminate_timeout = terminate_timeout
        self._disposed = threading.Event()
        self._stderr_tail = bytearray()
        self._wake = WakeUp(users=4 if has_input else 3)  # pipe threads + this run
        self._holds_wake = True  # this run's reference to the wake-up pipe
        self._lock = threading.Lock()
        self._stderr_thread = self._thread(self._drain_stderr, "stderr")
        self._threads = [self._thread(self._pump_stdout, "drain"), self._stderr_thread]
        self._stdin_thread = self._thread(self._write_stdin, "stdin") if has_input else None
        self._input_queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._input_subscription = SingleAssignmentDisposable()
        self._input_error: Exception | None = None
        self._input_chunks: Iterator[object] = iter(())

    @staticmethod
    def _thread(target: Any, name: str) -> threading.Thread:
        return threading.Thread(target=target, name=f"rxclaude-cli-{name}", daemon=True)

    # -- start -----------------------------------------------------------------------

    def start(
        self,
        input: ProcessInput,
        scheduler: abc.SchedulerBase | None,
        input_scheduler: abc.SchedulerBase | None,
    ) -> abc.DisposableBase:
        """Starts the threads and subscribes the input; returns the subscription."""
        if isinstance(input, Observable):
            self._input_chunks = iter(self._input_queue.get, None)
        elif isinstance(input, bytes | bytearray | memoryview | str):
            self._input_chunks = iter((input,))
        elif input is not None:
            self._input_chunks = iter(input)
        if self._stdin_thread is not None:
            self._threads.append(self._stdin_thread)
        for thread in self._threads:
            thread.start()
        if isinstance(input, Observable):
            self._input_subscription.disposable = input.subscribe(
                self._queue_input,
                self._on_input_error,
                self._stop_input,
                scheduler=input_scheduler,
            )
        if scheduler is not None:
            scheduled = scheduler.schedule(self._deliver_action)
            return CompositeDisposable(Disposable(self.dispose), scheduled)
        deliverer = self._thread(self._deliver, "stdout")
        self._threads.append(deliverer)
        deliverer.start()
        return Disposable(self.dispose)

    # -- stdout: pipe to spool, spool to observer ------------------------------------

    def _pump_stdout(self) -> None:
        """Drains stdout into the spool until end of file, a full spool or disposal."""
        stdout = self._process.stdout
        assert stdout is not None
        descriptor = stdout.fileno()
        poller = self._wake.poller(descriptor, select.POLLIN)
        spool = self._spool
        try:
            while self._wake.wait(poller):
                chunk = os.read(descriptor, self._chunk_size)
                if not chunk:
                    return  # the end: the spool is closed below
                if not spool.put(chunk):  # full, failed or released: stop the child
                    if not self._disposed.is_set():
                        self._terminate_process()
                    return
        except OSError as error:
            spool.close(error)
        finally:
            spool.close()  # at the end, or woken: the consumer must not wait
            stdout.close()
            self._wake.release()

    def _deliver_action(self, _: abc.SchedulerBase, __: Any = None) -> None:
        self._deliver()

    def _deliver(self) -> None:
        """Hands the spool's chunks on, then the way the stream ended."""
        disposed = self._disposed
        try:
            on_next = self._observer.on_next
            take = self._spool.take
            while (chunk := take()) is not None:
                if disposed.is_set():
                    return
                on_next(chunk)
            if not disposed.is_set():
                self._end_of_output()
        except Exception as error:  # the spool's file failed, or on_next raised
            if not disposed.is_set():
                self.dispose()
                self._observer.on_error(error)

    def _end_of_output(self) -> None:
        """The spool is empty and closed: signals how the output and the process ended."""
        spool_error = self._spool.error()
        if spool_error is not None:  # full, or the pipe failed: the child was stopped
            self._finish(stderr_grace=0.0)
            if not self._disposed.is_set():
                assert isinstance(spool_error, Exception)
                self._observer.on_error(spool_error)
            return
        returncode = self._process.wait()
        self._finish(stderr_grace=STRAGGLER_TIMEOUT)
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
        stderr = self._process.stderr
        assert stderr is not None
        descriptor = stderr.fileno()
        poller = self._wake.poller(descriptor, select.POLLIN)
        tail = self._stderr_tail
        try:
            while self._wake.wait(poller) and (chunk := os.read(descriptor, _PIPE_READ_SIZE)):
                tail += chunk
                if len(tail) > 2 * STDERR_TAIL_BYTES:
                    del tail[:-STDERR_TAIL_BYTES]
        except OSError:
            pass  # the tail is for messages only: a failed read ends it
        finally:
            stderr.close()
            self._wake.release()

    def _write_stdin(self) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        descriptor = stdin.fileno()
        os.set_blocking(descriptor, False)
        poller = self._wake.poller(descriptor, select.POLLOUT)
        try:
            for chunk in self._input_chunks:
                pending = memoryview(input_bytes(chunk))
                while pending:
                    if not self._wake.wait(poller):
                        return
                    with contextlib.suppress(BlockingIOError):
                        pending = pending[os.write(descriptor, pending) :]
        except (BrokenPipeError, ConnectionResetError):
            # The child exited or closed its stdin: it wants no more input.
            self._input_subscription.dispose()
        except Exception as error:  # an input chunk of the wrong type, or the iterable failed
            self._on_input_error(error)
        finally:
            stdin.close()
            self._wake.release()

    def _queue_input(self, chunk: InputChunk) -> None:
        self._input_queue.put(chunk)

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
        self._terminate_process()
        self._finish(stderr_grace=0.0)

    def _finish(self, stderr_grace: float) -> None:
        """Ends the input, lets stderr reach its end for ``stderr_grace`` seconds, wakes the
        pipe threads, releases the spool and waits for the threads (bounded)."""
        self._stop_input()
        if self._stderr_thread is not threading.current_thread():
            self._stderr_thread.join(stderr_grace)
        self._wake.set()
        self._spool.release()
        deadline = time.monotonic() + STRAGGLER_TIMEOUT
        for thread in self._threads:
            if thread is not threading.current_thread() and thread.ident is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            holds_wake, self._holds_wake = self._holds_wake, False
        if holds_wake:
            self._wake.release()

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


def from_cli(
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: ProcessInput = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    terminate_timeout: float = 2.0,
    spool_memory: int = DEFAULT_SPOOL_MEMORY,
    spool_dir: str | os.PathLike[str] | None = None,
    max_spool_bytes: int | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> SpooledSource:
    """Runs a command per subscription and streams its stdout as chunks.

    ::

        process stdout:  --b"{..}\\n{.."--b"..}\\n"--|  (exit 0)
        from_cli(args):  --b"{..}\\n{.."--b"..}\\n"--|

        process stdout:  --b"{..}\\n{.."--|  (exit 3, or killed by a signal)
        from_cli(args):  --b"{..}\\n{.."--#CLIProcessError

        held consumer, max_spool_bytes exceeded:
        from_cli(args):  --b"{..}\\n"--b"{..}\\n{."--#SpoolFullError

    ``args`` is an argument list, run without a shell in a new session (its own
    process group). Stdout is drained as it arrives into a spool (``spool_memory`` bytes
    in memory, the rest in a private temporary file in ``spool_dir`` that is unlinked
    at once), and chunks are delivered from the spool on a thread of their own: a
    consumer that blocks in ``on_next`` holds that thread, never the child, and nothing
    the child writes is lost however long the consumer is held. The stream ends when
    stdout reaches end-of-file, the spool is empty and the process has exited: code 0
    completes, anything else is a :class:`CLIProcessError` carrying the tail of stderr.
    When more than ``max_spool_bytes`` wait for the consumer, the child is terminated
    and the stream ends with :class:`~rxclaude.sources.spool.SpoolFullError` after every byte
    that fitted. Descendants that inherit stdout keep the stream open until they exit.
    A process that cannot start (missing executable, bad ``cwd``) is an ``on_error``
    with the ``OSError``. ``statistics()`` on the returned observable reports the spool
    of the latest subscription.

    Disposing terminates the process group (SIGTERM, then SIGKILL after
    ``terminate_timeout``), stops the pipe threads, drops what the spool holds and
    returns within ``terminate_timeout`` + :data:`STRAGGLER_TIMEOUT` seconds, even when a
    descendant that left the group keeps the pipes open or the consumer is blocked in
    ``on_next``; it also works from inside ``on_next``.

    Args:
        args: The command and its arguments.
        cwd: The working directory of the process.
        env: Its complete environment (as in ``subprocess``); the current one if None.
        input: Nothing (stdin is ``/dev/null``); bytes or a ``str`` (written as UTF-8),
            written to stdin, which is then closed; or an iterable or an observable of
            such chunks, written as they come, with stdin closed at their end. An input
            error (an observable's error, a chunk of another type) ends the process and
            becomes the output's error.
        chunk_size: The largest chunk read from stdout at once.
        terminate_timeout: Seconds between SIGTERM and SIGKILL when disposing.
        spool_memory: Bytes of output kept in memory before the spool writes to disk.
        spool_dir: Where the spool's temporary file goes (the system's default if None).
        max_spool_bytes: The most output held for the consumer, memory and disk together;
            unbounded if None.
        scheduler: Runs the delivery loop instead of a dedicated thread. The scheduler
            given to ``subscribe`` is not used for it: the loop blocks.

    Raises:
        TypeError: ``args`` is a single string instead of a list, or ``input`` or a size
            is of the wrong type.
        ValueError: ``args`` is empty, or a size or ``terminate_timeout`` is out of range.
    """
    if isinstance(args, str | bytes):
        raise TypeError("args must be a sequence of arguments, not a single string")
    command = list(args)
    if not command:
        raise ValueError("args must contain at least the executable")
    check_chunk_size(chunk_size)
    if not isinstance(terminate_timeout, int | float) or isinstance(terminate_timeout, bool):
        raise TypeError(f"terminate_timeout must be a number, not {type(terminate_timeout)}")
    if not terminate_timeout >= 0:
        raise ValueError(f"terminate_timeout must not be negative, got {terminate_timeout}")
    check_spool_settings(spool_memory, max_spool_bytes)
    check_input(input)
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
        spool = source.track(Spool(spool_memory, spool_dir, max_spool_bytes))
        run = _ProcessRun(
            command,
            process,
            observer,
            spool,
            chunk_size=chunk_size,
            terminate_timeout=terminate_timeout,
            has_input=input is not None,
        )
        return run.start(input, scheduler, scheduler_)

    source = SpooledSource(subscribe)
    return source


__all__ = ["STDERR_TAIL_BYTES", "STRAGGLER_TIMEOUT", "from_cli"]
