"""The optional mypyc build (``setup.py``): off unless asked for, and the same results.

The compiled build is made in a copy of the sources (``setup.py build_ext --inplace``), and a
child process run there, whose compiled modules are found first, must give what a child
run on the pure sources gives, on every bundled recording and on a generated corpus.
"""

from __future__ import annotations

import importlib.util
import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPILED = [
    "rxclaude.framing.decoder",
    "rxclaude.framing.deferred",
    "rxclaude.messages.kinds",
    "rxclaude.routing.sync_stream",
]

CHILD = """
import json, sys, threading
from pathlib import Path
from benchmarks.common import compiled_modules
from benchmarks.generate import generate
from reactivex.testing import TestScheduler
from rxclaude import Policy, StreamMetrics, backpressure, measure, parse_json_frames
from rxclaude import route_by_type
from rxclaude.handlers import ClaudeMetrics, DefaultRouter
from rxclaude.messages.kinds import kind_mask
from rxclaude.sources import from_file

corpus = Path(sys.argv[1])
generate(corpus, 300_000, seed=3)
paths = sorted(Path("rxclaude/samples").glob("*.jsonl"))
paths += sorted(p for p in Path("tests/data/corpus").iterdir() if p.suffix in (".jsonl", ".ndjson"))
out = {"compiled": compiled_modules(), "runs": {}}
for path in [*paths, corpus]:
    router, claude, metrics, items = DefaultRouter(), ClaudeMetrics(), StreamMetrics(), []
    claude.attach(router)
    done, errors = threading.Event(), []
    from_file(str(path)).pipe(
        parse_json_frames(scheduler=TestScheduler()),
        backpressure(Policy.BLOCK),
        route_by_type(router),
        measure(metrics),
    ).subscribe(
        lambda m: items.append([m.type, m.offset, m.nbytes, kind_mask(m)]),
        lambda error: (errors.append(repr(error)), done.set()),
        done.set,
    )
    assert done.wait(60) and not errors, errors
    snapshot = metrics.snapshot()
    out["runs"][path.name] = {
        "items": items,
        "text": router.handlers.text.text,
        "claude": repr(claude.figures()),
        "router": repr(router.statistics()),
        "counts": [snapshot.messages_received, snapshot.by_type, repr(snapshot.by_kind)],
    }
print(json.dumps(out))
"""


def _mypyc_available() -> bool:
    return importlib.util.find_spec("mypyc") is not None and shutil.which("cc") is not None


def test_an_ordinary_build_compiles_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("setuptools.setup", lambda **options: calls.append(options))
    monkeypatch.delenv("RXCLAUDE_MYPYC", raising=False)
    names = runpy.run_path(str(ROOT / "setup.py"))
    assert calls == [{"ext_modules": []}]
    compiled = [path.removesuffix(".py").replace("/", ".") for path in names["COMPILED_MODULES"]]
    assert compiled == COMPILED
    for path in names["COMPILED_MODULES"]:
        assert (ROOT / path).is_file()


def _run_child(where: Path, corpus: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(where)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(corpus)],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.slow
@pytest.mark.skipif(not _mypyc_available(), reason="mypyc (mypy) or a C compiler missing")
def test_the_compiled_build_gives_what_the_pure_sources_give(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    copy.mkdir()
    # setup.py alone: the package metadata (pyproject.toml) may need a newer setuptools
    # than the one here, and building the extensions in place does not read it.
    shutil.copy(ROOT / "setup.py", copy / "setup.py")
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "out")
    for name in ("rxclaude", "benchmarks", "tests/data"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    built = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=copy,
        env={**os.environ, "RXCLAUDE_MYPYC": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    compiled = _run_child(copy, tmp_path / "corpus.jsonl")
    pure = _run_child(ROOT, tmp_path / "corpus.jsonl")
    assert compiled["compiled"] == COMPILED
    assert pure["compiled"] == []
    assert len(compiled["runs"]) > 10
    assert compiled["runs"] == pure["runs"]
