"""The registry driven by confluent-kafka's own SchemaRegistryClient, AvroSerializer and
AvroDeserializer, with its state in a real Kafka topic."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.metadata import validate_artifact
from velocity_stream.contracts.registry import model_for
from velocity_stream.registry.client import RegistryClient, RegistrySchemaResolver
from velocity_stream.registry.server import BackgroundRegistry
from velocity_stream.serde import AvroSerde

pytestmark = pytest.mark.integration

CATALOG = load_catalog(Path(__file__).resolve().parents[3] / "avro_schemas")
ORDER_V1 = {"type": "record", "name": "shop.Order", "fields": [{"name": "id", "type": "string"}]}
ORDER_V2 = {
    "type": "record",
    "name": "shop.Order",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "note", "type": "string", "default": ""},
    ],
}
ORDER_BREAKING = {
    "type": "record",
    "name": "shop.Order",
    "fields": [{"name": "id", "type": "string"}, {"name": "qty", "type": "int"}],
}


def avro(schema: dict[str, object]) -> Schema:
    return Schema(json.dumps(schema), "AVRO")


def confluent(registry: BackgroundRegistry) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": registry.url})


def test_register_look_up_and_get_by_id(registry: BackgroundRegistry) -> None:
    client = confluent(registry)
    first = client.register_schema("orders-value", avro(ORDER_V1))
    assert client.register_schema("orders-value", avro(ORDER_V1)) == first
    # A fresh client (no cache) spelling the schema differently gets the same id.
    respelled = Schema(json.dumps(ORDER_V1, indent=4, sort_keys=True), "AVRO")
    assert confluent(registry).register_schema("orders-value", respelled) == first

    found = confluent(registry).lookup_schema("orders-value", avro(ORDER_V1))
    assert (found.schema_id, found.subject, found.version) == (first, "orders-value", 1)
    fetched = confluent(registry).get_schema(first)
    assert json.loads(fetched.schema_str) == ORDER_V1
    latest = client.get_latest_version("orders-value")
    assert (latest.version, latest.schema_id) == (1, first)
    assert client.get_subjects() == ["orders-value"]
    assert client.get_versions("orders-value") == [1]


def test_compatibility_checks_compatible_and_incompatible_with_messages(
    registry: BackgroundRegistry,
) -> None:
    client = confluent(registry)
    client.register_schema("orders-value", avro(ORDER_V1))
    assert client.test_compatibility("orders-value", avro(ORDER_V2)) is True
    assert client.test_compatibility("orders-value", avro(ORDER_BREAKING), verbose=True) is False

    # The client returns only the boolean; the messages are in the body.
    body = {"schema": json.dumps(ORDER_BREAKING)}
    answer = httpx.post(
        f"{registry.url}/compatibility/subjects/orders-value/versions/latest?verbose=true",
        json=body,
    ).json()
    assert answer["is_compatible"] is False
    assert any("reader_field_missing_default_value" in m and "qty" in m for m in answer["messages"])

    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema("orders-value", avro(ORDER_BREAKING))
    assert refused.value.http_status_code == 409
    assert "reader_field_missing_default_value" in refused.value.error_message


def test_config_per_subject(registry: BackgroundRegistry) -> None:
    client = confluent(registry)
    assert client.get_compatibility() == "BACKWARD"
    # The client hands back the response body: Confluent's {"compatibility": level}.
    assert client.set_compatibility("orders-value", "NONE") == {"compatibility": "NONE"}
    assert client.get_compatibility("orders-value") == "NONE"
    client.register_schema("orders-value", avro(ORDER_V1))
    client.register_schema("orders-value", avro(ORDER_BREAKING))  # NONE allows anything
    assert client.get_versions("orders-value") == [1, 2]
    with pytest.raises(SchemaRegistryError) as invalid:
        client.set_compatibility("orders-value", "SOMETIMES")
    assert invalid.value.error_code == 42203


def test_soft_and_hard_delete(registry: BackgroundRegistry) -> None:
    client = confluent(registry)
    client.register_schema("orders-value", avro(ORDER_V1))
    second = client.register_schema("orders-value", avro(ORDER_V2))
    assert client.delete_version("orders-value", 2) == 2
    assert client.get_versions("orders-value") == [1]
    assert json.loads(confluent(registry).get_schema(second).schema_str) == ORDER_V2
    assert client.delete_version("orders-value", 2, permanent=True) == 2
    with pytest.raises(SchemaRegistryError) as gone:
        confluent(registry).get_schema(second)
    assert gone.value.error_code == 40403

    assert client.delete_subject("orders-value") == [1]
    assert client.get_subjects() == []
    assert client.get_subjects(deleted=True) == ["orders-value"]
    assert client.delete_subject("orders-value", permanent=True) == [1]
    with pytest.raises(SchemaRegistryError) as unknown:
        client.get_versions("orders-value")
    assert unknown.value.error_code == 40401


def test_confluents_serializer_and_our_serde_read_each_other(
    registry: BackgroundRegistry, kafka_settings: object
) -> None:
    family = CATALOG.family("QdSignalBundle")
    topic = family.ingress_topic("velocity", 1)
    artifact = example("QdSignalBundle")
    context = SerializationContext(topic, MessageField.VALUE)

    serializer = AvroSerializer(confluent(registry), family.latest.canonical_json())
    theirs = serializer(artifact.to_avro(), context)
    ours = AvroSerde(CATALOG, RegistrySchemaResolver(RegistryClient(registry.url)), "velocity")
    assert ours.decode(theirs, family) == artifact

    other_artifact = example("InteractionBundle")
    other_family = CATALOG.family("InteractionBundle")
    payload = ours.encode(other_artifact)
    deserializer = AvroDeserializer(confluent(registry))
    other_context = SerializationContext(
        other_family.ingress_topic("velocity", 1), MessageField.VALUE
    )
    record = deserializer(payload, other_context)
    assert validate_artifact(model_for(other_family.name, 1), record) == other_artifact
