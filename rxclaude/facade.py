"""Deprecated: ``StreamHandler``, the pipeline facade, moved to :mod:`rxclaude.pipeline`
(or import it from :mod:`rxclaude`). This module goes away in the next release."""

import warnings

from rxclaude.pipeline import StreamHandler, StreamSource

__all__ = ["StreamHandler", "StreamSource"]

warnings.warn(
    "rxclaude.facade is deprecated: import from rxclaude.pipeline",
    DeprecationWarning,
    stacklevel=2,
)
