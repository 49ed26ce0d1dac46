"""Session transcripts (``~/.claude/projects/<slug>/<session>.jsonl``) as a source.

:func:`from_transcripts` reads one transcript, a project folder or the whole projects
tree (subagent files included) into one Observable of typed messages, in time order
across files, and with ``follow=True`` goes on with what live sessions write.

* :mod:`~rxclaude.transcripts.source`: :func:`from_transcripts`;
* :mod:`~rxclaude.transcripts.files`: which files a path names, and what a file's place
  says (project, session, subagent);
* :mod:`~rxclaude.transcripts.tree`: the files merged by time, and followed;
* :mod:`~rxclaude.transcripts.reader`: one file's framing state and the time of its lines;
* :mod:`~rxclaude.transcripts.lines`: what a message read from a transcript carries (its
  file and time: :func:`provenance`), and :class:`TranscriptReadError`.

The line types only transcripts have (``cost-state``, ``progress``, …) are in
:mod:`rxclaude.messages.transcript`.
"""

from rxclaude.transcripts.files import describe, is_transcript, projects_folder
from rxclaude.transcripts.lines import (
    Provenance,
    TranscriptFile,
    TranscriptReadError,
    parse_time,
    provenance,
    source_of,
    time_of,
    transcript_class,
)
from rxclaude.transcripts.source import (
    DEFAULT_MAX_OPEN_FILES,
    DEFAULT_POLL_INTERVAL,
    from_transcripts,
)

__all__ = [
    "DEFAULT_MAX_OPEN_FILES",
    "DEFAULT_POLL_INTERVAL",
    "Provenance",
    "TranscriptFile",
    "TranscriptReadError",
    "describe",
    "from_transcripts",
    "is_transcript",
    "parse_time",
    "projects_folder",
    "provenance",
    "source_of",
    "time_of",
    "transcript_class",
]
