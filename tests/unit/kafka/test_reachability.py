"""The start-up probe, the watch of a running role, /healthz while Kafka is gone, and the
thinning of the Kafka clients' repeated log lines."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from velocity_stream.kafka import reachability
from velocity_stream.kafka.client_logs import RepeatFilter
from velocity_stream.kafka.reachability import (
    KafkaUnreachable,
    KafkaWatch,
    bootstrap_addresses,
    registry_address,
    wait_for_kafka,
)
from velocity_stream.registry.api import create_app as registry_app
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import memory_store
from velocity_stream.settings import Settings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def no_watch() -> Iterator[None]:
    yield
    reachability.install_watch(None)


def test_addresses_of_bootstrap_lists_and_registry_urls():
    assert bootstrap_addresses("a:1, PLAINTEXT://b:2,[::1]:3,c") == [
        ("a", 1),
        ("b", 2),
        ("::1", 3),
        ("c", 9092),
    ]
    assert registry_address("http://reg:8081/x") == ("reg", 8081)
    assert registry_address("https://reg") == ("reg", 443)


def test_an_unanswered_probe_names_the_address_the_setting_and_the_timeout():
    address = f"127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(KafkaUnreachable) as raised:
        wait_for_kafka(Settings(kafka_bootstrap_servers=address), timeout_s=0.5)
    assert 0.5 <= time.monotonic() - started < 3
    assert str(raised.value) == (
        f"Kafka at {address} (KAFKA_BOOTSTRAP_SERVERS) did not answer within 0.5 s "
        "(VELOCITY_CONNECT_TIMEOUT_S): connection refused"
    )


def test_a_listening_server_answers_the_probe_and_is_not_asked_again():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        address = f"127.0.0.1:{server.getsockname()[1]}"
        wait_for_kafka(Settings(kafka_bootstrap_servers=address), timeout_s=1)
    wait_for_kafka(Settings(kafka_bootstrap_servers=address), timeout_s=0.01)  # cached


def test_the_watch_logs_once_when_kafka_goes_and_once_when_it_is_back(
    caplog: pytest.LogCaptureFixture,
):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.listen(16)
    watch = KafkaWatch(f"127.0.0.1:{port}", connect_timeout_s=0.5)
    reachability.install_watch(watch)
    caplog.set_level(logging.INFO, logger="velocity_stream.reachability")
    assert watch.check() and reachability.kafka_health() is None
    server.close()
    for _ in range(5):
        assert not watch.check()
    reason = reachability.kafka_health()
    assert reason is not None and f"127.0.0.1:{port} (KAFKA_BOOTSTRAP_SERVERS)" in reason
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
        again.listen(16)
        for _ in range(3):
            assert watch.check()
    assert reachability.kafka_health() is None
    messages = [r.getMessage() for r in caplog.records if r.name == "velocity_stream.reachability"]
    assert len(messages) == 2, messages
    assert "does not answer: connection refused; the clients keep retrying" in messages[0]
    assert "answers again" in messages[1]


def test_registry_healthz_is_503_with_the_reason_while_kafka_is_gone():
    service = RegistryService(memory_store(), max_schema_bytes=4096)
    with TestClient(registry_app(service)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        watch = KafkaWatch(f"127.0.0.1:{closed_port()}", connect_timeout_s=0.5)
        watch.check()
        reachability.install_watch(watch)
        answer = client.get("/healthz")
        assert answer.status_code == 503
        assert answer.json()["status"] == "kafka_unreachable"
        assert "KAFKA_BOOTSTRAP_SERVERS" in answer.json()["reason"]


def test_repeats_are_dropped_for_the_window_then_counted():
    now = [0.0]
    thinning = RepeatFilter(60, names=("aiokafka",), clock=lambda: now[0])

    def passes(name: str, message: str, *args: object) -> str | None:
        record = logging.LogRecord(name, logging.WARNING, __file__, 1, message, args, None)
        return record.getMessage() if thinning.filter(record) else None

    assert passes("aiokafka.conn", "Connect to %s failed after %dms", "b:1", 0) is not None
    for delay in range(1, 300):
        assert passes("aiokafka.conn", "Connect to %s failed after %dms", "b:1", delay) is None
    assert passes("aiokafka.conn", "another kind of line") is not None
    assert passes("velocity_stream.gateway", "not a client logger") is not None
    assert passes("velocity_stream.gateway", "not a client logger") is not None
    now[0] = 61.0
    assert passes("aiokafka.conn", "Connect to %s failed after %dms", "b:1", 5) == (
        "Connect to b:1 failed after 5ms (299 more like it in the last 60 s)"
    )


def test_information_lines_are_never_thinned():
    # A worker logs its assignment and "Worker ready" after every rebalance: state changes
    # that read alike and must all be seen.
    thinning = RepeatFilter(60, names=("faust",), clock=lambda: 0.0)
    for _ in range(3):
        record = logging.LogRecord(
            "faust.tables.recovery", logging.INFO, __file__, 1, "Worker ready", None, None
        )
        assert thinning.filter(record)
