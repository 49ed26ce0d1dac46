"""``rxclaude run -- CLAUDE_ARGS…``: run Claude Code, watch its stream live, then sum it up.

The CLI runs through ``from_cli`` with ``--output-format stream-json --verbose`` added when
absent (``-p`` and the prompt are the caller's business). When the command's stdin is not
a terminal it becomes the CLI's stdin, streamed as it arrives and closed at its end: a
prompt piped to ``-p``, or the turns of ``--input-format stream-json`` (a pipe that stays
open keeps the conversation open). On a terminal the CLI's stdin is ``/dev/null``.

On a terminal (stdin and stdout), without ``-p``, ``run`` converses instead: a prompt,
the answer streamed, permission prompts asked y/N (:mod:`rxclaude.command.interactive`).

The command exits with the CLI's exit code (128 + N when signal N killed it), but never
with 0 when the CLI wrote no stream-json frame (then 1); 127 when the CLI cannot be
started, with a message and no figures. Ctrl-C disposes the pipeline, which terminates the
CLI's process group, and exits with 130.

``--prometheus PORT`` serves the run's pipeline and Claude-level metrics for Prometheus
while it runs (:mod:`~rxclaude.command.metrics_server`); ``--to-redis URL`` also appends
every frame to a Redis stream (:mod:`~rxclaude.command.fleet`). Either exits with 2 when
its extra is missing or its address is wrong, ``--to-redis`` with 1 when Redis does not
answer (before the CLI starts) or messages could not be written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
from wsgiref.simple_server import WSGIServer

from reactivex import Observable
from reactivex.scheduler import NewThreadScheduler
from rich.console import Console

from rxclaude.backpressure import DEFAULT_BUFFER_SIZE, Policy, check_buffer_size
from rxclaude.command import fleet, metrics_server, stats
from rxclaude.command.fleet import RedisOptionError, RedisWriter, redis_row
from rxclaude.command.interactive import run_interactive
from rxclaude.command.session import Session, report
from rxclaude.command.view import watch, watch_messages
from rxclaude.framing import parse_json_frames
from rxclaude.redact import redact_arguments
from rxclaude.sources import CLIProcessError, SpooledSource, find_claude, from_cli, from_reader

USAGE = 2
"""The exit code of a usage error, a missing extra, or a metrics port that is taken."""

CANNOT_START = 127
"""The exit code when the CLI could not be started (as a shell says for a missing command)."""

NO_CLI = (
    "no Claude Code CLI found: pip install 'rxclaude[e2e]' (it bundles one), "
    "install Claude Code (https://docs.anthropic.com/en/docs/claude-code), "
    "or give its path with --claude PATH"
)


class UsageError(ValueError):
    """The CLI arguments cannot give a stream-json stream."""


def claude_command(claude: str, arguments: list[str]) -> list[str]:
    """``claude`` and ``arguments``, with ``--output-format stream-json --verbose`` if absent.

    The flags go before a ``--`` that ends the CLI's own options, if there is one.

    Raises:
        UsageError: the arguments ask for another output format.
    """
    end = arguments.index("--") if "--" in arguments else len(arguments)
    options, rest = arguments[:end], arguments[end:]
    added: list[str] = []
    output_format = _option_value(options, "--output-format")
    if output_format is None:
        added += ["--output-format", "stream-json"]
    elif output_format != "stream-json":
        raise UsageError(f"rxclaude run reads stream-json, not --output-format {output_format}")
    if "--verbose" not in options:
        added.append("--verbose")
    return [claude, *options, *added, *rest]


def _option_value(options: list[str], name: str) -> str | None:
    """The value of ``name VALUE`` or ``name=VALUE`` in ``options`` (the last one wins)."""
    value: str | None = None
    for index, option in enumerate(options):
        if option == name:
            value = options[index + 1] if index + 1 < len(options) else ""
        elif option.startswith(name + "="):
            value = option.removeprefix(name + "=")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--policy``, ``--buffer-size``, ``--claude``, ``--prometheus`` and ``--to-redis``."""
    parser.add_argument(
        "--policy",
        choices=[policy.value for policy in Policy],
        default=Policy.BLOCK.value,
        help="what the buffer does when the handlers fall behind (default: block)",
    )
    parser.add_argument(
        "--buffer-size",
        type=int,
        default=DEFAULT_BUFFER_SIZE,
        metavar="N",
        help=f"messages the buffer holds (default: {DEFAULT_BUFFER_SIZE})",
    )
    parser.add_argument(
        "--claude",
        metavar="PATH",
        help="the Claude Code executable (default: claude on PATH, else the SDK's bundled one)",
    )
    metrics_server.add_arguments(parser)
    fleet.add_run_arguments(parser)


