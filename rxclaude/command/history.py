"""``rxclaude view`` and ``rxclaude stats`` over what they read: stream-json recordings, or
the CLI's session transcripts.

The format is told per path: a folder means transcripts (its ``*.jsonl`` files, subagents'
included), a regular file is a transcript when its first lines say so
(:func:`~rxclaude.transcripts.is_transcript`: camelCase ``sessionId``/``parentUuid``, or a
line type only transcripts have), anything else is stream-json. Transcripts are read with
:func:`~rxclaude.transcripts.from_transcripts`, in time order across files.

* ``stats PATH…``: each recording's figures, then those of all the transcripts among the
  paths together. Without a path: stdin when it is a pipe or a file, else the CLI's
  projects folder (``$CLAUDE_CONFIG_DIR/projects`` or ``~/.claude/projects``), which
  ``--by day|session|project`` and ``--since DATE`` always mean when no path is given.
* ``view PATH``: a transcript or a folder is shown as a conversation, with a line naming
  each file as its messages come; ``--follow`` goes on with what live sessions write (no
  path: the projects folder, from now on) until Ctrl-C.

Days (``--by day``) and dates without a zone (``--since``) are in the local time zone.
"""

from __future__ import annotations

import argparse
import os
import stat
from datetime import UTC, datetime, tzinfo

from rich.console import Console

from rxclaude.command import fleet, stats
from rxclaude.command.session import (
    Session,
    add_input_arguments,
    input_source,
    report,
    stdin_has_input,
    unreadable,
)
from rxclaude.command.stats_transcripts import GROUPINGS
from rxclaude.command.view import watch, watch_messages
from rxclaude.redact import redact
from rxclaude.sources import SpooledSource
from rxclaude.transcripts import from_transcripts, is_transcript, projects_folder
from rxclaude.transcripts.files import SUFFIX


def add_view_arguments(parser: argparse.ArgumentParser) -> None:
    """``view``'s options: the input's, ``--follow`` and ``--since``."""
    add_input_arguments(parser)
    parser.add_argument(
        "--follow",
        action="store_true",
        help="go on with what live sessions write to the transcripts (no FILE: every "
        "project's, from now on); Ctrl-C ends it",
    )
    add_since(parser)


def add_stats_arguments(parser: argparse.ArgumentParser) -> None:
    """``stats``' options: the inputs', ``--json``, ``--by``, ``--since`` and Redis'."""
    add_input_arguments(parser, many=True)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    fleet.add_stats_arguments(parser)
    parser.add_argument(
        "--by",
        choices=GROUPINGS,
        help="transcripts: tokens and cost per day, session or project",
    )
    add_since(parser)


def add_since(parser: argparse.ArgumentParser) -> None:
    """``--since DATE``."""
    parser.add_argument(
        "--since",
        type=since_argument,
        metavar="DATE",
        help="transcripts: only lines from DATE on (YYYY-MM-DD or YYYY-MM-DDTHH:MM, local "
        "time unless it names a zone)",
    )


