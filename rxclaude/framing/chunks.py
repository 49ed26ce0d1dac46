"""What the framing takes: chunks of bytes, of any size, cut anywhere."""

from __future__ import annotations

from typing import TypeAlias

BytesLike: TypeAlias = bytes | bytearray | memoryview
"""What the decoder takes as chunks."""


def chunk_bytes(chunk: object) -> bytes:
    """The bytes of a ``bytes``, ``bytearray`` or ``memoryview`` chunk, copied.

    Raises:
        TypeError: ``chunk`` is anything else (a ``str``, ``None``…), named in the message.
    """
    if isinstance(chunk, BytesLike):
        return bytes(chunk)
    raise TypeError(
        f"chunks must be bytes-like (bytes, bytearray, memoryview), not {type(chunk).__name__}"
    )


__all__ = ["BytesLike", "chunk_bytes"]