def cannot_start(executable: str) -> str | None:
    """Why ``executable`` cannot be started (``no such file``, ``not found on PATH``, ``is a
    directory``, ``not executable``), or None when it looks startable."""
    path = executable if "/" in executable or os.sep in executable else shutil.which(executable)
    if path is None:
        return "not found on PATH"
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "no such file"
    except OSError as error:
        return (error.strerror or type(error).__name__).lower()
    if stat.S_ISDIR(mode):
        return "is a directory"
    if not os.access(path, os.X_OK):
        return "not executable"
    return None


def stdin_input() -> Observable[bytes] | None:
    """The command's stdin as the CLI's input: None on a terminal (or when closed), else
    its chunks as they arrive, read on a thread of their own."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    return from_reader(sys.stdin.buffer, scheduler=NewThreadScheduler())


def _never_started(error: Exception | None, session: Session, source: SpooledSource) -> bool:
    """Whether the stream failed before the CLI gave anything: it could not be started."""
    return (
        isinstance(error, OSError)
        and session.frames == 0
        and source.statistics().received_bytes == 0
    )


def exit_code(error: Exception | None) -> int:
    """The command's exit code for the way the stream ended."""
    if error is None:
        return 0
    if isinstance(error, CLIProcessError):
        return error.returncode if error.returncode >= 0 else 128 - error.returncode
    if isinstance(error, OSError):
        return CANNOT_START
    return 1


def is_conversation(claude_arguments: list[str]) -> bool:
    """Whether ``run`` converses: stdin and stdout are terminals and there is no ``-p``."""
    terminals = all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout))
    return terminals and not {"-p", "--print"} & set(claude_arguments)


def run_claude(
    options: argparse.Namespace,
    claude_arguments: list[str],
    console: Console,
    parser: argparse.ArgumentParser,
) -> int:
    """Run the CLI with the live view; print the figures; return the CLI's exit code."""
    try:
        check_buffer_size(options.buffer_size)
    except ValueError as invalid:
        parser.error(f"--buffer-size: {invalid}")
    conversation = is_conversation(claude_arguments)
    if not claude_arguments and not conversation:
        parser.error("give the CLI's arguments after '--', e.g. rxclaude run -- -p 'Say hi'")
    claude = options.claude or find_claude()
    if claude is None:
        return report("run", NO_CLI, CANNOT_START)
    if conversation:
        if options.prometheus is not None or options.to_redis is not None:
            parser.error("--prometheus and --to-redis watch a stream: run the CLI with -p")
        problem = cannot_start(claude)
        if problem is not None:
            return report("run", f"cannot start {claude}: {problem}", CANNOT_START)
        return run_interactive(claude, claude_arguments, console)
    try:
        command = claude_command(claude, claude_arguments)
    except UsageError as usage:
        parser.error(str(usage))
    problem = cannot_start(claude)
    if problem is not None:
        return report("run", f"cannot start {claude}: {problem}", CANNOT_START)
    session = Session(policy=Policy(options.policy), buffer_size=options.buffer_size)
    try:
        writer = (
            None if options.to_redis is None else RedisWriter(options.to_redis, options.redis_key)
        )
    except RedisOptionError as refused:
        return report("run", str(refused), refused.code)
    try:
        server = _serve(options, session)
    except metrics_server.MetricsServerError as unserved:
        if writer is not None:
            writer.client.close()
        return report("run", str(unserved), USAGE)
    source = from_cli(command, input=stdin_input())
    try:
        if writer is None:
            error = watch(session, source, console)
        else:
            parsed = source.pipe(
                parse_json_frames(max_frame_bytes=session.pipeline.max_frame_bytes)
            )
            error = watch_messages(session, parsed.pipe(writer.sink), console)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if writer is not None:
            writer.client.close()
    if _never_started(error, session, source):
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return report("run", f"cannot start {claude}: {reason.lower()}", CANNOT_START)
    console.print()
    shown = " ".join(redact_arguments(command))
    document = stats.collect(session, shown, error, spool=source.statistics())
    if writer is not None:
        document["redis"] = writer.figures()
    stats.render(console, document, [] if writer is None else [redis_row(document["redis"])])
    code = exit_code(error)
    if session.frames == 0:
        return report("run", "the CLI wrote no stream-json frame", code or 1)
    if writer is not None and writer.unwritten():
        message = f"{writer.unwritten():,} messages not written to Redis at {writer.url}"
        return report("run", message, code or 1)
    return code


def _serve(options: argparse.Namespace, session: Session) -> WSGIServer | None:
    """The metrics server ``--prometheus`` asks for (its address said on stderr), or None."""
    if options.prometheus is None:
        return None
    server = metrics_server.serve_metrics(session, options.prometheus_host, options.prometheus)
    print(f"rxclaude run: metrics on {metrics_server.address(server)}", file=sys.stderr, flush=True)
    return server
