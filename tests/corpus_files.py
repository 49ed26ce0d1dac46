"""Where the tests find stream-json recordings, and a decoder run without Rx."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rxclaude.framing import DEFAULT_MAX_FRAME_BYTES, FrameDecoder
from rxclaude.messages import Message

DATA = Path(__file__).parent / "data"
BUNDLED_CORPUS = DATA / "corpus"
SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def bundled_recordings() -> list[Path]:
    """The real stream-json recordings copied into ``tests/data/corpus``."""
    return sorted(p for p in BUNDLED_CORPUS.iterdir() if p.suffix in (".jsonl", ".ndjson"))


def recording(name: str) -> bytes:
    """The bytes of one bundled recording, by a unique part of its file name."""
    (path,) = [p for p in bundled_recordings() if name in p.name]
    return path.read_bytes()


def decode(
    chunks: list[bytes] | bytes, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> list[Message]:
    """Every message a fresh decoder emits for ``chunks``, then the end of stream."""
    messages: list[Message] = []
    decoder = FrameDecoder(messages.append, lambda: EPOCH, max_frame_bytes)
    for chunk in [chunks] if isinstance(chunks, bytes) else chunks:
        decoder.feed(chunk)
    decoder.finish()
    return messages
