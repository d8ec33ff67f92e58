"""Fixtures for secure-connection tests: a throwaway PKI, a TLS front for Tansu, Tansu brokers.

What the embedded broker (Tansu 0.6.0) supports, measured on this machine:

- TLS: no. ``--cert`` with ``--key`` is refused by its own argument parser ("cannot be used
  with"); ``--cert`` alone (or the key from the ``KEY`` variable) leaves the listener in plain
  TCP, reading a TLS ClientHello as a Kafka frame. So TLS is terminated in front of Tansu by
  :class:`TlsFront`, a small TLS proxy that can require client certificates (mutual TLS). The
  clients under test do real TLS: certificate chain, host name and client certificate checks.
- SASL: with ``--authentication`` Tansu offers SCRAM-SHA-512 (and SCRAM-SHA-256), not PLAIN,
  and refuses every other request before authentication. Users are created with
  ``tansu user create``, itself refused once authentication is on; with the memory storage (the
  only one this binary has) a broker with authentication therefore has no users. A client gets
  as far as the SCRAM exchange and is answered ``unknown-user``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.integration.processes import terminate
from velocity_stream.kafka.broker import free_port, resolve_broker_binary

KEY_PASSWORD = "client-key-pass"


# --- a throwaway PKI ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """File paths of a CA, a server certificate for 127.0.0.1/localhost, a client certificate
    with an encrypted key, and a second CA that signed none of them."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path  # encrypted with KEY_PASSWORD
    other_ca: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    sans: list[x509.GeneralName] | None = None,
    usage: list[x509.ObjectIdentifier] | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, *blocks: bytes) -> Path:
    path.write_bytes(b"".join(blocks))
    return path


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    ca_key, other_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = _certificate("velocity test CA", ca_key, "velocity test CA", ca_key, ca=True)
    other = _certificate("some other CA", other_key, "some other CA", other_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(
        "localhost",
        server_key,
        "velocity test CA",
        ca_key,
        sans=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        usage=[ExtendedKeyUsageOID.SERVER_AUTH],
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate(
        "velocity-gateway",
        client_key,
        "velocity test CA",
        ca_key,
        usage=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    return Pki(
        ca=_write(root / "ca.pem", _pem(ca)),
        server_cert=_write(root / "server.pem", _pem(server)),
        server_key=_write(root / "server.key", _key_pem(server_key)),
        client_cert=_write(root / "client.pem", _pem(client)),
        client_key=_write(root / "client.key", _key_pem(client_key, KEY_PASSWORD)),
        other_ca=_write(root / "other-ca.pem", _pem(other)),
    )


# --- TLS in front of Tansu ---------------------------------------------------------------------


class TlsFront:
    """A TLS-terminating TCP proxy on 127.0.0.1 (its own thread and event loop).

    ``require_client_cert`` makes it mutual TLS: a client without a certificate signed by the
    test CA is dropped during the handshake.
    """

    def __init__(self, pki: Pki, upstream_port: int, *, require_client_cert: bool) -> None:
        self.port = free_port()
        self.upstream_port = upstream_port
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pki.server_cert, pki.server_key)
        if require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(pki.ca)
        self._context = context
        # Sessions that completed the TLS handshake (a refused client never gets one).
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tls-front", daemon=True)

    def start(self) -> TlsFront:
        self._thread.start()
        assert self._ready.wait(10), "TLS front did not start"
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self._context)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.run_until_complete(server.wait_closed())
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


# --- Tansu brokers started by the test -----------------------------------------------------------


class TansuProcess:
    """A Tansu broker listening on one port and advertising another (the TLS front's)."""

    def __init__(self, *, listen_port: int, advertised_port: int, authentication: bool) -> None:
        self.listen_port = listen_port
        self.cluster_id = f"velocity-security-{uuid.uuid4().hex[:8]}"
        command = [
            resolve_broker_binary(),
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{listen_port}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{advertised_port}",
            "--storage-engine",
            "memory://tansu/",
            "--cluster-id",
            self.cluster_id,
        ]
        if authentication:
            command.append("--authentication")
        self.process = subprocess.Popen(
            command,
            env={},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not _accepts(listen_port):
            assert self.process.poll() is None, "tansu exited at start"
            assert time.monotonic() < deadline, "tansu never opened its port"
            time.sleep(0.02)

    def stop(self) -> None:
        terminate(self.process, 5)


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


@dataclass
class TlsCluster:
    """Tansu behind a TLS front: clients bootstrap at ``bootstrap`` with TLS."""

    broker: TansuProcess
    front: TlsFront

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.front.port}"


@contextlib.contextmanager
def tls_cluster(pki: Pki, *, mutual: bool, authentication: bool = False) -> Iterator[TlsCluster]:
    listen = free_port()
    front = TlsFront(pki, listen, require_client_cert=mutual)
    broker = TansuProcess(
        listen_port=listen, advertised_port=front.port, authentication=authentication
    )
    front.start()
    try:
        yield TlsCluster(broker, front)
    finally:
        front.stop()
        broker.stop()


@pytest.fixture
def tls_only(pki: Pki) -> Iterator[TlsCluster]:
    with tls_cluster(pki, mutual=False) as cluster:
        yield cluster


@pytest.fixture
def mutual_tls(pki: Pki) -> Iterator[TlsCluster]:
    with tls_cluster(pki, mutual=True) as cluster:
        yield cluster


@pytest.fixture
def scram_broker() -> Iterator[TansuProcess]:
    """A plain-TCP Tansu with ``--authentication`` (advertising its own port)."""
    port = free_port()
    broker = TansuProcess(listen_port=port, advertised_port=port, authentication=True)
    try:
        yield broker
    finally:
        broker.stop()
