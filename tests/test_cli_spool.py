"""``from_cli`` keeps everything a child writes while the consumer is held: the spool,
its limit, bounded disposal, input validation and redacted error text."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import psutil
import pytest
import reactivex
from conftest import Recording
from reactivex import operators as ops
from reactivex.scheduler import NewThreadScheduler
from test_spool import descriptors_into
from waiting import DEADLINE, wait_until

from rxclaude import (
    CLIProcessError,
    Message,
    ParseError,
    Policy,
    SpoolFullError,
    backpressure,
    from_cli,
    from_reader,
    parse_json_frames,
)
from rxclaude.redact import REDACTED
from rxclaude.sources import STRAGGLER_TIMEOUT

CHILDREN = Path(__file__).parent / "children"
MIB = 1 << 20
_T = TypeVar("_T")


def child(script: str, *arguments: object) -> list[str]:
    return [sys.executable, str(CHILDREN / script), *map(str, arguments)]


class HoldFirst(Recording[_T]):
    """Records a stream and holds its delivering thread in the first item until
    ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def on_next(self, value: _T) -> None:
        first = not self.first_item.is_set()
        super().on_next(value)
        if first:
            assert self.release.wait(DEADLINE)


class HeldBytes:
    """Checks the blocks of ``write_blocks.py`` as they arrive; holds in the first chunk
    until released, and samples this process's RSS on every chunk."""

    def __init__(self) -> None:
        self.position = 0
        self.mismatch: int | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()
        self.error: Exception | None = None
        self.process = psutil.Process()
        self.rss_before = self.process.memory_info().rss
        self.peak_rss = self.rss_before

    def sample(self) -> None:
        self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)

    def on_next(self, chunk: bytes) -> None:
        offset = 0
        while offset < len(chunk):
            block, within = divmod(self.position + offset, MIB)
            size = min(MIB - within, len(chunk) - offset)
            if chunk[offset : offset + size] != bytes([block % 251]) * size:
                self.mismatch = self.position + offset if self.mismatch is None else self.mismatch
            offset += size
        self.position += len(chunk)
        self.sample()
        if not self.holding.is_set():
            self.holding.set()
            assert self.release.wait(DEADLINE)

    def on_error(self, error: Exception) -> None:
        self.error = error
        self.done.set()

    def on_completed(self) -> None:
        self.done.set()


def test_a_child_writing_300_mb_finishes_while_the_consumer_is_held(tmp_path: Path) -> None:
    blocks = 300
    consumer = HeldBytes()
    source = from_cli(child("write_blocks.py", blocks), spool_dir=tmp_path)
    subscription = source.subscribe(consumer.on_next, consumer.on_error, consumer.on_completed)
    try:
        assert consumer.holding.wait(DEADLINE)
        (writer,) = psutil.Process().children()
        assert writer.wait(DEADLINE) == 0  # the whole output was taken from the pipe
        wait_until(lambda: source.statistics().received_bytes == blocks * MIB)
        consumer.sample()
        held = source.statistics()
        assert held.disk_bytes > 250 * MIB and held.memory_bytes <= 4 * MIB
        assert os.listdir(tmp_path) == []  # the spool file has no name
        consumer.release.set()
        assert consumer.done.wait(DEADLINE)
    finally:
        consumer.release.set()
        subscription.dispose()
    assert consumer.error is None
    assert (consumer.position, consumer.mismatch) == (blocks * MIB, None)
    figures = source.statistics()
    assert figures.delivered_bytes == figures.received_bytes == blocks * MIB
    assert figures.peak_disk_bytes > 250 * MIB and figures.spilled_bytes > 250 * MIB
    assert consumer.peak_rss - consumer.rss_before < 64 * MIB
    assert descriptors_into(tmp_path) == []


def numbered_frames(count: int, size: int) -> Iterator[bytes]:
    for number in range(count):
        head = b'{"type":"system","subtype":"n","n":%d,"pad":"' % number
        yield head + b"x" * (size - len(head) - 3) + b'"}\n'


def frame_writer(count: int, size: int) -> list[str]:
    script = (
        "import sys\n"
        f"for n in range({count}):\n"
        '    head = b\'{"type":"system","subtype":"n","n":%d,"pad":"\' % n\n'
        f"    sys.stdout.buffer.write(head + b'x' * ({size} - len(head) - 3) + b'\"}}\\n')\n"
    )
    return [sys.executable, "-c", script]


