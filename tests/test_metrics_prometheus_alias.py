"""``rxclaude.prometheus``, the exporter's old place: the same names, with a warning."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rxclaude.metrics import prometheus


def test_the_old_module_warns_and_gives_the_same_exporter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "rxclaude.prometheus", raising=False)
    with pytest.warns(DeprecationWarning, match=r"rxclaude\.metrics\.prometheus") as caught:
        import rxclaude.prometheus as old  # noqa: PLC0415

    assert old.PrometheusExporter is prometheus.PrometheusExporter
    assert old.__all__ == ["PrometheusExporter"]
    # stacklevel=2: the warning names the line that imported the old module.
    assert [Path(warning.filename) for warning in caught] == [Path(__file__)]
