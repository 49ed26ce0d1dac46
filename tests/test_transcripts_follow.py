"""Tests of from_transcripts(follow=True): live sessions as they are written.

Under a ``TestScheduler`` every look at the files happens at a virtual tick, so a test
writes, advances the clock by one poll interval and sees exactly what that look found.
The threaded tests (the default scheduler) synchronise on the items received and on the
threads alive, with a deadline, never on sleeps.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import psutil
import pytest
from conftest import Recording
from reactivex.abc import DisposableBase
from reactivex.testing import TestScheduler
from transcript_files import append, entry, write
from waiting import wait_until

from rxclaude.messages import Message, ParseError
from rxclaude.transcripts import TranscriptReadError, from_transcripts, source_of

POLL = 1.0
"""Seconds (virtual) between two looks."""


class Follower:
    """A followed folder under a TestScheduler."""

    def __init__(self, path: Path, *, max_open_files: int = 256) -> None:
        self.scheduler = TestScheduler()
        self.recording: Recording[Message] = Recording()
        source = from_transcripts(
            path,
            follow=True,
            poll_interval=POLL,
            scheduler=self.scheduler,
            max_open_files=max_open_files,
        )
        self.subscription = source.subscribe(self.recording)
        self.scheduler.advance_by(POLL / 10)  # the first read (the looks come at POLL, 2 POLL, …)

    def look(self) -> list[Message]:
        """The items the next look at the files delivers."""
        before = len(self.recording.items)
        self.scheduler.advance_by(POLL)
        return self.recording.items[before:]


def uuids(messages: list[Message]) -> list[object]:
    return [(message.raw or {}).get("uuid") for message in messages]


def test_lines_appended_and_files_created_while_following(tmp_path: Path) -> None:
    first = write(tmp_path / "a.jsonl", entry("user", 1, uuid="a1"))
    follower = Follower(tmp_path)
    assert uuids(follower.recording.items) == ["a1"]
    assert follower.look() == []

    append(first, entry("user", 2, uuid="a2") + entry("user", 3, uuid="a3"))
    write(tmp_path / "project" / "b.jsonl", entry("user", 2.5, uuid="b1"))
    assert uuids(follower.look()) == ["a2", "b1", "a3"]  # one look: merged by time

    append(first, entry("user", 4, uuid="a4"))
    added = follower.look()
    assert uuids(added) == ["a4"]
    assert added[0].offset == first.stat().st_size - len(entry("user", 4, uuid="a4"))
    assert not follower.recording.done.is_set()  # following never ends by itself
    follower.subscription.dispose()
    append(first, entry("user", 5, uuid="a5"))
    assert follower.look() == []


def test_a_cut_last_line_is_completed_when_the_rest_arrives(tmp_path: Path) -> None:
    whole = entry("user", 2, uuid="completed")
    path = write(tmp_path / "a.jsonl", entry("user", 1, uuid="a1"), whole[:15])
    follower = Follower(tmp_path)
    assert uuids(follower.recording.items) == ["a1"]  # the cut line waits

    append(path, whole[15:-1])  # all but the line end
    assert follower.look() == []
    append(path, b"\n")
    (completed,) = follower.look()
    assert completed.raw == json.loads(whole)
    assert (completed.offset, completed.nbytes) == (
        len(entry("user", 1, uuid="a1")),
        len(whole) - 1,
    )
    assert not [m for m in follower.recording.items if isinstance(m, ParseError)]


def test_a_rotated_file_gives_the_rest_of_the_old_one_then_the_new_one(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", entry("user", 1, uuid="old-1"))
    follower = Follower(tmp_path)
    append(path, entry("user", 2, uuid="old-2"))
    assert uuids(follower.look()) == ["old-2"]  # read, and held open

    append(path, entry("user", 3, uuid="old-3"))  # written just before the rotation
    path.rename(tmp_path / "a.jsonl.1")
    write(path, entry("user", 4, uuid="new-1"))
    assert uuids(follower.look()) == ["old-3", "new-1"]
    append(path, entry("user", 5, uuid="new-2"))
    assert uuids(follower.look()) == ["new-2"]


def test_a_file_replaced_while_closed_is_read_from_its_start(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", entry("user", 1, uuid="old-1"))
    follower = Follower(tmp_path)  # the first read closes the file
    path.unlink()
    write(path, entry("user", 2, uuid="new-1"), entry("user", 3, uuid="new-2"))
    assert uuids(follower.look()) == ["new-1", "new-2"]


def test_a_truncated_file_is_read_again_from_its_start(tmp_path: Path) -> None:
    cut = entry("user", 2, uuid="never-finished")[:20]
    path = write(tmp_path / "a.jsonl", entry("user", 1, uuid="before"), cut)
    follower = Follower(tmp_path)
    with path.open("r+b") as file:  # truncated in place (same file), then written again
        file.truncate(0)
    append(path, entry("user", 3, uuid="after"))
    error, after = follower.look()
    assert isinstance(error, ParseError) and error.reason == "truncated"
    assert error.excerpt == cut and error.offset == len(entry("user", 1, uuid="before"))
    assert (after.raw or {})["uuid"] == "after" and after.offset == 0


def test_a_file_renamed_within_the_folder_goes_on_where_it_was(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", entry("user", 1, uuid="a1"))
    follower = Follower(tmp_path)
    moved = tmp_path / "b.jsonl"
    path.rename(moved)
    append(moved, entry("user", 2, uuid="a2"))
    (added,) = follower.look()
    assert (added.raw or {})["uuid"] == "a2"
    source = source_of(added)
    assert source is not None and source.path == str(moved)


def test_a_deleted_file_with_a_cut_line_reports_it(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", entry("user", 1, uuid="a1"), b'{"type":"us')
    follower = Follower(tmp_path)
    path.unlink()
    (error,) = follower.look()
    assert isinstance(error, ParseError) and error.reason == "truncated"
    assert str(error).startswith(f"{path}: truncated")


def test_held_open_files_are_bounded(tmp_path: Path) -> None:
    paths = [write(tmp_path / f"{n}.jsonl", entry("user", n, uuid=f"{n}")) for n in range(4)]
    process = psutil.Process()
    before = process.num_fds()
    follower = Follower(tmp_path, max_open_files=2)
    for n, path in enumerate(paths):
        append(path, entry("user", 10 + n, uuid=f"more-{n}"))
    assert uuids(follower.look()) == [f"more-{n}" for n in range(4)]
    assert process.num_fds() == before + 2
    follower.subscription.dispose()
    assert process.num_fds() == before


# -- threads ----------------------------------------------------------------------------------


def test_following_on_threads_and_ending_on_dispose(tmp_path: Path) -> None:
    threads_before = set(threading.enumerate())
    fds_before = psutil.Process().num_fds()
    path = write(tmp_path / "a.jsonl", entry("user", 1, uuid="a1"))
    recording: Recording[Message] = Recording()
    subscription = from_transcripts(tmp_path, follow=True, poll_interval=0.01).subscribe(recording)

    wait_until(lambda: len(recording.items) == 1)
    whole = entry("user", 2, uuid="a2")
    append(path, whole[:10])
    write(tmp_path / "sub" / "b.jsonl", entry("user", 3, uuid="b1"))
    wait_until(lambda: len(recording.items) == 2)
    append(path, whole[10:])
    wait_until(lambda: len(recording.items) == 3)
    assert sorted(map(str, uuids(recording.items))) == ["a1", "a2", "b1"]
    assert {name for name in recording.thread_names} != {threading.current_thread().name}

    subscription.dispose()
    wait_until(lambda: set(threading.enumerate()) <= threads_before)
    wait_until(lambda: psutil.Process().num_fds() == fds_before)
    append(path, entry("user", 4, uuid="a3"))
    assert len(recording.items) == 3 and not recording.errors
    assert os.path.exists(path)


def test_disposing_inside_on_next_stops_the_first_read(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", *(entry("user", n, uuid=f"{n}") for n in range(50)))
    threads_before = set(threading.enumerate())
    received: list[Message] = []
    subscribed, done = threading.Event(), threading.Event()
    subscriptions: list[DisposableBase] = []

    def on_next(message: Message) -> None:
        received.append(message)
        if len(received) == 3:
            assert subscribed.wait(60)
            subscriptions[0].dispose()
            done.set()

    source = from_transcripts(tmp_path, follow=True, poll_interval=0.01)
    subscriptions.append(source.subscribe(on_next))
    subscribed.set()
    assert done.wait(60)
    wait_until(lambda: set(threading.enumerate()) <= threads_before)
    assert len(received) == 3


def test_a_file_that_cannot_be_read_is_reported_again_only_once_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "a.jsonl", entry("user", 1, uuid="a1"))
    follower = Follower(tmp_path)
    real_open = os.open

    def refuse(file: str, flags: int, *args: int) -> int:
        if os.fspath(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, flags, *args)

    monkeypatch.setattr(os, "open", refuse)
    append(path, entry("user", 2, uuid="a2"))
    (error,) = follower.look()
    assert isinstance(error, TranscriptReadError)
    assert error.error == "PermissionError: Permission denied" and error.source.path == str(path)
    assert follower.look() == []  # unchanged: not tried again
    append(path, entry("user", 3, uuid="a3"))
    assert [type(m) for m in follower.look()] == [TranscriptReadError]
    monkeypatch.undo()
    append(path, entry("user", 4, uuid="a4"))
    assert uuids(follower.look()) == ["a2", "a3", "a4"]
