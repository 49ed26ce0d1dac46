"""The view's lines for the frames that are not the assistant's: the ``result`` of each
turn, compaction (``system/compact_boundary``) and the user's prompts.

Each function returns plain strings; the view styles them (and so neutralises what a
terminal would act on) as it prints them.
"""

from __future__ import annotations

from rxclaude.command.format import dollars, milliseconds, outcome, plural
from rxclaude.command.view_calls import result_lines
from rxclaude.messages import CompactBoundaryMessage, ResultMessage, UserMessage
from rxclaude.messages.content import DocumentBlock, ImageBlock, TextBlock, ToolResultBlock
from rxclaude.messages.fields import get_int


def figure(value: object) -> str:
    """A number of the stream as written; ``?`` for anything else."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else "?"


def result_summary(result: ResultMessage) -> str:
    """``✓ done · completed · 2 turns · 262 ms · 84 in / 34 out tokens · $0.000762``.

    The outcome comes from ``is_error`` (see :func:`~rxclaude.command.format.outcome`),
    with ``terminal_reason`` and ``api_error_status`` when the frame has them.
    """
    usage = result.usage
    return " · ".join(
        [
            outcome(
                result.is_error,
                result.subtype,
                result.terminal_reason,
                get_int(result.raw, "api_error_status"),
            ),
            plural(result.num_turns, "turn"),
            milliseconds(result.duration_ms),
            f"{figure(usage.get('input_tokens'))} in / {figure(usage.get('output_tokens'))} "
            "out tokens",
            dollars(result.total_cost_usd),
        ]
    )


def result_details(result: ResultMessage) -> list[str]:
    """What a failed turn says about its failure: its ``errors``, else its ``result``."""
    if not result.is_error:
        return []
    return [detail for detail in result.errors or [result.result or ""] if detail]


def compaction(boundary: CompactBoundaryMessage) -> str:
    """``≡ compacted (manual) · 59 tokens before · 2597 after · 119 ms``."""
    trigger = boundary.trigger
    parts = ["≡ compacted" + (f" ({trigger})" if trigger else "")]
    if boundary.pre_tokens is not None:
        parts.append(f"{boundary.pre_tokens} tokens before")
    if boundary.post_tokens is not None:
        parts.append(f"{boundary.post_tokens} after")
    duration = boundary.duration_ms
    if duration is not None:
        parts.append(milliseconds(duration))
    return " · ".join(parts)


def prompt(message: UserMessage) -> list[str]:
    """The lines of a user prompt (``> text``), from a string content or the blocks that
    are not tool results; ``[]`` for a frame of tool results only.

    A prompt the CLI made up itself (``isSynthetic``, e.g. the summary after compaction)
    is marked ``[synthetic]``; images and documents are shown by their kind.
    """
    pieces: list[str] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            pieces.append(block.text)
        elif isinstance(block, DocumentBlock):
            pieces.append("[document]")
        elif isinstance(block, ImageBlock):
            pieces.append("[image]")
        elif not isinstance(block, ToolResultBlock):
            pieces.append(f"[{block.type}]")
    if not pieces:
        return []
    text = "\n".join(pieces)
    first, *rest = result_lines(("[synthetic] " if message.is_synthetic else "") + text)
    return [f"> {first}", *(f"  {line}" for line in rest)]
