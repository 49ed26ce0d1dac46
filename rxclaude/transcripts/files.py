"""Which transcript files a path names: one file, a folder (searched recursively, so a
project folder brings its subagent files), or a glob pattern; and whether a file is a
transcript at all (:func:`is_transcript`).

The CLI keeps a session in ``<projects>/<slug>/<session>.jsonl`` and each of its
subagents in ``<projects>/<slug>/<session>/subagents/agent-<id>.jsonl``; the projects
folder is ``$CLAUDE_CONFIG_DIR/projects``, by default ``~/.claude/projects``.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rxclaude.messages.transcript import TRANSCRIPT_TYPES
from rxclaude.transcripts.lines import TranscriptFile

SUFFIX = ".jsonl"
"""The suffix of the files a folder is searched for."""

_SESSION_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_GLOB_CHARACTERS = frozenset("*?[")


def projects_folder() -> Path:
    """Where the CLI keeps its transcripts: ``$CLAUDE_CONFIG_DIR/projects``, else
    ``~/.claude/projects``."""
    config = os.environ.get("CLAUDE_CONFIG_DIR")
    base = Path(config).expanduser() if config else Path.home() / ".claude"
    return base / "projects"


def describe(path: str) -> TranscriptFile:
    """The :class:`TranscriptFile` of ``path``: project, session and subagent, read from
    where the file stands (``<slug>/<session>.jsonl`` or
    ``<slug>/<session>/subagents/agent-<id>.jsonl``)."""
    location = Path(path)
    stem, parent = location.stem, location.parent
    if parent.name == "subagents" and stem.startswith("agent-"):
        session_folder = parent.parent
        session = session_folder.name if _SESSION_ID.fullmatch(session_folder.name) else None
        return TranscriptFile(path, session_folder.parent.name or None, session, stem[6:])
    session = stem if _SESSION_ID.fullmatch(stem) else None
    return TranscriptFile(path, parent.name or None, session)


@dataclass(frozen=True)
class Target:
    """What a path names; :meth:`paths` lists its files as they are now."""

    location: str
    kind: str
    """``file``, ``folder`` or ``glob``."""

    def paths(self) -> list[str]:
        """The files, sorted; a file that is gone is left out."""
        if self.kind == "file":
            return [self.location] if os.path.isfile(self.location) else []
        if self.kind == "glob":
            found = glob.glob(self.location, recursive=True)
            return sorted(path for path in found if os.path.isfile(path))
        return sorted(_walk(self.location))


@dataclass(frozen=True)
class Targets:
    """Several paths as one target: :meth:`paths` lists their files, each once."""

    parts: tuple[Target, ...]

    def paths(self) -> list[str]:
        """The files of every part, sorted; a file two parts name is listed once."""
        return sorted({path for part in self.parts for path in part.paths()})


def _walk(folder: str) -> list[str]:
    found: list[str] = []
    for directory, _folders, names in os.walk(folder):
        found.extend(os.path.join(directory, name) for name in names if name.endswith(SUFFIX))
    return found


PathArgument = str | os.PathLike[str]
"""One path, as ``from_transcripts`` takes it."""


def target(path: PathArgument | Sequence[PathArgument] | None) -> Target | Targets:
    """What ``path`` names (``None``: the CLI's projects folder; several paths: all their
    files). A path that exists is a file or a folder; one that does not is a glob pattern
    if it has ``*``, ``?`` or ``[`` in it.

    Raises:
        FileNotFoundError: nothing is there, and it is not a pattern.
    """
    if path is not None and not isinstance(path, str | os.PathLike):
        return Targets(tuple(_one_target(part) for part in path))
    return _one_target(path)


def _one_target(path: PathArgument | None) -> Target:
    location = os.path.expanduser(os.fspath(path)) if path is not None else str(projects_folder())
    if os.path.isdir(location):
        return Target(location, "folder")
    if os.path.exists(location):
        return Target(location, "file")
    if _GLOB_CHARACTERS.intersection(location):
        return Target(location, "glob")
    raise FileNotFoundError(f"no transcript file or folder at {location}")


SNIFF_BYTES = 64 * 1024
"""How much of a file :func:`is_transcript` reads at most."""

SNIFF_LINES = 8
"""How many of its first lines :func:`is_transcript` looks at."""

_TRANSCRIPT_KEYS = ("sessionId", "parentUuid")
_TRANSCRIPT_MARK = re.compile(rb'"(?:sessionId|parentUuid)"\s*:')


def is_transcript(path: PathArgument) -> bool:
    """Whether the file at ``path`` is a session transcript rather than stream-json: one of
    its first lines has the transcripts' camelCase ``sessionId`` or ``parentUuid``, or a
    ``type`` only transcripts have (``cost-state``, ``summary``, …). When no whole
    line fits in the first :data:`SNIFF_BYTES`, the keys are looked for in those bytes.

    Raises:
        OSError: the file cannot be read.
    """
    with open(path, "rb") as file:
        head = file.read(SNIFF_BYTES)
    lines = head.split(b"\n")
    complete = lines[:-1] if len(head) == SNIFF_BYTES else lines
    for raw in [line for line in complete if line.strip()][:SNIFF_LINES]:
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, or nested too deep for json
            continue
        if isinstance(value, dict) and (
            any(key in value for key in _TRANSCRIPT_KEYS) or value.get("type") in TRANSCRIPT_TYPES
        ):
            return True
    if not any(line.strip() for line in complete):
        return _TRANSCRIPT_MARK.search(head) is not None
    return False


__all__ = [
    "SNIFF_BYTES",
    "SNIFF_LINES",
    "SUFFIX",
    "PathArgument",
    "Target",
    "Targets",
    "describe",
    "is_transcript",
    "projects_folder",
    "target",
]
