"""What ``from_transcripts`` reads given several paths, and how a file is told to be a
transcript rather than stream-json (``is_transcript``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from corpus_files import bundled_recordings
from transcript_files import CORPUS, assistant_entry, collect, entry, line, write

from rxclaude import sample_names, sample_path
from rxclaude.transcripts import from_transcripts, is_transcript, source_of
from rxclaude.transcripts.files import SNIFF_BYTES


def test_several_paths_are_read_as_one_tree_each_file_once(tmp_path: Path) -> None:
    first = write(tmp_path / "a" / "one.jsonl", line(assistant_entry(2, "m2", "r")))
    second = write(tmp_path / "b" / "two.jsonl", line(assistant_entry(1, "m1", "r")))
    recording = collect(from_transcripts([first, tmp_path / "b", second, str(first)]))
    assert [source_of(message).path for message in recording.items] == [  # type: ignore[union-attr]
        str(second),
        str(first),
    ]


def test_one_missing_path_among_several_is_an_error(tmp_path: Path) -> None:
    present = write(tmp_path / "one.jsonl", line(assistant_entry(1, "m1", "r")))
    recording = collect(from_transcripts([present, tmp_path / "missing.jsonl"]))
    assert recording.items == []
    assert isinstance(recording.error, FileNotFoundError)


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.stem)
def test_the_real_transcripts_are_transcripts(path: Path) -> None:
    assert is_transcript(path)


@pytest.mark.parametrize(
    "path",
    [sample_path(name) for name in sample_names()] + bundled_recordings(),
    ids=lambda path: path.stem,
)
def test_stream_json_recordings_are_not(path: Path) -> None:
    assert not is_transcript(path)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([b'{"type":"system","subtype":"init","session_id":"s"}'], False),
        ([b'{"type":"user","sessionId":"s","message":{"content":"hi"}}'], True),
        ([b'{"type":"user","parentUuid":null}'], True),
        ([entry("cost-state", 0, totalCostUSD=1.0).rstrip()], True),
        ([entry("summary", None, summary="a title").rstrip()], True),
        ([b"not json", b"[" * 10_000 + b"]" * 10_000, b'{"type":"x","sessionId":"s"}'], True),
        ([b"not json", b'{"type":"assistant"}'], False),
        ([], False),
    ],
)
def test_the_first_lines_tell(tmp_path: Path, lines: list[bytes], expected: bool) -> None:
    path = write(tmp_path / "x.jsonl", *(item + b"\n" for item in lines))
    assert is_transcript(path) is expected


def test_a_first_line_longer_than_the_sniff_is_told_by_its_keys(tmp_path: Path) -> None:
    long_line = {"type": "user", "sessionId": "s", "blob": "x" * SNIFF_BYTES}
    path = write(tmp_path / "long.jsonl", json.dumps(long_line).encode() + b"\n")
    assert is_transcript(path)
    stream = {"type": "assistant", "session_id": "s", "blob": "x" * SNIFF_BYTES}
    other = write(tmp_path / "stream.jsonl", json.dumps(stream).encode() + b"\n")
    assert not is_transcript(other)
