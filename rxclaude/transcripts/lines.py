"""What a transcript line carries besides its JSON: its file and its place in time.

``from_transcripts`` emits each message as a subclass of its usual class (an
``assistant`` entry is still an :class:`~rxclaude.messages.AssistantMessage`, so routing
and the handlers take it as it is) with two more fields: ``source``, the
:class:`TranscriptFile` it was read from (its ``offset`` counts from the start of that
file), and ``time``, its place in time. :func:`provenance` reads both, with the entry's own
envelope (``sessionId``, ``uuid``, ``parentUuid``, ``isSidechain``, ``timestamp``,
``requestId``, ``agentId``), into one :class:`Provenance`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import msgspec

from rxclaude.messages import Kind, Message, ParseError, register_kinds
from rxclaude.messages.fields import get_bool, get_str


class TranscriptFile(msgspec.Struct, frozen=True, gc=False):
    """One transcript file, and what its place in ``~/.claude/projects`` says about it.

    Attributes:
        path: the file's path.
        project: the project folder's name (the CLI's slug of the working directory).
        session_id: the session, from the file name ``<session>.jsonl``, or for a subagent
            file ``<session>/subagents/agent-<id>.jsonl`` the session that ran it; ``None``
            when the name is not a session id.
        agent_id: the subagent, for a subagent file.
    """

    path: str
    project: str | None = None
    session_id: str | None = None
    agent_id: str | None = None


def _session_id(message: Any) -> str | None:
    """The entry's ``sessionId`` (``session_id`` on stream-json), else its file's."""
    raw = message.raw
    if raw is not None:
        value = raw.get("sessionId")
        if value.__class__ is str:
            return value
        value = raw.get("session_id")
        if value.__class__ is str:
            return value
    return cast(TranscriptFile, message.source).session_id


def _parse_error_text(error: Any) -> str:
    return f"{error.source.path}: {ParseError.__str__(error)}"


@functools.cache
def transcript_class(cls: type[Message]) -> type[Message]:
    """The subclass of ``cls`` that ``from_transcripts`` emits: ``cls`` plus ``source`` and
    ``time`` (keyword-only), its ``session_id`` read from ``sessionId``; a parse error's
    text starts with its file's path."""
    namespace: dict[str, Any] = {
        "session_id": property(_session_id, doc=_session_id.__doc__),
        "__doc__": f"A {cls.__name__} read from a session transcript (``source``, ``time``).",
    }
    if issubclass(cls, ParseError):
        namespace["__str__"] = _parse_error_text
    fields = [("source", TranscriptFile), ("time", float)]
    name = f"Transcript{cls.__name__}"
    made = msgspec.defstruct(
        name, fields, bases=(cls,), kw_only=True, namespace=namespace, module=__name__
    )
    return cast(type[Message], made)


def from_transcript(message: Message, source: TranscriptFile, time: float) -> Message:
    """``message`` as read from ``source`` at ``time`` (an instance of its
    :func:`transcript_class`)."""
    cls = transcript_class(message.__class__)
    if isinstance(message, ParseError):
        return cls(  # type: ignore[call-arg]
            offset=message.offset,
            nbytes=message.nbytes,
            received_at=message.received_at,
            reason=message.reason,
            detail=message.detail,
            excerpt=message.excerpt,
            source=source,
            time=time,
        )
    return cls(  # type: ignore[call-arg]
        message.type,
        message.raw,
        message.offset,
        message.nbytes,
        message.received_at,
        source=source,
        time=time,
    )


class TranscriptReadError(Message, kw_only=True):
    """A transcript file that could not be read (it vanished, or a permission error):
    an item in the stream, which goes on with the other files. Its kind is ERROR.

    Attributes:
        source: the file.
        time: where it stands in time (the time of the last line read from the file).
        error: the ``OSError``'s text.
    """

    type: str = "transcript_read_error"
    raw: None = None
    source: TranscriptFile
    time: float
    error: str = ""

    def __str__(self) -> str:
        return f"{self.source.path}: {self.error}"


register_kinds(TranscriptReadError, (Kind.ERROR,))


def parse_time(text: str) -> float | None:
    """An ISO-8601 timestamp (``2026-02-10T21:11:56.846Z`` as the CLI writes them) as POSIX
    seconds, UTC when it names no zone; ``None`` if it is not one. (``fromisoformat`` is C
    code: measured as fast as a cached Python parse of the CLI's form.)"""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a transcript message comes from: its file, session and place in the
    conversation's graph of entries.

    Attributes:
        file: the file it was read from.
        time: its place in time (POSIX seconds): its ``timestamp``, never earlier than a
            line before it in its file; a line without one takes the time of the line
            before it (the first timestamp of the file for lines before that, the file's
            modification time in a file without any).
        session_id: ``sessionId``, else the file's session.
        uuid: the entry's id.
        parent_uuid: the entry it follows (``None`` at the start of a conversation).
        is_sidechain: True for a subagent's entries.
        timestamp: the entry's own ``timestamp``, if it has one.
        request_id: the API request of an ``assistant`` entry (``requestId``).
        agent_id: the subagent (``agentId``, else the subagent file's).
    """

    file: TranscriptFile
    time: float
    session_id: str | None
    uuid: str | None
    parent_uuid: str | None
    is_sidechain: bool
    timestamp: datetime | None
    request_id: str | None
    agent_id: str | None

    @property
    def path(self) -> str:
        """The file's path."""
        return self.file.path


def source_of(message: Message) -> TranscriptFile | None:
    """The file ``message`` was read from, or ``None`` if it is not from a transcript."""
    source = getattr(message, "source", None)
    return source if isinstance(source, TranscriptFile) else None


def time_of(message: Message) -> float | None:
    """A transcript message's ``time`` (see :class:`Provenance`), else ``None``."""
    if source_of(message) is None:
        return None
    time = getattr(message, "time", None)
    return time if isinstance(time, float) else None


def provenance(message: Message) -> Provenance | None:
    """Where ``message`` comes from, or ``None`` if ``from_transcripts`` did not read it."""
    source = source_of(message)
    time = time_of(message)
    if source is None or time is None:
        return None
    raw = message.raw or {}
    stamp = get_str(raw, "timestamp")
    seconds = parse_time(stamp) if stamp is not None else None
    return Provenance(
        file=source,
        time=time,
        session_id=message.session_id,
        uuid=get_str(raw, "uuid"),
        parent_uuid=get_str(raw, "parentUuid"),
        is_sidechain=get_bool(raw, "isSidechain") is True,
        timestamp=datetime.fromtimestamp(seconds, UTC) if seconds is not None else None,
        request_id=get_str(raw, "requestId"),
        agent_id=get_str(raw, "agentId") or source.agent_id,
    )


__all__ = [
    "Provenance",
    "TranscriptFile",
    "TranscriptReadError",
    "from_transcript",
    "parse_time",
    "provenance",
    "source_of",
    "time_of",
    "transcript_class",
]
