"""The package root: a small set of names, the old ones importable for one release with a
warning that says where they live now, and no warning for anyone using the new ones."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import rxclaude

OLD_ROOT_NAMES = sorted(rxclaude._MOVED)


def test_the_root_is_small_and_every_exported_name_exists() -> None:
    assert len(rxclaude.__all__) <= 30
    for name in rxclaude.__all__:
        assert getattr(rxclaude, name) is not None
    assert {"from_cli", "parse_json_frames", "backpressure", "route_by_type", "measure"} <= set(
        rxclaude.__all__
    )


@pytest.mark.parametrize("name", OLD_ROOT_NAMES)
def test_an_old_root_name_warns_and_is_its_module_s_object(name: str) -> None:
    module = rxclaude._MOVED[name]
    with pytest.warns(DeprecationWarning, match=rf"rxclaude\.{name} is deprecated.*{module}"):
        old = getattr(rxclaude, name)
    assert old is getattr(importlib.import_module(module), name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        rxclaude.nothing_here  # noqa: B018


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_importing_the_package_and_its_modules_warns_of_nothing() -> None:
    modules = ["rxclaude", "rxclaude.command.app", "rxclaude.metrics.prometheus", "benchmarks"]
    result = run_python("; ".join(f"import {module}" for module in modules))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("alias", "home", "name"),
    [
        ("rxclaude.cli", "rxclaude.sources", "from_cli"),
        ("rxclaude.parse", "rxclaude.framing", "parse_json_frames"),
        ("rxclaude.content", "rxclaude.messages", "TextBlock"),
        ("rxclaude.facade", "rxclaude.pipeline", "StreamHandler"),
        ("rxclaude.prometheus", "rxclaude.metrics.prometheus", "PrometheusExporter"),
    ],
)
def test_an_old_module_warns_once_imported_and_holds_the_same_objects(
    alias: str, home: str, name: str
) -> None:
    code = (
        "import warnings, importlib\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        f"    old = importlib.import_module({alias!r})\n"
        "assert any(w.category is DeprecationWarning for w in caught), caught\n"
        f"assert getattr(old, {name!r}) is getattr(importlib.import_module({home!r}), {name!r})\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