def test_max_spool_bytes_ends_the_stream_after_every_frame_that_fits(tmp_path: Path) -> None:
    count, size, limit = 4000, 1000, 1_000_500
    consumer: HoldFirst[Message] = HoldFirst()
    source = from_cli(
        frame_writer(count, size),
        spool_memory=64 * 1024,
        spool_dir=tmp_path,
        max_spool_bytes=limit,
    )
    buffer = backpressure(Policy.BLOCK, buffer_size=4)
    source.pipe(parse_json_frames(), buffer).subscribe(consumer)
    assert consumer.first_item.wait(DEADLINE)
    wait_until(lambda: source.statistics().received_bytes >= limit)
    consumer.release.set()
    consumer.wait_done()
    (error,) = consumer.errors
    assert isinstance(error, SpoolFullError)
    assert error.max_bytes == limit
    kept = source.statistics().received_bytes
    assert error.received_bytes == kept
    # Everything held (the limit) plus what had been taken before the hold began.
    assert limit <= kept <= limit + 2 * 65536 + 4 * size
    frames = [message for message in consumer.items if not isinstance(message, ParseError)]
    assert [(message.raw or {}).get("n") for message in frames] == list(range(kept // size))
    cut = [message for message in consumer.items if isinstance(message, ParseError)]
    assert [error.reason for error in cut] == (["truncated"] if kept % size else [])
    assert psutil.Process().children() == []  # the writer was stopped
    assert descriptors_into(tmp_path) == []


def test_dispose_is_bounded_when_a_descendant_left_the_group_with_the_pipes() -> None:
    received = threading.Event()
    chunks: list[bytes] = []

    def on_next(chunk: bytes) -> None:
        chunks.append(chunk)
        received.set()

    subscription = from_cli(child("setsid_grandchild.py"), terminate_timeout=0.5).subscribe(on_next)
    assert received.wait(DEADLINE)
    grandchild = psutil.Process(int(b"".join(chunks)))
    try:
        started = time.monotonic()
        subscription.dispose()
        elapsed = time.monotonic() - started
        assert grandchild.is_running()  # out of reach of the group's signal: pipes still open
        assert elapsed < 0.5 + STRAGGLER_TIMEOUT + 1.0
        assert [t for t in threading.enumerate() if t.name.startswith("rxclaude-cli")] == []
    finally:
        os.kill(grandchild.pid, signal.SIGKILL)


def test_dispose_is_bounded_while_the_consumer_is_blocked_in_on_next() -> None:
    holding, release = threading.Event(), threading.Event()

    def block(_: bytes) -> None:
        holding.set()
        release.wait(DEADLINE)

    source = from_cli(["yes"], terminate_timeout=0.5)
    subscription = source.subscribe(block)
    assert holding.wait(DEADLINE)
    wait_until(lambda: source.statistics().held_bytes > 0)
    try:
        started = time.monotonic()
        subscription.dispose()
        assert time.monotonic() - started < 0.5 + STRAGGLER_TIMEOUT + 1.0
        assert psutil.Process().children() == []
    finally:
        release.set()
    figures = source.statistics()
    assert figures.held_bytes == 0 and figures.discarded_bytes > 0
    assert figures.received_bytes == figures.delivered_bytes + figures.discarded_bytes


# -- input -----------------------------------------------------------------------------

CAT = [sys.executable, "-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"]


def output_of(source: reactivex.Observable[bytes]) -> bytes:
    return b"".join(source.pipe(ops.to_list()).run())


@pytest.mark.parametrize(
    "given",
    [
        "héllo\n",
        b"h\xc3\xa9llo\n",
        bytearray(b"h\xc3\xa9llo\n"),
        memoryview(b"h\xc3\xa9llo\n"),
        ["hé", b"llo", "\n"],
        (piece for piece in ("hé", "llo\n")),
        reactivex.of("hé", b"llo\n"),
    ],
    ids=["str", "bytes", "bytearray", "memoryview", "list", "generator", "observable"],
)
def test_input_is_bytes_or_str_alone_in_an_iterable_or_in_an_observable(given: object) -> None:
    assert output_of(from_cli(CAT, input=given)) == "héllo\n".encode()  # type: ignore[arg-type]


@pytest.mark.parametrize("given", [5, 2.5, {"a": "b"}, object()])
def test_input_of_another_type_is_rejected_when_the_source_is_built(given: object) -> None:
    with pytest.raises(TypeError, match="input must be bytes, str"):
        from_cli(CAT, input=given)  # type: ignore[arg-type]


def test_an_input_chunk_of_another_type_ends_the_stream_with_type_error() -> None:
    with pytest.raises(TypeError, match="input chunks must be bytes or str, not int"):
        output_of(from_cli(CAT, input=["ok", 5]))  # type: ignore[list-item]


@pytest.mark.parametrize(("bad", "error"), [(2.5, TypeError), (True, TypeError), (0, ValueError)])
def test_sizes_are_checked_when_the_source_is_built(bad: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        from_cli(CAT, chunk_size=bad)  # type: ignore[arg-type]
    with pytest.raises(error if bad != 0 else ValueError):
        from_cli(CAT, max_spool_bytes=bad)  # type: ignore[arg-type]


# -- redaction -------------------------------------------------------------------------

SECRET = "sk-ant-api03-SECRETSECRETSECRET"


def test_process_errors_show_no_credential_and_keep_the_exact_arguments() -> None:
    failing = [
        sys.executable,
        "-c",
        "import sys; sys.stderr.write(sys.argv[3] + '\\n'); sys.exit(3)",
        "--settings",
        f'{{"apiKey": "{SECRET}"}}',
        f"ANTHROPIC_API_KEY={SECRET}x",
        "--api-key",
        "plainvalue",
    ]
    with pytest.raises(CLIProcessError) as caught:
        output_of(from_cli(failing))
    error = caught.value
    text = f"{error} {error!r}"
    assert SECRET not in text and "plainvalue" not in text
    assert REDACTED in text and "exited with code 3" in text
    assert error.command == failing and error.args == tuple(failing)
    assert error.stderr.strip() == f"ANTHROPIC_API_KEY={SECRET}x"


# -- from_reader(spool=True) -----------------------------------------------------------


def test_from_reader_with_a_spool_lets_the_writer_finish_while_the_consumer_is_held(
    tmp_path: Path,
) -> None:
    blocks = 40
    writer = subprocess.Popen(child("write_blocks.py", blocks), stdout=subprocess.PIPE)
    assert writer.stdout is not None
    consumer = HeldBytes()
    source = from_reader(writer.stdout, spool=True, spool_memory=MIB, spool_dir=tmp_path)
    try:
        source.subscribe(
            consumer.on_next,
            consumer.on_error,
            consumer.on_completed,
            scheduler=NewThreadScheduler(),
        )
        assert consumer.holding.wait(DEADLINE)
        assert writer.wait(DEADLINE) == 0
        wait_until(lambda: source.statistics().received_bytes == blocks * MIB)
        assert source.statistics().disk_bytes > 0
        consumer.release.set()
        assert consumer.done.wait(DEADLINE)
    finally:
        consumer.release.set()
        writer.stdout.close()
        writer.kill()
        writer.wait()
    assert consumer.error is None
    assert (consumer.position, consumer.mismatch) == (blocks * MIB, None)
    assert descriptors_into(tmp_path) == []


def test_from_reader_spool_full_is_an_error_after_the_bytes_that_fit() -> None:
    reader = io.BytesIO(b"0123456789" * 100)
    source = from_reader(reader, 7, spool=True, spool_memory=16, max_spool_bytes=25)
    consumer: HoldFirst[bytes] = HoldFirst()
    source.subscribe(consumer, scheduler=NewThreadScheduler())
    assert consumer.first_item.wait(DEADLINE)
    wait_until(lambda: not [t for t in threading.enumerate() if t.name == "rxclaude-reader-drain"])
    figures = source.statistics()
    assert figures.peak_bytes == 25  # the limit, reached: the drain stopped
    consumer.release.set()
    consumer.wait_done()
    assert [type(error) for error in consumer.errors] == [SpoolFullError]
    assert b"".join(consumer.items) == (b"0123456789" * 100)[: figures.received_bytes]


def test_from_reader_without_a_spool_is_a_plain_observable() -> None:
    source = from_reader(io.BytesIO(b"abc"))
    assert not hasattr(source, "statistics")
    assert output_of(source) == b"abc"
