"""``serve`` losing its Kafka while it runs: /healthz turns 503 with the reason, one line says
Kafka went, none floods stderr, and once a broker answers on the port again /healthz is 200
and one line says so. The broker is the embedded one, stopped and started on a fixed port.

Before: ``serve`` against a Kafka that was not there logged 3,500 lines in 75 s and its
/healthz answered 200 throughout.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from velocity_stream.kafka.broker import EmbeddedBroker, free_port
from velocity_stream.trust import SigningKey
from velocity_stream.trust.keys import REVIEW_APP_SIGNER

CLI = str(Path(sys.executable).with_name("velocity-stream"))


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def health(port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
    except httpx.HTTPError:
        return 0


def test_serve_is_unhealthy_while_kafka_is_gone_and_healthy_again_after(tmp_path: Path):
    kafka_port, http_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KAFKA_", "VELOCITY_", "SCHEMA_REGISTRY"))
    }
    # A bare listening socket stands in for the registry: serve only needs it to decode.
    registry = socket.socket()
    registry.bind(("127.0.0.1", 0))
    registry.listen(16)
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
            "SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{registry.getsockname()[1]}",
            "VELOCITY_REVIEW_SIGNING_KEY": SigningKey.generate(REVIEW_APP_SIGNER, "t").text(),
            "VELOCITY_STORE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "VELOCITY_KAFKA_WATCH_INTERVAL_S": "0.5",
            "VELOCITY_CONNECT_TIMEOUT_S": "20",
        }
    )
    broker = EmbeddedBroker(port=kafka_port).start()
    with tempfile.TemporaryFile("w+") as stderr:
        serve = subprocess.Popen(
            [CLI, "serve", "--port", str(http_port), "--snapshots", "topic"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
        try:
            wait_until(lambda: health(http_port) == 200, 30, "serve healthy on a broker")
            broker.stop()
            wait_until(lambda: health(http_port) == 503, 15, "503 once Kafka is gone")
            answer = httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=2).json()
            assert answer["status"] == "kafka_unreachable"
            assert f"127.0.0.1:{kafka_port} (KAFKA_BOOTSTRAP_SERVERS)" in answer["reason"]
            time.sleep(10)  # what librdkafka's reconnects would have flooded stderr with
            assert health(http_port) == 503
            broker = EmbeddedBroker(port=kafka_port).start()
            wait_until(lambda: health(http_port) == 200, 15, "200 once a broker answers again")
        finally:
            serve.terminate()
            try:
                serve.wait(15)
            except subprocess.TimeoutExpired:
                serve.kill()
            broker.stop()
            registry.close()
        stderr.seek(0)
        lines = [line for line in stderr.read().splitlines() if line.strip()]
    assert "Traceback" not in "\n".join(lines)
    went = [line for line in lines if "does not answer" in line]
    back = [line for line in lines if "answers again" in line]
    assert len(went) == 1 and len(back) == 1, "\n".join(lines)
    assert len(lines) <= 40, f"{len(lines)} lines:\n" + "\n".join(lines)
