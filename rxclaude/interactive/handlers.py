"""How a session answers the CLI's requests: permission decisions and hook callbacks.

A permission prompt (``can_use_tool``) is answered by a :class:`PermissionDecision`, made
by :func:`allow` or :func:`deny`, either from a function (``can_use_tool=``) or from an Rx
operator (``permission_policy=``) that turns the stream of requests into a stream of
decisions::

    requests:   -r1(Read)------r2(Bash)-------|
    permission_policy = ops.map(lambda r: allow(r) if r.tool_name == "Read" else deny(r, "no"))
    decisions:  -allow(r1)-----deny(r2, "no")-|

Hooks are registered in ``initialize`` by event (``PreToolUse``, ``PostToolUse``, …) with a
:class:`HookMatcher` each; the CLI then calls them back (``hook_callback``) and the
callback's JSON object is the hook's output (``{}`` lets things go on; see the CLI's hook
documentation for ``decision``, ``hookSpecificOutput``, …).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reactivex import Observable

from rxclaude.messages.control import CanUseToolRequest, HookCallbackRequest
from rxclaude.messages.fields import JSONObject


@dataclass(frozen=True)
class PermissionDecision:
    """The answer to one ``can_use_tool`` request: ``behavior`` is ``allow`` or ``deny``.

    Attributes:
        request: the request answered (its ``request_id`` goes into the response).
        behavior: ``"allow"`` or ``"deny"``.
        updated_input: for ``allow``: the input the tool runs with.
        message: for ``deny``: the reason, which the model reads.
        interrupt: for ``deny``: also stop the turn.
        updated_permissions: for ``allow``: permission updates to apply (e.g. one of the
            request's ``permission_suggestions``).
    """

    request: CanUseToolRequest
    behavior: str
    updated_input: JSONObject = field(default_factory=dict)
    message: str = ""
    interrupt: bool = False
    updated_permissions: tuple[JSONObject, ...] = ()

    def payload(self) -> JSONObject:
        """The ``response`` object of the ``control_response``."""
        if self.behavior == "allow":
            payload: JSONObject = {"behavior": "allow", "updatedInput": self.updated_input}
            if self.updated_permissions:
                payload["updatedPermissions"] = list(self.updated_permissions)
            return payload
        payload = {"behavior": "deny", "message": self.message}
        if self.interrupt:
            payload["interrupt"] = True
        return payload


def allow(
    request: CanUseToolRequest,
    updated_input: Mapping[str, Any] | None = None,
    *,
    updated_permissions: Sequence[JSONObject] = (),
) -> PermissionDecision:
    """Let the tool run, with its own input or ``updated_input``."""
    tool_input = dict(request.input if updated_input is None else updated_input)
    return PermissionDecision(
        request, "allow", tool_input, updated_permissions=tuple(updated_permissions)
    )


def deny(
    request: CanUseToolRequest, message: str, *, interrupt: bool = False
) -> PermissionDecision:
    """Refuse the tool call; the model is told ``message``. ``interrupt`` ends the turn."""
    return PermissionDecision(request, "deny", message=message, interrupt=interrupt)


CanUseTool = Callable[[CanUseToolRequest], PermissionDecision]
"""A permission function: called on the session's control thread, once per request."""

PermissionPolicy = Callable[[Observable[CanUseToolRequest]], Observable[PermissionDecision]]
"""A permission operator: one decision per request, in any order, from any thread."""

HookCallback = Callable[[HookCallbackRequest], JSONObject]
"""A hook: called on the session's control thread; returns the hook's output object."""


@dataclass(frozen=True)
class HookMatcher:
    """Callbacks for one hook event, for the tools ``matcher`` names (all tools if None).

    ``timeout`` (seconds) is the CLI's limit for the callbacks, if given.
    """

    callbacks: Sequence[HookCallback]
    matcher: str | None = None
    timeout: float | None = None


class HookRegistry:
    """The hooks of a session: the ``initialize`` configuration and the callbacks by id."""

    def __init__(self, hooks: Mapping[str, Sequence[HookMatcher]]) -> None:
        self.callbacks: dict[str, HookCallback] = {}
        self.config: dict[str, list[JSONObject]] = {}
        for event, matchers in hooks.items():
            entries = self.config.setdefault(event, [])
            for matcher in matchers:
                ids = []
                for callback in matcher.callbacks:
                    callback_id = f"hook_{len(self.callbacks)}"
                    self.callbacks[callback_id] = callback
                    ids.append(callback_id)
                entry: JSONObject = {"matcher": matcher.matcher, "hookCallbackIds": ids}
                if matcher.timeout is not None:
                    entry["timeout"] = matcher.timeout
                entries.append(entry)

    def answer(self, request: HookCallbackRequest) -> JSONObject:
        """The output of the callback the request names.

        Raises:
            LookupError: no callback has the request's ``callback_id``.
        """
        callback = self.callbacks.get(request.callback_id or "")
        if callback is None:
            raise LookupError(f"no hook callback has the id {request.callback_id!r}")
        return callback(request)


__all__ = [
    "CanUseTool",
    "HookCallback",
    "HookMatcher",
    "HookRegistry",
    "PermissionDecision",
    "PermissionPolicy",
    "allow",
    "deny",
]
