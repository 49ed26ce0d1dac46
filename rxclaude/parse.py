"""Deprecated: ``parse_json_frames`` and ``FrameDecodeError`` moved to
:mod:`rxclaude.framing` (or import them from :mod:`rxclaude`). This module goes away in the
next release."""

import warnings

from rxclaude.framing import FrameDecodeError, parse_json_frames

warnings.warn(
    "rxclaude.parse is deprecated: import from rxclaude.framing", DeprecationWarning, stacklevel=2
)

__all__ = ["FrameDecodeError", "parse_json_frames"]
