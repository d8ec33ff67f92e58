"""Parity with Confluent's registry, driven by confluent-kafka's own SchemaRegistryClient,
AvroSerializer and AvroDeserializer against our registry served over HTTP with its state in a
real Kafka topic: encoded subjects and media types, metadata and rule sets (rules stored here
and run by Confluent's serializer), modes, schema references, and an import from a second
running registry with its ids kept."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from confluent_kafka.schema_registry import (
    Metadata,
    MetadataProperties,
    MetadataTags,
    Rule,
    RuleKind,
    RuleMode,
    RuleSet,
    Schema,
    SchemaReference,
    SchemaRegistryClient,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.common.serde import RuleContext, RuleExecutor
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.rule_registry import RuleRegistry
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from velocity_stream.cli import registry_cmd
from velocity_stream.registry.client import RegistryClient, RegistrySchemaResolver
from velocity_stream.registry.server import BackgroundRegistry, ServeOptions, build_service
from velocity_stream.registry.store import StoreOptions
from velocity_stream.settings import Settings

pytestmark = pytest.mark.integration

StartRegistry = Callable[[], BackgroundRegistry]

ORDER: dict[str, Any] = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}, {"name": "qty", "type": "int", "default": 0}],
}
ORDER_V2: dict[str, Any] = {
    **ORDER,
    "fields": [*ORDER["fields"], {"name": "note", "type": "string", "default": ""}],
}
METADATA = Metadata(
    tags=MetadataTags({"shop.Order.id": ["PII"]}),
    properties=MetadataProperties({"owner": "shop-team", "velocity.family": "Order"}),
    sensitive=["id"],
)


class NonEmptyId(RuleExecutor):
    """A CONDITION rule type of our own: the record's ``id`` must not be empty."""

    def type(self) -> str:
        return "NON_EMPTY_ID"

    def transform(self, ctx: RuleContext, message: Any) -> Any:
        return bool(message.get("id"))


def id_rule(*, disabled: bool = False) -> RuleSet:
    rule = Rule(
        name="id_not_empty",
        doc="an order needs an id",
        kind=RuleKind.CONDITION,
        mode=RuleMode.WRITE,
        type="NON_EMPTY_ID",
        tags=None,
        params=None,
        expr=None,
        on_success=None,
        on_failure="ERROR",
        disabled=disabled,
    )
    return RuleSet(migration_rules=None, domain_rules=[rule])


def client(registry: BackgroundRegistry) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": registry.url})


def test_a_subject_with_a_slash_and_confluents_media_types(registry: BackgroundRegistry) -> None:
    sr = client(registry)
    schema_id = sr.register_schema("team/orders-value", Schema(json.dumps(ORDER), "AVRO"))
    assert sr.get_subjects() == ["team/orders-value"]
    latest = client(registry).get_latest_version("team/orders-value")
    assert (latest.subject, latest.version, latest.schema_id) == ("team/orders-value", 1, schema_id)
    assert client(registry).get_versions("team/orders-value") == [1]

    url = registry.url
    refused = httpx.post(
        f"{url}/subjects/x/versions", content=b"schema", headers={"Content-Type": "text/plain"}
    )
    assert (refused.status_code, refused.json()["error_code"]) == (415, 415)
    assert httpx.get(f"{url}/subjects", headers={"Accept": "text/html"}).status_code == 406
    plain = httpx.get(f"{url}/subjects", headers={"Accept": "application/json"})
    assert plain.headers["content-type"] == "application/json"
    not_json = httpx.post(
        f"{url}/subjects/x/versions",
        content=b"{nope",
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
    )
    assert (not_json.status_code, not_json.json()["error_code"]) == (422, 422)
    schemas = httpx.get(f"{url}/schemas?subjectPrefix=team").json()
    assert [(s["subject"], s["id"]) for s in schemas] == [("team/orders-value", schema_id)]
    unknown = httpx.get(f"{url}/schemas/ids/999/versions").json()
    assert unknown == {"error_code": 40403, "message": "Schema not found"}

    with pytest.raises(SchemaRegistryError) as invalid:
        sr.register_schema(
            "bad-value", Schema(json.dumps({**ORDER, "namespace": "foo-bar-baz"}), "AVRO")
        )
    assert invalid.value.error_code == 42201
    assert "foo-bar-baz" in invalid.value.error_message


