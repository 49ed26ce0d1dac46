"""What a stream entry holds, and the items the package adds to a stream.

An entry written by ``to_redis_stream`` has these fields (bytes):

* ``frame``: the frame's JSON text, encoded from the message's ``raw`` (msgspec): equal
  as JSON to the line the CLI wrote, not always byte for byte;
* ``host``: the producing host (``socket.gethostname()`` unless told);
* ``session``: the session id (the last one seen, for frames without one);
* ``producer``: a random id per ``to_redis_stream`` subscription;
* ``seq``: the message's position in that subscription (0, 1, 2, ...), so a gap shows a
  message dropped or failed on the way;
* ``offset``: the frame's byte offset in the producer's stream.

A :class:`~rxclaude.messages.ParseError` has ``reason``, ``detail``, ``excerpt`` and
``nbytes`` instead of ``frame``, so bad input crosses Redis as bad input.

Read back, an entry becomes the message class ``parse_json_frames`` would have made of
the frame, in a subclass that adds ``delivery`` (:class:`Delivery`: the stream, the
entry id, the producer and sequence, and whether it is a redelivery); ``isinstance``,
routing and kinds see the ordinary class. An entry that is not a frame (bad JSON, a
missing field) becomes a ``ParseError`` saying which stream and entry.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, cast, get_args

import msgspec

from rxclaude.framing import MAX_NESTING_DEPTH, nests_too_deeply
from rxclaude.messages import (
    MESSAGE_TYPES,
    SYSTEM_SUBTYPES,
    Kind,
    Message,
    ParseError,
    ParseErrorReason,
    SystemMessage,
    UnknownMessage,
    register_kinds,
)

__all__ = [
    "KEY_FIELDS",
    "Delivery",
    "RedisWriteError",
    "StreamGap",
    "decode_entry",
    "delivery_of",
    "encode_entry",
    "key_function",
]

Fields = dict[bytes, bytes]


class Delivery(msgspec.Struct, frozen=True, gc=False):
    """Where a message read from Redis came from.

    Attributes:
        stream: the stream's key.
        entry_id: the entry's id in the stream (``"1700000000000-0"``).
        group: the consumer group it was read in (``None`` without one).
        consumer: the consumer it was delivered to (``None`` without a group).
        host, session, producer, sequence: what the producer wrote; ``(producer,
            sequence)`` names the message whatever stream id it got, so it is what
            ``dedupe`` compares (a retried write gives the same message a new entry id).
        redelivered: read from the pending entries (this consumer's after a restart, or
            claimed from a dead one), so it may have been handled before.
        batch_end: the last entry of its read (``ack`` sends its acknowledgements then).
    """

    stream: str
    entry_id: str
    group: str | None = None
    consumer: str | None = None
    host: str = ""
    session: str = ""
    producer: str = ""
    sequence: int = -1
    redelivered: bool = False
    batch_end: bool = False


def _with_delivery(cls: type[Message]) -> type[Message]:
    kw_only = issubclass(cls, ParseError)
    made = msgspec.defstruct(
        f"Redis{cls.__name__}",
        [("delivery", Delivery | None, None)],
        bases=(cls,),
        kw_only=kw_only,
        module=__name__,
    )
    return cast(type[Message], made)


_READ_AS: list[type[Message]] = [
    *MESSAGE_TYPES.values(),
    *SYSTEM_SUBTYPES.values(),
    UnknownMessage,
    ParseError,
]
_CLASSES: dict[type[Message], type[Message]] = {cls: _with_delivery(cls) for cls in _READ_AS}
"""The class read messages get for each class ``parse_json_frames`` makes."""


def delivery_of(message: object) -> Delivery | None:
    """The :class:`Delivery` of a message read from Redis (``None`` for any other item)."""
    delivery = getattr(message, "delivery", None)
    return delivery if isinstance(delivery, Delivery) else None


class RedisWriteError(Message, kw_only=True):
    """Messages ``to_redis_stream`` could not write after its retries: an item in the
    stream, after the messages it stands for (which went downstream unchanged).

    ``type`` is ``"redis_write_error"``; ``offset`` is the first message's, ``nbytes`` 0.

    Attributes:
        streams: the keys the messages were for.
        count: how many messages.
        first_sequence, last_sequence: their ``seq`` range.
        attempts: how many times the batch was sent.
        error: the last failure (type and text, credentials redacted).
    """

    type: str = "redis_write_error"
    raw: None = None
    streams: tuple[str, ...]
    count: int
    first_sequence: int
    last_sequence: int
    attempts: int
    error: str

    def __str__(self) -> str:
        return (
            f"{self.count} messages (seq {self.first_sequence}..{self.last_sequence}) not "
            f"written to {', '.join(self.streams)} after {self.attempts} attempts: {self.error}"
        )


class StreamGap(Message, kw_only=True):
    """Entries a consumer group had delivered but that are gone from the stream (trimmed
    by ``MAXLEN`` or deleted before anyone acknowledged them): their messages are lost.

    ``type`` is ``"redis_gap"``; the entries were acknowledged so they do not come back.
    """

    type: str = "redis_gap"
    raw: None = None
    stream: str
    entry_ids: tuple[str, ...]

    def __str__(self) -> str:
        return f"{len(self.entry_ids)} entries of {self.stream} gone before they were handled"


register_kinds(RedisWriteError, (Kind.ERROR,))
register_kinds(StreamGap, (Kind.ERROR,))

# -- writing ------------------------------------------------------------------------------

KEY_FIELDS = frozenset({"session", "project", "host"})
"""The placeholders a stream key template may use."""

_encode_json = msgspec.json.Encoder().encode


def key_function(
    key_or_fn: str | Callable[[Message], str],
) -> Callable[[Message, Mapping[str, str]], str]:
    """The key of a message's stream: a fixed key, a template (``"claude:{session}"``,
    with :data:`KEY_FIELDS`) filled from the producer's context, or ``fn(message)``."""
    if callable(key_or_fn):
        fn = key_or_fn
        return lambda message, _context: fn(message)
    if not isinstance(key_or_fn, str) or not key_or_fn:
        raise TypeError(f"key_or_fn must be a non-empty str or a callable, got {key_or_fn!r}")
    names = {name for _, name, _, _ in string.Formatter().parse(key_or_fn) if name is not None}
    unknown = names - KEY_FIELDS
    if unknown:
        raise ValueError(
            f"stream key {key_or_fn!r} uses {sorted(unknown)}; it may use {sorted(KEY_FIELDS)}"
        )
    if not names:
        return lambda _message, _context: key_or_fn
    return lambda _message, context: key_or_fn.format_map(context)


