"""Tests of from_reader and from_file."""

import io
import os
import queue
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
import reactivex.operators as ops
from conftest import TIMEOUT
from hypothesis import given
from hypothesis import strategies as st
from reactivex import Observable
from reactivex.scheduler import NewThreadScheduler
from reactivex.testing import ReactiveTest, TestScheduler

from rxclaude.sources import from_file, from_reader

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

"""Upper bound of every wait: reached only when the implementation is broken."""


class FailingRawReader(io.RawIOBase):
    """Gives ``data`` once, then fails the next read."""

    def __init__(self, data: bytes) -> None:
        self._remaining = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer") -> int:
        if not self._remaining:
            raise OSError("device gone")
        view = memoryview(buffer).cast("B")
        size = min(len(view), len(self._remaining))
        view[:size] = self._remaining[:size]
        self._remaining = self._remaining[size:]
        return size


def read_all(source: Observable[bytes]) -> list[bytes]:
    """Subscribes without a scheduler: the read loop runs to its end on this thread."""
    chunks: list[bytes] = []
    completed = threading.Event()
    source.subscribe(chunks.append, on_completed=completed.set)
    assert completed.is_set()
    return chunks


def open_fds() -> int:
    return int(psutil.Process().num_fds())


# -- from_reader -----------------------------------------------------------------------


@given(data=st.binary(max_size=2000), chunk_size=st.integers(min_value=1, max_value=300))
def test_reader_chunks_respect_the_size_and_add_up_to_the_input(
    data: bytes, chunk_size: int
) -> None:
    chunks = read_all(from_reader(io.BytesIO(data), chunk_size))
    assert b"".join(chunks) == data
    assert all(len(chunk) == chunk_size for chunk in chunks[:-1])
    assert all(0 < len(chunk) <= chunk_size for chunk in chunks)


def test_reader_delivers_what_a_live_pipe_has_before_the_writer_closes() -> None:
    read_fd, write_fd = os.pipe()
    received: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    completed = threading.Event()
    with open(read_fd, "rb") as reader, open(write_fd, "wb", buffering=0) as writer:
        source = from_reader(reader, scheduler=NewThreadScheduler())
        subscription = source.subscribe(received.put, on_completed=completed.set)
        writer.write(b'{"partial":')
        assert received.get(timeout=TIMEOUT) == b'{"partial":'
        writer.write(b"true}\n")
        assert received.get(timeout=TIMEOUT) == b"true}\n"
        writer.close()
        assert completed.wait(TIMEOUT)
        subscription.dispose()


def test_reader_without_read1_uses_read(tmp_path: Path) -> None:
    (tmp_path / "data").write_bytes(b"abcdefg")
    with io.FileIO(tmp_path / "data") as raw:
        assert not hasattr(raw, "read1")
        assert read_all(from_reader(raw, 3)) == [b"abc", b"def", b"g"]


def test_reader_error_is_delivered_after_the_chunks_read_before_it() -> None:
    chunks: list[bytes] = []
    errors: list[Exception] = []
    reader = io.BufferedReader(FailingRawReader(b"0123456789"))
    from_reader(reader, 4).subscribe(chunks.append, errors.append)
    assert b"".join(chunks) == b"0123456789"
    assert len(errors) == 1
    assert isinstance(errors[0], OSError)


def test_reader_stops_reading_when_disposed_and_stays_open() -> None:
    reader = io.BytesIO(bytes(100 * 10))
    chunks = read_all(from_reader(reader, 10).pipe(ops.take(3)))
    assert len(chunks) == 3
    assert reader.tell() == 30
    assert not reader.closed
    rest = read_all(from_reader(reader, 10))
    assert sum(map(len, rest)) == 970


def test_reader_runs_on_the_scheduler_given_to_subscribe() -> None:
    scheduler = TestScheduler()
    observer = scheduler.start(lambda: from_reader(io.BytesIO(b"abcde"), 2))
    assert observer.messages == [
        ReactiveTest.on_next(200, b"ab"),
        ReactiveTest.on_next(200, b"cd"),
        ReactiveTest.on_next(200, b"e"),
        ReactiveTest.on_completed(200),
    ]


def test_reader_runs_on_the_scheduler_given_to_the_factory() -> None:
    scheduler = TestScheduler()
    reader = io.BytesIO(b"abc")
    chunks: list[bytes] = []
    from_reader(reader, scheduler=scheduler).subscribe(chunks.append)
    assert reader.tell() == 0
    scheduler.start()
    assert chunks == [b"abc"]


def test_reader_disposed_before_its_turn_reads_nothing() -> None:
    scheduler = TestScheduler()
    reader = io.BytesIO(b"abc")
    subscription = from_reader(reader, scheduler=scheduler).subscribe()
    subscription.dispose()
    scheduler.start()
    assert reader.tell() == 0


@pytest.mark.parametrize("chunk_size", [0, -1])
def test_chunk_size_must_be_positive(chunk_size: int, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        from_reader(io.BytesIO(), chunk_size)
    with pytest.raises(ValueError, match="chunk_size"):
        from_file(tmp_path / "data", chunk_size)


# -- from_file -------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 7, 4096, 65536, 1_000_000])
def test_file_is_read_whole(chunk_size: int, tmp_path: Path) -> None:
    data = os.urandom(100_003)
    (tmp_path / "data").write_bytes(data)
    chunks = read_all(from_file(tmp_path / "data", chunk_size))
    assert b"".join(chunks) == data
    assert max(map(len, chunks)) == min(chunk_size, len(data))


def test_empty_file_completes_without_chunks(tmp_path: Path) -> None:
    (tmp_path / "data").write_bytes(b"")
    assert read_all(from_file(tmp_path / "data")) == []


def test_missing_file_is_an_error_of_the_subscription(tmp_path: Path) -> None:
    source = from_file(str(tmp_path / "missing.jsonl"))
    errors: list[Exception] = []
    source.subscribe(on_error=errors.append)
    assert len(errors) == 1
    assert isinstance(errors[0], FileNotFoundError)


def test_file_is_open_while_streaming_and_closed_on_completion(tmp_path: Path) -> None:
    (tmp_path / "data").write_bytes(b"x" * 100)
    fds_before = open_fds()
    fds_during: list[int] = []
    fds_at_completion: list[int] = []
    from_file(tmp_path / "data", 10).subscribe(
        lambda _: fds_during.append(open_fds()),
        on_completed=lambda: fds_at_completion.append(open_fds()),
    )
    assert set(fds_during) == {fds_before + 1}
    assert fds_at_completion == [fds_before]


def test_file_is_closed_on_dispose(tmp_path: Path) -> None:
    (tmp_path / "data").write_bytes(b"x" * 100)
    fds_before = open_fds()
    chunks = read_all(from_file(tmp_path / "data", 10).pipe(ops.take(2)))
    assert chunks == [b"x" * 10] * 2
    assert open_fds() == fds_before


def test_file_is_closed_on_error(tmp_path: Path) -> None:
    fds_before = open_fds()
    errors: list[Exception] = []
    from_file(tmp_path).subscribe(on_error=errors.append)
    assert isinstance(errors[0], IsADirectoryError)
    assert open_fds() == fds_before


def test_each_subscription_reads_the_file_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"first\n")
    source = from_file(path)
    assert read_all(source) == [b"first\n"]
    assert read_all(source) == [b"first\n"]
    path.write_bytes(b"second\n")
    assert read_all(source) == [b"second\n"]
