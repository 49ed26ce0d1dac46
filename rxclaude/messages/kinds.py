"""The kinds vocabulary: the semantic kinds a message is routed and counted by.

:func:`kinds_of` gives a message's set of :class:`Kind`; :func:`kind_mask` the same set as
a bit mask (an index into :data:`KIND_SETS`), which is what routing tables and counters
use. Classification is a cheap look at the message's class and a few fields; message
classes defined elsewhere add theirs with :func:`register_kinds`
(:class:`~rxclaude.routing.HandlerError` is ERROR):

====================================================  ====================================
message                                               kinds
====================================================  ====================================
``assistant`` with a ``text`` block                   TEXT
``assistant`` with a ``tool_use`` /                   TOOL_USE
``server_tool_use`` / ``mcp_tool_use`` block or a
server ``*_tool_result`` block
``assistant`` that is an API error (synthetic         ERROR (plus TEXT: it carries the
``<synthetic>`` model, ``is_api_error_message``, or   error text)
an ``error`` field)
``assistant`` with only ``thinking`` blocks           (none)
``user`` with a ``tool_result`` block                 TOOL_USE (+ ERROR if one has
                                                      ``is_error``)
``user`` prompt (text only)                           (none)
``stream_event`` ``content_block_delta`` with a       TEXT, PROGRESS
``text_delta``
``stream_event`` ``message_stop`` whose frame         TEXT, PROGRESS (streamed text was
carries ``abandoned_blocks``                          withdrawn)
``stream_event`` ``error``                            ERROR, PROGRESS
any other ``stream_event`` (``message_start``,        PROGRESS
block start/stop, thinking/signature/
``input_json_delta``, ``message_delta``)
``system``/``init``                                   SYSTEM, METADATA
``system``/``status``, ``session_state_changed``      SYSTEM, STATUS
``system``/``api_retry``                              SYSTEM, ERROR
``system``/``thinking_tokens``, ``task_progress``     SYSTEM, PROGRESS
any other ``system`` subtype                          SYSTEM
``result``                                            COMPLETE, METADATA (+ ERROR if
                                                      ``is_error``)
``rate_limit_event``                                  STATUS
``tool_progress``                                     PROGRESS
``control_response`` with an error                    ERROR
:class:`~rxclaude.messages.ParseError`,               ERROR
:class:`HandlerError`
anything else (``control_request``, unknown types,    (none: route them by ``type``)
``assemble_partials`` items)
====================================================  ====================================

Per-frame ``usage`` does not make an ``assistant`` frame METADATA: it repeats per
request and is not final; the ``result`` frame carries the totals and the cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

from rxclaude.messages.content import SERVER_TOOL_RESULT_SUFFIX, TOOL_USE_BLOCK_TYPES
from rxclaude.messages.model import (
    AssistantMessage,
    ControlResponseMessage,
    Message,
    ParseError,
    RateLimitEventMessage,
    ResultMessage,
    StreamEventMessage,
    SystemMessage,
    ToolProgressMessage,
    UserMessage,
)


class Kind(Enum):
    """The semantic kinds a message can be routed by (see :func:`kinds_of`)."""

    TEXT = "text"
    """The assistant's text: ``text`` blocks and ``text_delta`` events."""
    TOOL_USE = "tool_use"
    """Tool calls and their results."""
    ERROR = "error"
    """Parse errors, failed results, API errors and retries, failed tools, handler errors."""
    SYSTEM = "system"
    """Every ``system`` frame."""
    METADATA = "metadata"
    """Session set-up (``system/init``) and final accounting (``result``)."""
    STATUS = "status"
    """``system/status``, ``session_state_changed`` and ``rate_limit_event``."""
    PROGRESS = "progress"
    """Streaming events, ``tool_progress`` and progress estimates of the current turn."""
    COMPLETE = "complete"
    """The ``result`` frame that ends a turn."""


KINDS = tuple(Kind)
_BIT = {kind: 1 << position for position, kind in enumerate(KINDS)}
_TEXT = _BIT[Kind.TEXT]
_TOOL_USE = _BIT[Kind.TOOL_USE]
_ERROR = _BIT[Kind.ERROR]
_SYSTEM = _BIT[Kind.SYSTEM]
_METADATA = _BIT[Kind.METADATA]
_STATUS = _BIT[Kind.STATUS]
_PROGRESS = _BIT[Kind.PROGRESS]
_COMPLETE = _BIT[Kind.COMPLETE]
_TEXT_PROGRESS = _TEXT | _PROGRESS

KIND_SETS = tuple(
    frozenset(kind for kind in KINDS if mask & _BIT[kind]) for mask in range(1 << len(KINDS))
)
"""The kind set of every mask, built once so classification allocates nothing."""

_BLOCKKINDS = {
    "text": _TEXT,
    **dict.fromkeys(sorted(TOOL_USE_BLOCK_TYPES), _TOOL_USE),
    "thinking": 0,
    "redacted_thinking": 0,
}
"""Kinds of assistant content blocks; other ``*_tool_result`` blocks are TOOL_USE."""

