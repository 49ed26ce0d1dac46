"""The kinds vocabulary: masks and sets agree, nothing is memoised on the message, and
message classes defined elsewhere register their kinds."""

from __future__ import annotations

from typing import Any

import msgspec

from rxclaude.messages import (
    KIND_SETS,
    AssistantMessage,
    Kind,
    Message,
    kind_mask,
    kinds_of,
    message_from_json,
)
from rxclaude.messages.kinds import register_kinds


def test_the_mask_indexes_the_kind_set_and_the_encoded_message_has_no_memo() -> None:
    raw = {"type": "result", "subtype": "success", "is_error": True}
    message = message_from_json(raw)
    assert kinds_of(message) == {Kind.COMPLETE, Kind.METADATA, Kind.ERROR}
    assert KIND_SETS[kind_mask(message)] == kinds_of(message)
    encoded = msgspec.json.decode(msgspec.json.encode(message))
    assert set(encoded) == {"type", "raw", "offset", "nbytes", "received_at"}


class _Custom(Message, kw_only=True):
    pass


class _CustomChild(_Custom, kw_only=True):
    pass


def test_registered_kinds_apply_to_the_class_and_its_subclasses() -> None:
    child = _CustomChild(type="custom")
    assert kinds_of(child) == frozenset()  # found through Message, and cached
    register_kinds(_Custom, [Kind.STATUS, Kind.PROGRESS])
    assert kinds_of(child) == {Kind.STATUS, Kind.PROGRESS}
    assert kinds_of(_Custom(type="custom")) == {Kind.STATUS, Kind.PROGRESS}
    assert kinds_of(Message(type="custom")) == frozenset()


def test_one_api_error_test_for_kinds_and_the_message() -> None:
    """``AssistantMessage.is_api_error`` is what makes an ``assistant`` frame ERROR."""
    text = {"type": "text", "text": "API Error: 529"}
    frames: dict[str, dict[str, Any]] = {
        "flagged": {"is_api_error_message": True},
        "synthetic model": {"message": {"model": "<synthetic>", "content": [text]}},
        "error field": {"error": "overloaded"},
        "flag not true": {"is_api_error_message": "yes"},
        "error not a string": {"error": {"type": "overloaded"}},
        "ordinary": {"message": {"model": "claude-x", "content": [text]}},
    }
    for name, extra in frames.items():
        raw = {"type": "assistant", "message": {"content": [text]}, **extra}
        message = message_from_json(raw)
        assert isinstance(message, AssistantMessage)
        expected = name in ("flagged", "synthetic model", "error field")
        assert message.is_api_error is expected, name
        assert (Kind.ERROR in kinds_of(message)) is expected, name
