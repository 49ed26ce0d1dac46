"""``route_by_type(..., mode="async")``: handlers on worker lanes, messages passed on at once.

The ordering of what goes downstream (each :class:`HandlerError` after its message, the
end of the stream after the handlers) and the stream's end on completion, timeout,
dispose, abort or deadlock; the lanes themselves are :mod:`rxclaude.routing.lanes`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from reactivex import abc

from rxclaude.messages import Message
from rxclaude.routing.errors import (
    CompletionTimeoutError,
    HandlerAbortedError,
    HandlerError,
    HandlerFailedError,
    RoutingDeadlockError,
)
from rxclaude.routing.lanes import _Lanes, _Task, _Worker
from rxclaude.routing.router import Router, _RouteTable


class _AsyncRouting:
    """Handlers on worker lanes; each message passes on right after it is queued.

    Downstream calls are serialised by ``_emit_lock``. Messages are numbered; a
    HandlerError, or an exception that ends the stream, waits in ``_pending`` until its
    message has been passed on (``_emitted``). Whoever holds ``_emit_lock`` flushes
    ``_pending``; workers only *try* the lock and re-check after every release, so no worker
    ever blocks on it — which lets ``_Lanes.close`` join the workers from any thread, even
    one holding the lock. ``_halted`` stops handlers from running (dispose, an abort);
    ``_stopped`` stops anything from going downstream.
    """

    def __init__(
        self,
        router: Router,
        table: _RouteTable,
        observer: abc.ObserverBase[Message],
        upstream: abc.DisposableBase,
        *,
        fatal_errors: bool,
        max_workers: int,
        lane_capacity: int,
        dispose_timeout: float,
        completion_timeout: float | None,
    ) -> None:
        self._router = router
        self._table = table
        self._observer = observer
        self._upstream = upstream
        self._fatal_errors = fatal_errors
        self._dispose_timeout = dispose_timeout
        self._completion_timeout = completion_timeout
        self._emit_lock = threading.Lock()
        self._pending: deque[tuple[int, HandlerError | Exception]] = deque()
        self._stopped = threading.Event()
        self._halted = False
        self._failed = False
        self._sequence = 0
        self._emitted = 0
        self._lanes = _Lanes(max_workers, lane_capacity, self._run, self._crashed)

    def on_next(self, message: Message) -> None:
        if self._stopped.is_set():
            return
        route = self._table.route(message)
        route.count += 1
        self._sequence += 1
        try:
            for key, calls in route.lanes:
                self._lanes.submit(key, (message, calls, self._sequence))
        except RoutingDeadlockError as error:
            self._halted = True
            self._pending.append((0, error))
            self._drain()
            return
        with self._emit_lock:
            if self._stopped.is_set():
                return
            self._observer.on_next(message)
            self._emitted = self._sequence
            if self._pending:
                self._flush()
        if self._pending or self._failed:
            self._drain()

    def on_error(self, error: Exception) -> None:
        self._finish(lambda: self._observer.on_error(error), completing=False)

    def on_completed(self) -> None:
        self._finish(self._observer.on_completed, completing=True)

    def stop(self) -> None:
        self._halted = True
        self._stopped.set()
        self._lanes.close(self._dispose_timeout)

    def _run(self, task: _Task, worker: _Worker) -> None:
        """Run one lane's handlers on a message (on a worker thread)."""
        message, calls, number = task
        worker.message = message
        failed = False
        for call, registration in calls:
            if self._halted:
                break
            worker.call = registration
            try:
                call(message)
            except Exception as error:
                failure = self._router._handler_error(error, message, registration)
                self._pending.append((number, failure))
                failed = True
            except BaseException as error:
                self._halted = True
                self._router._count_failure()
                aborted = HandlerAbortedError(error, message, registration.handler)
                self._pending.append((number, aborted))
                failed = True
                break
        worker.call = None
        if failed:
            try:
                self._drain()
            except Exception as error:
                if self._stopped.is_set():
                    raise
                # Downstream on_next raised on this worker, where no caller can take it.
                self._halted = True
                self._pending.append((0, error))
                self._drain()

    def _crashed(self, error: BaseException) -> None:
        """Passing an item on raised on a worker and could not end the stream: stop."""
        self._halted = True
        self._stopped.set()
        self._upstream.dispose()
        self._lanes.close(0.0)

    def _flushable(self) -> bool:
        limit = self._emitted
        return any(number <= limit for number, _ in list(self._pending))

    def _flush(self) -> None:
        """Pass on (and route) what waited for its message to go; holds the lock."""
        pending = self._pending
        if self._stopped.is_set():
            pending.clear()
            return
        ready: list[tuple[int, HandlerError | Exception]] = []
        for _ in range(len(pending)):
            entry = pending.popleft()
            (ready if entry[0] <= self._emitted else pending).append(entry)
        ready.sort(key=lambda entry: entry[0])
        for _, failure in ready:
            if not isinstance(failure, HandlerError):
                self._end(failure)
                return
            if self._fatal_errors:
                self._end(HandlerFailedError(failure))
                return
            if not isinstance(failure.message, HandlerError):
                route = self._table.route(failure)
                route.count += 1
                for key, calls in route.lanes:
                    self._lanes.submit(key, (failure, calls, self._emitted), wait=False)
            self._observer.on_next(failure)

    def _end(self, error: Exception) -> None:
        """End the stream with ``error``; holds the lock."""
        self._stopped.set()
        self._halted = True
        self._failed = True
        self._pending.clear()
        self._observer.on_error(error)

    def _drain(self) -> None:
        """Flush unless another thread is flushing; loop while something flushable is left."""
        while not self._failed and self._flushable():
            if not self._emit_lock.acquire(blocking=False):
                return
            try:
                self._flush()
            finally:
                self._emit_lock.release()
        if self._failed:
            self._upstream.dispose()
            self._lanes.close(self._dispose_timeout)

    def _finish(self, terminate: Callable[[], None], *, completing: bool) -> None:
        """Wait for in-flight handlers and their errors, stop the pool, end the stream.

        After ``completion_timeout`` seconds, a completion becomes a
        :class:`CompletionTimeoutError`; an upstream error passes on unchanged. On a worker
        (a handler ending its own source), which cannot wait for its own task, a thread of
        its own waits.
        """
        lanes = self._lanes
        if lanes.on_worker():
            threading.Thread(
                target=self._finish,
                args=(terminate,),
                kwargs={"completing": completing},
                name="rxclaude-route-finish",
                daemon=True,
            ).start()
            return
        timeout = self._completion_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while (state := lanes.wait_idle(deadline)) != "closed":
            with self._emit_lock:
                if self._stopped.is_set():
                    break
                self._flush()
                if self._stopped.is_set():
                    break
                if lanes.idle() and not self._pending:
                    self._stopped.set()
                    lanes.close(self._dispose_timeout)
                    terminate()
                    return
                if state == "late" and timeout is not None:
                    self._halted = True
                    self._stopped.set()
                    late = CompletionTimeoutError(timeout, *lanes.busy())
                    lanes.close(0.0)
                    if completing:
                        self._observer.on_error(late)
                    else:
                        terminate()
                    return
        lanes.close(self._dispose_timeout)
