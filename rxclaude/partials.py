"""``assemble_partials``: live views of ``--include-partial-messages`` streams.

With ``--include-partial-messages`` the CLI forwards the Messages API's SSE events as
``stream_event`` frames. :func:`assemble_partials` passes every message on unchanged and in
order, and inserts typed items right after the frame that produced them:

* :class:`BlockUpdate` (``"partial_block"``) after each ``content_block_delta``: the delta
  and the block's text, thinking, signature or tool-input JSON so far.
* :class:`BlockComplete` (``"partial_complete"``) at ``content_block_stop``: the finished
  block, tool input parsed from the accumulated ``input_json_delta`` fragments. A parse
  failure is reported in ``json_error``; the raw JSON stays in ``partial_json``.
* :class:`AssembledMessage` (``"partial_message"``) at ``message_stop``: the response built
  from ``message_start``, the blocks and ``message_delta``'s stop reason and usage.
* :class:`Superseded` (``"partial_superseded"``) when provisional content is retracted.
* :class:`PartialIssue` (``"partial_issue"``) for odd input. Nothing here raises.

Streams are keyed by ``(parent_tool_use_id, message id)``: subagents have their own, and
frames of different agents may interleave. The message id comes from ``message_start``
or the frame's ``api_message_id`` (CLI 2.1.332 has it); frames without one go to their
agent's latest stream. An agent streams one response at a time: a new response of the agent (its
``message_start``, or an ``assistant`` frame with another message id) ends the agent's
earlier streams.

The CLI's ``assistant`` frames are authoritative. In CLI 2.1.332 the frame for a block
arrives before that block's ``content_block_stop``. The frame confirms the block:
``BlockComplete.block`` is then the frame's block, and ``assembled`` is what the deltas
built. If the two differ, a ``Superseded("corrected")`` item follows the frame. Provisional
blocks are retracted by ``Superseded`` in three cases:

* ``"abandoned"``: a ``message_stop`` carries the ``abandoned_blocks`` marker. CLI
  2.1.332 sends it after a mid-stream API error.
* ``"replaced"``: the stream did not end normally (no ``message_delta``, or no
  ``message_stop``), and another message of the same agent arrives. That message is an
  ``assistant`` frame with another id (the non-streaming retry) or a new ``message_start``.
* ``"corrected"``: one block, as above.

Every started block gets exactly one ``BlockComplete``, unless it is retracted while
still open (or its ``content_block_start`` is repeated, which is reported).
``message_start.message.content`` is ignored: the API sends it empty, and CLI 2.0.20 put
the first delta's text there, which the delta then repeats.

Items are :class:`~rxclaude.messages.Message` objects with ``raw`` ``None`` (like
``ParseError``), so the operator maps messages to messages and composes with every other
operator; route them by ``type`` and ``subtype``. ``offset`` and ``received_at`` are those
of the frame that produced the item. ``nbytes`` is 0, so summing ``nbytes`` over the
output still counts each byte of input once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Literal

import msgspec
from reactivex import Observable, abc

from rxclaude.framing import MAX_NESTING_DEPTH, nests_too_deeply
from rxclaude.messages import AssistantMessage, Message, StreamEventMessage
from rxclaude.messages.content import ContentBlock, TextBlock, parse_block
from rxclaude.messages.fields import JSONObject, get_dict, get_int, get_str

SupersededReason = Literal["abandoned", "replaced", "corrected"]
IssueReason = Literal[
    "no_message_start",
    "no_block_start",
    "repeated_start",
    "late_event",
    "invalid_event",
    "unfinished_message",
]


class PartialItem(Message, kw_only=True, gc=True):
    """Base of the items :func:`assemble_partials` inserts into the stream.

    Like :class:`~rxclaude.messages.ParseError`, an item is a
    :class:`~rxclaude.messages.Message` with ``raw`` ``None``, so every operator on
    messages accepts it. ``offset`` and ``received_at`` are those of the frame that
    produced the item; ``nbytes`` is 0 because the item adds no bytes to the stream.

    Attributes:
        message_id: the API message id of the stream (``None`` if none was seen).
    """

    type: str = "partial"
    raw: None = None
    parent_tool_use_id: str | None = None
    """The subagent's tool call, ``None`` for the main agent."""
    message_id: str | None = None
    _fields: ClassVar[tuple[str, ...]] = ()
    """The attributes shown by ``repr`` and compared by ``==``, besides the common ones."""

    def __repr__(self) -> str:
        names = ("parent_tool_use_id", "message_id", *self._fields, "offset")
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        names = ("parent_tool_use_id", "message_id", "offset", *self._fields)
        return all(getattr(self, name) == getattr(other, name) for name in names)

    __hash__ = None