def test_metadata_and_rule_sets_round_trip_through_confluents_client(
    registry: BackgroundRegistry,
) -> None:
    sr = client(registry)
    schema = Schema(json.dumps(ORDER), "AVRO", metadata=METADATA, rule_set=id_rule())
    first = sr.register_schema("orders-value", schema)

    fresh = client(registry)
    latest = fresh.get_latest_version("orders-value")
    assert latest.schema_id == first
    assert latest.schema.metadata is not None and latest.schema.rule_set is not None
    assert latest.schema.metadata.properties == METADATA.properties
    assert latest.schema.metadata.tags == METADATA.tags
    assert latest.schema.metadata.sensitive == ["id"]
    assert latest.schema.rule_set.domain_rules == id_rule().domain_rules
    by_id = fresh.get_schema(first)
    assert by_id.metadata == latest.schema.metadata
    assert by_id.rule_set == latest.schema.rule_set
    found = fresh.lookup_schema("orders-value", schema)
    assert (found.version, found.schema_id) == (1, first)
    assert fresh.get_latest_with_metadata("orders-value", {"owner": "shop-team"}).version == 1

    # The same Avro under other metadata is another schema: a new id and version.
    other = Metadata(None, MetadataProperties({"owner": "another-team"}), None)
    second = sr.register_schema(
        "orders-value", Schema(json.dumps(ORDER), "AVRO", metadata=other, rule_set=id_rule())
    )
    assert second != first
    assert client(registry).get_versions("orders-value") == [1, 2]
    # Evolving without the fields keeps the latest version's contract.
    third = sr.register_schema("orders-value", Schema(json.dumps(ORDER_V2), "AVRO"))
    evolved = client(registry).get_latest_version("orders-value")
    assert (evolved.version, evolved.schema_id) == (3, third)
    assert (
        evolved.schema.metadata is not None
        and evolved.schema.metadata.properties == other.properties
    )
    assert evolved.schema.rule_set is not None
    assert evolved.schema.rule_set.domain_rules == id_rule().domain_rules


def test_rules_stored_here_are_run_by_confluents_serializer(registry: BackgroundRegistry) -> None:
    sr = client(registry)
    schema = Schema(json.dumps(ORDER), "AVRO", metadata=METADATA, rule_set=id_rule())
    sr.register_schema("orders-value", schema)
    rules = RuleRegistry()
    rules.register_executor(NonEmptyId())
    serializer = AvroSerializer(
        sr,
        None,
        conf={"auto.register.schemas": False, "use.latest.version": True},
        rule_registry=rules,
    )
    context = SerializationContext("orders", MessageField.VALUE)
    payload = serializer({"id": "o-1", "qty": 2}, context)
    assert payload is not None
    with pytest.raises(SerializationError) as broken:
        serializer({"id": "", "qty": 2}, context)
    # The rule's doc is the condition error's message, somewhere in the chain.
    chain = [broken.value, broken.value.__cause__, broken.value.__context__]
    assert any("an order needs an id" in str(error) for error in chain), chain
    record = AvroDeserializer(client(registry), rule_registry=rules)(payload, context)
    assert record == {"id": "o-1", "qty": 2}


def test_modes_through_confluents_client(registry: BackgroundRegistry) -> None:
    sr = client(registry)
    sr.register_schema("orders-value", Schema(json.dumps(ORDER), "AVRO"))
    assert sr.get_global_mode() == "READWRITE"
    assert sr.update_mode("orders-value", "READONLY") == "READONLY"
    assert sr.get_mode("orders-value") == "READONLY"
    with pytest.raises(SchemaRegistryError) as read_only:
        client(registry).register_schema("orders-value", Schema(json.dumps(ORDER_V2), "AVRO"))
    assert read_only.value.error_code == 42205
    assert "read-only" in read_only.value.error_message
    with pytest.raises(SchemaRegistryError) as deleting:
        sr.delete_subject("orders-value")
    assert deleting.value.error_code == 42205
    assert sr.delete_mode("orders-value") == "READONLY"
    with pytest.raises(SchemaRegistryError) as no_own_mode:
        sr.get_mode("orders-value")
    assert no_own_mode.value.error_code == 40409

    with pytest.raises(SchemaRegistryError) as not_empty:
        sr.update_global_mode("IMPORT")
    assert not_empty.value.error_code == 42205
    assert sr.update_global_mode("IMPORT", force=True) == "IMPORT"
    body = {"schema": json.dumps(ORDER_V2), "id": 40, "version": 7}
    imported = httpx.post(f"{registry.url}/subjects/imported-value/versions", json=body)
    assert imported.json() == {"id": 40}
    kept = client(registry).get_version("imported-value", 7)
    assert (kept.schema_id, kept.version) == (40, 7)
    assert client(registry).get_schema(40).schema_str == json.dumps(ORDER_V2, separators=(",", ":"))
    assert sr.update_global_mode("READWRITE") == "READWRITE"
    fresh_id = sr.register_schema("next-value", Schema(json.dumps({**ORDER, "name": "N"}), "AVRO"))
    assert fresh_id == 41


def test_modes_and_contracts_survive_a_restart(start_registry: StartRegistry) -> None:
    first = start_registry()
    schema = Schema(json.dumps(ORDER), "AVRO", metadata=METADATA, rule_set=id_rule())
    schema_id = client(first).register_schema("orders-value", schema)
    client(first).update_mode("orders-value", "READONLY")
    first.stop()
    second = start_registry()
    sr = client(second)
    assert sr.get_mode("orders-value") == "READONLY"
    latest = sr.get_latest_version("orders-value")
    assert latest.schema_id == schema_id
    assert latest.schema.metadata is not None
    assert latest.schema.metadata.properties == METADATA.properties
    assert latest.schema.rule_set is not None
    assert latest.schema.rule_set.domain_rules == id_rule().domain_rules


