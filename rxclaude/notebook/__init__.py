"""Notebooks: a live display of a running pipeline, and pandas views (the ``notebooks`` extra).

* :mod:`~rxclaude.notebook.live`: :func:`live` and its :class:`LiveDisplay` (ipywidgets,
  drawn by :mod:`~rxclaude.notebook.render`);
* :mod:`~rxclaude.notebook.frames`: :func:`to_dataframe` (one row per message) and
  :func:`snapshots_to_dataframe` (a metrics time series).

Messages, snapshots and statistics display themselves as HTML tables in a notebook
(``_repr_html_``) without this package.
"""

from rxclaude.notebook.frames import MESSAGE_COLUMNS, snapshots_to_dataframe, to_dataframe
from rxclaude.notebook.live import LiveDisplay, LiveState, ToolRow, live

__all__ = [
    "MESSAGE_COLUMNS",
    "LiveDisplay",
    "LiveState",
    "ToolRow",
    "live",
    "snapshots_to_dataframe",
    "to_dataframe",
]
