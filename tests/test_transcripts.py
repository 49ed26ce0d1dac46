"""Tests of from_transcripts reading files, folders and globs: the real transcripts against a
plain ``json.loads`` per line, provenance, the merge by time across files, bad input."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from transcript_files import (
    CORPUS,
    T0,
    assistant_entry,
    collect,
    entry,
    line,
    stamp,
    write,
)

from rxclaude import Router, parse_json_frames, route_by_type
from rxclaude.messages import (
    MESSAGE_TYPES,
    SYSTEM_SUBTYPES,
    AssistantMessage,
    Message,
    ParseError,
    SystemMessage,
    UnknownMessage,
)
from rxclaude.sources import from_file
from rxclaude.transcripts import (
    Provenance,
    TranscriptFile,
    TranscriptReadError,
    describe,
    from_transcripts,
    parse_time,
    provenance,
    source_of,
)

SESSION = "0b7e4d2a-1c3f-4e5a-9b8c-7d6e5f4a3b2c"
AGENT_SESSION = "4d5611e5-241a-462a-8d15-5122611a9569"


def expected_class(raw: dict[str, object]) -> type[Message]:
    cls = MESSAGE_TYPES.get(str(raw.get("type")), UnknownMessage)
    if cls is SystemMessage:
        cls = SYSTEM_SUBTYPES.get(str(raw.get("subtype")), SystemMessage)
    return cls


def iso_seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def uuids(messages: list[Message]) -> list[object]:
    return [(message.raw or {}).get("uuid") for message in messages]


def known(message: Message) -> Provenance:
    found = provenance(message)
    assert found is not None, message
    return found


def path_of(message: Message) -> str:
    return known(message).path


# -- the real transcripts ------------------------------------------------------------------


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.name)
def test_every_real_transcript_reads_as_plain_json_per_line_says(path: Path) -> None:
    data = path.read_bytes()
    lines = [text for text in data.split(b"\n") if text.strip()]
    expected = [json.loads(text) for text in lines]

    recording = collect(from_transcripts(path))

    assert recording.completed and recording.error is None
    messages = recording.items
    assert not [m for m in messages if isinstance(m, ParseError | TranscriptReadError)]
    assert len(messages) == len(expected)
    assert [m.raw for m in messages] == expected  # one file: its own order
    assert Counter(m.type for m in messages) == Counter(raw["type"] for raw in expected)
    for message, raw, text in zip(messages, expected, lines, strict=True):
        assert data[message.offset : message.offset + message.nbytes] == text
        assert isinstance(message, expected_class(raw))
        assert not isinstance(message, UnknownMessage), raw["type"]
        found = provenance(message)
        assert found is not None
        assert found.file == TranscriptFile(str(path), "transcripts")
        assert found.uuid == raw.get("uuid")
        assert found.parent_uuid == raw.get("parentUuid")
        assert found.is_sidechain is (raw.get("isSidechain") is True)
        assert found.request_id == raw.get("requestId")
        assert found.session_id == raw.get("sessionId")
        assert message.session_id == raw.get("sessionId")
        assert found.agent_id == raw.get("agentId")
        if "timestamp" in raw:
            assert found.timestamp is not None
            assert found.timestamp.timestamp() == pytest.approx(iso_seconds(raw["timestamp"]))
        else:
            assert found.timestamp is None


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.name)
def test_the_same_lines_as_parse_json_frames_finds(path: Path) -> None:
    framed = collect(from_file(path).pipe(parse_json_frames())).items
    read = collect(from_transcripts(path)).items
    assert [(m.type, m.raw, m.offset, m.nbytes) for m in read] == [
        (m.type, m.raw, m.offset, m.nbytes) for m in framed
    ]
    assert [type(m).__name__ for m in read] == [f"Transcript{type(m).__name__}" for m in framed]


def test_the_folder_of_real_transcripts_merged_by_time() -> None:
    messages = collect(from_transcripts(CORPUS[0].parent)).items
    by_file = {
        str(path): [json.loads(t) for t in path.read_bytes().splitlines()] for path in CORPUS
    }

    assert len(messages) == sum(len(lines) for lines in by_file.values())
    times = [known(m).time for m in messages]
    assert times == sorted(times)
    for path, lines in by_file.items():  # each file keeps its own order
        assert [m.raw for m in messages if path_of(m) == path] == lines
    # a line without a timestamp takes its neighbour's time: the snapshot before the
    # first timestamped line of its file takes that line's
    first = messages[0]
    assert first.type == "file-history-snapshot"
    assert known(first).time == iso_seconds("2026-02-10T21:11:52.438Z")


def test_transcript_messages_go_through_routing_as_their_usual_classes() -> None:
    router = Router.default()
    collect(from_transcripts(CORPUS[0].parent).pipe(route_by_type(router)))
    tools = router.handlers.tool_use
    expected = sum(
        1
        for path in CORPUS
        for raw in map(json.loads, path.read_bytes().splitlines())
        if raw["type"] == "assistant"
        for block in raw["message"]["content"]
        if block["type"] == "tool_use"
    )
    assert tools.count == expected
    assert router.handlers.text.text


# -- the merge -------------------------------------------------------------------------------


def test_files_are_merged_by_time_and_lines_without_one_stay_by_their_neighbours(
    tmp_path: Path,
) -> None:
    write(
        tmp_path / "a.jsonl",
        entry("user", 1, uuid="a1"),
        entry("user", 3, uuid="a3"),
        entry("summary", None, uuid="a-after-3"),
        entry("user", 5, uuid="a5"),
    )
    write(
        tmp_path / "b.jsonl",
        entry("summary", None, uuid="b-before-2"),
        entry("user", 2, uuid="b2"),
        entry("user", 4, uuid="b4"),
        entry("summary", None, uuid="b-after-4"),
    )
    messages = collect(from_transcripts(tmp_path)).items
    assert uuids(messages) == [
        "a1",
        "b-before-2",
        "b2",
        "a3",
        "a-after-3",
        "b4",
        "b-after-4",
        "a5",
    ]
    times = [known(m).time - T0.timestamp() for m in messages]
    assert times == pytest.approx([1, 2, 2, 3, 3, 4, 4, 5])


def test_equal_times_go_to_the_file_listed_first_and_late_lines_keep_their_place(
    tmp_path: Path,
) -> None:
    write(tmp_path / "b.jsonl", entry("user", 1, uuid="b1"), entry("user", 2, uuid="b2"))
    write(
        tmp_path / "a.jsonl",
        entry("user", 1, uuid="a1"),
        entry("user", 3, uuid="a3"),
        entry("user", 0, uuid="a0-late"),  # out of order in its file: stays after a3
    )
    messages = collect(from_transcripts(tmp_path)).items
    assert uuids(messages) == ["a1", "b1", "b2", "a3", "a0-late"]
    late = provenance(messages[-1])
    assert late is not None and late.time == pytest.approx(T0.timestamp() + 3)
    assert late.timestamp == T0


def test_a_file_without_timestamps_stands_at_its_modification_time(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", entry("user", 0, uuid="early"), entry("user", 10_000, uuid="late"))
    undated = write(tmp_path / "b.jsonl", entry("summary", None, uuid="undated"))
    middle = T0.timestamp() + 5_000
    os.utime(undated, (middle, middle))
    messages = collect(from_transcripts(tmp_path)).items
    assert uuids(messages) == ["early", "undated", "late"]


# -- folders, subagents, globs -------------------------------------------------------------------


def test_a_projects_tree_with_subagent_files(tmp_path: Path) -> None:
    project = tmp_path / "projects" / "-home-user-project"
    write(project / f"{SESSION}.jsonl", line(assistant_entry(1, "m1", "r1", session=SESSION)))
    subagent = project / SESSION / "subagents" / "agent-a1b2c3.jsonl"
    write(subagent, line(assistant_entry(2, "m2", "r2", session=SESSION, isSidechain=True)))
    messages = collect(from_transcripts(tmp_path / "projects")).items

    assert [source_of(m) for m in messages] == [
        TranscriptFile(str(project / f"{SESSION}.jsonl"), "-home-user-project", SESSION),
        TranscriptFile(str(subagent), "-home-user-project", SESSION, "a1b2c3"),
    ]
    sub = provenance(messages[1])
    assert sub is not None and sub.agent_id == "a1b2c3" and sub.is_sidechain
    assert sub.request_id == "r2" and sub.session_id == SESSION
    assert [m.raw["message"]["id"] for m in collect(from_transcripts(project)).items] == [  # type: ignore[index]
        "m1",
        "m2",
    ]
    pattern = str(tmp_path / "projects" / "*" / "*" / "subagents" / "*.jsonl")
    assert [source_of(m) for m in collect(from_transcripts(pattern)).items] == [
        source_of(messages[1])
    ]


def test_describe_reads_project_session_and_agent_from_the_path() -> None:
    assert describe(f"/p/slug/{AGENT_SESSION}/subagents/agent-acompact-e1f845.jsonl") == (
        TranscriptFile(
            f"/p/slug/{AGENT_SESSION}/subagents/agent-acompact-e1f845.jsonl",
            "slug",
            AGENT_SESSION,
            "acompact-e1f845",
        )
    )
    assert describe("/p/slug/notes.jsonl") == TranscriptFile("/p/slug/notes.jsonl", "slug")


def test_no_path_reads_the_projects_folder_of_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path))
    write(tmp_path / "projects" / "slug" / f"{SESSION}.jsonl", entry("user", 1, uuid="u"))
    messages = collect(from_transcripts()).items
    assert uuids(messages) == ["u"]
    assert messages[0].session_id == SESSION  # from the file name: the line has none


def test_a_missing_path_is_an_error_and_an_empty_glob_an_empty_stream(tmp_path: Path) -> None:
    missing = collect(from_transcripts(tmp_path / "nothing.jsonl"))
    assert isinstance(missing.error, FileNotFoundError)
    assert str(tmp_path / "nothing.jsonl") in str(missing.error)
    empty = collect(from_transcripts(tmp_path / "*.jsonl"))
    assert empty.completed and empty.items == []


def test_since_drops_earlier_lines(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", entry("user", 0, uuid="day-0"), entry("user", 86_400, uuid="day-1"))
    old = write(tmp_path / "old.jsonl", entry("user", 10, uuid="old"))
    os.utime(old, (T0.timestamp() + 10, T0.timestamp() + 10))
    next_day = (T0 + timedelta(days=1)).date()
    for since in (
        next_day,
        datetime.combine(next_day, datetime.min.time()),
        T0 + timedelta(hours=1),
    ):
        messages = collect(from_transcripts(tmp_path, since=since)).items
        assert uuids(messages) == ["day-1"]
    with pytest.raises(TypeError, match="since"):
        from_transcripts(tmp_path, since="2026-03-02")  # type: ignore[arg-type]
    assert isinstance(next_day, date)


# -- bad input -------------------------------------------------------------------------------------


def test_bad_lines_are_parse_errors_at_their_offsets_naming_their_file(tmp_path: Path) -> None:
    good = entry("user", 1, uuid="good")
    junk = b"[SandboxDebug] not json\n"
    cut = entry("user", 2, uuid="cut")[:-10]
    path = write(tmp_path / "broken.jsonl", good, junk, entry("user", 2, uuid="after"), cut)
    messages = collect(from_transcripts(path)).items

    assert [m.type for m in messages] == ["user", "parse_error", "user", "parse_error"]
    bad, truncated = messages[1], messages[3]
    assert isinstance(bad, ParseError) and isinstance(truncated, ParseError)
    assert (bad.reason, bad.offset, bad.nbytes) == ("invalid_json", len(good), len(junk) - 1)
    assert truncated.reason == "truncated"
    assert truncated.offset == path.stat().st_size - len(cut)
    assert source_of(bad) == source_of(truncated) == TranscriptFile(str(path), tmp_path.name)
    assert str(bad).startswith(f"{path}: invalid_json at byte {len(good)}")
    # a parse error has no time of its own: it stands by the line before it
    assert known(bad).time == known(messages[0]).time


def test_an_unreadable_file_is_an_error_item_and_the_others_are_read(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", entry("user", 1, uuid="readable"))
    (tmp_path / "loop.jsonl").symlink_to(tmp_path / "loop.jsonl")
    recording = collect(from_transcripts(tmp_path))
    assert recording.completed
    error, message = recording.items
    assert isinstance(error, TranscriptReadError)
    assert error.source.path == str(tmp_path / "loop.jsonl")
    assert "symbolic links" in error.error and str(tmp_path / "loop.jsonl") in str(error)
    assert message.raw == json.loads(entry("user", 1, uuid="readable"))


# -- timestamps ------------------------------------------------------------------------------------


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 12, 31)))
def test_timestamps_as_the_cli_writes_them(moment: datetime) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC)
    text = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert parse_time(text) == pytest.approx(moment.timestamp(), abs=1e-6)


def test_timestamps_in_other_forms_or_none() -> None:
    assert parse_time("2026-03-01T10:00:00+01:00") == T0.timestamp() - 3600
    assert parse_time("2026-03-01T10:00:00") == T0.timestamp()  # no zone: UTC
    assert parse_time(stamp(1.5)) == T0.timestamp() + 1.5
    for text in ("", "yesterday", "2026-03-01T10:61:00.000Z", "2026-13-01T10:00:00.000Z"):
        assert parse_time(text) is None, text


def test_arguments_are_checked_when_called(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        from_transcripts(tmp_path, poll_interval=0)
    with pytest.raises(ValueError, match="max_frame_bytes"):
        from_transcripts(tmp_path, max_frame_bytes=0)
    with pytest.raises(ValueError, match="chunk_size"):
        from_transcripts(tmp_path, chunk_size=0)
    with pytest.raises(ValueError, match="max_open_files"):
        from_transcripts(tmp_path, max_open_files=0)


def test_a_message_not_from_a_transcript_has_no_provenance() -> None:
    message = AssistantMessage("assistant", {"type": "assistant"})
    assert provenance(message) is None and source_of(message) is None


def test_the_marble_of_the_docstring(tmp_path: Path) -> None:
    write(
        tmp_path / "a.jsonl",
        entry("user", 1, uuid="a1"),
        entry("user", 3, uuid="a3"),
        entry("summary", None, uuid="a(3)"),
    )
    write(tmp_path / "b.jsonl", entry("user", 2, uuid="b2"), entry("user", 4, uuid="b4")[:-5])
    messages = collect(from_transcripts(tmp_path)).items
    assert uuids(messages) == ["a1", "b2", None, "a3", "a(3)"]
    assert isinstance(messages[2], ParseError) and messages[2].reason == "truncated"
    assert path_of(messages[2]) == str(tmp_path / "b.jsonl")
