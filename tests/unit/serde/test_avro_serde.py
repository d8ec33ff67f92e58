from __future__ import annotations

import io
import json
import random
from pathlib import Path

import fastavro
import pytest

from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.errors import ContractError, ReasonCode, SerdeError
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver, frame, unframe

ROOT = Path(__file__).resolve().parents[3] / "avro_schemas"
CATALOG = load_catalog(ROOT)
FAMILIES = [family.name for family in CATALOG]


@pytest.fixture
def serde() -> AvroSerde:
    return AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")


@pytest.mark.parametrize("name", FAMILIES)
def test_every_family_round_trips_equal(serde: AvroSerde, name: str) -> None:
    artifact = example(name)
    family = CATALOG.family(name)
    decoded = serde.decode(serde.encode(artifact), family, int(artifact.SCHEMA_VERSION[0]))
    assert decoded == artifact


def test_encoding_registers_under_the_ingress_topic_subject() -> None:
    resolver = InMemorySchemaResolver()
    serde = AvroSerde(CATALOG, resolver, "velocity")
    serde.encode(example("QdSignalBundle"))
    assert list(resolver.subjects()) == ["velocity.qd-signal-bundle.v1-value"]


def test_a_record_of_another_family_is_refused(serde: AvroSerde) -> None:
    payload = serde.encode(example("QdSignalBundle"))
    with pytest.raises(SerdeError) as raised:
        serde.decode(payload, CATALOG.family("InteractionBundle"))
    assert raised.value.code is ReasonCode.DECODE_WRONG_FAMILY


def test_unknown_schema_id_is_refused(serde: AvroSerde) -> None:
    payload = frame(999, b"\x00")
    with pytest.raises(SerdeError) as raised:
        serde.decode(payload, CATALOG.family("InteractionBundle"))
    assert raised.value.code is ReasonCode.DECODE_UNKNOWN_SCHEMA_ID


@pytest.mark.parametrize("cut", [1, 7, 40])
def test_truncated_body_is_corrupt(serde: AvroSerde, cut: int) -> None:
    payload = serde.encode(example("InteractionBundle"))
    with pytest.raises(SerdeError) as raised:
        serde.decode(payload[:-cut], CATALOG.family("InteractionBundle"))
    assert raised.value.code is ReasonCode.DECODE_CORRUPT_BODY


def test_a_corrupt_body_gets_the_same_message_every_time(serde: AvroSerde) -> None:
    """fastavro names its buffer (``<_io.BytesIO object at 0x...>``) when a number is cut
    short: the address must not reach the message, or a redelivered bad input gets a different
    dead letter each time."""
    payload = serde.encode(example("ImportRowRecord"))
    family = CATALOG.family("ImportRowRecord")
    named_the_buffer = 0
    for cut in range(6, len(payload)):
        messages = set()
        for _ in range(2):
            with pytest.raises(SerdeError) as raised:
                serde.decode(payload[:cut], family)
            messages.add(str(raised.value))
        assert len(messages) == 1, messages
        assert " at 0x" not in messages.pop()
        named_the_buffer += "cannot read" in str(raised.value)
    assert named_the_buffer  # the case fastavro names its buffer in was reached


def test_trailing_bytes_are_corrupt(serde: AvroSerde) -> None:
    payload = serde.encode(example("InteractionBundle")) + b"\x02\x04"
    with pytest.raises(SerdeError) as raised:
        serde.decode(payload, CATALOG.family("InteractionBundle"))
    assert raised.value.code is ReasonCode.DECODE_CORRUPT_BODY


def test_flipped_bytes_never_escape_as_anything_but_typed_errors(serde: AvroSerde) -> None:
    family = CATALOG.family("TranscriptBundle")
    payload = bytearray(serde.encode(example("TranscriptBundle")))
    rng = random.Random(7)
    refused = 0
    for _ in range(500):
        mutated = bytearray(payload)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(5, len(mutated))] ^= 1 << rng.randrange(8)
        try:
            serde.decode(bytes(mutated), family)
        except (SerdeError, ContractError):
            refused += 1
    # Flips inside free text still decode (about 60% of this transcript is text); the rest
    # must be refused with a typed error, and nothing else may escape.
    assert refused > 150


def test_valid_avro_breaking_a_rule_is_a_contract_error(serde: AvroSerde) -> None:
    family = CATALOG.family("QdSignalBundle")
    record = example("QdSignalBundle").to_avro()
    record.update(supporting_evidence_refs=[], operator_input=None)
    schema_id, _ = unframe(serde.encode(example("QdSignalBundle")))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(family.latest.schema), record)
    with pytest.raises(ContractError) as raised:
        serde.decode(frame(schema_id, buffer.getvalue()), family)
    assert raised.value.code is ReasonCode.CONTRACT_QD_EVIDENCE_REQUIRED


def test_older_minor_writer_resolves_to_the_latest_reader(tmp_path: Path) -> None:
    catalog = _catalog_with_extra_minor(tmp_path)
    resolver = InMemorySchemaResolver()
    old = catalog.family("InteractionBundle").versions[0]
    old_id = resolver.register("velocity.interaction-bundle.v1-value", old.canonical_json())
    record = example("InteractionBundle").to_avro()
    record["schema_version"] = str(old.version)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(old.schema), record)
    serde = AvroSerde(catalog, resolver, "velocity")
    family = catalog.family("InteractionBundle")
    decoded = serde.decode_record(frame(old_id, buffer.getvalue()), family)
    assert decoded.record["schema_version"] == str(old.version)
    assert decoded.record["velocity_test_note"] == "none"


def _catalog_with_extra_minor(tmp_path: Path) -> Catalog:
    """A copy of the catalog whose InteractionBundle gains a 1.99.0 with a defaulted field."""
    import shutil

    root = tmp_path / "schemas"
    shutil.copytree(ROOT, root)
    family = load_catalog(root).family("InteractionBundle")
    newest = json.loads(family.latest.path.read_text())
    newest["fields"].append({"name": "velocity_test_note", "type": "string", "default": "none"})
    (family.latest.path.parent / "1.99.0.avsc").write_text(json.dumps(newest))
    first = family.versions[0]
    for version in family.versions[1:]:
        version.path.unlink()
    assert first.path.exists()
    return load_catalog(root)