def since_argument(text: str) -> datetime:
    """``--since``'s value: an ISO date or time, local unless it names a zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM): {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.astimezone()


def local_zone() -> tzinfo:
    """The local time zone (its offset now)."""
    return datetime.now().astimezone().tzinfo or UTC


# -- stats ------------------------------------------------------------------------------


def run_stats(
    options: argparse.Namespace, parser: argparse.ArgumentParser, console: Console
) -> int:
    """``rxclaude stats``: print the figures of what ``options`` name; 1 if a stream
    failed (``--from-redis``: see :mod:`~rxclaude.command.fleet`)."""
    if options.from_redis is not None:
        return fleet.run_from_redis(options, parser, console)
    _check_no_redis_options(options, parser)
    paths: list[str] = list(options.paths)
    if paths and options.sample is not None:
        parser.error("give a FILE or --sample, not both")
    for_transcripts = options.by is not None or options.since is not None
    if not paths and options.sample is None and (for_transcripts or not stdin_has_input()):
        paths = [_projects(parser)]
    transcripts, named = _split(paths, parser)
    transcript_files = _transcript_files(transcripts, parser, "stats")
    if for_transcripts and not transcripts:
        parser.error("--by and --since sum up session transcripts, and no PATH is one")
    recordings: list[str | None] = list(named) if paths else [None]  # None: stdin, --sample
    documents: list[stats.Document] = []
    failed = False
    for recording in recordings:
        document, error = _recording_figures(options, parser, recording)
        documents.append(document)
        failed = failed or error
    if transcripts:
        document, error = _transcript_figures(options, transcripts, transcript_files)
        documents.append(document)
        failed = failed or error
    if options.json:
        print(stats.to_json(documents[0] if len(documents) == 1 else documents))
    else:
        for number, document in enumerate(documents):
            if number:
                console.print()
            stats.render(console, document)
    return 1 if failed else 0


def _check_no_redis_options(options: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    given = [
        flag for flag in ("group", "consumer", "count", "until_idle") if getattr(options, flag)
    ]
    if given:
        flags = ", ".join("--" + flag.replace("_", "-") for flag in given)
        parser.error(f"{flags}: for --from-redis only")


def _recording_figures(
    options: argparse.Namespace, parser: argparse.ArgumentParser, file: str | None
) -> tuple[stats.Document, bool]:
    stream = input_source(options, parser, file)
    session = Session(
        max_frame_bytes=options.max_frame_bytes,
        sniff_bytes=options.sniff_bytes,
        name=redact(stream.name),
    )
    error = session.run(stream.source, _ignore)
    source = stream.source
    spool = source.statistics() if isinstance(source, SpooledSource) else None
    document = stats.collect(session, stream.name, error, spool=spool, live=stream.live)
    return document, error is not None


def _transcript_figures(
    options: argparse.Namespace, transcripts: list[str], files: list[str]
) -> tuple[stats.Document, bool]:
    """The figures of the ``files`` that the paths ``transcripts`` name."""
    session = Session(
        max_frame_bytes=options.max_frame_bytes, transcripts=True, timezone=local_zone()
    )
    messages = from_transcripts(files, since=options.since, max_frame_bytes=options.max_frame_bytes)
    error = session.run_messages(messages, _ignore)
    document = stats.collect(
        session, ", ".join(transcripts), error, live=False, by=options.by, since=options.since
    )
    return document, error is not None


# -- view -------------------------------------------------------------------------------


def run_view(options: argparse.Namespace, parser: argparse.ArgumentParser, console: Console) -> int:
    """``rxclaude view``: show what ``options`` name; 1 if the stream failed."""
    file: str | None = options.file
    for_transcripts = options.follow or options.since is not None
    if file is not None and file != "-" and options.sample is None:
        transcripts, _recordings = _split([file], parser)
        if transcripts:
            return _view_transcripts(options, parser, console, file)
        if for_transcripts and not _is_empty(file):
            parser.error(f"{file}: not a session transcript (--follow and --since read those)")
    if for_transcripts:
        if options.sample is not None or file == "-":
            parser.error("--follow and --since read session transcripts, not stdin or --sample")
        return _view_transcripts(options, parser, console, file or _projects(parser))
    stream = input_source(options, parser)
    session = Session(
        max_frame_bytes=options.max_frame_bytes,
        sniff_bytes=options.sniff_bytes,
        name=redact(stream.name),
    )
    return 0 if watch(session, stream.source, console) is None else 1


def _view_transcripts(
    options: argparse.Namespace, parser: argparse.ArgumentParser, console: Console, path: str
) -> int:
    # Followed, a folder stays one: the sessions still to come are in it.
    paths = [path] if options.follow else _transcript_files([path], parser, "view")
    since = options.since
    if since is None and options.follow and options.file is None:
        since = datetime.now().astimezone()  # every project's history would be too much
    session = Session(
        max_frame_bytes=options.max_frame_bytes, transcripts=True, timezone=local_zone()
    )
    messages = from_transcripts(
        paths, follow=options.follow, since=since, max_frame_bytes=options.max_frame_bytes
    )
    return 0 if watch_messages(session, messages, console) is None else 1


# -- paths ------------------------------------------------------------------------------


def _split(paths: list[str], parser: argparse.ArgumentParser) -> tuple[list[str], list[str]]:
    """The transcripts among ``paths`` (folders, transcript files) and the recordings (the
    rest); a usage error for a path that cannot be read."""
    transcripts: list[str] = []
    recordings: list[str] = []
    for path in paths:
        if path == "-":
            recordings.append(path)
        elif os.path.isdir(path):
            transcripts.append(path)
        elif (problem := unreadable(path)) is not None:
            parser.error(f"{path}: {problem}")
        elif stat.S_ISREG(os.stat(path).st_mode) and _sniff(path, parser):
            transcripts.append(path)
        else:
            recordings.append(path)  # a named pipe is never opened to look at it
    return transcripts, recordings


def _sniff(path: str, parser: argparse.ArgumentParser) -> bool:
    try:
        return is_transcript(path)
    except OSError as error:
        parser.error(f"{path}: {(error.strerror or type(error).__name__).lower()}")


def _is_empty(path: str) -> bool:
    try:
        return os.path.getsize(path) == 0
    except OSError:
        return False


def _projects(parser: argparse.ArgumentParser) -> str:
    """The CLI's projects folder (a usage error when there is none)."""
    folder = projects_folder()
    if not folder.is_dir():
        parser.error(
            f"{folder}: no such folder (the CLI keeps its session transcripts there; "
            "give a PATH, or set CLAUDE_CONFIG_DIR)"
        )
    return str(folder)


def _transcript_files(paths: list[str], parser: argparse.ArgumentParser, command: str) -> list[str]:
    """``paths`` with each folder replaced by the session transcripts in it: its
    ``*.jsonl`` files that :func:`~rxclaude.transcripts.is_transcript` takes for one (a
    file that cannot be read is kept: reading it reports why). The others are left out,
    saying how many on stderr; a folder with no transcript is a usage error."""
    files: list[str] = []
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        found = sorted(
            os.path.join(folder, name)
            for folder, _folders, names in os.walk(path)
            for name in names
            if name.endswith(SUFFIX)
        )
        kept = [candidate for candidate in found if _looks_like_a_transcript(candidate)]
        if not kept:
            if found:
                parser.error(
                    f"{path}: no session transcripts in it ({len(found)} *{SUFFIX} "
                    f"file{'s' if len(found) > 1 else ''}, none a transcript)"
                )
            parser.error(f"{path}: no session transcripts (*{SUFFIX} files) in it")
        if len(kept) < len(found):
            left_out = len(found) - len(kept)
            report(
                command,
                f"{path}: left out {left_out} *{SUFFIX} files that are not session transcripts",
                0,
            )
        files.extend(kept)
    return files


def _looks_like_a_transcript(path: str) -> bool:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False  # a named pipe, a device: never opened to look at it
        return is_transcript(path)
    except OSError:
        return True


def _ignore(_: object) -> None:
    """The stats need no view: the handlers and the metrics see every message."""


__all__ = [
    "add_stats_arguments",
    "add_view_arguments",
    "local_zone",
    "run_stats",
    "run_view",
    "since_argument",
]
