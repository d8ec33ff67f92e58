"""The registry-backed resolver: cached by id and by schema, and decoding through an outage."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.errors import ReasonCode, RegistryError, SerdeError
from velocity_stream.registry.api import create_app
from velocity_stream.registry.client import RegistryClient, RegistrySchemaResolver
from velocity_stream.registry.registration import Outcome, register_catalog, subject_plan
from velocity_stream.registry.service import RegistryService
from velocity_stream.registry.store import memory_store
from velocity_stream.serde import AvroSerde, frame

ROOT = Path(__file__).resolve().parents[3] / "avro_schemas"
CATALOG = load_catalog(ROOT)


class Switch(httpx.BaseTransport):
    """Forwards to the in-process registry until switched off; counts what reaches it."""

    def __init__(self, registry: TestClient) -> None:
        self.registry = registry
        self.up = True
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if not self.up:
            raise httpx.ConnectError("registry is down", request=request)
        answer = self.registry.request(
            request.method,
            request.url.raw_path.decode(),
            content=request.read(),
            headers=dict(request.headers),
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.fixture
def registry() -> TestClient:
    return TestClient(create_app(RegistryService(memory_store())))


def client_over(registry: TestClient) -> tuple[RegistryClient, Switch]:
    switch = Switch(registry)
    http = httpx.Client(base_url="http://registry.test", transport=switch)
    return RegistryClient("http://registry.test", http=http), switch


def test_encoding_and_decoding_many_messages_costs_one_call(registry: TestClient) -> None:
    client, switch = client_over(registry)
    resolver = RegistrySchemaResolver(client)
    serde = AvroSerde(CATALOG, resolver, "velocity")
    artifact = example("QdSignalBundle")
    family = CATALOG.family("QdSignalBundle")
    payloads = [serde.encode(artifact) for _ in range(50)]
    decoder = AvroSerde(CATALOG, resolver, "velocity")
    assert all(decoder.decode(p, family) == artifact for p in payloads)
    assert switch.calls == 1  # the registration; the id's schema came with it


def test_a_registry_outage_does_not_stop_decoding_seen_ids(registry: TestClient) -> None:
    writer_client, _ = client_over(registry)
    payload = AvroSerde(CATALOG, RegistrySchemaResolver(writer_client), "velocity").encode(
        example("InteractionBundle")
    )
    client, switch = client_over(registry)
    resolver = RegistrySchemaResolver(client)
    family = CATALOG.family("InteractionBundle")
    assert AvroSerde(CATALOG, resolver, "velocity").decode(payload, family)
    switch.up = False
    fresh_serde = AvroSerde(CATALOG, resolver, "velocity")  # no serde-level cache either
    assert fresh_serde.decode(payload, family) == example("InteractionBundle")
    with pytest.raises(SerdeError) as raised:
        fresh_serde.decode(frame(777, b"\x00"), family)
    assert raised.value.code is ReasonCode.DECODE_REGISTRY_UNAVAILABLE


def test_an_unknown_id_is_decode_unknown_schema_id(registry: TestClient) -> None:
    client, _ = client_over(registry)
    with pytest.raises(SerdeError) as raised:
        RegistrySchemaResolver(client).schema_by_id(4242)
    assert raised.value.code is ReasonCode.DECODE_UNKNOWN_SCHEMA_ID


def test_equal_schemas_spelled_differently_share_one_cache_entry(registry: TestClient) -> None:
    client, switch = client_over(registry)
    resolver = RegistrySchemaResolver(client)
    one = '{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}'
    two = '{ "name": "R", "type": "record", "fields": [ {"type": "int", "name": "a"} ] }'
    assert resolver.register("s-value", one) == resolver.register("s-value", two) == 1
    assert switch.calls == 1


def test_a_refused_registration_raises_registry_error(registry: TestClient) -> None:
    client, _ = client_over(registry)
    resolver = RegistrySchemaResolver(client)
    resolver.register("s-value", json.dumps({"type": "record", "name": "R", "fields": []}))
    breaking = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
    with pytest.raises(RegistryError, match="reader_field_missing_default_value"):
        resolver.register("s-value", json.dumps(breaking))


def test_registering_the_catalog_sets_levels_and_is_idempotent(registry: TestClient) -> None:
    client, _ = client_over(registry)
    plans = list(subject_plan(CATALOG, "velocity"))
    dry = register_catalog(CATALOG, client, "velocity", dry_run=True)
    assert dry.ok and {r.outcome for r in dry.results} == {Outcome.WOULD_REGISTER}
    assert client.subjects() == []  # a dry run writes nothing

    first = register_catalog(CATALOG, client, "velocity")
    assert first.ok
    assert {r.outcome for r in first.results} == {Outcome.REGISTERED}
    assert len(first.levels) == len(plans)
    assert sorted(client.subjects()) == sorted(p.subject for p in plans)
    for plan in plans:
        assert client.get_compatibility(plan.subject) == plan.family.compatibility.value
    assert "velocity.qd-signal-bundle.v1-value" in client.subjects()
    assert "velocity.qd-signal-bundle.accepted.v1-value" in client.subjects()

    again = register_catalog(CATALOG, client, "velocity")
    assert again.ok and again.levels == ()
    assert {r.outcome for r in again.results} == {Outcome.ALREADY_REGISTERED}
    assert [r.schema_id for r in again.results] == [r.schema_id for r in first.results]


def test_a_refused_catalog_version_fails_with_the_engines_message(registry: TestClient) -> None:
    client, _ = client_over(registry)
    family = CATALOG.family("QdSignalBundle")
    subject = f"{family.ingress_topic('velocity', 1)}-value"
    other = {"type": "record", "name": family.avro_name, "fields": [{"name": "x", "type": "int"}]}
    client.set_compatibility(subject, "BACKWARD")
    client.register(subject, json.dumps(other))
    report = register_catalog(CATALOG, client, "velocity")
    refused = [r for r in report.results if r.outcome is Outcome.REFUSED]
    assert not report.ok
    assert [r.subject for r in refused] == [subject]
    assert "incompatible" in refused[0].messages[0]