class BlockUpdate(PartialItem, kw_only=True):
    """One delta applied to a content block (``type`` ``"partial_block"``).

    Attributes:
        index: the block's index in its message.
        block_type: ``text``, ``thinking``, ``tool_use``, … (also the ``subtype``).
        delta: the delta just applied, as sent. A delta of an unknown type is kept here
            and changes nothing else.
        text: the block's text so far (``""`` until a ``text_delta``).
        thinking: the block's thinking so far (``""`` until a ``thinking_delta``).
        signature: the thinking block's signature, once a ``signature_delta`` came.
        partial_json: the tool input's JSON so far (``""`` until an ``input_json_delta``).
    """

    type: str = "partial_block"
    index: int
    block_type: str
    delta: JSONObject
    text: str
    thinking: str
    signature: str | None
    partial_json: str
    _fields = ("index", "block_type", "delta", "text", "thinking", "signature", "partial_json")

    @property
    def subtype(self) -> str:
        """The block type."""
        return self.block_type

    @property
    def delta_type(self) -> str | None:
        """``text_delta``, ``thinking_delta``, ``input_json_delta``, …"""
        return get_str(self.delta, "type")


class BlockComplete(PartialItem, kw_only=True):
    """A finished content block (``type`` ``"partial_complete"``).

    Attributes:
        index: the block's index in its message.
        block_type: ``text``, ``thinking``, ``tool_use``, … (also the ``subtype``).
        block: the block. It is the ``assistant`` frame's block when one confirmed it,
            and ``assembled`` otherwise.
        assembled: the block built from ``content_block_start`` and the deltas.
        confirmed: whether an ``assistant`` frame confirmed the block.
        stopped: ``False`` when the block was closed without a ``content_block_stop``,
            at ``message_stop`` or at the end of the input.
        partial_json: the accumulated tool-input JSON (``None`` without
            ``input_json_delta``).
        json_error: why ``partial_json`` did not parse to an object. The block's
            ``input`` is then left as ``content_block_start`` gave it.
    """

    type: str = "partial_complete"
    index: int
    block_type: str
    block: ContentBlock
    assembled: ContentBlock
    confirmed: bool
    stopped: bool
    partial_json: str | None
    json_error: str | None
    _fields = (
        "index",
        "block_type",
        "block",
        "assembled",
        "confirmed",
        "stopped",
        "partial_json",
        "json_error",
    )

    @property
    def subtype(self) -> str:
        """The block type."""
        return self.block_type


class AssembledMessage(PartialItem, kw_only=True):
    """A whole API response, assembled at ``message_stop`` (``type`` ``"partial_message"``).

    Attributes:
        message: an :class:`~rxclaude.messages.AssistantMessage` view over a synthesized
            frame. Its blocks are in index order; retracted blocks are left out.
        complete: true when the stream ended normally: a ``message_delta``, then a
            ``message_stop`` without abandoned blocks. An incomplete message is also
            assembled when the input ends before ``message_stop``.
    """

    type: str = "partial_message"
    message: AssistantMessage
    complete: bool
    _fields = ("message", "complete")

    @property
    def blocks(self) -> list[ContentBlock]:
        """The content blocks, typed."""
        return self.message.blocks

    @property
    def text(self) -> str:
        """The text of the text blocks, concatenated."""
        return self.message.text

    @property
    def stop_reason(self) -> str | None:
        """``message_delta``'s stop reason (``None`` if it never came)."""
        return self.message.stop_reason

    @property
    def usage(self) -> JSONObject:
        """``message_start``'s usage, updated by ``message_delta``'s non-null fields."""
        return self.message.usage


