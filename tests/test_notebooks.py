"""The notebooks in ``notebooks/``: each runs from a clean kernel without an error, and each
is committed without outputs.

The notebooks assert what their text claims (counts that reconcile, which messages a policy
keeps, what the live CLI run produced), so a notebook that runs through is a real check.
Running them needs the ``notebooks`` extra (nbclient, ipykernel, matplotlib, pandas); the
tests skip, saying so, without it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
KERNEL = "python3"
CELL_TIMEOUT = 120
"""Seconds a cell may run; only reached when a notebook hangs (the slowest cell takes ~3 s)."""
REQUIREMENTS = ("nbclient", "nbformat", "ipykernel", "matplotlib", "pandas")


def test_notebooks_are_the_documented_ones() -> None:
    assert [path.name for path in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_backpressure.ipynb",
        "03_custom_operators.ipynb",
        "04_live.ipynb",
        "05_interactive.ipynb",
        "06_history.ipynb",
        "07_fleet.ipynb",
        "08_dashboard.ipynb",
    ]
    readme = (NOTEBOOKS_DIR / "README.md").read_text(encoding="utf-8")
    assert all(path.name in readme for path in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    stale = [
        cell["id"]
        for cell in notebook["cells"]
        if cell["cell_type"] == "code" and (cell["outputs"] or cell["execution_count"] is not None)
    ]
    assert stale == [], f"cells with outputs or execution counts: {stale}"
    assert notebook["metadata"]["kernelspec"]["name"] == KERNEL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_from_a_clean_kernel(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = [name for name in REQUIREMENTS if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}: pip install -e '.[notebooks]'")
    # Imported here so that the test above runs without the notebooks extra.
    import nbformat  # noqa: PLC0415
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel  # noqa: PLC0415
    from nbclient import NotebookClient  # noqa: PLC0415

    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        pytest.skip(f"no {KERNEL!r} Jupyter kernel: python -m ipykernel install --sys-prefix")
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the kernel inherits it: no display needed
    notebook: nbformat.NotebookNode = nbformat.read(  # type: ignore[no-untyped-call]
        path, as_version=nbformat.NO_CONVERT
    )
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    client.execute()  # a fresh kernel; raises CellExecutionError at the first failing cell

    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(cell.execution_count is not None for cell in code_cells)
