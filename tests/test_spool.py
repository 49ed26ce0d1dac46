"""The spool on its own: order across memory and disk, limits, release and its figures."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rxclaude.sources.spool import DISK_READ_SIZE, Spool, SpoolFullError, SpoolStatistics


def take_all(spool: Spool) -> bytes:
    return b"".join(iter(spool.take, None))


def descriptors_into(directory: Path) -> list[int]:
    """This process's open descriptors that point into ``directory``."""
    found = []
    for entry in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{entry}")
        except OSError:  # the descriptor listdir itself used
            continue
        if target.startswith(str(directory)):
            found.append(int(entry))
    return found


def reconciles(figures: SpoolStatistics) -> bool:
    held = figures.memory_bytes + figures.disk_bytes
    return figures.received_bytes == figures.delivered_bytes + held + figures.discarded_bytes


def test_chunks_leave_in_order_through_memory_then_disk(tmp_path: Path) -> None:
    spool = Spool(memory_limit=10, directory=tmp_path)
    chunks = [b"aaaa", b"bbbb", b"cccc", b"dd", b"eeeeee"]
    for chunk in chunks:
        assert spool.put(chunk)
    figures = spool.statistics()
    assert (figures.memory_bytes, figures.disk_bytes) == (8, 12)
    assert figures.spilled_bytes == 12 and figures.peak_bytes == 20
    assert os.listdir(tmp_path) == []  # unlinked at once
    spool.close()
    assert take_all(spool) == b"".join(chunks)
    assert spool.error() is None
    done = spool.statistics()
    assert (done.delivered_bytes, done.held_bytes, done.peak_disk_bytes) == (20, 0, 12)
    assert reconciles(done)


def test_new_chunks_queue_behind_the_disk_until_it_is_read(tmp_path: Path) -> None:
    spool = Spool(memory_limit=4, directory=tmp_path)
    spool.put(b"1234")
    spool.put(b"5678")  # memory full: to disk
    assert spool.take() == b"1234"
    spool.put(b"9")  # memory has room, but the disk holds older bytes
    assert spool.statistics().memory_bytes == 0
    assert spool.take() == b"56789"
    spool.put(b"ab")  # the disk was read to its end: memory again
    assert spool.statistics().memory_bytes == 2
    assert spool.take() == b"ab"


def test_the_disk_is_read_in_bounded_chunks_and_truncated_when_empty(tmp_path: Path) -> None:
    spool = Spool(memory_limit=0, directory=tmp_path)
    data = bytes(range(256)) * (DISK_READ_SIZE // 256 * 2 + 3)
    spool.put(data)
    spool.close()
    pieces = list(iter(spool.take, None))
    assert [len(piece) for piece in pieces[:2]] == [DISK_READ_SIZE, DISK_READ_SIZE]
    assert b"".join(pieces) == data
    (descriptor,) = descriptors_into(tmp_path)
    assert os.fstat(descriptor).st_size == 0
    spool.release()
    assert descriptors_into(tmp_path) == []


def test_max_bytes_keeps_what_fits_then_reports_spool_full() -> None:
    spool = Spool(memory_limit=4, max_bytes=10)
    assert spool.put(b"12345678")
    assert not spool.put(b"abcdef")
    assert not spool.put(b"more")  # closed
    assert take_all(spool) == b"12345678ab"
    error = spool.error()
    assert isinstance(error, SpoolFullError)
    assert (error.max_bytes, error.received_bytes) == (10, 10)
    assert "10 bytes" in str(error) and "after byte 10" in str(error)


def test_release_discards_what_is_held_and_wakes_the_consumer(tmp_path: Path) -> None:
    spool = Spool(memory_limit=3, directory=tmp_path)
    spool.put(b"abc")
    spool.put(b"defg")
    assert spool.take() == b"abc"
    spool.release()
    assert spool.take() is None
    assert not spool.put(b"late")
    figures = spool.statistics()
    assert (figures.held_bytes, figures.discarded_bytes) == (0, 4)
    assert reconciles(figures)
    assert descriptors_into(tmp_path) == []

    waiting = Spool()
    taken: list[bytes | None] = []
    consumer = threading.Thread(target=lambda: taken.append(waiting.take()))
    consumer.start()
    waiting.release()
    consumer.join(30)
    assert taken == [None]


def test_a_consumer_waits_for_the_producer() -> None:
    spool = Spool(memory_limit=1 << 20)
    received: list[bytes] = []
    consumer = threading.Thread(target=lambda: received.append(take_all(spool)))
    consumer.start()
    for index in range(1000):
        spool.put(b"%d," % index)
    spool.close(ValueError("the producer failed"))
    consumer.join(30)
    assert received == [b"".join(b"%d," % index for index in range(1000))]
    assert isinstance(spool.error(), ValueError)


@pytest.mark.parametrize(
    ("memory", "maximum", "error"),
    [
        (2.5, None, TypeError),
        (True, None, TypeError),
        (-1, None, ValueError),
        (10, 0, ValueError),
        (10, 1.5, TypeError),
        (10, False, TypeError),
    ],
)
def test_bad_limits_are_rejected(memory: object, maximum: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        Spool(memory, max_bytes=maximum)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    memory_limit=st.integers(0, 64),
    operations=st.lists(st.one_of(st.binary(min_size=1, max_size=40), st.none()), max_size=60),
)
def test_any_interleaving_of_puts_and_takes_keeps_the_bytes_in_order(
    memory_limit: int, operations: list[bytes | None]
) -> None:
    spool = Spool(memory_limit=memory_limit)
    written, read = bytearray(), bytearray()
    try:
        for operation in operations:
            if operation is None:
                if spool.statistics().held_bytes:
                    chunk = spool.take()
                    assert chunk is not None
                    read += chunk
            else:
                assert spool.put(operation)
                written += operation
            figures = spool.statistics()
            assert reconciles(figures)
            assert figures.memory_bytes <= memory_limit
        spool.close()
        read += take_all(spool)
    finally:
        spool.release()
    assert bytes(read) == bytes(written)
