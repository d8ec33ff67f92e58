"""The embedded Tansu broker: answers Kafka, and never outlives its owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from velocity_stream.kafka.broker import (
    MEMORY_ONLY_WARNING,
    BrokerStartError,
    EmbeddedBroker,
    answers_metadata,
    free_port,
    pid_is_alive,
    resolve_broker_binary,
)


def _tansu_children_of(parent: int) -> list[int]:
    """Live (non-zombie) processes whose parent is ``parent`` and whose binary is Tansu."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            exe = os.readlink(entry / "exe")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, ppid = fields[0], int(fields[1])
        if ppid == parent and state != "Z" and "tansu" in Path(exe).name:
            found.append(int(entry.name))
    return found


def _wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_is_alive(pid):
            return True
        time.sleep(0.05)
    return False


pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

# Runs the ``broker`` command group the way ``velocity-stream broker`` does.
_CLI = (
    "import argparse, sys\n"
    "from velocity_stream.cli import kafka_cmd\n"
    "parser = argparse.ArgumentParser()\n"
    "kafka_cmd.register(parser.add_subparsers())\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.handler(args))\n"
)


def test_started_broker_answers_metadata_and_stop_leaves_no_process(caplog):
    with caplog.at_level("WARNING"), EmbeddedBroker() as broker:
        pid = broker.pid
        assert pid is not None and pid_is_alive(pid)
        metadata = AdminClient({"bootstrap.servers": broker.bootstrap_servers}).list_topics(
            timeout=5
        )
        assert len(metadata.brokers) == 1
        assert broker.bootstrap_servers.startswith("127.0.0.1:")
    assert MEMORY_ONLY_WARNING in caplog.text
    assert not pid_is_alive(pid)
    assert pid not in _tansu_children_of(os.getpid())
    assert not broker.is_running
    with pytest.raises(BrokerStartError):
        _ = broker.bootstrap_servers


def test_broker_listens_on_the_requested_port():
    port = free_port()
    with EmbeddedBroker(port=port) as broker:
        assert broker.bootstrap_servers == f"127.0.0.1:{port}"
        assert answers_metadata(f"127.0.0.1:{port}", timeout=5)


def test_a_taken_port_is_a_start_error_with_the_broker_output():
    with EmbeddedBroker() as first:
        port = int(first.bootstrap_servers.rsplit(":", 1)[1])
        before = _tansu_children_of(os.getpid())  # may include the session's broker
        assert first.pid in before
        second = EmbeddedBroker(port=port, startup_timeout=5)
        with pytest.raises(BrokerStartError) as excinfo:
            second.start()
        assert not second.is_running
        assert "another broker" in str(excinfo.value)
        assert _tansu_children_of(os.getpid()) == before
        assert first.is_running


def test_stop_is_idempotent():
    broker = EmbeddedBroker().start()
    broker.stop()
    broker.stop()
    assert not broker.is_running


def test_broker_started_from_a_finished_thread_keeps_running():
    # PR_SET_PDEATHSIG follows the forking thread; the spawner thread keeps it alive.
    import threading

    started: list[EmbeddedBroker] = []
    worker = threading.Thread(target=lambda: started.append(EmbeddedBroker().start()))
    worker.start()
    worker.join()
    broker = started[0]
    try:
        time.sleep(0.3)
        assert broker.is_running
        assert answers_metadata(broker.bootstrap_servers, timeout=5)
    finally:
        broker.stop()


@pytest.mark.parametrize("how", ["sigkill", "sigterm", "normal_exit"])
def test_broker_dies_with_its_parent_process(how: str):
    # The parent prints the broker pid, then waits for a line on stdin: closing stdin lets
    # it exit normally (atexit), or we signal it while it waits.
    code = (
        "import sys; from velocity_stream.kafka.broker import EmbeddedBroker; "
        "b = EmbeddedBroker().start(); print(b.pid, flush=True); sys.stdin.readline()"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        assert pid_is_alive(pid)
        if how == "sigkill":
            parent.send_signal(signal.SIGKILL)
        elif how == "sigterm":
            parent.send_signal(signal.SIGTERM)
        else:
            assert parent.stdin is not None
            parent.stdin.close()
        parent.wait(10)
        assert _wait_gone(pid), f"Tansu pid {pid} outlived its parent ({how})"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_binary_resolves_and_runs():
    binary = resolve_broker_binary()
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0
    assert "tansu" in out.stdout.lower()


def test_cli_broker_prints_bootstrap_and_warning_and_stops_on_sigterm():
    parent = subprocess.Popen(
        [sys.executable, "-c", _CLI, "broker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        first = parent.stdout.readline()
        assert first.startswith("bootstrap servers: 127.0.0.1:")
        bootstrap = first.split(":", 1)[1].strip()
        assert answers_metadata(bootstrap, timeout=5)
        parent.send_signal(signal.SIGTERM)
        _, err = parent.communicate(timeout=10)
        assert parent.returncode == 0
        assert "memory only" in err
        assert not answers_metadata(bootstrap, timeout=1)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
