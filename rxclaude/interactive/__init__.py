"""Interactive sessions: one Claude Code CLI process driven as a conversation, with the
control protocol (permission prompts, hooks, interrupt, model and mode changes) answered
by functions or Rx operators.

* :mod:`~rxclaude.interactive.session`: :class:`ClaudeSession`;
* :mod:`~rxclaude.interactive.handlers`: permission decisions (:func:`allow`,
  :func:`deny`) and hooks (:class:`HookMatcher`);
* :mod:`~rxclaude.interactive.lanes`: the message lane and the control lane, each with a
  thread, so that a held consumer never holds a permission prompt;
* :mod:`~rxclaude.interactive.responder`: the answers to the CLI's requests;
  :mod:`~rxclaude.interactive.requests`: the host's requests waiting for an answer;
* :mod:`~rxclaude.interactive.protocol`: the frames a session writes and the protocol's
  errors; :mod:`~rxclaude.interactive.turns`: a turn as an awaitable Observable.

The typed control frames are in :mod:`rxclaude.messages.control`.
"""

from rxclaude.interactive.handlers import (
    CanUseTool,
    HookCallback,
    HookMatcher,
    PermissionDecision,
    PermissionPolicy,
    allow,
    deny,
)
from rxclaude.interactive.protocol import (
    PERMISSION_FLAGS,
    SESSION_FLAGS,
    Content,
    ControlError,
    ControlEvent,
    ControlTimeoutError,
    SessionClosedError,
)
from rxclaude.interactive.session import ClaudeSession
from rxclaude.interactive.turns import Turn

__all__ = [
    "PERMISSION_FLAGS",
    "SESSION_FLAGS",
    "CanUseTool",
    "ClaudeSession",
    "Content",
    "ControlError",
    "ControlEvent",
    "ControlTimeoutError",
    "HookCallback",
    "HookMatcher",
    "PermissionDecision",
    "PermissionPolicy",
    "SessionClosedError",
    "Turn",
    "allow",
    "deny",
]