class Superseded(PartialItem, kw_only=True):
    """Provisional content from deltas is retracted (``type`` ``"partial_superseded"``).

    Attributes:
        reason: ``abandoned`` (the CLI's ``message_stop`` marker), ``replaced``
            (another message of the agent took over an unfinished stream), or
            ``corrected`` (the ``assistant`` frame differs from the deltas). Also the
            ``subtype``.
        indices: the retracted blocks' indices.
        blocks: their provisional content, as the deltas built it.
        replacement: the ``assistant`` frame that replaces them, if one did.
        replacement_id: the message id that replaces them, if known.
    """

    type: str = "partial_superseded"
    reason: SupersededReason
    indices: tuple[int, ...]
    blocks: tuple[ContentBlock, ...]
    replacement: AssistantMessage | None
    replacement_id: str | None
    _fields = ("reason", "indices", "blocks", "replacement", "replacement_id")

    @property
    def subtype(self) -> str:
        """The reason."""
        return self.reason

    @property
    def text(self) -> str:
        """The retracted text, concatenated."""
        return "".join(block.text for block in self.blocks if isinstance(block, TextBlock))


class PartialIssue(PartialItem, kw_only=True):
    """Odd input, reported instead of raised (``type`` ``"partial_issue"``).

    Attributes:
        reason: ``no_message_start`` (the stream is then started implicitly),
            ``no_block_start`` (a delta starts its block implicitly), ``repeated_start``
            (the earlier message or block is dropped), ``late_event`` (an event for a
            block or message that already stopped; ignored), ``invalid_event`` (a block
            event without an integer ``index``; ignored), ``unfinished_message`` (the
            input ended before ``message_stop``). Also the ``subtype``.
        detail: a sentence.
        index: the block index, if any.
        event: the offending API event (``{}`` for ``unfinished_message``).
    """

    type: str = "partial_issue"
    reason: IssueReason
    detail: str
    index: int | None
    event: JSONObject
    _fields = ("reason", "detail", "index", "event")

    @property
    def subtype(self) -> str:
        """The reason."""
        return self.reason

    def __str__(self) -> str:
        return f"{self.reason} at byte {self.offset}: {self.detail}"


_BLOCK_TYPE_OF_DELTA = {
    "text_delta": "text",
    "citations_delta": "text",
    "thinking_delta": "thinking",
    "signature_delta": "thinking",
    "input_json_delta": "tool_use",
}
"""The block type implied by a delta that arrives without ``content_block_start``."""

_CONTENT_KEYS = ("text", "thinking", "signature", "data", "id", "name", "input", "citations")
"""The block fields compared to decide whether an ``assistant`` frame corrects the deltas."""

_json_decoder = msgspec.json.Decoder()


def _same_content(provisional: ContentBlock, authoritative: ContentBlock) -> bool:
    """Whether two blocks have the same content (empty values count as absent)."""
    a, b = provisional.raw, authoritative.raw
    return all((a.get(key) or None) == (b.get(key) or None) for key in _CONTENT_KEYS)


def _parse_input(partial_json: str) -> tuple[Any, str | None]:
    """The tool input from its accumulated JSON, or ``None`` and why it failed."""
    if nests_too_deeply(partial_json):
        return None, f"invalid JSON: nests deeper than {MAX_NESTING_DEPTH} levels"
    try:
        value = _json_decoder.decode(partial_json)
    except (msgspec.DecodeError, RecursionError) as error:
        return None, f"invalid JSON: {error}"
    if not isinstance(value, dict):
        return None, "valid JSON, but not an object"
    return value, None


