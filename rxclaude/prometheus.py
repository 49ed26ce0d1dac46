"""Deprecated: the Prometheus exporter moved to :mod:`rxclaude.metrics.prometheus`. This
module goes away in the next release."""

import warnings

from rxclaude.metrics.prometheus import PrometheusExporter

warnings.warn(
    "rxclaude.prometheus is deprecated: import from rxclaude.metrics.prometheus",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["PrometheusExporter"]
