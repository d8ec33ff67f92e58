"""A 200 MB request body against the real servers, as processes: `velocity-stream registry
serve` and `velocity-stream serve` (the review app). The body is generated while it is sent;
the servers must refuse it without holding it: their RSS stays flat and they stop reading
after the first few MB (the client's sends fail once the server closes)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import signing
from tests.integration.limits.bodies import MIB, Outcome, send_big_body, vm_kib
from tests.integration.processes import terminate
from velocity_stream.kafka.broker import free_port

pytestmark = pytest.mark.integration

BODY = 200 * MIB
MAX_GROWTH_KIB = 30 * 1024
CLI = str(Path(sys.executable).with_name("velocity-stream"))
TOKEN = "it-limits"
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
REGISTRY_JSON = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def _wait_for_port(process: subprocess.Popen[bytes], port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {timeout} s")


def _start(args: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([CLI, *args], env={**os.environ, **env})
    try:
        _wait_for_port(process, port)
    except BaseException:
        terminate(process, 10)
        raise
    return process


@pytest.fixture(scope="module")
def registry() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    process = _start(["registry", "serve", "--memory", "--port", str(port)], port, {})
    yield process, port
    terminate(process, 10)


@pytest.fixture(scope="module")
def review(
    kafka_bootstrap: str, registry: tuple[subprocess.Popen[bytes], int]
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = {
        **signing.env(),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{registry[1]}",
        "VELOCITY_REVIEWER_TOKENS": f'{{"{TOKEN}": "human:sayan"}}',
        "VELOCITY_TOPIC_PREFIX": f"itlimits{uuid.uuid4().hex[:8]}",
    }
    args = ["serve", "--port", str(port), "--snapshots", "topic"]
    process = _start(args, port, env)
    yield process, port
    terminate(process, 15)


def _flat(pid: int, port: int, path: str, headers: dict[str, str], chunked: bool) -> Outcome:
    """Send the body; the server's RSS may not grow more than MAX_GROWTH_KIB."""
    time.sleep(0.5)  # let the server settle after starting or after the previous request
    before = vm_kib(pid)
    outcome = send_big_body("127.0.0.1", port, path, BODY, headers, chunked=chunked)
    time.sleep(0.5)
    after = vm_kib(pid)
    grown = after - before
    assert grown < MAX_GROWTH_KIB, f"RSS {before} -> {after} KiB on a 200 MB body to {path}"
    assert outcome.sent < 32 * MIB, f"the server read {outcome.sent // MIB} MiB of it"
    return outcome


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_the_registry_refuses_200_mb_without_holding_it(
    registry: tuple[subprocess.Popen[bytes], int], chunked: bool
) -> None:
    process, port = registry
    outcome = _flat(process.pid, port, "/subjects/s/versions", REGISTRY_JSON, chunked)
    assert outcome.status in (413, 0)  # 0: the close reset the connection before the answer
    if outcome.status:
        assert b'"error_code":413' in outcome.response


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/v1/decisions", JSON, 401),  # no token: refused before reading
        ("/api/v1/decisions", {**JSON, "Authorization": f"Bearer {TOKEN}"}, 413),
        ("/queue/decide", FORM, 401),
        ("/login", FORM, 413),  # no login needed, still bounded
    ],
    ids=["api-unauthenticated", "api-authenticated", "page-unauthenticated", "login"],
)
def test_the_review_app_refuses_200_mb_without_holding_it(
    review: tuple[subprocess.Popen[bytes], int],
    path: str,
    headers: dict[str, str],
    status: int,
) -> None:
    process, port = review
    outcome = _flat(process.pid, port, path, headers, chunked=True)
    assert outcome.status in (status, 0)


def test_the_review_app_refuses_a_declared_200_mb(
    review: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = review
    headers = {**JSON, "Authorization": f"Bearer {TOKEN}"}
    outcome = _flat(process.pid, port, "/api/v1/decisions", headers, chunked=False)
    assert outcome.status in (413, 0)
    # and the server still answers
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