_SYSTEM_SUBTYPEKINDS = {
    "init": _METADATA,
    "status": _STATUS,
    "session_state_changed": _STATUS,
    "api_retry": _ERROR,
    "thinking_tokens": _PROGRESS,
    "task_progress": _PROGRESS,
}


def _assistant_kinds(message: AssistantMessage) -> int:
    raw: dict[str, Any] = message.raw or {}
    mask = 0
    inner = raw.get("message")
    if isinstance(inner, dict):
        content = inner.get("content")
        if isinstance(content, list):
            for block in content:
                block_type = block.get("type") if isinstance(block, dict) else None
                if isinstance(block_type, str):
                    block_mask = _BLOCKKINDS.get(block_type)
                    if block_mask is None:
                        block_mask = (
                            _TOOL_USE if block_type.endswith(SERVER_TOOL_RESULT_SUFFIX) else 0
                        )
                    mask |= block_mask
        elif isinstance(content, str) and content:
            mask = _TEXT
    if message.is_api_error:
        mask |= _ERROR
    return mask


def _user_kinds(message: Message) -> int:
    raw: dict[str, Any] = message.raw or {}
    inner = raw.get("message")
    content = inner.get("content") if isinstance(inner, dict) else None
    mask = 0
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                mask |= _TOOL_USE | (_ERROR if block.get("is_error") is True else 0)
    return mask


def _stream_event_kinds(message: Message) -> int:
    # The hot path (most frames are deltas): subscripts, and a missing or mistyped field
    # lands in the except clause.
    raw: dict[str, Any] = message.raw  # type: ignore[assignment]
    try:
        event = raw["event"]
        event_type = event["type"]
        if event_type == "content_block_delta":
            return _TEXT_PROGRESS if event["delta"]["type"] == "text_delta" else _PROGRESS
        if event_type == "message_stop" and "abandoned_blocks" in raw:
            return _TEXT_PROGRESS
        return _ERROR | _PROGRESS if event_type == "error" else _PROGRESS
    except (KeyError, TypeError, IndexError):
        return _PROGRESS


def _system_kinds(message: Message) -> int:
    subtype = (message.raw or {}).get("subtype")
    return _SYSTEM | (_SYSTEM_SUBTYPEKINDS.get(subtype, 0) if isinstance(subtype, str) else 0)


def _result_kinds(message: Message) -> int:
    failed = (message.raw or {}).get("is_error") is True
    return _COMPLETE | _METADATA | (_ERROR if failed else 0)


def _control_response_kinds(message: Message) -> int:
    response = (message.raw or {}).get("response")
    return _ERROR if isinstance(response, dict) and response.get("subtype") == "error" else 0


def _constant(mask: int) -> Callable[[Message], int]:
    return lambda _message: mask


_CLASSIFIERS: dict[type[Message], Callable[[Any], int]] = {
    StreamEventMessage: _stream_event_kinds,
    AssistantMessage: _assistant_kinds,
    UserMessage: _user_kinds,
    SystemMessage: _system_kinds,
    ResultMessage: _result_kinds,
    RateLimitEventMessage: _constant(_STATUS),
    ToolProgressMessage: _constant(_PROGRESS),
    ControlResponseMessage: _control_response_kinds,
    ParseError: _constant(_ERROR),
    Message: _constant(0),
}
"""Classifier of each message class; other classes use their nearest listed base's (found
once, then cached): ``InitMessage`` that of ``SystemMessage``, unknown frames none."""


_INHERITED: set[type[Message]] = set()
"""The classes whose classifier is their base's, cached by :func:`_classifier_for`."""


def _classifier_for(cls: type[Message]) -> Callable[[Message], int]:
    """The classifier of a class not in the table (a subclass): its nearest known base's."""
    for base in cls.__mro__:
        classifier = _CLASSIFIERS.get(base)
        if classifier is not None:
            _CLASSIFIERS[cls] = classifier
            _INHERITED.add(cls)
            return classifier
    raise TypeError(f"not a Message: {cls!r}")


def kind_mask(message: Message) -> int:
    """The message's kinds as a bit mask (bit ``i`` for the ``i``-th :class:`Kind`):
    ``KIND_SETS[kind_mask(m)] == kinds_of(m)``. Counting by mask allocates nothing."""
    classifier = _CLASSIFIERS.get(message.__class__) or _classifier_for(message.__class__)
    return classifier(message)


def kinds_of(message: Message) -> frozenset[Kind]:
    """The semantic kinds of ``message`` (the table in the module docstring).

    A cheap look at the message's class and a few fields; content blocks are scanned only
    for ``assistant`` and ``user`` frames. The returned sets are shared constants.
    """
    return KIND_SETS[kind_mask(message)]


def register_kinds(message_class: type[Message], kinds: Iterable[Kind]) -> None:
    """Classify every ``message_class`` message (and its subclasses') as ``kinds``."""
    mask = 0
    for kind in kinds:
        mask |= _BIT[kind]
    _CLASSIFIERS[message_class] = _constant(mask)
    for cls in _INHERITED & set(_CLASSIFIERS):  # found through an older base: look again
        if issubclass(cls, message_class):
            del _CLASSIFIERS[cls]
            _INHERITED.discard(cls)


__all__ = ["KIND_SETS", "Kind", "kind_mask", "kinds_of", "register_kinds"]
