"""The spool's old place, for the modules not yet switched to :mod:`rxclaude.sources`."""

from rxclaude.sources.spool import *  # noqa: F403
from rxclaude.sources.spool import __all__  # noqa: F401
