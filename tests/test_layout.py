"""The package's layout follows the data path: imports point downstream or to the shared
vocabulary, never back upstream, and no module imports itself through a cycle.

Every ``import`` statement of every module counts, wherever it stands (inside functions
and under ``TYPE_CHECKING`` too): a lazy import that reaches back upstream is still a
dependency on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rxclaude"

DATA_PATH = [
    # Helpers that know nothing of the stream.
    {"rxclaude.redact", "rxclaude._samples", "rxclaude._batches", "rxclaude._html", "rxclaude.aio"},
    # The shared vocabulary: messages, content blocks, kinds.
    {"rxclaude.messages"},
    {"rxclaude.sources"},
    {"rxclaude.framing"},
    # Transcripts are a source of framed messages (``~/.claude/projects``).
    {"rxclaude.transcripts"},
    {"rxclaude.partials"},
    {"rxclaude.backpressure"},
    {"rxclaude.routing"},
    {"rxclaude.handlers"},
    {"rxclaude.metrics"},
    {"rxclaude.pipeline"},
    # What is built on the whole pipeline: sessions, asyncio, notebooks, transports.
    {"rxclaude.interactive", "rxclaude.notebook", "rxclaude.redis"},
    {"rxclaude.command"},
    # The offline harness: the real CLI against a loopback fake Messages API.
    {"rxclaude.testing"},
]
"""Components in data-path order: each may import its own and earlier components only."""

ROOT_LEVEL = "rxclaude"
"""The package root and the deprecated alias modules beside it import anything."""

MAX_LINES = 450
"""Longer modules must say in their docstring why they are one cohesive hot path."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def component(module: str) -> str:
    for group in DATA_PATH:
        for name in group:
            if module == name or module.startswith(name + "."):
                return name
    return ROOT_LEVEL


RANK = {name: rank for rank, group in enumerate(DATA_PATH) for name in group}
RANK[ROOT_LEVEL] = len(DATA_PATH)


def imported_modules(module: str) -> set[str]:
    """The rxclaude modules ``module`` imports (``from a import b`` counts ``a.b`` when that
    is a module, else ``a``)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
    return {name for name in found if name in MODULES and name != module}


GRAPH = {module: imported_modules(module) for module in MODULES}


def test_the_graph_sees_the_package() -> None:
    assert {"rxclaude", "rxclaude.messages", "rxclaude.sources"} <= set(MODULES)
    assert "rxclaude.messages" in GRAPH["rxclaude"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_downstream_or_to_the_vocabulary(module: str) -> None:
    own = component(module)
    upstream_of_nothing = {
        imported
        for imported in GRAPH[module]
        if RANK[component(imported)] > RANK[own]
        or (component(imported) == ROOT_LEVEL and own != ROOT_LEVEL)
    }
    assert upstream_of_nothing == set(), f"{module} reaches back to {sorted(upstream_of_nothing)}"


def test_no_import_cycle() -> None:
    """Tarjan's strongly connected components: every one must be a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(GRAPH[module]):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == module:
                    break
            if len(members) > 1:
                cycles.append(sorted(members))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small_unless_they_are_one_hot_path(module: str) -> None:
    path = MODULES[module]
    lines = len(path.read_text(encoding="utf-8").splitlines())
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    assert lines <= MAX_LINES or "hot path" in docstring, f"{module}: {lines} lines"
