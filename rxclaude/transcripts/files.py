"""Which transcript files a path names: one file, a folder (searched recursively, so a
project folder brings its subagent files), or a glob pattern.

The CLI keeps a session in ``<projects>/<slug>/<session>.jsonl`` and each of its
subagents in ``<projects>/<slug>/<session>/subagents/agent-<id>.jsonl``; the projects
folder is ``$CLAUDE_CONFIG_DIR/projects``, by default ``~/.claude/projects``.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

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


def _walk(folder: str) -> list[str]:
    found: list[str] = []
    for directory, _folders, names in os.walk(folder):
        found.extend(os.path.join(directory, name) for name in names if name.endswith(SUFFIX))
    return found


def target(path: str | os.PathLike[str] | None) -> Target:
    """What ``path`` names (``None``: the CLI's projects folder). A path that exists is a
    file or a folder; one that does not is a glob pattern if it has ``*``, ``?`` or
    ``[`` in it.

    Raises:
        FileNotFoundError: nothing is there, and it is not a pattern.
    """
    location = os.path.expanduser(os.fspath(path)) if path is not None else str(projects_folder())
    if os.path.isdir(location):
        return Target(location, "folder")
    if os.path.exists(location):
        return Target(location, "file")
    if _GLOB_CHARACTERS.intersection(location):
        return Target(location, "glob")
    raise FileNotFoundError(f"no transcript file or folder at {location}")


__all__ = ["SUFFIX", "Target", "describe", "projects_folder", "target"]