class _Block:
    """What is known of one content block while it streams."""

    __slots__ = (
        "assembled",
        "authoritative",
        "block_type",
        "citations",
        "index",
        "partial_json",
        "retracted",
        "signature",
        "start",
        "stopped",
        "text",
        "thinking",
    )

    def __init__(self, index: int, start: JSONObject) -> None:
        self.index = index
        self.start = start
        self.block_type = get_str(start, "type") or ""
        text = get_str(start, "text")
        self.text = "" if text is None and self.block_type == "text" else text
        thinking = get_str(start, "thinking")
        self.thinking = "" if thinking is None and self.block_type == "thinking" else thinking
        self.signature = get_str(start, "signature")
        citations = start.get("citations")
        self.citations: list[Any] | None = list(citations) if isinstance(citations, list) else None
        self.partial_json: str | None = None
        self.authoritative: ContentBlock | None = None
        self.assembled: tuple[ContentBlock, str | None] | None = None
        self.stopped = False
        self.retracted = False

    @property
    def live(self) -> bool:
        """Still provisional: neither confirmed by an ``assistant`` frame nor retracted."""
        return self.authoritative is None and not self.retracted

    def apply(self, delta: JSONObject) -> None:
        """Add one delta; a delta of an unknown type changes nothing."""
        kind = delta.get("type")
        if kind == "text_delta":
            piece = get_str(delta, "text")
            if piece is not None:
                self.text = (self.text or "") + piece
        elif kind == "input_json_delta":
            piece = get_str(delta, "partial_json")
            if piece is not None:
                self.partial_json = (self.partial_json or "") + piece
        elif kind == "thinking_delta":
            piece = get_str(delta, "thinking")
            if piece is not None:
                self.thinking = (self.thinking or "") + piece
        elif kind == "signature_delta":
            signature = get_str(delta, "signature")
            if signature is not None:
                self.signature = signature
        elif kind == "citations_delta" and "citation" in delta:
            self.citations = [*(self.citations or []), delta["citation"]]
        else:
            return
        self.assembled = None

    def assemble(self) -> tuple[ContentBlock, str | None]:
        """The block as the deltas built it, and the tool-input JSON error if any."""
        if self.assembled is None:
            raw = dict(self.start)
            for key, value in (
                ("text", self.text),
                ("thinking", self.thinking),
                ("signature", self.signature),
                ("citations", self.citations),
            ):
                if value is not None:
                    raw[key] = value
            error = None
            if self.partial_json:
                value, error = _parse_input(self.partial_json)
                if error is None:
                    raw["input"] = value
            self.assembled = (parse_block(raw), error)
        return self.assembled

    def final(self) -> ContentBlock:
        """The authoritative block if confirmed, else the assembled one."""
        return self.assemble()[0] if self.authoritative is None else self.authoritative

    def matches(self, authoritative: ContentBlock) -> bool:
        """Whether an ``assistant`` frame's block can be this (live) block."""
        if not self.live or authoritative.type != self.block_type:
            return False
        own_id, other_id = get_str(self.start, "id"), get_str(authoritative.raw, "id")
        return own_id is None or other_id is None or own_id == other_id


class _Stream:
    """One API response of one agent, while it streams."""

    __slots__ = ("blocks", "body", "has_delta", "message_id", "parent", "session_id", "stopped")

    def __init__(
        self, parent: str | None, message_id: str | None, body: JSONObject, session_id: str | None
    ) -> None:
        self.parent = parent
        self.message_id = message_id
        self.body = {key: value for key, value in body.items() if key != "content"}
        if message_id is not None:
            self.body.setdefault("id", message_id)
        self.session_id = session_id
        self.blocks: dict[int, _Block] = {}
        self.has_delta = False
        self.stopped = False

    def in_order(self) -> list[_Block]:
        """The blocks by index."""
        return [self.blocks[index] for index in sorted(self.blocks)]

    def live_blocks(self) -> list[_Block]:
        """The blocks still provisional, by index."""
        return [block for block in self.in_order() if block.live]


_StreamKey = tuple[str | None, str | None]


