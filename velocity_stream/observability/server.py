"""The Prometheus endpoint every worker serves: ``GET /metrics`` on a port from the settings.

It runs in a daemon thread of the worker's process, so a scrape never waits on the event loop
or the poll loop. A taken port is a warning, not a crash: metrics matter less than the gateway
staying up.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from types import TracebackType
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from velocity_stream.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricsServer:
    """A running endpoint; ``port`` is the bound one (useful when asked for port 0)."""

    host: str
    port: int
    _server: WSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/metrics"

    def close(self, timeout: float = 5.0) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def serve_metrics(
    host: str = "0.0.0.0", port: int = 0, registry: CollectorRegistry | None = None
) -> MetricsServer:
    """Start serving ``registry`` (default: the global one); OSError if the port is taken."""
    server, thread = start_http_server(
        port, addr=host, registry=registry if registry is not None else REGISTRY
    )
    thread.name = "velocity-metrics"
    return MetricsServer(host, int(server.server_port), server, thread)


def start_metrics_server(
    settings: Settings, registry: CollectorRegistry | None = None
) -> MetricsServer | None:
    """The worker's endpoint per the settings; None when disabled or the port is taken."""
    if not settings.metrics_enabled:
        return None
    try:
        running = serve_metrics(settings.metrics_host, settings.metrics_port, registry)
    except OSError as error:
        log.warning(
            "metrics endpoint not started on %s:%d (%s); set VELOCITY_METRICS_PORT to a free "
            "port for each worker on this machine",
            settings.metrics_host,
            settings.metrics_port,
            error,
        )
        return None
    log.info("metrics at %s", running.url)
    return running
