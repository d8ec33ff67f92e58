"""`velocity-stream dev` checks every fixed port it binds before starting anything, and prints
the settings another shell needs to use its stack (no signing key among them)."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from consumers.sink.registry import SINKS
from velocity_stream.devstack.stack import (
    DevOptions,
    PortBusy,
    check_ports,
    dev_settings,
    export_lines,
    ports_to_bind,
)
from velocity_stream.settings import Settings


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_the_review_port_and_each_workers_metrics_port_are_checked() -> None:
    settings = Settings(VELOCITY_METRICS_PORT=9500)
    options = DevOptions(port=8089)
    embedded = ports_to_bind(settings, options, embedded_broker=True)
    assert embedded == [
        ("review app", "127.0.0.1", 8089),
        ("gateway metrics", "127.0.0.1", 9501),  # the broker child comes first
        ("client360 metrics", "127.0.0.1", 9502),
        ("committer metrics", "127.0.0.1", 9503),
        # then every sink consumer, in the order of their table
        *((f"{entry.name} metrics", "127.0.0.1", 9504 + i) for i, entry in enumerate(SINKS)),
    ]
    given_kafka = ports_to_bind(settings, options, embedded_broker=False)
    ports = [port for _, _, port in given_kafka]
    assert ports == [8089, 9500, 9501, 9502, *(9503 + i for i in range(len(SINKS)))]
    off = Settings(VELOCITY_METRICS_ENABLED="false")
    assert ports_to_bind(off, options, embedded_broker=True) == [("review app", "127.0.0.1", 8089)]


def test_a_busy_port_is_named_with_what_moves_it(listening: int) -> None:
    with pytest.raises(PortBusy, match=f"port {listening} on 127.0.0.1 \\(review app\\)"):
        check_ports([("review app", "127.0.0.1", listening)])
    with pytest.raises(PortBusy, match="VELOCITY_METRICS_PORT"):
        check_ports([("gateway metrics", "127.0.0.1", listening)])


def test_export_lines_carry_what_another_shell_needs_and_no_secret(tmp_path: Path) -> None:
    settings = dev_settings(Settings(), tmp_path).model_copy(
        update={
            "kafka_bootstrap_servers": "127.0.0.1:40001",
            "schema_registry_url": "http://127.0.0.1:40002",
            "sasl_password": SecretStr("hunter2"),
        }
    )
    lines = export_lines(settings)
    exported = dict(shlex.split(line)[1].split("=", 1) for line in lines)
    assert exported["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:40001"
    assert exported["SCHEMA_REGISTRY_URL"] == "http://127.0.0.1:40002"
    assert exported["VELOCITY_SCHEMAS_DIR"] == str(settings.schemas_dir)
    assert exported["VELOCITY_STORE_URL"] == settings.store_url
    text = "\n".join(lines)
    assert settings.review_signing_key is not None and settings.rule_signing_key is not None
    for secret in (settings.review_signing_key, settings.rule_signing_key):
        assert secret.get_secret_value() not in text
    assert "hunter2" not in text and "SIGNING_KEY" not in text
    assert not any(token in text for token in settings.reviewer_tokens)


def test_dev_on_a_busy_review_port_exits_2_in_one_line_at_once(listening: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "velocity_stream.cli.main", "dev", "--port", str(listening)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and f"port {listening}" in done.stderr
    assert "embedded broker" not in done.stdout  # nothing was started
    assert time.monotonic() - started < 15
