"""The compiled model readers refuse a string holding U+0000 while they read it (a 0x00 byte
in its UTF-8), wherever it sits: so the model they build skips the contract's walk for one,
and ``decode`` names the field through the validated path, as it did before. The plain
readers still read such a string as fastavro does: only a contract forbids it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.contracts.conftest import changed
from tests.unit.serde.avro_data import RUNNERS, fastavro_read, fastavro_write
from velocity_stream.contracts import metadata
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.metadata import validate_artifact
from velocity_stream.contracts.registry import model_for
from velocity_stream.errors import ContractError
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver, frame
from velocity_stream.serde.builders import ModelShaper
from velocity_stream.serde.read_program import Refused
from velocity_stream.serde.reader import compile_reader
from velocity_stream.settings import load_settings

CATALOG = load_catalog(load_settings().schemas_dir)
FAMILY = CATALOG.family("ClientGraphDelta")
VERSION = FAMILY.latest
INVALID = "contract.invalid_field"

# (dotted path to change, value holding a NUL, the path the contract error names)
PLACES = [
    ("created_by", "a\x00b", "created_by"),  # a string field
    ("provenance.source_refs", ["ref:ok", "ref:\x00"], "provenance.source_refs.1"),  # an item
    ("provenance.method", "\x00", "provenance.method"),  # a nested record's optional string
    ("operations.0.attributes", {"na\x00me": "x"}, "operations.0.attributes"),  # a map key
    ("operations.0.attributes", {"name": "Acme\x00"}, "operations.0.attributes.name"),  # value
]
IDS = ["field", "array-item", "nested-record", "map-key", "map-value"]


def body_with(dotted: str, value: Any) -> bytes:
    """The Avro body fastavro writes for the example with ``value`` at ``dotted``: what a
    writer that skips the contract puts on a topic."""
    return fastavro_write(VERSION.schema, changed(example(FAMILY.name), {dotted: value}))


def model_reader(native: bool) -> Any:
    shaper = ModelShaper(model_for(FAMILY.name, VERSION.major))
    return compile_reader(
        VERSION.schema, VERSION.schema, shaper=shaper, target=shaper.root, native=native
    )


@RUNNERS
@pytest.mark.parametrize(("dotted", "value", "path"), PLACES, ids=IDS)
def test_the_model_reader_refuses_a_nul_wherever_it_is(
    native: bool, dotted: str, value: Any, path: str
) -> None:
    with pytest.raises(Refused, match="U\\+0000"):
        model_reader(native)(body_with(dotted, value))


@RUNNERS
def test_the_model_reader_still_builds_the_clean_record(native: bool) -> None:
    clean = body_with("created_by", "no nul here \u2400 \\x00")
    artifact = model_reader(native)(clean)
    assert artifact.created_by == "no nul here \u2400 \\x00" and artifact.validated


@RUNNERS
@pytest.mark.parametrize(("dotted", "value", "path"), PLACES[3:], ids=IDS[3:])
def test_the_plain_reader_reads_a_nul_as_fastavro_does(
    native: bool, dotted: str, value: Any, path: str
) -> None:
    body = body_with(dotted, value)
    read = compile_reader(VERSION.schema, VERSION.schema, native=native)
    assert read(body) == fastavro_read(VERSION.schema, VERSION.schema, body)


@pytest.mark.parametrize(("dotted", "value", "path"), PLACES, ids=IDS)
def test_decode_names_the_field_holding_the_nul(dotted: str, value: Any, path: str) -> None:
    serde = AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")
    payload = frame(serde.schema_id(VERSION), body_with(dotted, value))
    with pytest.raises(ContractError) as raised:
        serde.decode(payload, FAMILY, VERSION.major)
    assert [(v.code.value, v.path) for v in raised.value.violations] == [(INVALID, path)]


class Walked(Exception):
    """Raised by the NUL walk when a test forbids it (pydantic lets it through as it is)."""


@RUNNERS
def test_a_model_the_reader_built_skips_the_walk_validation_still_runs_it(
    native: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = body_with("created_by", "clean")
    data = changed(example(FAMILY.name))
    read = model_reader(native)

    def walked(artifact: object) -> bool:
        raise Walked

    monkeypatch.setattr(metadata, "_holds_nul", walked)
    assert read(body).created_by == "clean"
    with pytest.raises(Walked):
        validate_artifact(model_for(FAMILY.name, VERSION.major), data)
