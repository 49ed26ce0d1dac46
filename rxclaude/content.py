"""Deprecated: the content blocks moved to :mod:`rxclaude.messages.content` (or import them
from :mod:`rxclaude.messages`). This module goes away in the next release."""

import warnings

from rxclaude.messages.content import *  # noqa: F403
from rxclaude.messages.content import __all__  # noqa: F401

warnings.warn(
    "rxclaude.content is deprecated: import from rxclaude.messages",
    DeprecationWarning,
    stacklevel=2,
)
