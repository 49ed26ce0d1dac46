"""The assembly of partial items from ``stream_event`` frames, without Rx:
:class:`PartialAssembler` (see :mod:`rxclaude.partials` for what it produces and why)."""

from __future__ import annotations

from datetime import datetime

from rxclaude.messages import AssistantMessage, Message, StreamEventMessage
from rxclaude.messages.content import ContentBlock
from rxclaude.messages.fields import JSONObject, get_dict, get_int, get_str
from rxclaude.partials.items import (
    AssembledMessage,
    BlockComplete,
    BlockUpdate,
    IssueReason,
    PartialIssue,
    PartialItem,
    Superseded,
    SupersededReason,
)
from rxclaude.partials.state import BLOCK_TYPE_OF_DELTA, Block, Stream, StreamKey, same_content


class PartialAssembler:
    """Accumulates ``stream_event`` frames into partial items, without Rx.

    Call :meth:`feed` with every message in stream order; it returns the items to place
    right after that message. Call :meth:`finish` at the end of the input; it returns the
    items that close what is left. The shape is that of
    :class:`~rxclaude.framing.FrameDecoder` (``feed`` and ``finish``, each returning a
    list), and :func:`~rxclaude.partials.assemble_partials` uses it the same way.
    """

    def __init__(self) -> None:
        self._streams: dict[StreamKey, Stream] = {}
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
        stream.blocks[index] = Block(index, get_dict(event, "content_block") or {})
        return items

    def _on_block_delta(self, message: StreamEventMessage, event: JSONObject) -> list[PartialItem]:
        items: list[PartialItem] = []
        stream, index = self._block_event_target(message, event, items)
        if stream is None or index is None:
            return items
        delta = get_dict(event, "delta") or {}
        block = stream.blocks.get(index)
        if block is None:
            implied = BLOCK_TYPE_OF_DELTA.get(get_str(delta, "type") or "", "")
            block = stream.blocks[index] = Block(index, {"type": implied})
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
            if not same_content(provisional, authoritative):
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
    ) -> Stream:
        stream = Stream(parent, message_id, body, session)
        self._streams[(parent, message_id)] = stream
        return stream

    def _stream_for(
        self, message: Message, event: JSONObject, items: list[PartialItem]
    ) -> Stream | None:
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
    ) -> tuple[Stream | None, int | None]:
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
        stream: Stream,
        blocks: list[Block],
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
        stream: Stream,
        blocks: list[Block],
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

    def _close(self, stream: Stream, *, complete: bool) -> list[PartialItem]:
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

    def _forget_if_settled(self, stream: Stream) -> None:
        """Drop a stopped stream once nothing of it is provisional any more."""
        if stream.stopped and not stream.live_blocks():
            self._streams.pop((stream.parent, stream.message_id), None)

    def _complete(self, stream: Stream, block: Block, *, stopped: bool) -> BlockComplete:
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
        stream: Stream,
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


__all__ = ["PartialAssembler"]
