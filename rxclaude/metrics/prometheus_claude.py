"""The Claude-level families (:mod:`~rxclaude.handlers.claude_figures`) as Prometheus metrics,
for :class:`~rxclaude.metrics.prometheus.PrometheusExporter` (``claude=``)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING

from rxclaude.handlers.claude_figures import MetricFamily

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

__all__ = ["prometheus_metrics"]


def prometheus_metrics(
    core: ModuleType, prefix: str, families: list[MetricFamily]
) -> Iterator[Metric]:
    """Each family as a ``prometheus_client.core`` metric family named ``prefix_name``
    (counters get ``_total`` from ``prometheus_client``)."""
    for family in families:
        name, labels = f"{prefix}_{family.name}", list(family.labels)
        if family.type == "histogram":
            histogram = core.HistogramMetricFamily(name, family.help, labels=labels)
            for key, figures in sorted(family.histograms.items()):
                histogram.add_metric(list(key), figures.cumulative(), figures.total)
            yield histogram
            continue
        kind = core.CounterMetricFamily if family.type == "counter" else core.GaugeMetricFamily
        metric = kind(name, family.help, labels=labels)
        for key, value in sorted(family.samples.items()):
            metric.add_metric(list(key), value)
        yield metric
