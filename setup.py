"""The optional compiled build (package metadata lives in pyproject.toml).

An ordinary install is pure Python. With ``RXCLAUDE_MYPYC=1`` the strictly typed hot
modules below are compiled with mypyc, which then must be importable where the build runs
(it comes with mypy, in the dev extra) along with a C compiler::

    RXCLAUDE_MYPYC=1 pip install --no-build-isolation .

The compiled modules behave as the pure ones; ``python -m benchmarks`` says which are
compiled. Modules whose public functions check their arguments at run time stay pure:
mypyc would reject a wrongly typed argument with its own ``TypeError`` first.
"""

from __future__ import annotations

import os

from setuptools import Extension, setup

COMPILED_MODULES = [
    "rxclaude/framing/decoder.py",
    "rxclaude/framing/deferred.py",
    "rxclaude/messages/kinds.py",
    "rxclaude/routing/sync_stream.py",
]
"""What ``RXCLAUDE_MYPYC=1`` compiles: the framing's decoder and its halves around a ``BLOCK``
buffer, classification, sync routing."""


def extensions() -> list[Extension]:
    """The extension modules of this build: none unless ``RXCLAUDE_MYPYC=1``."""
    if os.environ.get("RXCLAUDE_MYPYC") != "1":
        return []
    from mypyc.build import mypycify  # noqa: PLC0415 - only the compiled build needs it

    return list(mypycify(COMPILED_MODULES, opt_level="3"))


setup(ext_modules=extensions())
