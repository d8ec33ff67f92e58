"""Shared fixtures: one Kafka for the whole session, unique names, and settings pointing at it.

The Kafka comes from, in order: ``KAFKA_BOOTSTRAP_SERVERS``; testcontainers' Kafka when a Docker
engine answers; the embedded Tansu broker (memory only). Unit tests never ask for it, so they
never start a broker. In CI (``CI=true``) a broker that cannot start fails the tests that need
it instead of skipping them: a silent skip would hide a broken set-up.

Hypothesis runs the ``ci`` profile unless ``HYPOTHESIS_PROFILE`` names another
(tests/hypothesis_profiles.py).
"""

from __future__ import annotations

import os
import socket
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests import hypothesis_profiles
from velocity_stream.settings import Settings, load_settings

hypothesis_profiles.register()


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: unknown without it
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from tests.xdist_schedule import make_scheduler

    return make_scheduler(config, log)


# Short group timings: Tansu makes a joining consumer wait about half the session timeout,
# and does not wake a waiting fetch, so the fetch wait is the latency floor
# (docs/embedded-broker.md).
TEST_SESSION_TIMEOUT_MS = 6000
TEST_FETCH_WAIT_MAX_MS = 10


@dataclass(frozen=True)
class KafkaUnderTest:
    """Where the session's Kafka is, and its kind: ``env``, ``testcontainers`` or ``embedded``."""

    bootstrap_servers: str
    kind: str
    pid: int | None = None


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _docker_engine_answers(timeout: float = 1.0) -> bool:
    """A quick yes/no: does a Docker engine answer a ping? No Docker SDK import on the no path."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            path = host.removeprefix("unix://")
            if not os.path.exists(path):
                return False
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(path)
                sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                return b" 200 " in sock.recv(64)
        if host.startswith("tcp://"):
            address, _, port = host.removeprefix("tcp://").rstrip("/").rpartition(":")
            with socket.create_connection((address, int(port)), timeout):
                return True
    except (OSError, ValueError):
        return False
    return False


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"no Kafka for integration tests (CI must not skip): {reason}", pytrace=False)
    pytest.skip(f"no Kafka for integration tests: {reason}")


@pytest.fixture(scope="session")
def kafka_under_test() -> Iterator[KafkaUnderTest]:
    configured = load_settings().kafka_bootstrap_servers
    if configured:
        yield KafkaUnderTest(configured, "env")
        return

    if _docker_engine_answers():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from testcontainers.kafka import KafkaContainer
        container = KafkaContainer()
        try:
            container.start()
        except Exception as error:  # any failure here means: try the embedded broker
            warnings.warn(f"testcontainers Kafka failed ({error}); using Tansu", stacklevel=1)
        else:
            try:
                yield KafkaUnderTest(container.get_bootstrap_server(), "testcontainers")
            finally:
                container.stop()
            return

    from velocity_stream.kafka.broker import EmbeddedBroker, pid_is_alive

    broker = EmbeddedBroker()
    try:
        broker.start()
    except Exception as error:
        _unavailable(f"the embedded broker did not start: {error}")
    pid = broker.pid
    try:
        yield KafkaUnderTest(broker.bootstrap_servers, "embedded", pid)
    finally:
        broker.stop()
        assert pid is not None and not pid_is_alive(pid), f"Tansu pid {pid} outlived the session"


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_under_test: KafkaUnderTest) -> str:
    """``host:port`` of the session's Kafka."""
    return kafka_under_test.bootstrap_servers


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def unique_topic() -> Callable[[str], str]:
    """``unique_topic("orders")`` -> a topic name no other test uses."""
    return lambda prefix="test": _unique(f"it.{prefix}")


@pytest.fixture
def unique_group() -> Callable[[str], str]:
    """``unique_group("reader")`` -> a consumer group id no other test uses."""
    return lambda prefix="group": _unique(f"it-{prefix}")


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> Settings:
    """Settings for the session's Kafka, with a per-test topic prefix and short group timings.

    The unique ``topic_prefix`` gives each test its own set of catalog topics, so tests that
    provision or consume family topics never see each other's messages.
    """
    # Everything else (security for a real cluster, registry URL) comes from the environment.
    return load_settings().model_copy(
        update={
            "kafka_bootstrap_servers": kafka_bootstrap,
            "topic_prefix": _unique("it").replace("-", ""),
            "client_id": "velocity-stream-tests",
            "session_timeout_ms": TEST_SESSION_TIMEOUT_MS,
            "fetch_wait_max_ms": TEST_FETCH_WAIT_MAX_MS,
        }
    )