def encode_entry(message: Message, context: Mapping[str, str], sequence: int) -> Fields:
    """The fields of ``message``'s entry (``context`` gives host, session and producer)."""
    fields: Fields = {
        b"host": context["host"].encode(),
        b"session": context["session"].encode(),
        b"producer": context["producer"].encode(),
        b"seq": b"%d" % sequence,
        b"offset": b"%d" % message.offset,
    }
    if isinstance(message, ParseError):
        fields[b"reason"] = message.reason.encode()
        fields[b"detail"] = message.detail.encode()
        fields[b"excerpt"] = message.excerpt
        fields[b"nbytes"] = b"%d" % message.nbytes
    else:
        fields[b"frame"] = _encode_json(message.raw)
    return fields


# -- reading ------------------------------------------------------------------------------

_decode_json = msgspec.json.Decoder().decode
_REASONS = frozenset(get_args(ParseErrorReason))


def _text(fields: Mapping[bytes, bytes], name: bytes) -> str:
    return fields.get(name, b"").decode("utf-8", "replace")


def _number(fields: Mapping[bytes, bytes], name: bytes, default: int) -> int:
    try:
        return int(fields.get(name, b""))
    except ValueError:
        return default


def decode_entry(
    stream: str,
    entry_id: str,
    fields: Mapping[bytes, bytes],
    received_at: datetime,
    **delivery: Any,
) -> Message:
    """The typed message of one entry (its ``delivery`` filled from the entry and
    ``delivery``'s keyword arguments: group, consumer, redelivered, batch_end)."""
    where = Delivery(
        stream,
        entry_id,
        host=_text(fields, b"host"),
        session=_text(fields, b"session"),
        producer=_text(fields, b"producer"),
        sequence=_number(fields, b"seq", -1),
        **delivery,
    )
    offset = _number(fields, b"offset", 0)
    frame = fields.get(b"frame")
    if frame is None:
        reason = _text(fields, b"reason")
        if reason in _REASONS:  # a parse error that crossed Redis
            return _CLASSES[ParseError](  # type: ignore[call-arg]
                offset=offset,
                nbytes=_number(fields, b"nbytes", 0),
                received_at=received_at,
                reason=reason,
                detail=_text(fields, b"detail"),
                excerpt=fields.get(b"excerpt", b""),
                delivery=where,
            )
        return _bad_entry(
            where=where,
            offset=offset,
            received_at=received_at,
            reason="not_an_object",
            detail="no frame field",
            frame=b"",
        )
    try:
        if (
            len(frame) > MAX_NESTING_DEPTH
            and frame.count(b"[") + frame.count(b"{") > MAX_NESTING_DEPTH
            and nests_too_deeply(frame.decode("utf-8", "replace"))
        ):
            raise msgspec.DecodeError(f"nests deeper than {MAX_NESTING_DEPTH} levels")
        raw = _decode_json(frame)
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        return _bad_entry(
            where=where,
            offset=offset,
            received_at=received_at,
            reason="invalid_json",
            detail=str(error),
            frame=frame,
        )
    if not isinstance(raw, dict):
        return _bad_entry(
            where=where,
            offset=offset,
            received_at=received_at,
            reason="not_an_object",
            detail="not an object",
            frame=frame,
        )
    frame_type = raw.get("type")
    if not isinstance(frame_type, str):
        frame_type = ""
    cls: type[Message] = MESSAGE_TYPES.get(frame_type, UnknownMessage)
    if cls is SystemMessage:
        subtype = raw.get("subtype")
        if isinstance(subtype, str):
            cls = SYSTEM_SUBTYPES.get(subtype, SystemMessage)
    return _CLASSES[cls](  # type: ignore[call-arg]
        frame_type, raw, offset, len(frame), received_at, delivery=where
    )


def _bad_entry(
    *, where: Delivery, offset: int, received_at: datetime, reason: str, detail: str, frame: bytes
) -> Message:
    return _CLASSES[ParseError](  # type: ignore[call-arg]
        offset=offset,
        nbytes=len(frame),
        received_at=received_at,
        reason=reason,
        detail=f"stream {where.stream!r} entry {where.entry_id}: {detail}",
        excerpt=frame,
        delivery=where,
    )
