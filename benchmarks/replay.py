"""A corpus of real recordings played back to back: ``python -m benchmarks --recordings DIR``.

The generated corpus (``benchmarks/generate.py``) has the frame mix and sizes of long
sessions, but its text is far richer in non-ASCII characters than what the CLI writes
(a fifth of its bytes, against about a thousandth in the recordings of
``../shared/corpus/real``), and decoding non-ASCII text is most of what ``msgspec`` spends.
Replaying real recordings gives the figures for text as the CLI writes it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec

from benchmarks.common import MB
from rxclaude.transcripts import is_transcript

STRESS_RECORDINGS = ("large_lines",)
"""Recordings made to test limits (590 KB lines), left out: they are not sessions, and
one of them would be most of the corpus' bytes."""


def recordings_in(folder: Path) -> list[Path]:
    """The stream-json output recordings in ``folder``: ``*.jsonl`` and ``*.ndjson`` files
    that are neither transcripts, nor the CLI's input (``*.stdin.jsonl``), nor stress
    recordings."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.suffix in (".jsonl", ".ndjson")
        and ".stdin." not in path.name
        and not any(stress in path.name for stress in STRESS_RECORDINGS)
        and not is_transcript(path)
    )


def replay_corpus(folder: Path, out_dir: Path, mb: float) -> Path:
    """Write (once) and return a corpus of at least ``mb`` MB: the JSON-object lines of
    the recordings in ``folder``, in name order, repeated."""
    recordings = recordings_in(folder)
    if not recordings:
        raise SystemExit(f"no stream-json recordings in {folder}")
    decode = msgspec.json.Decoder().decode
    frames: list[bytes] = []
    for path in recordings:
        for line in path.read_bytes().split(b"\n"):
            try:
                if isinstance(decode(line), dict):
                    frames.append(line.strip())
            except msgspec.DecodeError:
                continue  # blank lines and the CLI's non-JSON output
    block = b"\n".join(frames) + b"\n"
    digest = hashlib.sha256(block).hexdigest()[:12]
    path = out_dir / f"replay-{mb:g}MB-{digest}.jsonl"
    if not path.is_file():
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            for _ in range(-(-int(mb * MB) // len(block))):
                out.write(block)
        tmp.replace(path)
    return path
