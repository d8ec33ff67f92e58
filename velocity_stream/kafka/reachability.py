"""Is Kafka (or the schema registry) there? A bounded start-up probe and a watch for later.

A client pointed at nothing does not say so: librdkafka reconnects every few milliseconds and
logs each attempt, aiokafka and faust retry in their own loops. So before a command builds any
client it waits, at most ``VELOCITY_CONNECT_TIMEOUT_S``, for one bootstrap server (or the
registry) to accept a TCP connection, and otherwise stops with one line naming the address and
the setting it came from. A long-running role then keeps a :class:`KafkaWatch`: one log line
when Kafka goes, one when it is back, and a health answer its HTTP endpoint can report.

The probe is a TCP connect, not a Kafka request: it needs no client library, no credentials
and costs nothing when Kafka is there; the clients' own requests come right after it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from velocity_stream.errors import VelocityError
from velocity_stream.settings import Settings

log = logging.getLogger("velocity_stream.reachability")

KAFKA_SETTING = "KAFKA_BOOTSTRAP_SERVERS"
REGISTRY_SETTING = "SCHEMA_REGISTRY_URL"
TIMEOUT_SETTING = "VELOCITY_CONNECT_TIMEOUT_S"

Address = tuple[str, int]

# Bootstrap lists that answered once in this process: later clients do not wait again.
_answered: set[str] = set()
_answered_lock = threading.Lock()


class Unreachable(VelocityError):
    """Kafka or the registry did not accept a connection within the connect timeout."""

    def __init__(self, what: str, address: str, setting: str, timeout_s: float, reason: str):
        self.what = what
        self.address = address
        self.setting = setting
        self.timeout_s = timeout_s
        self.reason = reason
        super().__init__(
            f"{what} at {address} ({setting}) did not answer within {timeout_s:g} s "
            f"({TIMEOUT_SETTING}): {reason}"
        )


class KafkaUnreachable(Unreachable):
    pass


class RegistryUnreachable(Unreachable):
    pass


def bootstrap_addresses(servers: str) -> list[Address]:
    """``host:port`` pairs of a bootstrap list (``PLAINTEXT://`` prefixes and ``[v6]`` allowed;
    a missing port is Kafka's 9092)."""
    found: list[Address] = []
    for item in servers.split(","):
        item = item.strip()
        if "://" in item:
            item = item.split("://", 1)[1]
        if not item:
            continue
        found.append(_host_port(item, 9092))
    return found


def registry_address(url: str) -> Address:
    """The host and port a registry URL connects to."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return (parts.hostname or "127.0.0.1", parts.port or default)


def _host_port(text: str, default_port: int) -> Address:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            host, port = text, ""
    try:
        return (host, int(port) if port else default_port)
    except ValueError:
        return (host, default_port)


def connect_once(addresses: Sequence[Address], timeout_s: float) -> str | None:
    """None when one of ``addresses`` accepts a TCP connection, else why the last did not."""
    reason = "no address to connect to"
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=max(timeout_s, 0.05)):
                return None
        except OSError as error:
            reason = _describe(error)
    return reason


def _describe(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError | socket.timeout):
        return "connect timed out"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the host ({error.strerror or error})"
    return error.strerror or str(error) or type(error).__name__


def wait_for(
    addresses: Sequence[Address],
    timeout_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Retry :func:`connect_once` with backoff until one connects (None) or ``timeout_s``
    passes (the last reason)."""
    deadline = clock() + timeout_s
    pause = 0.1
    while True:
        remaining = deadline - clock()
        reason = connect_once(addresses, min(2.0, max(remaining, 0.05)))
        if reason is None:
            return None
        remaining = deadline - clock()
        if remaining <= 0:
            return reason
        sleep(min(pause, remaining))
        pause = min(pause * 2, 1.0)


def wait_for_kafka(settings: Settings, timeout_s: float | None = None) -> None:
    """Return once a bootstrap server accepts a connection; :class:`KafkaUnreachable` after
    ``timeout_s`` (default ``VELOCITY_CONNECT_TIMEOUT_S``). Unset servers are not checked (the
    clients' own ConfigError says how to set them). Free after the first success."""
    servers = (settings.kafka_bootstrap_servers or "").strip()
    if not servers:
        return
    with _answered_lock:
        if servers in _answered:
            return
    timeout = settings.connect_timeout_s if timeout_s is None else timeout_s
    reason = wait_for(bootstrap_addresses(servers), timeout)
    if reason is not None:
        raise KafkaUnreachable("Kafka", servers, KAFKA_SETTING, timeout, reason)
    with _answered_lock:
        _answered.add(servers)


def wait_for_registry(settings: Settings, url: str, timeout_s: float | None = None) -> None:
    """Return once the registry at ``url`` accepts a connection; :class:`RegistryUnreachable`
    after ``timeout_s`` (default ``VELOCITY_CONNECT_TIMEOUT_S``)."""
    timeout = settings.connect_timeout_s if timeout_s is None else timeout_s
    reason = wait_for([registry_address(url)], timeout)
    if reason is not None:
        raise RegistryUnreachable("the schema registry", url, REGISTRY_SETTING, timeout, reason)


class KafkaWatch:
    """Probes the bootstrap servers from a daemon thread and logs the transitions only: one
    warning when Kafka stops answering, one line when it answers again. ``healthy`` and
    ``reason`` are what a health endpoint reports. The clients keep retrying on their own
    (librdkafka and aiokafka reconnect with backoff); the watch only says what is going on."""

    def __init__(
        self,
        servers: str,
        *,
        interval_s: float = 5.0,
        down_interval_s: float = 1.0,
        connect_timeout_s: float = 2.0,
    ) -> None:
        self.servers = servers
        self.addresses = bootstrap_addresses(servers)
        self.interval_s = interval_s
        self.down_interval_s = down_interval_s
        self.connect_timeout_s = connect_timeout_s
        self.healthy = True
        self.reason: str | None = None
        self.down_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Probe once, log a transition if there is one; whether Kafka answered."""
        reason = connect_once(self.addresses, self.connect_timeout_s)
        if reason is None and not self.healthy:
            gone = time.monotonic() - (self.down_since or time.monotonic())
            self.healthy, self.reason, self.down_since = True, None, None
            log.warning(
                "Kafka at %s (%s) answers again after %.0f s", self.servers, KAFKA_SETTING, gone
            )
        elif reason is not None and self.healthy:
            self.healthy, self.down_since = False, time.monotonic()
            self.reason = f"Kafka at {self.servers} ({KAFKA_SETTING}) does not answer: {reason}"
            log.warning("%s; the clients keep retrying", self.reason)
        elif reason is not None:
            self.reason = f"Kafka at {self.servers} ({KAFKA_SETTING}) does not answer: {reason}"
        return reason is None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check()
            pause = self.interval_s if self.healthy else self.down_interval_s
            self._stop.wait(pause)

    def start(self) -> KafkaWatch:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kafka-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.connect_timeout_s + 1)
            self._thread = None


_watch: KafkaWatch | None = None


def start_watch(settings: Settings) -> KafkaWatch | None:
    """The process's watch over its Kafka (started once); None when no servers are set."""
    global _watch
    servers = (settings.kafka_bootstrap_servers or "").strip()
    if not servers:
        return None
    if _watch is None or _watch.servers != servers:
        if _watch is not None:
            _watch.stop()
        _watch = KafkaWatch(servers, interval_s=settings.kafka_watch_interval_s).start()
    return _watch


def install_watch(watch: KafkaWatch | None) -> None:
    """Make ``watch`` the process's watch (tests; None removes it)."""
    global _watch
    _watch = watch


def kafka_health() -> str | None:
    """None while the process's Kafka answers (or nobody watches it); otherwise why not."""
    watch = _watch
    if watch is None or watch.healthy:
        return None
    return watch.reason or f"Kafka at {watch.servers} ({KAFKA_SETTING}) does not answer"