ADDRESS: dict[str, Any] = {
    "type": "record",
    "name": "Address",
    "namespace": "geo",
    "fields": [{"name": "street", "type": "string"}, {"name": "city", "type": "string"}],
}
SHIPMENT: dict[str, Any] = {
    "type": "record",
    "name": "Shipment",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "to", "type": "geo.Address"},
        {"name": "from", "type": ["null", "geo.Address"], "default": None},
    ],
}


def test_references_with_confluents_serializer_and_deserializer(
    registry: BackgroundRegistry,
) -> None:
    sr = client(registry)
    address_id = sr.register_schema("address-value", Schema(json.dumps(ADDRESS), "AVRO"))
    reference = SchemaReference("geo.Address", "address-value", 1)
    shipment = Schema(json.dumps(SHIPMENT), "AVRO", references=[reference])
    serializer = AvroSerializer(sr, shipment, conf={"auto.register.schemas": True})
    context = SerializationContext("shipments", MessageField.VALUE)
    value = {
        "id": "s-1",
        "to": {"street": "1 rue de la Paix", "city": "Paris"},
        "from": {"street": "Hauptstr. 2", "city": "Berlin"},
    }
    payload = serializer(value, context)
    assert payload is not None

    fresh = client(registry)
    registered = fresh.get_latest_version("shipments-value")
    assert registered.schema.references == [reference]
    assert registered.schema_id != address_id
    assert AvroDeserializer(fresh)(payload, context) == value
    # Our own serde's resolver decodes it too: it puts the references in place.
    resolver = RegistrySchemaResolver(RegistryClient(registry.url))
    assert json.loads(resolver.schema_by_id(registered.schema_id))["fields"][1]["type"] == ADDRESS

    assert fresh.get_referenced_by("address-value", 1) == [registered.schema_id]
    with pytest.raises(SchemaRegistryError) as referenced:
        fresh.delete_version("address-value", 1)
    assert referenced.value.error_code == 42206
    with pytest.raises(SchemaRegistryError) as unresolved:
        fresh.register_schema("other-value", Schema(json.dumps(SHIPMENT), "AVRO"))
    assert unresolved.value.error_code == 42201


def test_import_from_a_second_registry_keeps_ids(
    registry: BackgroundRegistry,
    kafka_settings: Settings,
    unique_topic: Callable[[str], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A second registry instance on its own topic is the source; its ids are not the ones a
    fresh registry would hand out, and messages serialized against it decode against ours."""
    options = ServeOptions(store=StoreOptions(topic=unique_topic("source-schemas")))
    source = BackgroundRegistry(build_service(kafka_settings, options)).start()
    try:
        theirs = client(source)
        for n in range(3):  # burn ids 1-3, so the source's ids start at 4
            name = f"burnt-{n}-value"
            theirs.register_schema(name, Schema(json.dumps({**ADDRESS, "name": f"B{n}"}), "AVRO"))
            theirs.delete_subject(name)
            theirs.delete_subject(name, permanent=True)
        theirs.register_schema("address-value", Schema(json.dumps(ADDRESS), "AVRO"))
        reference = SchemaReference("geo.Address", "address-value", 1)
        shipment = Schema(json.dumps(SHIPMENT), "AVRO", references=[reference], metadata=METADATA)
        context = SerializationContext("shipments", MessageField.VALUE)
        value = {"id": "s-9", "to": {"street": "x", "city": "y"}, "from": None}
        payload = AvroSerializer(theirs, shipment)(value, context)
        assert payload is not None
        theirs.set_compatibility("shipments-value", "FULL_TRANSITIVE")
        source_ids = {
            s: theirs.get_latest_version(s).schema_id for s in ("address-value", "shipments-value")
        }
        assert min(source_ids.values()) >= 4

        argv = ["registry", "import", "--from", source.url, "--to", registry.url]
        assert run_cli(argv) == 0
        out = capsys.readouterr().out
        assert "versions: copied 2, already there 0, refused 0, skipped 0" in out

        ours = client(registry)
        for subject, schema_id in source_ids.items():
            assert ours.get_latest_version(subject).schema_id == schema_id
        assert ours.get_compatibility("shipments-value") == "FULL_TRANSITIVE"
        copied = ours.get_latest_version("shipments-value").schema
        assert copied.references == [reference]
        assert copied.metadata is not None and copied.metadata.properties == METADATA.properties
        # A message written against the source decodes against ours: the id in it is kept.
        assert AvroDeserializer(client(registry))(payload, context) == value
        # Again: nothing copied twice.
        assert run_cli(argv) == 0
        assert "versions: copied 0, already there 2" in capsys.readouterr().out
    finally:
        source.stop()


def run_cli(argv: list[str]) -> int:
    root = argparse.ArgumentParser(prog="velocity-stream")
    registry_cmd.register(root.add_subparsers(dest="command"))
    args = root.parse_args(argv)
    code: int = args.handler(args)
    return code
