"""The review app's /healthz is 503 with the reason while its Kafka does not answer."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from velocity_stream.kafka import reachability
from velocity_stream.kafka.reachability import KafkaWatch


@pytest.fixture
def gone_watch() -> Iterator[KafkaWatch]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    watch = KafkaWatch(f"127.0.0.1:{port}", connect_timeout_s=0.5)
    watch.check()
    reachability.install_watch(watch)
    yield watch
    reachability.install_watch(None)


def test_health_is_503_with_the_reason_while_kafka_is_gone(
    client: TestClient, gone_watch: KafkaWatch
):
    answer = client.get("/healthz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "kafka_unreachable" and body["feeds"] == {}
    assert body["reason"].startswith(f"Kafka at {gone_watch.servers} (KAFKA_BOOTSTRAP_SERVERS)")
    gone_watch.healthy = True  # as after a check that connected again
    assert client.get("/healthz").json() == {"status": "ok", "feeds": {}}
