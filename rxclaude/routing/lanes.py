"""The async worker pool: serial FIFO lanes, one per route key, drained by worker threads.

``_Lanes`` knows tasks, not handlers: the async stream (:mod:`rxclaude.routing.async_stream`)
gives it a ``run`` to call on each task. It bounds each lane, so a full lane makes the
producer wait (backpressure into the operator upstream), and it tells a wait that could
never end (a handler feeding its own full lane) by :class:`RoutingDeadlockError`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Literal, TypeAlias

from rxclaude.messages import Message
from rxclaude.routing.errors import RoutingDeadlockError
from rxclaude.routing.handler import Handler, RouteKey
from rxclaude.routing.router import _Call, _Registration

_Task: TypeAlias = tuple[Message, tuple[_Call, ...], int]
"""A message, the handlers of one lane to run on it, and its sequence number."""

_Idle: TypeAlias = Literal["idle", "closed", "late"]


class _Worker:
    """A pool thread and what it runs, read for timeout reports and deadlock checks.

    ``lane`` (the lane of its task) and ``waiting_for`` (a full lane its handler waits for)
    change under the pool's lock; ``message`` and ``call`` (the registration whose handler
    is running) are set by the routing's ``run`` without it.
    """

    __slots__ = ("call", "lane", "message", "thread", "waiting_for")

    def __init__(self, target: Callable[[_Worker], None], name: str) -> None:
        self.lane: RouteKey | None = None
        self.waiting_for: RouteKey | None = None
        self.message: Message | None = None
        self.call: _Registration | None = None
        self.thread = threading.Thread(target=target, args=(self,), name=name, daemon=True)


class _Lanes:
    """Serial FIFO lanes drained by a fixed pool of worker threads.

    A lane is run by at most one worker at a time, so its tasks run in order; a worker
    takes one task, then puts the lane back at the end of the ready queue (fairness).
    ``submit`` waits while the lane holds ``capacity`` tasks. If ``run`` raises, the worker
    releases the lane, calls ``crashed`` and lets the exception end the thread.
    """

    def __init__(
        self,
        workers: int,
        capacity: int,
        run: Callable[[_Task, _Worker], None],
        crashed: Callable[[BaseException], None],
    ) -> None:
        self._run = run
        self._crashed = crashed
        self._capacity = capacity
        lock = threading.Lock()
        self._work_ready = threading.Condition(lock)
        self._space_or_idle = threading.Condition(lock)
        self._queues: dict[RouteKey, deque[_Task]] = {}
        self._ready: deque[RouteKey] = deque()
        self._active: set[RouteKey] = set()
        self._unfinished = 0
        self._closed = False
        self._closed_until: float | None = None
        self._workers = [_Worker(self._work, f"rxclaude-route-{n}") for n in range(workers)]
        for worker in self._workers:
            worker.thread.start()
        self._by_thread = {worker.thread.ident: worker for worker in self._workers}

    def submit(self, key: RouteKey, task: _Task, *, wait: bool = True) -> None:
        """Queue ``task`` on lane ``key``; with ``wait``, first wait for room in the lane.

        Raises :class:`RoutingDeadlockError` instead of waiting when that would never end.
        """
        with self._work_ready:
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
            if wait and len(queue) >= self._capacity and not self._closed:
                self._wait_for_room(key, queue)
            if self._closed:
                return
            queue.append(task)
            self._unfinished += 1
            if key not in self._active:
                self._active.add(key)
                self._ready.append(key)
                self._work_ready.notify()

    def _wait_for_room(self, key: RouteKey, queue: deque[_Task]) -> None:
        """Wait while lane ``key`` is full and the pool open (lock held)."""
        waiter = self._current_worker()
        if waiter is not None:
            if self._would_deadlock(waiter, key):
                raise RoutingDeadlockError(key, self._capacity)
            waiter.waiting_for = key
        try:
            while len(queue) >= self._capacity and not self._closed:
                self._space_or_idle.wait()
        finally:
            if waiter is not None:
                waiter.waiting_for = None

    def _would_deadlock(self, waiter: _Worker, key: RouteKey) -> bool:
        """Whether ``waiter`` waiting for room in lane ``key`` would wait forever (lock held).

        Room comes when the lane's next task is taken: after the task of the worker running
        the lane, or, if none does, by any worker not waiting itself. A chain of workers,
        each waiting for the lane of the next, that comes back never moves.
        """
        seen: list[_Worker] = []
        lane = key
        while True:
            owner = next((worker for worker in self._workers if worker.lane == lane), None)
            if owner is None:
                return all(
                    worker is waiter or worker.waiting_for is not None for worker in self._workers
                )
            if owner is waiter or owner in seen:
                return True
            if owner.waiting_for is None:
                return False
            seen.append(owner)
            lane = owner.waiting_for

    def wait_idle(self, deadline: float | None) -> _Idle:
        """Wait until every queued task has run, the pool closes, or ``deadline`` passes."""
        with self._space_or_idle:
            while self._unfinished and not self._closed:
                if deadline is None:
                    self._space_or_idle.wait()
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return "late"
                    self._space_or_idle.wait(left)
            return "closed" if self._closed else "idle"

    def idle(self) -> bool:
        with self._work_ready:
            return self._unfinished == 0

    def on_worker(self) -> bool:
        """Whether the calling thread is one of the pool's workers."""
        return self._current_worker() is not None

    def _current_worker(self) -> _Worker | None:
        """The calling thread's worker record (idents of ended threads are reused)."""
        worker = self._by_thread.get(threading.get_ident())
        return (
            worker if worker is not None and worker.thread is threading.current_thread() else None
        )

    def busy(self) -> tuple[tuple[tuple[Handler, Message], ...], int]:
        """The handlers running, each with its message, and the number of tasks queued."""
        with self._work_ready:
            queued = sum(len(queue) for queue in self._queues.values())
        running = []
        for worker in self._workers:
            call, message = worker.call, worker.message
            if call is not None and message is not None:
                running.append((call.handler, message))
        return tuple(running), queued

    def close(self, timeout: float) -> None:
        """Drop queued tasks and stop the workers once their running task is done.

        Called from outside the pool, waits up to ``timeout`` seconds in all for the
        workers to end, and never past the deadline of an earlier ``close``; a worker still
        running a handler then is abandoned (a daemon thread that ends when its handler
        returns). Called from a worker (a handler, or a
        downstream observer, disposing the stream), it only signals: the workers end by
        themselves, and two workers never join each other.
        """
        with self._work_ready:
            deadline = time.monotonic() + timeout
            if self._closed_until is not None:
                deadline = min(deadline, self._closed_until)
            self._closed_until = deadline
            self._closed = True
            self._queues.clear()
            self._ready.clear()
            self._work_ready.notify_all()
            self._space_or_idle.notify_all()
        if not self.on_worker():
            for worker in self._workers:
                worker.thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self, worker: _Worker) -> None:
        finished: RouteKey | None = None
        while True:
            with self._work_ready:
                if finished is not None:
                    self._release(worker, finished)
                while not self._ready and not self._closed:
                    self._work_ready.wait()
                if self._closed:
                    return
                finished = worker.lane = self._ready.popleft()
                task = self._queues[finished].popleft()
                self._space_or_idle.notify_all()
            try:
                self._run(task, worker)
            except BaseException as error:
                with self._work_ready:
                    self._release(worker, finished)
                self._crashed(error)
                raise

    def _release(self, worker: _Worker, key: RouteKey) -> None:
        """Count ``worker``'s finished task of lane ``key``, queue the lane again (lock held)."""
        worker.lane = None
        self._unfinished -= 1
        if self._queues.get(key):
            self._ready.append(key)
        else:
            self._active.discard(key)
        if self._unfinished == 0:
            self._space_or_idle.notify_all()
