"""``rxclaude list``: every message of a recording, one line each, and a summary.

With no recording it reads every bundled sample. ``rxclaude FILE`` (no subcommand, an
existing path) is this listing too, as it was before the subcommands existed, and so is a
bare ``rxclaude`` whose stdin is a pipe or a file.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

import reactivex

from rxclaude._samples import sample_names, sample_path
from rxclaude.command.format import dollars, json_snippet, safe, shorten
from rxclaude.command.session import NO_TYPE, add_max_frame_bytes, unreadable
from rxclaude.framing import DEFAULT_MAX_FRAME_BYTES, parse_json_frames
from rxclaude.messages import (
    AssistantMessage,
    InitMessage,
    Message,
    ParseError,
    ResultMessage,
    StatusMessage,
    StreamEventMessage,
    UserMessage,
)
from rxclaude.redact import redact
from rxclaude.sources import from_file, from_reader

_SNIPPET = 70
"""Characters shown of a message's content (shorter than the view's: the line has columns)."""


def _shorten(text: str) -> str:
    return shorten(text, _SNIPPET)


def describe(message: Message) -> str:
    """One line about a message's content, for the listing."""
    if isinstance(message, ParseError):
        return f"{message.detail}: {message.excerpt[:40]!r}"
    if isinstance(message, AssistantMessage):
        calls = [
            f"{tool.name}({_shorten(json_snippet(tool.input, _SNIPPET))})"
            for tool in message.tool_uses
        ]
        return _shorten(message.text) or ", ".join(calls)
    if isinstance(message, UserMessage):
        results = message.tool_results
        if results:
            flag = "error: " if results[0].is_error else ""
            return f"tool_result {flag}{_shorten(results[0].text)}"
        return _shorten(message.text)
    if isinstance(message, StreamEventMessage):
        delta = message.delta or {}
        piece = delta.get("text") or delta.get("thinking") or delta.get("partial_json")
        detail = message.delta_type or message.event_type or ""
        return f"{detail} {_shorten(piece)!r}" if isinstance(piece, str) else detail
    if isinstance(message, InitMessage):
        return f"model={message.model} tools={len(message.tools)} cwd={message.cwd}"
    if isinstance(message, StatusMessage):
        return f"status={message.status}"
    if isinstance(message, ResultMessage):
        return (
            f"is_error={message.is_error} turns={message.num_turns} "
            f"cost={dollars(message.total_cost_usd)}"
        )
    return ""


def summarise(
    source: reactivex.Observable[bytes],
    name: str,
    *,
    listing: bool,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
) -> Counter[str]:
    """Run the pipeline over one recording; print its messages and a summary."""
    counts: Counter[str] = Counter()
    total_bytes = 0
    started = time.perf_counter()

    def show(message: Message) -> None:
        nonlocal total_bytes
        kind = (message.type or NO_TYPE) + (f"/{message.subtype}" if message.subtype else "")
        counts[kind] += 1
        total_bytes += message.nbytes
        if listing:
            line = f"{message.offset:>9} {message.nbytes:>8}  {kind:<34} {describe(message)}"
            print(safe(line))

    def failed(error: Exception) -> None:
        if isinstance(error, BrokenPipeError):
            raise error  # our own output was closed: the command stops quietly
        print(safe(redact(f"error: {error}")), file=sys.stderr)
        counts["<stream error>"] += 1

    print(safe(f"== {name}"))
    if listing:
        print(f"{'offset':>9} {'bytes':>8}  {'type/subtype':<34} content")
    source.pipe(parse_json_frames(max_frame_bytes=max_frame_bytes)).subscribe(show, failed)
    elapsed = time.perf_counter() - started
    messages = sum(n for kind, n in counts.items() if not kind.startswith("<"))
    errors = sum(n for kind, n in counts.items() if kind.startswith("parse_error"))
    print(
        f"-- {messages} messages, {total_bytes} bytes, {errors} parse errors, "
        f"{elapsed * 1000:.1f} ms"
    )
    for kind, count in sorted(counts.items()):
        print(safe(f"   {count:>6}  {kind}"))
    return counts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The listing's options (on ``rxclaude list`` and on the bare ``rxclaude``)."""
    parser.add_argument(
        "paths", nargs="*", help="recordings to read ('-' for stdin); default: bundled samples"
    )
    parser.add_argument(
        "--sample",
        action="append",
        choices=sample_names(),
        default=[],
        help="a bundled sample recording (repeatable)",
    )
    parser.add_argument("--quiet", action="store_true", help="print the summaries only")
    add_max_frame_bytes(parser)


def run_list(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """List and summarise the recordings ``options`` name; 1 if a stream failed."""
    sources: list[tuple[str, reactivex.Observable[bytes]]] = []
    for path in options.paths:
        if path == "-":
            sources.append(("<stdin>", from_reader(sys.stdin.buffer)))
        elif (problem := unreadable(path)) is not None:
            parser.error(f"{path}: {problem}")
        else:
            sources.append((path, from_file(path)))
    samples = options.sample or ([] if options.paths else sample_names())
    sources += [(f"sample {name}", from_file(sample_path(name))) for name in samples]

    failed = False
    for name, source in sources:
        counts = summarise(
            source, name, listing=not options.quiet, max_frame_bytes=options.max_frame_bytes
        )
        failed = failed or "<stream error>" in counts
    return 1 if failed else 0
