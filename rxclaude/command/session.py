"""One stream through the library's pipeline, shared by ``view``, ``stats``, ``run`` and ``demo``.

The pipeline is :class:`~rxclaude.pipeline.StreamHandler`'s: the source, then
``parse_json_frames()``, ``backpressure(policy)``, ``route_by_type(Router.default())`` and
``measure(StreamMetrics())``. The view adds :class:`~rxclaude.partials.PartialAssembler` in
its callback, after ``measure``, so the figures count the recording's frames only while
``measure`` still times the rendering.

Session transcripts come parsed from :func:`~rxclaude.transcripts.from_transcripts`:
:meth:`Session.run_messages` takes them through the same stages after the parsing, with
the transcript handlers (usage counted once, cost, tool time from timestamps) added.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import stat
import sys
from collections.abc import Callable
from datetime import UTC, tzinfo
from typing import NamedTuple, TextIO

from reactivex import Observable
from rich.console import Console

from rxclaude._samples import sample_names, sample_path
from rxclaude.backpressure import DEFAULT_BUFFER_SIZE, Policy
from rxclaude.command.format import safe
from rxclaude.framing import DEFAULT_MAX_FRAME_BYTES
from rxclaude.handlers import BuiltinHandlers, ClaudeMetrics
from rxclaude.handlers.transcripts import TranscriptUsageHandler
from rxclaude.handlers.transcripts_tools import TranscriptToolHandler
from rxclaude.messages import Message, ParseError
from rxclaude.metrics import StreamMetrics, measure
from rxclaude.pipeline import StreamHandler, StreamSource, run_with_callback
from rxclaude.redact import REDACTED, redact
from rxclaude.routing import HandlerError, Router, route_by_type
from rxclaude.sources import from_reader
from rxclaude.transcripts import TranscriptFile, source_of

PARSE_ERRORS_KEPT = 20
"""Parse errors a session keeps for the figures: the first ones (the rest are counted)."""

DEFAULT_SNIFF_BYTES = 64 * 1024
"""How far ``view`` and ``stats`` read for a first frame before they give up on an input."""

NO_TYPE = "(no type)"
"""What the figures and the listing show for a JSON object without a ``type``."""


class NotStreamJSONError(Exception):
    """The input gave no stream-json frame: in its first ``within`` bytes, or (``within``
    None) before it ended."""

    def __init__(self, name: str, within: int | None) -> None:
        if within is None:
            detail = "no frame in it"
        else:
            detail = f"no frame in its first {within:,} bytes; --sniff-bytes N reads further"
        super().__init__(f"{name} does not look like stream-json: {detail}")


def is_frame(message: Message) -> bool:
    """Whether ``message`` is a stream-json frame: a JSON object with a ``type``."""
    return bool(message.type) and not isinstance(message, ParseError | HandlerError)


class Session:
    """The built-in handlers, the metrics and the pipeline of one command.

    Every message is timed (``sample_every=1``): a command's streams are short enough.
    ``frames`` counts the stream-json frames delivered, ``parse_errors`` keeps the first
    :data:`PARSE_ERRORS_KEPT` parse errors. With ``sniff_bytes``, the items before the
    first frame are held back (and shown when it comes); when they reach ``sniff_bytes``
    bytes of input, or the input ends, with no frame, the stream stops with
    :class:`NotStreamJSONError` naming ``name``, and the held items are not shown. The
    pipeline's reader may be ahead of the delivery by up to the buffer's capacity: what
    it read is in the figures.

    :attr:`claude` is a :class:`~rxclaude.handlers.ClaudeMetrics` on the router (the
    figures ``stats --json`` and ``run --prometheus`` export). With ``transcripts`` it is
    not attached (transcripts have no ``result`` frames: their cost and tokens are the
    transcript handlers'): :attr:`usage` and :attr:`tool_time` are transcript handlers on
    the router (days in ``timezone``), and :attr:`files` and :attr:`sessions` gather the
    transcript files and sessions seen.
    """

    def __init__(
        self,
        *,
        policy: Policy = Policy.BLOCK,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        sniff_bytes: int | None = None,
        name: str = "the input",
        transcripts: bool = False,
        timezone: tzinfo = UTC,
    ) -> None:
        self.policy = policy
        router = Router.default()
        self.handlers: BuiltinHandlers = router.handlers
        self.usage: TranscriptUsageHandler | None = None
        self.tool_time: TranscriptToolHandler | None = None
        self.claude = ClaudeMetrics()
        if transcripts:
            self.usage = TranscriptUsageHandler(timezone=timezone)
            self.tool_time = TranscriptToolHandler(result_chars=0)  # the times are enough
            self.usage.register(router)
            self.tool_time.register(router)
        else:
            self.claude.attach(router)
        self.files: set[TranscriptFile] = set()
        self.sessions: set[str] = set()
        self.metrics = StreamMetrics(sample_every=1)
        self.pipeline = StreamHandler(
            buffer_size, policy, router, metrics=self.metrics, max_frame_bytes=max_frame_bytes
        )
        self.sniff_bytes = sniff_bytes
        self.name = name
        self.frames = 0
        self.parse_errors: list[ParseError] = []

    def run(self, source: StreamSource, on_message: Callable[[Message], None]) -> Exception | None:
        """Stream ``source`` through the pipeline into ``on_message``; block until it ends.

        Returns the stream's error (``None`` when it completed). An exception raised by
        ``on_message`` (a closed stdout, for one) disposes the stream and propagates, and
        so does a ``KeyboardInterrupt``: disposing stops a CLI process.
        """
        callback_failed = False
        held: list[Message] | None = [] if self.sniff_bytes is not None else None

        def show(message: Message) -> None:
            nonlocal callback_failed
            try:
                on_message(message)
            except BaseException:
                callback_failed = True
                raise

        def deliver(message: Message) -> None:
            nonlocal held
            self._count(message)
            if held is not None:
                if not is_frame(message):
                    held.append(message)
                    limit = self.sniff_bytes
                    if limit is not None and message.offset + message.nbytes >= limit:
                        raise NotStreamJSONError(self.name, limit)
                    return
                waiting, held = held, None
                for item in waiting:
                    show(item)
            show(message)

        try:
            self.pipeline.stream_with_callback(source, deliver)
        except NotStreamJSONError as not_stream_json:
            return not_stream_json
        except Exception as error:
            if callback_failed:
                raise
            for item in held or ():
                on_message(item)
            return error
        if held:
            return NotStreamJSONError(self.name, None)
        return None

    def run_messages(
        self,
        messages: Observable[Message],
        on_message: Callable[[Message], None],
        *,
        buffered: bool = True,
    ) -> Exception | None:
        """Take parsed ``messages`` (transcripts, or frames parsed by the caller) through
        the stages after the parsing (backpressure, the router, the metrics) into
        ``on_message``, on a thread of their own; block until they end. Returns the
        stream's error; an exception of ``on_message`` or a ``KeyboardInterrupt``
        disposes the stream and propagates. Without ``buffered`` there is no backpressure
        stage: ``messages``' ``on_next`` returns once ``on_message`` has."""
        pipeline = self.pipeline
        buffer = pipeline.backpressure if buffered else None
        stages = (messages.pipe(buffer) if buffer is not None else messages).pipe(
            route_by_type(pipeline.router),
            measure(self.metrics, backpressure=buffer, router=pipeline.router),
        )
        callback_failed = False

        def deliver(message: Message) -> None:
            nonlocal callback_failed
            self._count(message)
            try:
                on_message(message)
            except BaseException:
                callback_failed = True
                raise

        try:
            run_with_callback(stages, deliver)
        except Exception as error:
            if callback_failed:
                raise
            return error
        return None

    def _count(self, message: Message) -> None:
        if is_frame(message):
            self.frames += 1
        elif isinstance(message, ParseError) and len(self.parse_errors) < PARSE_ERRORS_KEPT:
            self.parse_errors.append(message)
        source = source_of(message)
        if source is not None:
            self.files.add(source)
            session = message.session_id
            if session is not None and is_frame(message):
                self.sessions.add(session)


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


def whole_number(text: str) -> int:
    """An option's value that must be a whole number of at least 1 (argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_max_frame_bytes(parser: argparse.ArgumentParser) -> None:
    """``--max-frame-bytes N``."""
    parser.add_argument(
        "--max-frame-bytes",
        type=whole_number,
        default=DEFAULT_MAX_FRAME_BYTES,
        metavar="N",
        help=f"a longer line is one parse error (default: {DEFAULT_MAX_FRAME_BYTES:,})",
    )


def add_input_arguments(parser: argparse.ArgumentParser, *, many: bool = False) -> None:
    """``[FILE|-]`` (``many``: ``[PATH …]``), ``--sample NAME``, ``--max-frame-bytes N``
    and ``--sniff-bytes N``."""
    if many:
        parser.add_argument(
            "paths",
            nargs="*",
            metavar="PATH",
            help="stream-json recordings, session transcripts or folders of them ('-': "
            "stdin); default: stdin when piped, else the CLI's projects folder",
        )
    else:
        parser.add_argument(
            "file",
            nargs="?",
            metavar="FILE|-",
            help="a stream-json recording, a session transcript or a folder of them; "
            "'-' (or nothing, when piped) reads stdin",
        )
    parser.add_argument(
        "--sample", choices=sample_names(), metavar="NAME", help="a bundled sample recording"
    )
    add_max_frame_bytes(parser)
    parser.add_argument(
        "--sniff-bytes",
        type=whole_number,
        default=DEFAULT_SNIFF_BYTES,
        metavar="N",
        help="give up on an input with no stream-json frame in its first N bytes "
        f"(default: {DEFAULT_SNIFF_BYTES:,})",
    )


class Input(NamedTuple):
    """What a command reads: its name, the source, and whether it arrives live."""

    name: str
    source: StreamSource
    live: bool
    """False for a file or a sample (their timings are reading times), True for a pipe."""


def input_source(
    options: argparse.Namespace, parser: argparse.ArgumentParser, file: str | None = None
) -> Input:
    """The input the options select, or ``file`` (a usage error if there is none or it is
    unreadable)."""
    file = file if file is not None else getattr(options, "file", None)
    if options.sample is not None:
        if file is not None:
            parser.error("give a FILE or --sample, not both")
        return Input(f"sample {options.sample}", str(sample_path(options.sample)), live=False)
    if file == "-" or (file is None and not sys.stdin.isatty()):
        # A pipe's writer may not wait for us: keep what it writes (a file waits).
        piped = not stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
        if piped:
            return Input("<stdin>", from_reader(sys.stdin.buffer, spool=True), live=True)
        return Input("<stdin>", sys.stdin.buffer, live=False)
    if file is None:
        parser.error("no input: give a FILE, '-' with a pipe, or --sample NAME")
    problem = unreadable(file)
    if problem is not None:
        parser.error(f"{file}: {problem}")
    return Input(file, file, live=False)


def stdin_has_input() -> bool:
    """Whether stdin is a pipe, a socket or a file (not a terminal, not ``/dev/null``)."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):  # no stdin at all, or closed
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def unreadable(path: str) -> str | None:
    """Why ``path`` cannot be read as a recording (``no such file``, ``is a directory``,
    ``permission denied``…), or None. Nothing is opened: a named pipe stays untouched."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "no such file"
    except PermissionError:
        return "permission denied"
    except OSError as error:
        return (error.strerror or type(error).__name__).lower()
    if stat.S_ISDIR(mode):
        return "is a directory"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^\s/]+@")


def hidden(text: str) -> str:
    """``text`` redacted (:func:`~rxclaude.redact.redact`), with the password of any URL in
    it (``redis://user:PASSWORD@host``) replaced too."""
    return redact(_URL_PASSWORD.sub(rf"\1{REDACTED}@", text))


def report(command: str, message: str, code: int) -> int:
    """Print ``rxclaude COMMAND: MESSAGE`` on stderr (:func:`hidden`, controls made
    visible); return ``code``, the exit code."""
    print(f"rxclaude {command}: {safe(hidden(message))}", file=sys.stderr)
    return code
