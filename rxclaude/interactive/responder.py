"""Answers to the CLI's control requests: permission prompts by the host's function or
operator, hook callbacks by the registered hooks, anything else by an error response.

The answers are made on the control worker's thread (:class:`~rxclaude.interactive.lanes.
ControlWorker`), never on the thread that reads the CLI's output; every request gets
exactly one answer, an error response when its handler fails (or a policy ends or fails
with requests open), so the CLI never waits for ever.
"""

from __future__ import annotations

from collections.abc import Callable

from reactivex.subject import Subject

from rxclaude.interactive.handlers import (
    CanUseTool,
    HookRegistry,
    PermissionDecision,
    PermissionPolicy,
)
from rxclaude.interactive.lanes import ControlWorker
from rxclaude.interactive.protocol import error_response, success_response
from rxclaude.messages import ControlRequestMessage
from rxclaude.messages.control import CanUseToolRequest, HookCallbackRequest
from rxclaude.messages.fields import JSONObject


class Responder:
    """Dispatches the CLI's requests; ``answer(request_id, frame)`` writes an answer and
    ``open_permissions()`` lists the ``can_use_tool`` requests not answered yet."""

    def __init__(
        self,
        answer: Callable[[str, JSONObject], None],
        open_permissions: Callable[[], list[str]],
        can_use_tool: CanUseTool | None,
        policy: PermissionPolicy | None,
        hooks: HookRegistry,
    ) -> None:
        self._answer = answer
        self._open_permissions = open_permissions
        self._can_use_tool = can_use_tool
        self._policy = policy
        self._hooks = hooks
        self._requests: Subject[CanUseToolRequest] = Subject()
        self._policy_failure: str | None = None
        self.worker = ControlWorker()

    def start(self) -> None:
        self.worker.start()
        if self._policy is not None:
            self._policy(self._requests).subscribe(
                self._answer_permission, self._policy_failed, self._policy_ended
            )

    def end(self) -> None:
        """The CLI ended: the policy's requests complete, the worker stops."""
        self._requests.on_completed()
        self.worker.stop()

    def handle(self, request: ControlRequestMessage) -> None:
        """On the source's thread: hands the request to its handler, or refuses it."""
        if isinstance(request, CanUseToolRequest) and self._can_use_tool is not None:
            self.worker.submit(lambda: self._call_permission_function(request))
        elif isinstance(request, CanUseToolRequest) and self._policy is not None:
            self.worker.submit(lambda: self._ask_policy(request))
        elif isinstance(request, HookCallbackRequest) and self._hooks.callbacks:
            self.worker.submit(lambda: self._call_hook(request))
        else:
            self._refuse(request, f"unsupported control request subtype: {request.subtype!r}")

    def _call_permission_function(self, request: CanUseToolRequest) -> None:
        assert self._can_use_tool is not None
        try:
            decision = self._can_use_tool(request)
        except Exception as error:
            self._refuse(request, f"the permission function failed: {error!r}")
            return
        self._answer_permission(decision)

    def _ask_policy(self, request: CanUseToolRequest) -> None:
        if self._policy_failure is not None:
            self._refuse(request, self._policy_failure)
        else:
            self._requests.on_next(request)

    def _answer_permission(self, decision: PermissionDecision) -> None:
        request_id = decision.request.request_id or ""
        self._answer(request_id, success_response(request_id, decision.payload()))

    def _policy_failed(self, error: Exception) -> None:
        self._fail_open_permissions(f"the permission policy failed: {error!r}")

    def _policy_ended(self) -> None:
        self._fail_open_permissions("the permission policy ended")

    def _fail_open_permissions(self, reason: str) -> None:
        self._policy_failure = reason
        for request_id in self._open_permissions():
            self._answer(request_id, error_response(request_id, reason))

    def _call_hook(self, request: HookCallbackRequest) -> None:
        try:
            output = self._hooks.answer(request)
        except Exception as error:
            self._refuse(request, f"the hook failed: {error!r}")
            return
        request_id = request.request_id or ""
        self._answer(request_id, success_response(request_id, output))

    def _refuse(self, request: ControlRequestMessage, error: str) -> None:
        request_id = request.request_id or ""
        self._answer(request_id, error_response(request_id, error))


__all__ = ["Responder"]
