"""`velocity-stream dev` as a user runs it on a fresh machine: no Kafka, no registry, no
database configured. It starts everything on the embedded defaults, prints the URLs and a
token that works, and a Ctrl-C stops every process it started and removes its files."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from consumers.sink.registry import SINKS
from tests.integration.ports import free_port_run
from velocity_stream.devstack.seed import demo_data
from velocity_stream.kafka.broker import free_port, pid_is_alive

pytestmark = pytest.mark.integration

START_TIMEOUT_S = 240.0
# Settings the test must not inherit: the point is the embedded defaults.
UNSET = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "SCHEMA_REGISTRY_URL",
    "VELOCITY_STORE_URL",
    "VELOCITY_REVIEWER_TOKENS",
    "VELOCITY_TOPIC_PREFIX",
)


def descendants(root: int) -> set[int]:
    """Every live process below ``root`` (Linux /proc)."""
    children: dict[int, set[int]] = defaultdict(set)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children[int(fields[1])].add(int(stat.parent.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class Output:
    """The dev command's output, read as it comes."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, needle: str, process: subprocess.Popen[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            if process.poll() is not None:
                raise AssertionError(f"dev exited with {process.returncode}:\n{self.text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {needle!r} within {timeout} s:\n{self.text}")
            time.sleep(0.2)


def wait_for_rows(database: Path, table: str, count: int, timeout: float) -> bool:
    """Whether ``table`` of the SQLite ``database`` holds ``count`` rows within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with closing(sqlite3.connect(database)) as conn:
                if conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == count:
                    return True
        except sqlite3.OperationalError:  # not created yet, or busy
            pass
        time.sleep(0.5)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_dev_runs_everything_on_embedded_defaults_and_ctrl_c_stops_it_all(tmp_path: Path):
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    # Each worker serves metrics on the port after the previous one's; the default 9400 run
    # may still be held by a process another test is stopping, and dev refuses a busy port.
    env["VELOCITY_METRICS_PORT"] = str(free_port_run(5 + len(SINKS)))
    process = subprocess.Popen(
        [sys.executable, "-m", "velocity_stream.cli.main", "dev", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A terminal's Ctrl-C signals the whole foreground process group: so does this test.
        start_new_session=True,
    )
    output = Output(process.stdout)
    started: set[int] = set()
    try:
        output.wait_for("Velocity Stream is running", process, START_TIMEOUT_S)
        started = descendants(process.pid)
        # broker command + Tansu, gateway, client360, committer, every sink consumer
        assert len(started) >= 5 + len(SINKS), output.text
        token = re.search(r"log in with\s+(\S+)", output.text)
        workdir = re.search(r"logs\s+(\S+)/\*\.log", output.text)
        assert token and workdir, output.text
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
        queue = httpx.get(
            f"{base}/api/v1/proposals", headers={"Authorization": f"Bearer {token.group(1)}"}
        )
        assert queue.status_code == 200 and len(queue.json()) == 5
        assert Path(workdir.group(1)).is_dir()
        # the sink consumers run too: the demo's interactions reach the intel store
        store = Path(workdir.group(1)) / "read_models.db"
        interactions = sum(
            1 for a in demo_data(datetime.now(UTC)).artifacts if a.FAMILY == "InteractionBundle"
        )
        assert wait_for_rows(store, "intel_interactions", interactions, 60), output.text
        # ...and the demo's proposals reach the governance store
        proposals = sum(
            1
            for a in demo_data(datetime.now(UTC)).artifacts
            if a.FAMILY in ("NormalizedEntityProposal", "OracleWritebackProposal")
        )
        assert wait_for_rows(store, "gov_proposals", proposals, 60), output.text

        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(90) == 0, output.text
        assert "stopping:" in output.text and "embedded broker, done." in output.text
        deadline = time.monotonic() + 10
        while any(pid_is_alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in started if pid_is_alive(pid)], "orphaned processes"
        assert not Path(workdir.group(1)).exists()
        assert list(tmp_path.iterdir()) == []  # nothing written where it was started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        for pid in started | descendants(process.pid):
            if pid_is_alive(pid):
                os.kill(pid, signal.SIGKILL)
