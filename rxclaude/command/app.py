"""The ``rxclaude`` command line: ``list``, ``view``, ``stats``, ``run`` and ``demo``.

Without arguments it prints its help, or lists its stdin when that is a pipe or a file
(``cat run.jsonl | rxclaude``). A command line that starts with an option or with an
existing path is a ``list`` one, as ``rxclaude`` was before it had subcommands
(``rxclaude --quiet``, ``rxclaude FILE``); a word close to a command's name is a typo
("did you mean 'view'?"). Every error message is redacted and made terminal-safe.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shlex
import sys
from collections.abc import Sequence
from typing import NoReturn

from rxclaude.command import demo, history, listing, run
from rxclaude.command.format import safe
from rxclaude.command.session import hidden, make_console, stdin_has_input
from rxclaude.redact import redact_arguments

COMMANDS = ("list", "view", "stats", "run", "demo")
INTERRUPTED = 130
"""The exit code after Ctrl-C (128 + SIGINT, as shells report it)."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose error messages are redacted and terminal-safe: they
    repeat what was typed, which may hold a key or a control character."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {safe(hidden(message))}\n")


def build_parser() -> Parser:
    """The parser of every subcommand; each sets ``parser`` to its own parser."""
    parser = Parser(
        prog="rxclaude",
        description=(
            "Watch, measure and run Claude Code stream-json output "
            "(claude -p … --output-format stream-json --verbose)."
        ),
        epilog=(
            "Start with 'rxclaude demo': it replays a bundled recording through the whole "
            "pipeline, with no API key and no network. 'rxclaude list' lists the bundled "
            "recordings, 'rxclaude FILE' (or a pipe into rxclaude) lists a recording."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str, summary: str, description: str, usage: str | None = None
    ) -> argparse.ArgumentParser:
        subparser = commands.add_parser(
            name, help=summary, description=description, usage=usage, allow_abbrev=False
        )
        subparser.set_defaults(parser=subparser)
        return subparser

    listing.add_arguments(
        command(
            "list",
            "list every message of recordings and count them (default: bundled samples)",
            "List every message of stream-json recordings and sum them up.",
        )
    )
    history.add_view_arguments(
        command(
            "view",
            "show a stream as it arrives: text, tool calls, results, errors, cost",
            "Show a stream-json stream as it arrives, or session transcripts "
            "(--follow: live sessions).",
        )
    )
    history.add_stats_arguments(
        command(
            "stats",
            "the figures of a stream: counts, tools, tokens, cost, errors, latency",
            "Sum up a stream-json stream, or session transcripts (default: the CLI's "
            "projects folder; --by day|session|project).",
        )
    )
    run.add_arguments(
        command(
            "run",
            "run Claude Code with the live view, then its figures",
            "Run Claude Code through the pipeline, adding --output-format stream-json "
            "--verbose when absent; exit with its exit code.",
            usage="rxclaude run [--policy P] [--buffer-size N] [--claude PATH] "
            "[--prometheus PORT] [--to-redis URL [--redis-key TEMPLATE]] -- CLAUDE_ARGS…",
        )
    )
    demo.add_arguments(
        command(
            "demo",
            "replay a bundled recording live, then its figures (no API key, no network)",
            "Replay a bundled recording through the whole pipeline, live.",
        )
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rxclaude`` command."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(arguments)
    except BrokenPipeError:
        # The reader went away (``rxclaude | head``): stop quietly, like any Unix filter,
        # and keep Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("rxclaude: interrupted", file=sys.stderr)
        return INTERRUPTED


def _dispatch(arguments: list[str]) -> int:
    parser = build_parser()
    if not arguments:
        if not stdin_has_input():
            parser.print_help()
            return 0
        arguments = ["list", "-"]
    elif arguments[0] not in (*COMMANDS, "-h", "--help"):
        if not _is_listing(arguments[0]):
            _unknown(parser, arguments[0])
        arguments = ["list", *arguments]
    claude_arguments: list[str] = []
    if arguments[0] == "run" and "--" in arguments:
        end = arguments.index("--")
        arguments, claude_arguments = arguments[:end], arguments[end + 1 :]
    options, unknown = parser.parse_known_args(arguments)
    subparser: argparse.ArgumentParser = options.parser
    if unknown:
        message = f"unrecognized arguments: {hidden(' '.join(redact_arguments(unknown)))}"
        if options.command == "run":
            message += "; put the CLI's arguments after '--': " + _run_hint(
                arguments[1:], unknown, claude_arguments
            )
        subparser.error(message)
    if options.command == "list":
        return listing.run_list(options, subparser)
    console = make_console()
    if options.command == "run":
        return run.run_claude(options, claude_arguments, console, subparser)
    if options.command == "demo":
        return demo.run_demo(options, console)
    if options.command == "view":
        return history.run_view(options, subparser, console)
    return history.run_stats(options, subparser, console)


def _is_listing(first: str) -> bool:
    """Whether a command line starting with ``first`` (not a command) is a ``list`` one:
    an option, ``-``, an existing path, or what looks like a path and no command's typo."""
    if first.startswith("-") or os.path.lexists(first):
        return True
    return _close_command(first) is None and ("/" in first or "." in first)


def _close_command(word: str) -> str | None:
    close = difflib.get_close_matches(word, COMMANDS, n=1)
    return close[0] if close else None


def _unknown(parser: Parser, word: str) -> NoReturn:
    """The usage error for a first word that is neither a command nor a path."""
    close = _close_command(word)
    if close is not None:
        parser.error(f"unknown command {word!r}, did you mean {close!r}?")
    commands = ", ".join(COMMANDS)
    parser.error(
        f"unknown command or file {word!r}: the commands are {commands}; "
        "a recording's path lists it"
    )


def _run_hint(given: list[str], unknown: list[str], claude_arguments: list[str]) -> str:
    """``rxclaude run [its own options] -- [the rest]``, redacted and quoted for a shell:
    what the command line ``given`` (after ``run``, before ``--``) was probably meant to be."""
    rest = list(unknown)
    own = []
    for argument in given:
        if rest and argument == rest[0]:
            rest.pop(0)
        else:
            own.append(argument)
    meant = ["rxclaude", "run", *own, "--", *unknown, *claude_arguments]
    return hidden(shlex.join(redact_arguments(meant)))
