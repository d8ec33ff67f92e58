"""Every command that needs Kafka (or a registry) against one that is not there: one line on
stderr naming the address and the setting, exit 2, within the connect timeout, no traceback.

The commands run as subprocesses, all at once, against a closed loopback port with
VELOCITY_CONNECT_TIMEOUT_S=1; before the check existed they printed 80-390 librdkafka lines
over 11-23 s, three ended in tracebacks and ``serve`` never exited.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from velocity_stream.trust import KeyRing, SigningKey
from velocity_stream.trust.keys import REVIEW_APP_SIGNER, RULES_SIGNER

CLI = str(Path(sys.executable).with_name("velocity-stream"))
TIMEOUT_S = 1.0
# Interpreter start and the command's imports come on top of the connect timeout.
WALL_LIMIT_S = 30.0


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KAFKA_", "VELOCITY_", "SCHEMA_REGISTRY"))
    }
    review = SigningKey.generate(REVIEW_APP_SIGNER, "test-review")
    rules = SigningKey.generate(RULES_SIGNER, "test-rules")
    env.update(
        {
            "VELOCITY_CONNECT_TIMEOUT_S": str(TIMEOUT_S),
            "VELOCITY_METRICS_ENABLED": "false",
            "VELOCITY_STORE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "VELOCITY_DECISION_VERIFY_KEYS": KeyRing([review.verify_key, rules.verify_key]).text(),
            "VELOCITY_RULE_SIGNING_KEY": rules.text(),
            "VELOCITY_REVIEW_SIGNING_KEY": review.text(),
        }
    )
    return env


KAFKA_COMMANDS = {
    "topics list": ["topics", "list"],
    "topics apply": ["topics", "apply"],
    "dlq list": ["dlq", "list"],
    "produce": ["produce", "QdSignalBundle", "-"],
    "tail": ["tail", "velocity.qd-signal-bundle.v1"],
    "gateway": ["gateway"],
    "consume client360": ["consume", "client360"],
    "consume committer": ["consume", "committer"],
    "registry serve": ["registry", "serve", "--port", "0"],
    "serve": ["serve", "--port", "0"],
}


def run_all(
    commands: dict[str, list[str]], env: dict[str, str]
) -> dict[str, tuple[int, str, str, float]]:
    """Start every command at once; (exit code, stdout, stderr, seconds) of each."""
    started = time.monotonic()
    running = {
        name: subprocess.Popen(
            [CLI, *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, argv in commands.items()
    }
    results: dict[str, tuple[int, str, str, float]] = {}
    for name, process in running.items():
        try:
            out, err = process.communicate(
                timeout=max(1.0, WALL_LIMIT_S - (time.monotonic() - started))
            )
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"{name} still ran after {WALL_LIMIT_S} s: {err[-2000:]}")
        results[name] = (process.returncode, out, err, time.monotonic() - started)
    return results


def test_every_kafka_command_is_one_line_and_exit_2_when_kafka_does_not_answer(tmp_path: Path):
    address = f"127.0.0.1:{closed_port()}"
    env = base_env(tmp_path) | {"KAFKA_BOOTSTRAP_SERVERS": address}
    results = run_all(KAFKA_COMMANDS, env)
    for name, (code, out, err, _seconds) in results.items():
        lines = [line for line in (out + err).splitlines() if line.strip()]
        assert code == 2, f"{name}: exit {code}\n{out}{err}"
        assert "Traceback" not in out + err, f"{name}:\n{err}"
        assert len(lines) <= 2, f"{name}: {len(lines)} lines\n{out}{err}"
        assert err.splitlines()[-1] == (
            f"error: Kafka at {address} (KAFKA_BOOTSTRAP_SERVERS) did not answer within "
            f"{TIMEOUT_S:g} s (VELOCITY_CONNECT_TIMEOUT_S): connection refused"
        ), name


def test_an_unreachable_registry_is_one_line_and_exit_2(tmp_path: Path):
    # Kafka "answers" (a bare listening socket is enough for the start-up check); the
    # registry a command resolves schemas through does not.
    with socket.socket() as kafka:
        kafka.bind(("127.0.0.1", 0))
        kafka.listen(16)
        url = f"http://127.0.0.1:{closed_port()}"
        env = base_env(tmp_path) | {
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka.getsockname()[1]}",
            "SCHEMA_REGISTRY_URL": url,
        }
        commands = {name: KAFKA_COMMANDS[name] for name in ("gateway", "serve", "tail")}
        results = run_all(commands, env)
    for name, (code, out, err, _seconds) in results.items():
        assert code == 2, f"{name}: exit {code}\n{out}{err}"
        assert "Traceback" not in out + err, f"{name}:\n{err}"
        assert err.splitlines() == [
            f"error: the schema registry at {url} (SCHEMA_REGISTRY_URL) did not answer within "
            f"{TIMEOUT_S:g} s (VELOCITY_CONNECT_TIMEOUT_S): connection refused"
        ], name
