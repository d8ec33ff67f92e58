"""The schema registry over HTTPS with basic auth, live, from both registry clients.

The server is a small Confluent-API stand-in (two read endpoints) behind real TLS with a test
CA and real basic-auth checks: what is under test is how our settings reach the clients, not
the registry.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from pydantic import SecretStr

from velocity_stream.kafka.security import confluent_registry_config, registry_http_kwargs
from velocity_stream.registry.client import RegistryClient, RegistryUnavailable
from velocity_stream.registry.errors import RegistryRequestError
from velocity_stream.settings import Settings

from .conftest import Pki

pytestmark = pytest.mark.integration

USER, PASSWORD = "registry-reader", "r3g-pass"
SCHEMA = json.dumps({"type": "record", "name": "Ping", "fields": [{"name": "a", "type": "int"}]})


class _Registry(BaseHTTPRequestHandler):
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    seen_auth: list[str | None] = []

    def do_GET(self) -> None:
        self.seen_auth.append(self.headers.get("Authorization"))
        path = urlsplit(self.path).path.strip("/")
        if self.headers.get("Authorization") != self.expected:
            self._reply(401, {"error_code": 401, "message": "Unauthorized"})
        elif path == "subjects":
            self._reply(200, ["velocity.ping.v1-value"])
        elif path == "schemas/ids/1":
            self._reply(200, {"schema": SCHEMA})
        else:
            self._reply(404, {"error_code": 40403, "message": "Schema not found"})

    def _reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def https_registry(pki: Pki) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Registry.seen_auth = []
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def registry_settings(url: str, pki: Pki, *, password: str = PASSWORD, ca: bool = True) -> Settings:
    return Settings.model_validate(
        {
            "schema_registry_url": url,
            "schema_registry_username": USER,
            "schema_registry_password": SecretStr(password),
            "schema_registry_ca_location": str(pki.ca) if ca else None,
        }
    )


def test_our_client_reads_over_tls_with_basic_auth(https_registry: str, pki: Pki):
    with RegistryClient.from_settings(registry_settings(https_registry, pki)) as client:
        assert client.subjects() == ["velocity.ping.v1-value"]
        assert json.loads(client.schema_by_id(1)) == json.loads(SCHEMA)
    assert set(_Registry.seen_auth) == {_Registry.expected}


def test_the_security_mapping_gives_httpx_the_same_auth_and_trust(https_registry: str, pki: Pki):
    kwargs = registry_http_kwargs(registry_settings(https_registry, pki))
    with RegistryClient(https_registry, **kwargs) as client:  # type: ignore[arg-type]
        assert client.subjects() == ["velocity.ping.v1-value"]


def test_a_wrong_password_is_a_401_refusal(https_registry: str, pki: Pki):
    settings = registry_settings(https_registry, pki, password="wrong")
    with (
        RegistryClient.from_settings(settings) as client,
        pytest.raises(RegistryRequestError) as caught,
    ):
        client.subjects()
    assert caught.value.http_status == 401
    assert "wrong" not in str(caught.value)


def test_without_the_ca_the_registry_certificate_is_not_trusted(https_registry: str, pki: Pki):
    settings = registry_settings(https_registry, pki, ca=False)
    with (
        RegistryClient.from_settings(settings) as client,
        pytest.raises(RegistryUnavailable) as caught,
    ):
        client.subjects()
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value) or "certificate" in str(caught.value)
    assert _Registry.seen_auth == []  # no credentials ever left before the server was trusted


def test_confluents_client_reads_with_the_mapped_config(https_registry: str, pki: Pki):
    config = confluent_registry_config(registry_settings(https_registry, pki))
    assert PASSWORD not in repr(config)
    client = SchemaRegistryClient(dict(config))
    assert client.get_subjects() == ["velocity.ping.v1-value"]
    assert json.loads(client.get_schema(1).schema_str) == json.loads(SCHEMA)