class PartialAssembler:
    """Accumulates ``stream_event`` frames into partial items, without Rx.

    Call :meth:`feed` with every message in stream order; it returns the items to place
    right after that message. Call :meth:`finish` at the end of the input. The
    :func:`assemble_partials` operator is this class in a ``subscribe`` closure.
    """

    def __init__(self) -> None:
        self._streams: dict[_StreamKey, _Stream] = {}
        self._latest: dict[str | None, str | None] = {}
        self._last: Message | None = None
        self._offset = 0
        self._received_at: datetime | None = None

    def feed(self, message: Message) -> list[PartialItem]:
        """The items ``message`` produces (most messages produce none)."""
        self._last = message
        if isinstance(message, StreamEventMessage):
            self._offset, self._received_at = message.offset, message.received_at
            return self._on_event(message)
        if isinstance(message, AssistantMessage) and self._streams:
            self._offset, self._received_at = message.offset, message.received_at
            return self._on_assistant(message)
        return []

    def finish(self) -> list[PartialItem]:
        """Close every unfinished stream; afterwards the assembler starts afresh.

        Each stream still open gets a ``PartialIssue("unfinished_message")``, a
        ``BlockComplete(stopped=False)`` per open block, then an incomplete
        ``AssembledMessage``. These items sit at the end of the last frame.
        """
        items: list[PartialItem] = []
        last = self._last
        if last is not None:
            self._offset, self._received_at = last.offset + last.nbytes, last.received_at
            for stream in list(self._streams.values()):
                if not stream.stopped:
                    detail = "the input ended before message_stop"
                    items.append(self._issue(stream, "unfinished_message", detail, None, {}))
                    items.extend(self._close(stream, complete=False))
        self._streams.clear()
        self._latest.clear()
        self._last = None
        return items

    def _on_event(self, message: StreamEventMessage) -> list[PartialItem]:
        event = message.event
        kind = event.get("type")
        if kind == "content_block_delta":
            return self._on_block_delta(message, event)
        if kind == "content_block_start":
            return self._on_block_start(message, event)
        if kind == "content_block_stop":
            return self._on_block_stop(message, event)
        if kind == "message_start":
            return self._on_message_start(message, event)
        if kind == "message_delta":
            return self._on_message_delta(message, event)
        if kind == "message_stop":
            return self._on_message_stop(message, event)
        return []

    def _on_message_start(self, message: Message, event: JSONObject) -> list[PartialItem]:
        body = get_dict(event, "message") or {}
        parent = message.parent_tool_use_id
        raw = message.raw or {}
        message_id = get_str(body, "id") or get_str(raw, "api_message_id")
        items = self._retire_others(parent, message_id, None)
        previous = self._streams.get((parent, message_id))
        stream = self._start(parent, message_id, body, message.session_id)
        self._latest[parent] = message_id
        if previous is not None:
            detail = "a second message_start for this message; the first is dropped"
            items.append(self._issue(stream, "repeated_start", detail, None, event))
        return items

    def _on_block_start(self, message: Message, event: JSONObject) -> list[PartialItem]:
        items: list[PartialItem] = []
        stream, index = self._block_event_target(message, event, items)
        if stream is None or index is None:
            return items
        if index in stream.blocks:
            detail = f"a second content_block_start for block {index}; the first is dropped"
            items.append(self._issue(stream, "repeated_start", detail, index, event))
        stream.blocks[index] = _Block(index, get_dict(event, "content_block") or {})
        return items

    def _on_block_delta(self, message: StreamEventMessage, event: JSONObject) -> list[PartialItem]:
        items: list[PartialItem] = []
        stream, index = self._block_event_target(message, event, items)
        if stream is None or index is None:
            return items
        delta = get_dict(event, "delta") or {}
        block = stream.blocks.get(index)
        if block is None:
            implied = _BLOCK_TYPE_OF_DELTA.get(get_str(delta, "type") or "", "")
            block = stream.blocks[index] = _Block(index, {"type": implied})
            detail = f"a delta for block {index} before its content_block_start"
            items.append(self._issue(stream, "no_block_start", detail, index, event))
        elif block.stopped or block.retracted:
            detail = f"a delta for block {index} after it stopped; ignored"
            items.append(self._issue(stream, "late_event", detail, index, event))
            return items
        block.apply(delta)
        items.append(
            BlockUpdate(
                parent_tool_use_id=stream.parent,
                message_id=stream.message_id,
                offset=self._offset,
                received_at=self._at(),
                index=index,
                block_type=block.block_type,
                delta=delta,
                text=block.text or "",
                thinking=block.thinking or "",
                signature=block.signature,
                partial_json=block.partial_json or "",
            )
        )
        return items

    def _on_block_stop(self, message: Message, event: JSONObject) -> list[PartialItem]:
        items: list[PartialItem] = []
        stream, index = self._block_event_target(message, event, items)
        if stream is None or index is None:
            return items
        block = stream.blocks.get(index)
        if block is None:
            detail = f"content_block_stop for block {index}, which never started; ignored"
            items.append(self._issue(stream, "no_block_start", detail, index, event))
        elif block.stopped or block.retracted:
            detail = f"a second content_block_stop for block {index}; ignored"
            items.append(self._issue(stream, "late_event", detail, index, event))
        else:
            block.stopped = True
            items.append(self._complete(stream, block, stopped=True))
        return items

    def _on_message_delta(self, message: Message, event: JSONObject) -> list[PartialItem]:
        items: list[PartialItem] = []
        stream = self._stream_for(message, event, items)
        if stream is None:
            return items
        stream.body.update(get_dict(event, "delta") or {})
        usage = get_dict(event, "usage")
        if usage is not None:
            merged = dict(get_dict(stream.body, "usage") or {})
            merged.update((key, value) for key, value in usage.items() if value is not None)
            stream.body["usage"] = merged
        if event.get("context_management") is not None:
            stream.body["context_management"] = event["context_management"]
        stream.has_delta = True
        return items

    def _on_message_stop(self, message: Message, event: JSONObject) -> list[PartialItem]:
        items: list[PartialItem] = []
        stream = self._stream_for(message, event, items)
        if stream is None:
            return items
        abandoned = get_dict(message.raw or {}, "abandoned_blocks")
        first = get_int(abandoned, "from_block_index") if abandoned is not None else None
        if first is not None:
            dropped = [b for b in stream.in_order() if b.index >= first and not b.retracted]
            if dropped:
                items.append(
                    self._retract(
                        stream, dropped, "abandoned", replacement=None, replacement_id=None
                    )
                )
        items.extend(self._close(stream, complete=stream.has_delta and first is None))
        return items

    def _on_assistant(self, message: AssistantMessage) -> list[PartialItem]:
        parent, message_id = message.parent_tool_use_id, message.message_id
        items = self._retire_others(parent, message_id, message)
        stream = self._streams.get((parent, message_id))
        if stream is None:
            return items
        for authoritative in message.blocks:
            block = next((b for b in stream.in_order() if b.matches(authoritative)), None)
            if block is None:
                continue
            provisional = block.assemble()[0]
            block.authoritative = authoritative
            if not _same_content(provisional, authoritative):
                items.append(
                    self._superseded(
                        stream,
                        [block],
                        [provisional],
                        "corrected",
                        replacement=message,
                        replacement_id=message_id,
                    )
                )
        self._forget_if_settled(stream)
        return items

    def _start(
        self, parent: str | None, message_id: str | None, body: JSONObject, session: str | None
    ) -> _Stream:
        stream = _Stream(parent, message_id, body, session)
        self._streams[(parent, message_id)] = stream
        return stream

    def _stream_for(
        self, message: Message, event: JSONObject, items: list[PartialItem]
    ) -> _Stream | None:
        """The stream an event belongs to; started implicitly (and reported) if unknown.

        ``None`` (with a ``late_event`` issue) when that stream already stopped.
        """
        parent = message.parent_tool_use_id
        message_id = get_str(message.raw or {}, "api_message_id")
        if message_id is None:
            message_id = self._latest.get(parent)
        stream = self._streams.get((parent, message_id))
        if stream is None:
            stream = self._start(parent, message_id, {}, message.session_id)
            self._latest.setdefault(parent, message_id)
            detail = f"{event.get('type')} before any message_start of this stream"
            items.append(self._issue(stream, "no_message_start", detail, None, event))
        elif stream.stopped:
            detail = f"{event.get('type')} after message_stop; ignored"
            items.append(self._issue(stream, "late_event", detail, None, event))
            return None
        return stream

    def _block_event_target(
        self, message: Message, event: JSONObject, items: list[PartialItem]
    ) -> tuple[_Stream | None, int | None]:
        """The stream and block index of a block event (``None`` when it is unusable)."""
        stream = self._stream_for(message, event, items)
        index = get_int(event, "index")
        if stream is not None and index is None:
            detail = f"{event.get('type')} without an integer index; ignored"
            items.append(self._issue(stream, "invalid_event", detail, None, event))
        return stream, index

    def _retire_others(
        self, parent: str | None, message_id: str | None, replacement: AssistantMessage | None
    ) -> list[PartialItem]:
        """Drop the agent's other streams: a new message of that agent has arrived.

        A stream that did not end normally has its provisional blocks retracted.
        """
        items: list[PartialItem] = []
        for key, stream in list(self._streams.items()):
            if stream.parent != parent or stream.message_id == message_id:
                continue
            del self._streams[key]
            live = stream.live_blocks()
            if not stream.stopped or (live and not stream.has_delta):
                items.append(
                    self._retract(
                        stream, live, "replaced", replacement=replacement, replacement_id=message_id
                    )
                )
        return items

    def _retract(
        self,
        stream: _Stream,
        blocks: list[_Block],
        reason: SupersededReason,
        *,
        replacement: AssistantMessage | None,
        replacement_id: str | None,
    ) -> Superseded:
        for block in blocks:
            block.retracted = True
        content = [block.assemble()[0] for block in blocks]
        return self._superseded(
            stream, blocks, content, reason, replacement=replacement, replacement_id=replacement_id
        )

    def _superseded(
        self,
        stream: _Stream,
        blocks: list[_Block],
        content: list[ContentBlock],
        reason: SupersededReason,
        *,
        replacement: AssistantMessage | None,
        replacement_id: str | None,
    ) -> Superseded:
        return Superseded(
            parent_tool_use_id=stream.parent,
            message_id=stream.message_id,
            offset=self._offset,
            received_at=self._at(),
            reason=reason,
            indices=tuple(block.index for block in blocks),
            blocks=tuple(content),
            replacement=replacement,
            replacement_id=replacement_id,
        )

    def _close(self, stream: _Stream, *, complete: bool) -> list[PartialItem]:
        """End a stream: complete its open blocks, then assemble the message."""
        items: list[PartialItem] = []
        for block in stream.in_order():
            if not block.stopped and not block.retracted:
                block.stopped = True
                items.append(self._complete(stream, block, stopped=False))
        stream.stopped = True
        body = dict(stream.body)
        body["content"] = [block.final().raw for block in stream.in_order() if not block.retracted]
        raw = {
            "type": "assistant",
            "message": body,
            "parent_tool_use_id": stream.parent,
            "session_id": stream.session_id,
        }
        view = AssistantMessage("assistant", raw, self._offset, 0, self._at())
        items.append(
            AssembledMessage(
                parent_tool_use_id=stream.parent,
                message_id=stream.message_id,
                offset=self._offset,
                received_at=self._at(),
                message=view,
                complete=complete,
            )
        )
        self._forget_if_settled(stream)
        return items

    def _forget_if_settled(self, stream: _Stream) -> None:
        """Drop a stopped stream once nothing of it is provisional any more."""
        if stream.stopped and not stream.live_blocks():
            self._streams.pop((stream.parent, stream.message_id), None)

    def _complete(self, stream: _Stream, block: _Block, *, stopped: bool) -> BlockComplete:
        assembled, json_error = block.assemble()
        return BlockComplete(
            parent_tool_use_id=stream.parent,
            message_id=stream.message_id,
            offset=self._offset,
            received_at=self._at(),
            index=block.index,
            block_type=block.block_type,
            block=assembled if block.authoritative is None else block.authoritative,
            assembled=assembled,
            confirmed=block.authoritative is not None,
            stopped=stopped,
            partial_json=block.partial_json,
            json_error=json_error,
        )

    def _issue(
        self,
        stream: _Stream,
        reason: IssueReason,
        detail: str,
        index: int | None,
        event: JSONObject,
    ) -> PartialIssue:
        return PartialIssue(
            parent_tool_use_id=stream.parent,
            message_id=stream.message_id,
            offset=self._offset,
            received_at=self._at(),
            reason=reason,
            detail=detail,
            index=index,
            event=event,
        )

    def _at(self) -> datetime:
        assert self._received_at is not None, "items are only made while feeding messages"
        return self._received_at


