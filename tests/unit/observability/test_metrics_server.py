"""The metrics endpoint: serves the registry over HTTP, tolerates a taken port, can be disabled."""

from __future__ import annotations

import socket

import httpx
from prometheus_client.parser import text_string_to_metric_families

from velocity_stream.observability import ConsumerMetrics, serve_metrics, start_metrics_server
from velocity_stream.settings import Settings


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_endpoint_serves_the_registry_over_http(metrics, registry):
    ConsumerMetrics("committer", metrics).applied(3)
    with serve_metrics("127.0.0.1", 0, registry) as server:
        assert server.port > 0
        samples = _scrape(server.url)
    key = ("velocity_consumer_events_applied_total", (("consumer", "committer"),))
    assert samples[key] == 3


def test_taken_port_is_a_warning_not_a_crash(registry, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(metrics_host="127.0.0.1", metrics_port=port)
        assert start_metrics_server(settings, registry) is None
    assert "VELOCITY_METRICS_PORT" in caplog.text


def test_disabled_endpoint_starts_nothing(registry):
    assert start_metrics_server(Settings(metrics_enabled=False), registry) is None


def test_settings_choose_host_and_port(registry):
    settings = Settings(metrics_host="127.0.0.1", metrics_port=0)
    server = start_metrics_server(settings, registry)
    assert server is not None
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        assert httpx.get(server.url, timeout=5).status_code == 200
    finally:
        server.close()
