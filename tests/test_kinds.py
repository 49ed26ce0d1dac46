"""The kinds vocabulary: masks and sets agree, nothing is memoised on the message, and
message classes defined elsewhere register their kinds."""

from __future__ import annotations

import msgspec

from rxclaude.messages import KIND_SETS, Kind, Message, kind_mask, kinds_of, message_from_json
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