def assemble_partials() -> Callable[[Observable[Message]], Observable[Message]]:
    """Insert live partial views after the ``stream_event`` frames that produce them.

    Every input message passes through unchanged and in order. The partial items (see
    the module documentation) follow the frame that produced them. At the end of the
    input, or on error before the error is passed on, unfinished streams are closed.

    .. code-block:: text

        messages: -start-d("Hel")-d("lo")-assistant-stop-------m_delta-m_stop----------|
        assemble_partials()
        result:   -start-d-▸"Hel"-d-▸"Hello"-assistant-stop-▸block-m_delta-m_stop-▸message-|

    (``d``: ``content_block_delta``; ``▸"Hello"``: a :class:`BlockUpdate`; ``▸block``: a
    :class:`BlockComplete`; ``▸message``: an :class:`AssembledMessage`.)

    Keep only the partial items with
    ``ops.filter(lambda item: isinstance(item, PartialItem))``.
    """

    def operator(source: Observable[Message]) -> Observable[Message]:
        def subscribe(
            observer: abc.ObserverBase[Message],
            scheduler: abc.SchedulerBase | None = None,
        ) -> abc.DisposableBase:
            assembler = PartialAssembler()

            def on_next(message: Message) -> None:
                items = assembler.feed(message)
                observer.on_next(message)
                for item in items:
                    observer.on_next(item)

            def flush() -> None:
                for item in assembler.finish():
                    observer.on_next(item)

            def on_completed() -> None:
                flush()
                observer.on_completed()

            def on_error(error: Exception) -> None:
                flush()
                observer.on_error(error)

            return source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)

        return Observable(subscribe)

    return operator
