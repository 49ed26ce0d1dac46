"""The ``rxclaude`` console command (``python -m rxclaude``): see :mod:`rxclaude.command.app`."""

from rxclaude.command.app import main

__all__ = ["main"]
