"""One stream through the library's pipeline, shared by ``view``, ``stats``, ``run`` and ``demo``.

The pipeline is :class:`~rxclaude.pipeline.StreamHandler`'s: the source, then
``parse_json_frames()``, ``backpressure(policy)``, ``route_by_type(Router.default())`` and
``measure(StreamMetrics())``. The view adds :class:`~rxclaude.partials.PartialAssembler` in
its callback, after ``measure``, so the figures count the recording's frames only while
``measure`` still times the rendering.
"""

from __future__ import annotations

import argparse
import errno
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from rich.console import Console

from rxclaude._samples import sample_names, sample_path
from rxclaude.backpressure import DEFAULT_BUFFER_SIZE, Policy
from rxclaude.handlers import BuiltinHandlers
from rxclaude.messages import Message
from rxclaude.metrics import StreamMetrics
from rxclaude.pipeline import StreamHandler, StreamSource
from rxclaude.routing import Router
from rxclaude.sources import from_reader


class Session:
    """The built-in handlers, the metrics and the pipeline of one command.

    Every message is timed (``sample_every=1``): a command's streams are short enough.
    """

    def __init__(
        self, *, policy: Policy = Policy.BLOCK, buffer_size: int = DEFAULT_BUFFER_SIZE
    ) -> None:
        self.policy = policy
        router = Router.default()
        self.handlers: BuiltinHandlers = router.handlers
        self.metrics = StreamMetrics(sample_every=1)
        self.pipeline = StreamHandler(buffer_size, policy, router, metrics=self.metrics)

    def run(self, source: StreamSource, on_message: Callable[[Message], None]) -> Exception | None:
        """Stream ``source`` through the pipeline into ``on_message``; block until it ends.

        Returns the stream's error (``None`` when it completed). An exception raised by
        ``on_message`` (a closed stdout, for one) disposes the stream and propagates, and
        so does a ``KeyboardInterrupt``: disposing stops a CLI process.
        """
        callback_failed = False

        def deliver(message: Message) -> None:
            nonlocal callback_failed
            try:
                on_message(message)
            except BaseException:
                callback_failed = True
                raise

        try:
            self.pipeline.stream_with_callback(source, deliver)
        except Exception as error:
            if callback_failed:
                raise
            return error
        return None


class _Console(Console):
    """A console that reports a closed output as ``BrokenPipeError``.

    Rich's default raises ``SystemExit`` from whichever thread was printing: on the
    pipeline's thread that would end the thread, not the command.
    """

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError(errno.EPIPE, "the reader of the output went away")


def make_console(file: TextIO | None = None) -> Console:
    """A console for ``file`` (stdout): colours on a terminal, plain text anywhere else.

    Off a terminal nothing is wrapped, styled or animated, whatever ``FORCE_COLOR`` says:
    the output is meant for files, pipes and other programs.
    """
    stream = file if file is not None else sys.stdout
    terminal = stream.isatty()
    return _Console(
        file=stream,
        force_terminal=terminal,
        soft_wrap=not terminal,
        markup=False,
        highlight=False,
        emoji=False,
    )


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """``[FILE|-]`` and ``--sample NAME``."""
    parser.add_argument(
        "file",
        nargs="?",
        metavar="FILE|-",
        help="a stream-json recording; '-' (or nothing, when piped) reads stdin",
    )
    parser.add_argument(
        "--sample", choices=sample_names(), metavar="NAME", help="a bundled sample recording"
    )


def input_source(
    options: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[str, StreamSource]:
    """The name and source the input options select (a usage error if there is none)."""
    if options.sample is not None:
        if options.file is not None:
            parser.error("give a FILE or --sample, not both")
        return f"sample {options.sample}", str(sample_path(options.sample))
    if options.file == "-" or (options.file is None and not sys.stdin.isatty()):
        # A pipe's writer may not wait for us: keep what it writes (a file waits).
        piped = not stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
        return "<stdin>", from_reader(sys.stdin.buffer, spool=True) if piped else sys.stdin.buffer
    if options.file is None:
        parser.error("no input: give a FILE, '-' with a pipe, or --sample NAME")
    if not Path(options.file).is_file():
        parser.error(f"no such file: {options.file}")
    return options.file, str(options.file)
