"""``python -m rxclaude``: the ``rxclaude`` command (see :mod:`rxclaude.command`)."""

import sys

from rxclaude.command import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
