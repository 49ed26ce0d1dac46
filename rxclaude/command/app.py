"""The ``rxclaude`` command line: ``list``, ``view``, ``stats``, ``run`` and ``demo``.

A command line that does not start with a subcommand is a ``list`` one, as ``rxclaude``
was before it had subcommands (``rxclaude --quiet``, ``rxclaude FILE``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from rxclaude.command import demo, listing, run, stats
from rxclaude.command.session import Session, add_input_arguments, input_source, make_console
from rxclaude.command.view import watch
from rxclaude.sources import SpooledSource

COMMANDS = ("list", "view", "stats", "run", "demo")
INTERRUPTED = 130
"""The exit code after Ctrl-C (128 + SIGINT, as shells report it)."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand; each sets ``parser`` to its own parser."""
    parser = argparse.ArgumentParser(
        prog="rxclaude",
        description=(
            "Watch, measure and run Claude Code stream-json output "
            "(claude -p … --output-format stream-json --verbose)."
        ),
        epilog=(
            "Start with 'rxclaude demo': it replays a bundled recording through the whole "
            "pipeline, with no API key and no network. Without a subcommand, rxclaude "
            "lists recordings ('rxclaude list')."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str, summary: str, description: str, usage: str | None = None
    ) -> argparse.ArgumentParser:
        subparser = commands.add_parser(name, help=summary, description=description, usage=usage)
        subparser.set_defaults(parser=subparser)
        return subparser

    listing.add_arguments(
        command(
            "list",
            "list every message of recordings and count them (default: bundled samples)",
            "List every message of stream-json recordings and sum them up.",
        )
    )
    add_input_arguments(
        command(
            "view",
            "show a stream as it arrives: text, tool calls, results, errors, cost",
            "Show a stream-json stream as it arrives.",
        )
    )
    stats_parser = command(
        "stats",
        "the figures of a stream: counts, tools, tokens, cost, errors, latency",
        "Sum up a stream-json stream.",
    )
    add_input_arguments(stats_parser)
    stats_parser.add_argument("--json", action="store_true", help="print one JSON document")
    run.add_arguments(
        command(
            "run",
            "run Claude Code with the live view, then its figures",
            "Run Claude Code through the pipeline, adding --output-format stream-json "
            "--verbose when absent; exit with its exit code.",
            usage="rxclaude run [--policy P] [--buffer-size N] [--claude PATH] -- CLAUDE_ARGS…",
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
    if not arguments or arguments[0] not in (*COMMANDS, "-h", "--help"):
        arguments = ["list", *arguments]
    claude_arguments: list[str] = []
    if arguments[0] == "run" and "--" in arguments:
        end = arguments.index("--")
        arguments, claude_arguments = arguments[:end], arguments[end + 1 :]
    options = build_parser().parse_args(arguments)
    subparser: argparse.ArgumentParser = options.parser
    if options.command == "list":
        return listing.run_list(options, subparser)
    console = make_console()
    if options.command == "run":
        return run.run_claude(options, claude_arguments, console, subparser)
    if options.command == "demo":
        return demo.run_demo(options, console)
    name, source = input_source(options, subparser)
    session = Session()
    if options.command == "view":
        return 0 if watch(session, source, console) is None else 1
    error = session.run(source, _ignore)
    spool = source.statistics() if isinstance(source, SpooledSource) else None
    document = stats.collect(session, name, error, spool=spool)
    if options.json:
        print(stats.to_json(document))
    else:
        stats.render(console, document)
    return 0 if error is None else 1


def _ignore(_: object) -> None:
    """The stats need no view: the handlers and the metrics see every message."""
