"""Writing small transcript files for the transcript tests, and reading them back.

Lines are built as the CLI writes them (camelCase envelope, ``timestamp`` in its
``2026-03-01T10:00:01.000Z`` form) with only the fields a test needs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import Recording
from reactivex import Observable

from rxclaude.messages import Message

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
"""The time ``at=0`` stands for."""

DATA = Path(__file__).resolve().parent / "data" / "transcripts"
"""The real transcripts (see PROVENANCE.md there)."""

CORPUS = sorted(DATA.glob("*.jsonl"))


def stamp(at: float) -> str:
    """``T0 + at`` seconds, written as the CLI writes timestamps."""
    moment = T0 + timedelta(seconds=at)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def line(fields: dict[str, Any]) -> bytes:
    """One compact JSON line, with its line end."""
    return json.dumps(fields, separators=(",", ":")).encode() + b"\n"


def entry(kind: str, at: float | None, **fields: Any) -> bytes:
    """A line of type ``kind``, stamped ``at`` (no ``timestamp`` when ``None``)."""
    head: dict[str, Any] = {"type": kind}
    if at is not None:
        head["timestamp"] = stamp(at)
    return line({**head, **fields})


def assistant_entry(
    at: float | None,
    message_id: str | None,
    request_id: str | None,
    *,
    usage: dict[str, int] | None = None,
    content: list[dict[str, Any]] | None = None,
    session: str = "session-1",
    model: str = "claude-test-1",
    **fields: Any,
) -> dict[str, Any]:
    """An ``assistant`` entry as a dict (for ``line`` or for nesting in progress lines)."""
    inner: dict[str, Any] = {
        "model": model,
        "type": "message",
        "role": "assistant",
        "content": content if content is not None else [{"type": "text", "text": "hi"}],
    }
    if message_id is not None:
        inner["id"] = message_id
    if usage is not None:
        inner["usage"] = usage
    fields = {"sessionId": session, **fields, "message": inner, "type": "assistant"}
    if request_id is not None:
        fields["requestId"] = request_id
    if at is not None:
        fields["timestamp"] = stamp(at)
    return fields


def write(path: Path, *lines: bytes) -> Path:
    """Creates ``path`` (and its folders) holding ``lines``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    return path


def append(path: Path, data: bytes) -> None:
    """Appends ``data`` as a live session would: one write, flushed."""
    with path.open("ab") as file:
        file.write(data)


def collect(source: Observable[Message]) -> Recording[Message]:
    """Subscribes on the current thread; the stream must have ended."""
    recording: Recording[Message] = Recording()
    source.subscribe(recording)
    assert recording.done.is_set(), "the stream did not end on the current thread"
    return recording
