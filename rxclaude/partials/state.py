"""What is known of a response while it streams: its blocks (:class:`Block`) and the
response itself (:class:`Stream`), and how a block is assembled from its deltas."""

from __future__ import annotations

from typing import Any

import msgspec

from rxclaude.framing import MAX_NESTING_DEPTH, nests_too_deeply
from rxclaude.messages.content import ContentBlock, parse_block
from rxclaude.messages.fields import JSONObject, get_str

BLOCK_TYPE_OF_DELTA = {
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


def same_content(provisional: ContentBlock, authoritative: ContentBlock) -> bool:
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


class Block:
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


class Stream:
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
        self.blocks: dict[int, Block] = {}
        self.has_delta = False
        self.stopped = False

    def in_order(self) -> list[Block]:
        """The blocks by index."""
        return [self.blocks[index] for index in sorted(self.blocks)]

    def live_blocks(self) -> list[Block]:
        """The blocks still provisional, by index."""
        return [block for block in self.in_order() if block.live]


StreamKey = tuple[str | None, str | None]


__all__ = ["BLOCK_TYPE_OF_DELTA", "Block", "Stream", "StreamKey", "same_content"]
