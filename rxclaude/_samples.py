"""The small real recordings shipped with the package (see ``samples/PROVENANCE.md``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def sample_names() -> list[str]:
    """Names of the bundled recordings, e.g. ``"tool_use_partial"``."""
    folder = resources.files("rxclaude") / "samples"
    return sorted(
        entry.name.removesuffix(".jsonl")
        for entry in folder.iterdir()
        if entry.name.endswith(".jsonl")
    )


def sample_path(name: str) -> Path:
    """The path of a bundled recording, by name (see :func:`sample_names`)."""
    if name not in sample_names():
        raise ValueError(f"no sample named {name!r}; there are {', '.join(sample_names())}")
    return Path(str(resources.files("rxclaude") / "samples" / f"{name}.jsonl"))
