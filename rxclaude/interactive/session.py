"""``ClaudeSession``: one CLI process, a conversation in, typed messages out, and the
control protocol answered both ways.

Threads of a session: the source's (see :func:`~rxclaude.from_cli`; its delivery thread
decodes the output and splits it, never blocking), the message lane's (delivers
``messages``; a held consumer holds only it), and the control worker's (runs permission
functions and hooks). See :mod:`rxclaude.interactive.lanes`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from reactivex import Observable, Observer, abc
from reactivex.disposable import Disposable, SingleAssignmentDisposable
from reactivex.subject import Subject

from rxclaude.framing import parse_json_frames
from rxclaude.interactive.handlers import (
    CanUseTool,
    HookMatcher,
    HookRegistry,
    PermissionPolicy,
)
from rxclaude.interactive.lanes import MessageLane
from rxclaude.interactive.protocol import (
    Content,
    ControlEvent,
    RequestIds,
    SessionClosedError,
    control_request,
    encode,
    session_argv,
    user_turn,
)
from rxclaude.interactive.requests import PendingRequests
from rxclaude.interactive.responder import Responder
from rxclaude.interactive.turns import Turn
from rxclaude.messages import (
    ClaudeMessage,
    ControlRequestMessage,
    ControlResponseMessage,
    Message,
    ResultMessage,
)
from rxclaude.messages.control import (
    ControlCancelRequestMessage,
    control_message,
    typed_control,
)
from rxclaude.messages.fields import JSONObject
from rxclaude.sources import from_cli


class ClaudeSession:
    """One Claude Code CLI process driven as a conversation.

    ::

        turns:     -"Write a file"---------------------------"Thanks"-----|
        control:   ---------------can_use_tool?--allow!----------------------
        messages:  -init-assistant-------------------user-assistant-result-...-|

    ``claude`` is the CLI's path, or an argument list that starts it (e.g. a launcher and
    the CLI, as :meth:`rxclaude.testing.CLIInvocation.session` gives), or None for
    :func:`~rxclaude.find_claude`'s. The session adds :data:`SESSION_FLAGS` (and
    :data:`PERMISSION_FLAGS` when it answers permissions), then ``args``.

    Permission prompts are answered by ``can_use_tool`` (a function of the request,
    returning :func:`~rxclaude.interactive.allow` or :func:`~rxclaude.interactive.deny`)
    or by ``permission_policy`` (an Rx operator from requests to decisions); ``hooks``
    registers callbacks by hook event. Any other request the CLI makes gets an error
    response at once.

    Subscribe to :attr:`messages` (and :attr:`control`) before :meth:`start` to see every
    frame: they are hot. :meth:`start` runs the ``initialize`` handshake.

    Args:
        control_timeout: seconds the host's control requests wait for their answer
            (``interrupt``, ``set_model``, …) before :class:`ControlTimeoutError`.
        initialize_timeout: the same for ``initialize``.
        close_timeout: seconds :meth:`close` waits for the CLI to exit after its stdin
            ends, before it is terminated.
        terminate_timeout: seconds between SIGTERM and SIGKILL when it is.
    """

    def __init__(
        self,
        claude: str | os.PathLike[str] | Sequence[str] | None = None,
        *,
        args: Sequence[str] = (),
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        can_use_tool: CanUseTool | None = None,
        permission_policy: PermissionPolicy | None = None,
        hooks: Mapping[str, Sequence[HookMatcher]] | None = None,
        control_timeout: float = 60.0,
        initialize_timeout: float = 60.0,
        close_timeout: float = 10.0,
        terminate_timeout: float = 2.0,
    ) -> None:
        if can_use_tool is not None and permission_policy is not None:
            raise ValueError("give can_use_tool or permission_policy, not both")
        answers_permissions = can_use_tool is not None or permission_policy is not None
        self.argv = session_argv(claude, args, answers_permissions)
        self._cwd, self._env = cwd, env
        self._hooks = HookRegistry(hooks or {})
        self._responder = Responder(
            self._answer, self._open_permissions, can_use_tool, permission_policy, self._hooks
        )
        self.control_timeout = control_timeout
        self._initialize_timeout = initialize_timeout
        self._close_timeout = close_timeout
        self._terminate_timeout = terminate_timeout

        self.messages: Subject[Message] = Subject()
        """Every frame but the control ones, in order; ends with the CLI (an error such as
        ``CLIProcessError`` comes after every frame)."""
        self.control: Subject[ControlEvent] = Subject()
        """Every control frame, received and sent, as it happens; ends with the CLI. Its
        observers are called under the session's lock, on the thread that reads the CLI's
        output or the one that writes: they must not block (nor wait for a control
        answer, which that thread would deliver)."""
        self.turns: abc.ObserverBase[Content] = Observer(
            self.send, lambda _: self.end_input(), self.end_input
        )
        """An observer of user turns: each item is sent, the end ends the CLI's input."""
        self.initialize_response: JSONObject = {}
        """The CLI's answer to ``initialize`` (commands, models, account, …)."""

        self._stdin: Subject[bytes] = Subject()
        self._ids = RequestIds(os.urandom(4).hex())
        self._lock = threading.RLock()  # writes, pending requests, the control stream
        self._pending = PendingRequests()
        self._answering: dict[str, str] = {}  # the CLI's requests awaiting our answer
        self._input_ended = False  # no more user turns
        self._stdin_closed = False  # nor anything else
        self._results_seen = 0  # on the source's thread: results decoded
        self._ended: Exception | None = None
        self._started = False
        self._turns_sent = 0
        self.turn_index = 0
        """The number of ``result`` frames delivered before the message being delivered."""
        self._lane = MessageLane(self._deliver, self._finish)
        self._subscription = SingleAssignmentDisposable()

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> ClaudeSession:
        """Starts the CLI and runs the ``initialize`` handshake; returns the session.

        Raises:
            ControlTimeoutError, ControlError, SessionClosedError: the handshake failed
                (the session is closed then).
        """
        with self._lock:
            if self._started:
                raise RuntimeError("the session was started already")
            self._started = True
        self._lane.start()
        self._responder.start()
        source = from_cli(
            self.argv,
            cwd=self._cwd,
            env=self._env,
            input=self._stdin,
            terminate_timeout=self._terminate_timeout,
        )
        self._subscription.disposable = source.pipe(parse_json_frames()).subscribe(
            self._on_frame, self._on_end, lambda: self._on_end(None)
        )
        hooks = self._hooks.config or None
        try:
            response = self.request("initialize", {"hooks": hooks}, self._initialize_timeout)
            self.initialize_response = response.run()
        except Exception:
            self.close()
            raise
        return self

    def __enter__(self) -> ClaudeSession:
        return self if self._started else self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    def end_input(self) -> None:
        """No more user turns: the CLI's stdin is closed once every turn sent has its
        ``result`` and every request of the CLI's is answered (a turn in progress may
        still ask for permissions), and then the CLI exits."""
        with self._lock:
            self._input_ended = True
        self._close_stdin_when_idle()

    def _close_stdin_when_idle(self) -> None:
        with self._lock:
            if (
                not self._input_ended
                or self._stdin_closed
                or self._results_seen < self._turns_sent
                or self._answering
            ):
                return
            self._stdin_closed = True
            self._stdin.on_completed()

    def close(self, timeout: float | None = None) -> None:
        """Ends the input (:meth:`end_input`), waits for the CLI to exit (``close_timeout``
        by default), then terminates it if it has not; stops the session's threads."""
        self.end_input()
        if self._started:
            exited = self._lane.done.wait(self._close_timeout if timeout is None else timeout)
            self._subscription.dispose()  # terminates the CLI if it is still running
            if not exited:
                self._on_end(SessionClosedError("the session was closed before the CLI exited"))
                if not self._lane.done.wait(self._terminate_timeout):
                    self._lane.stop()  # the consumer holds the lane: drop what waits
        self._responder.end()
        self._lane.join(self._terminate_timeout)
        self._responder.worker.join(self._terminate_timeout)

    dispose = close

    # -- user turns ----------------------------------------------------------------------

    def send(self, content: Content) -> None:
        """Sends a user turn (text or content blocks).

        Raises:
            SessionClosedError: the input was ended, or the CLI has ended.
        """
        with self._lock:
            self._write(user_turn(content))
            self._turns_sent += 1

    def ask(self, content: Content) -> Turn:
        """The messages of one turn, up to and with its ``result``; sends ``content`` when
        subscribed. Awaitable: ``await session.ask("…")`` is the ``result`` message."""

        def subscribe(
            observer: abc.ObserverBase[Message], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            subscription = SingleAssignmentDisposable()
            turn = -1

            def on_next(message: Message) -> None:
                if self.turn_index != turn:
                    return
                observer.on_next(message)
                if isinstance(message, ResultMessage):
                    subscription.dispose()
                    observer.on_completed()

            def on_completed() -> None:
                observer.on_error(SessionClosedError("the CLI ended before the turn's result"))

            with self._lock:
                turn = self._turns_sent
                subscription.disposable = self.messages.subscribe(
                    on_next, observer.on_error, on_completed, scheduler=scheduler
                )
                try:
                    self.send(content)
                except SessionClosedError as error:
                    subscription.dispose()
                    observer.on_error(error)
            return subscription

        return Turn(subscribe)

    # -- the host's control requests --------------------------------------------------------

    def request(
        self, subtype: str, fields: Mapping[str, Any] | None = None, timeout: float | None = None
    ) -> Observable[JSONObject]:
        """A control request to the CLI, sent when subscribed: emits the success
        response's object and completes, or fails with :class:`ControlError`,
        :class:`ControlTimeoutError` (after ``timeout``, by default ``control_timeout``)
        or :class:`SessionClosedError`."""
        limit = self.control_timeout if timeout is None else timeout

        def subscribe(
            observer: abc.ObserverBase[JSONObject], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            request_id = self._ids.next()
            with self._lock:
                self._pending.add(request_id, subtype, observer, limit)
                try:
                    self._write(control_request(request_id, subtype, fields or {}))
                except SessionClosedError as error:
                    self._pending.drop(request_id)
                    observer.on_error(error)
            return Disposable(lambda: self._pending.drop(request_id))

        return Observable(subscribe)

    def interrupt(self) -> JSONObject:
        """Stops the turn in progress (blocks until the CLI answers)."""
        return self.request("interrupt").run()

    def set_model(self, model: str | None) -> JSONObject:
        """Changes the model for the next requests (None: the default)."""
        return self.request("set_model", {"model": model}).run()

    def set_permission_mode(self, mode: str) -> JSONObject:
        """``default``, ``acceptEdits``, ``plan``, ``bypassPermissions``, …"""
        return self.request("set_permission_mode", {"mode": mode}).run()

    # -- writing ---------------------------------------------------------------------------

    def _write(self, frame: JSONObject) -> None:
        with self._lock:
            if not self._started:
                raise SessionClosedError("the session has not been started")
            if self._ended is not None:
                raise SessionClosedError(f"the CLI has ended: {self._ended}") from self._ended
            if self._stdin_closed or (self._input_ended and frame["type"] == "user"):
                raise SessionClosedError("the session's input has ended")
            line = encode(frame)
            self._stdin.on_next(line)
            if frame["type"] != "user":
                event = ControlEvent("sent", control_message(frame), time.perf_counter())
                self.control.on_next(event)

    def _answer(self, request_id: str, frame: JSONObject) -> None:
        """Writes the answer to a CLI request, unless it was withdrawn or answered."""
        with self._lock:
            if self._answering.pop(request_id, None) is None:
                return  # withdrawn by the CLI (control_cancel_request), or answered
            with contextlib.suppress(SessionClosedError):  # the CLI is gone: nobody waits
                self._write(frame)
        self._close_stdin_when_idle()

    # -- the CLI's output ----------------------------------------------------------------

    def _on_frame(self, message: Message) -> None:
        """On the source's delivery thread: the control lane, then the message lane."""
        if not isinstance(message, ClaudeMessage) or not message.type.startswith("control_"):
            self._lane.put(message)
            if isinstance(message, ResultMessage):
                with self._lock:
                    self._results_seen += 1
                self._close_stdin_when_idle()
            return
        typed = typed_control(message)
        event = ControlEvent("received", typed, time.perf_counter())
        if isinstance(typed, ControlCancelRequestMessage):
            with self._lock:  # withdrawn before anyone hears of it: no answer is written
                self._answering.pop(typed.request_id or "", None)
                self.control.on_next(event)
            self._close_stdin_when_idle()
            return
        with self._lock:
            self.control.on_next(event)
        if isinstance(typed, ControlResponseMessage):
            self._pending.resolve(typed)
        elif isinstance(typed, ControlRequestMessage):
            self._on_request(typed)
        else:
            self._lane.put(message)

    def _on_request(self, request: ControlRequestMessage) -> None:
        request_id = request.request_id or ""
        with self._lock:
            self._answering[request_id] = request.subtype or ""
        self._responder.handle(request)

    def _open_permissions(self) -> list[str]:
        with self._lock:
            return [rid for rid, sub in self._answering.items() if sub == "can_use_tool"]

    def _on_end(self, error: Exception | None) -> None:
        """The CLI's output ended (``error`` None: exit 0): every message goes first."""
        with self._lock:
            if self._ended is not None:
                return
            self._ended = error if error is not None else SessionClosedError("it exited")
            self._answering.clear()
        self._pending.fail_all(error)
        self._responder.end()
        self._lane.end(error)

    # -- the message lane ------------------------------------------------------------------

    def _deliver(self, message: Message) -> None:
        self.messages.on_next(message)
        if isinstance(message, ResultMessage):
            self.turn_index += 1

    def _finish(self, error: Exception | None) -> None:
        with self._lock:
            if error is None:
                self.control.on_completed()
            else:
                self.control.on_error(error)
        if error is None:
            self.messages.on_completed()
        else:
            self.messages.on_error(error)

    @property
    def queued(self) -> int:
        """Messages decoded and waiting for the consumer of :attr:`messages`."""
        return self._lane.queued


__all__ = ["ClaudeSession"]
