"""``assemble_partials``: live views of ``--include-partial-messages`` streams.

With ``--include-partial-messages`` the CLI forwards the Messages API's SSE events as
``stream_event`` frames. :func:`assemble_partials` passes every message on unchanged and in
order, and inserts typed items right after the frame that produced them:

* :class:`BlockUpdate` (``"partial_block"``) after each ``content_block_delta``: the delta
  and the block's text, thinking, signature or tool-input JSON so far.
* :class:`BlockComplete` (``"partial_complete"``) at ``content_block_stop``: the finished
  block, tool input parsed from the accumulated ``input_json_delta`` fragments. A parse
  failure is reported in ``json_error``; the raw JSON stays in ``partial_json``.
* :class:`AssembledMessage` (``"partial_message"``) at ``message_stop``: the response built
  from ``message_start``, the blocks and ``message_delta``'s stop reason and usage.
* :class:`Superseded` (``"partial_superseded"``) when provisional content is retracted.
* :class:`PartialIssue` (``"partial_issue"``) for odd input. Nothing here raises.

Streams are keyed by ``(parent_tool_use_id, message id)``: subagents have their own, and
frames of different agents may interleave. The message id comes from ``message_start``
or the frame's ``api_message_id`` (CLI 2.1.332 has it); frames without one go to their
agent's latest stream. An agent streams one response at a time: a new response of the agent (its
``message_start``, or an ``assistant`` frame with another message id) ends the agent's
earlier streams.

The CLI's ``assistant`` frames are authoritative. In CLI 2.1.332 the frame for a block
arrives before that block's ``content_block_stop``. The frame confirms the block:
``BlockComplete.block`` is then the frame's block, and ``assembled`` is what the deltas
built. If the two differ, a ``Superseded("corrected")`` item follows the frame. Provisional
blocks are retracted by ``Superseded`` in three cases:

* ``"abandoned"``: a ``message_stop`` carries the ``abandoned_blocks`` marker. CLI
  2.1.332 sends it after a mid-stream API error.
* ``"replaced"``: the stream did not end normally (no ``message_delta``, or no
  ``message_stop``), and another message of the same agent arrives. That message is an
  ``assistant`` frame with another id (the non-streaming retry) or a new ``message_start``.
* ``"corrected"``: one block, as above.

Every started block gets exactly one ``BlockComplete``, unless it is retracted while
still open (or its ``content_block_start`` is repeated, which is reported).
``message_start.message.content`` is ignored: the API sends it empty, and CLI 2.0.20 put
the first delta's text there, which the delta then repeats.

Items are :class:`~rxclaude.messages.Message` objects with ``raw`` ``None`` (like
``ParseError``), so the operator maps messages to messages and composes with every other
operator; route them by ``type`` and ``subtype``. ``offset`` and ``received_at`` are those
of the frame that produced the item. ``nbytes`` is 0, so summing ``nbytes`` over the
output still counts each byte of input once.

The modules: :mod:`~rxclaude.partials.items` (the items),
:mod:`~rxclaude.partials.state` (what is known of a response while it streams),
:mod:`~rxclaude.partials.assembler` (:class:`PartialAssembler`, without Rx) and
:mod:`~rxclaude.partials.operator` (:func:`assemble_partials`).
"""

from rxclaude.partials.assembler import PartialAssembler
from rxclaude.partials.items import (
    AssembledMessage,
    BlockComplete,
    BlockUpdate,
    IssueReason,
    PartialIssue,
    PartialItem,
    Superseded,
    SupersededReason,
)
from rxclaude.partials.operator import assemble_partials

__all__ = [
    "AssembledMessage",
    "BlockComplete",
    "BlockUpdate",
    "IssueReason",
    "PartialAssembler",
    "PartialIssue",
    "PartialItem",
    "Superseded",
    "SupersededReason",
    "assemble_partials",
]
