"""``rxclaude run --prometheus PORT``: the run's figures served for Prometheus while it runs.

:class:`~rxclaude.metrics.prometheus.PrometheusExporter` exports the session's
:class:`~rxclaude.metrics.StreamMetrics` and its :class:`~rxclaude.handlers.ClaudeMetrics`
on a registry of its own (no process or platform collectors: only the run's figures),
served by ``prometheus_client``'s ``start_http_server`` on ``127.0.0.1`` unless told
otherwise (``--prometheus-host``); port 0 takes a free one. The address is printed on
stderr once the server listens, and the server stops when the run ends.
"""

from __future__ import annotations

import argparse
import importlib
import threading
from types import ModuleType
from wsgiref.simple_server import WSGIServer

from rxclaude.command.session import Session
from rxclaude.metrics.prometheus import PrometheusExporter

__all__ = ["MetricsServerError", "add_arguments", "address", "serve_metrics"]

DEFAULT_HOST = "127.0.0.1"


class MetricsServerError(Exception):
    """The metrics cannot be served: ``prometheus_client`` is missing, or the address is
    not free."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--prometheus PORT`` and ``--prometheus-host HOST``."""
    parser.add_argument(
        "--prometheus",
        type=port_number,
        metavar="PORT",
        help="serve the run's metrics for Prometheus on http://HOST:PORT/metrics while "
        "it runs (0: a free port; needs the prometheus extra)",
    )
    parser.add_argument(
        "--prometheus-host",
        default=DEFAULT_HOST,
        metavar="HOST",
        help=f"the address --prometheus listens on (default: {DEFAULT_HOST})",
    )


def port_number(text: str) -> int:
    """A TCP port, 0 to 65535 (argparse ``type``)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {port}")
    return port


def _exposition() -> ModuleType:
    try:
        return importlib.import_module("prometheus_client")
    except ImportError:
        raise MetricsServerError(
            "--prometheus needs prometheus_client: pip install 'rxclaude[prometheus]'"
        ) from None


def serve_metrics(session: Session, host: str, port: int) -> WSGIServer:
    """Serve ``session``'s pipeline and Claude-level metrics on ``host:port`` (a thread of
    ``prometheus_client``'s); ``shutdown()`` and ``server_close()`` stop it.

    Raises:
        MetricsServerError: ``prometheus_client`` is missing, or the address is taken.
    """
    client = _exposition()
    registry = client.CollectorRegistry()
    PrometheusExporter(session.metrics, registry, claude=session.claude)
    try:
        started: tuple[WSGIServer, threading.Thread] = client.start_http_server(
            port, addr=host, registry=registry
        )
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise MetricsServerError(f"cannot serve metrics on {host}:{port}: {reason}") from None
    return started[0]


def address(server: WSGIServer) -> str:
    """``http://HOST:PORT/metrics`` of a running server (the port it took, for port 0)."""
    host, port = server.server_address[:2]
    text = host.decode() if isinstance(host, bytes) else host
    shown = f"[{text}]" if ":" in text else text
    return f"http://{shown}:{port}/metrics"
