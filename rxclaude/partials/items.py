"""The items ``assemble_partials`` inserts into the stream: typed views of a response
while it streams (see :mod:`rxclaude.partials`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from rxclaude.messages import AssistantMessage, Message
from rxclaude.messages.content import ContentBlock, TextBlock
from rxclaude.messages.fields import JSONObject, get_str

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


__all__ = [
    "AssembledMessage",
    "BlockComplete",
    "BlockUpdate",
    "IssueReason",
    "PartialIssue",
    "PartialItem",
    "Superseded",
    "SupersededReason",
]
