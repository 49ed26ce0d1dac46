"""The assistant's text: per message, per session, as a whole, and live from the deltas."""

from __future__ import annotations

from collections import deque

from rxclaude.handlers.base import BuiltinHandler, bound, drop_first_entries
from rxclaude.messages import AssistantMessage, Kind, Message, StreamEventMessage


class TextHandler(BuiltinHandler):
    """The assistant's text: per message, per session, as a whole, and live.

    ``assistant`` frames are authoritative: ``text`` is the concatenation of their text
    blocks, in order, for the main conversation (frames of subagents — those with a
    ``parent_tool_use_id`` — are only in ``texts_by_message``). ``text_delta`` events
    arrive first and are provisional: ``live_text`` is ``text`` plus the deltas that no
    ``assistant`` frame has confirmed yet. The CLI sends a block's ``assistant`` frame
    after its last delta, so when a main-conversation frame arrives the unconfirmed deltas
    are replaced by it; a ``message_stop`` with ``abandoned_blocks`` withdraws the deltas
    of the abandoned blocks. At the end of a turn ``live_text == text``, unless the stream
    had deltas but no ``assistant`` frames.

    Args:
        keep_sessions: sessions kept in ``text_by_session``; beyond it, the one that
            appeared first is dropped (``None`` keeps all).
        keep_messages: messages kept in ``texts_by_message``; beyond it, the one that
            appeared first is dropped (``None`` keeps all).
        keep_chars: characters of text kept, main conversation and subagents together
            (``None`` keeps all). Beyond it the oldest characters are dropped, from
            ``text``, ``text_by_session`` and ``texts_by_message`` alike, so each shows the
            end of its text; an entry left with no text is left out.
    """

    kinds = (Kind.TEXT,)

    def __init__(
        self,
        *,
        priority: int = 0,
        keep_sessions: int | None = 100,
        keep_messages: int | None = 1000,
        keep_chars: int | None = 1_000_000,
    ) -> None:
        super().__init__(priority=priority)
        self._keep_sessions = bound("keep_sessions", keep_sessions)
        self._keep_messages = bound("keep_messages", keep_messages)
        self._keep_chars = bound("keep_chars", keep_chars)
        self._parts: deque[str] = deque()
        self._streamed: list[StreamEventMessage] = []
        self._by_message: dict[str, list[str]] = {}
        self._by_session: dict[str, deque[str]] = {}
        # With ``keep_chars``, for each kept part, oldest first: its message's parts, and its
        # session's (None for a subagent's part). The oldest part is the first of each.
        self._message_of_part: deque[list[str]] = deque()
        self._session_of_part: deque[deque[str] | None] = deque()
        self._chars = 0

    def handle(self, message: Message) -> None:
        if isinstance(message, StreamEventMessage):
            # Deltas are only kept here, and read when ``live_text`` is: most of them are
            # replaced by their ``assistant`` frame before anyone reads them.
            if "abandoned_blocks" in message.raw:
                self._withdraw(message.raw["abandoned_blocks"])
            else:
                self._streamed.append(message)
        elif isinstance(message, AssistantMessage):
            self._on_assistant(message)

    def _withdraw(self, abandoned: object) -> None:
        """Drop the unconfirmed deltas of the blocks the CLI abandoned."""
        first = abandoned.get("from_block_index") if isinstance(abandoned, dict) else None
        if isinstance(first, int):
            with self._lock:
                self._streamed = [m for m in self._streamed if (m.index or 0) < first]

    def _on_assistant(self, message: AssistantMessage) -> None:
        text = message.text
        if not text:
            return
        key = message.message_id or message.uuid or ""
        with self._lock:
            message_parts = self._by_message.get(key)
            if message_parts is None:
                message_parts = self._by_message[key] = []
                drop_first_entries(self._by_message, self._keep_messages)
            message_parts.append(text)
            session_parts = None
            if message.parent_tool_use_id is None:
                self._parts.append(text)
                self._streamed = []
                session = message.session_id or ""
                session_parts = self._by_session.get(session)
                if session_parts is None:
                    session_parts = self._by_session[session] = deque()
                    drop_first_entries(self._by_session, self._keep_sessions)
                session_parts.append(text)
            if self._keep_chars is not None:
                self._message_of_part.append(message_parts)
                self._session_of_part.append(session_parts)
                self._chars += len(text)
                if self._chars > self._keep_chars:
                    self._drop_oldest_chars(self._chars - self._keep_chars)

    def _drop_oldest_chars(self, excess: int) -> None:
        """Drop ``excess`` characters from the oldest parts, wherever they are kept."""
        self._chars -= excess
        while excess:
            message_parts = self._message_of_part[0]
            session_parts = self._session_of_part[0]
            oldest = message_parts[0]
            if len(oldest) > excess:
                rest = message_parts[0] = oldest[excess:]
                if session_parts is not None:
                    session_parts[0] = self._parts[0] = rest
                return
            del message_parts[0]
            if session_parts is not None:
                session_parts.popleft()
                self._parts.popleft()
            self._message_of_part.popleft()
            self._session_of_part.popleft()
            excess -= len(oldest)

    @property
    def text(self) -> str:
        """The main conversation's text from ``assistant`` frames, concatenated.

        At most its last ``keep_chars`` characters (fewer when subagents' text is kept).
        """
        with self._lock:
            return "".join(self._parts)

    @property
    def live_text(self) -> str:
        """``text`` plus the streamed deltas not yet confirmed by an ``assistant`` frame."""
        with self._lock:
            streamed = "".join(_text_delta(message) for message in list(self._streamed))
            return "".join(self._parts) + streamed

    @property
    def texts_by_message(self) -> dict[str, str]:
        """Text per API message id (subagents' messages included), in arrival order."""
        with self._lock:
            return {key: "".join(parts) for key, parts in self._by_message.items() if parts}

    @property
    def text_by_session(self) -> dict[str, str]:
        """The main conversation's text per ``session_id``, in arrival order."""
        with self._lock:
            return {key: "".join(parts) for key, parts in self._by_session.items() if parts}


def _text_delta(message: StreamEventMessage) -> str:
    """The text of a main-conversation ``text_delta`` event; ``""`` for any other event."""
    delta = message.delta
    if message.parent_tool_use_id is not None or delta is None:
        return ""
    text = delta.get("text")
    return text if delta.get("type") == "text_delta" and isinstance(text, str) else ""


__all__ = ["TextHandler"]
