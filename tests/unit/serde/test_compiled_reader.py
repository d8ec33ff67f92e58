"""The compiled readers answer exactly as fastavro's resolving reader and pydantic do.

Plain, a reader returns what ``fastavro.schemaless_reader`` returns for the same writer and
reader schemas; with the contract model, ``AvroSerde.decode`` returns the same model, or
raises the same error, as fastavro followed by ``validate_artifact``. Both runners (native
and Python) are held to it, over every family and every writer/reader pair of the catalog,
for valid artifacts, for any data the schema admits, and for damaged bodies.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from tests.unit.contracts.strategies import STRATEGIES
from tests.unit.serde.avro_data import (
    RUNNERS,
    avro_data,
    damaged,
    decodes_alike,
    fastavro_read,
    fastavro_write,
    forbidden,
    outcome,
    plain_agrees,
    same,
)
from velocity_stream.contracts.catalog import Family, SchemaVersion, load_catalog
from velocity_stream.contracts.metadata import validate_artifact
from velocity_stream.contracts.registry import model_for
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver, frame, reader
from velocity_stream.serde.builders import ModelShaper
from velocity_stream.serde.compiled import encode_long
from velocity_stream.serde.program import UnsupportedSchema
from velocity_stream.serde.read_program import Malformed
from velocity_stream.serde.reader import compile_reader
from velocity_stream.settings import load_settings

CATALOG = load_catalog(load_settings().schemas_dir)
# Budgets per parametrization: each test runs over every family or writer/reader pair and both
# runners, so the reader's code sees 14 to 36 times the examples named here.
SLOW = settings(
    max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Every writer/reader pair of released versions within a family's major.
PAIRS = [
    (family.name, writer, reader)
    for family in CATALOG
    for writer, reader in itertools.product(family.versions, repeat=2)
    if writer.major == reader.major
]
# Each writer version read as its major's latest, as the serde reads it.
LATEST = [
    (family.name, writer)
    for family in CATALOG
    for writer in family.versions
    if (family.name, writer.major) in STRATEGIES
]


def ids(value: Any) -> str:
    return str(value.version) if isinstance(value, SchemaVersion) else str(value)


def test_the_native_reader_is_built() -> None:
    # pip builds it on install (it needs a C compiler); without it decoding is slower.
    assert reader.NATIVE_READER, "velocity_stream.serde._fastread is missing: pip install -e ."


@pytest.mark.parametrize("family", [f.name for f in CATALOG])
def test_every_family_has_a_compiled_reader_for_each_writer(family: str) -> None:
    # A reader that silently could not be compiled would send every message the slow way.
    serde = AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")
    found = CATALOG.family(family)
    for version in found.versions:
        key = (serde.schema_id(version), family, version.major)
        assert serde._reader(key, found) is not None, f"{family} {version.version}"
        # ... and it builds the model itself: pydantic-core checks single fields at most.
        shaper = ModelShaper(model_for(family, version.major))
        compile_reader(
            version.schema,
            found.latest_of_major(version.major).schema,
            shaper=shaper,
            target=shaper.root,
        )
        assert not [s for s in shaper.delegated if s["type"] not in ("str", "int", "float")]


# --- plain reading: the resolving reader ------------------------------------------------


@RUNNERS
@pytest.mark.parametrize(("family", "writer", "reader_version"), PAIRS, ids=ids)
@SLOW
@given(data=st.data())
def test_any_record_reads_like_fastavro(
    native: bool, family: str, writer: SchemaVersion, reader_version: SchemaVersion, data: Any
) -> None:
    record = data.draw(avro_data(writer.schema))
    body = fastavro_write(writer.schema, record)
    kind, _ = plain_agrees(writer.schema, reader_version.schema, body, native)
    # A well-formed body is read by the runner itself, never left to fastavro.
    assert kind == "value"


@RUNNERS
@pytest.mark.parametrize(("family", "writer", "reader_version"), PAIRS, ids=ids)
@SLOW
@given(data=st.data())
def test_damaged_bodies_are_refused_or_read_like_fastavro(
    native: bool, family: str, writer: SchemaVersion, reader_version: SchemaVersion, data: Any
) -> None:
    body = fastavro_write(writer.schema, data.draw(avro_data(writer.schema)))
    plain_agrees(writer.schema, reader_version.schema, data.draw(damaged(body)), native)


def test_reading_across_majors_is_compiled_only_where_it_resolves() -> None:
    # Majors are bridged by reader mappings, not by Avro resolution: a pair that does not
    # resolve is not compiled (fastavro then refuses it as today).
    for family in CATALOG:
        for writer, reader_version in itertools.product(family.versions, repeat=2):
            if writer.major == reader_version.major:
                continue
            try:
                compile_reader(writer.schema, reader_version.schema)
            except UnsupportedSchema:
                continue
            pytest.fail(f"{family.name} {writer.version} -> {reader_version.version} compiled")


# --- the contract model: AvroSerde.decode ----------------------------------------------


def compiled_model_reader(family: Family, writer: SchemaVersion, native: bool) -> Any:
    shaper = ModelShaper(model_for(family.name, writer.major))
    reader_schema = family.latest_of_major(writer.major).schema
    return compile_reader(
        writer.schema, reader_schema, shaper=shaper, target=shaper.root, native=native
    )


@RUNNERS
@pytest.mark.parametrize(("family", "writer"), LATEST, ids=ids)
@settings(max_examples=examples(15), deadline=None)
@given(data=st.data())
def test_a_valid_artifact_is_built_by_the_compiled_reader_as_validation_builds_it(
    native: bool, family: str, writer: SchemaVersion, data: Any
) -> None:
    found = CATALOG.family(family)
    model = model_for(family, writer.major)
    artifact = validate_artifact(model, data.draw(STRATEGIES[(family, writer.major)]))
    body = fastavro_write(writer.schema, artifact.to_avro())
    reader_schema = found.latest_of_major(writer.major).schema
    expected = outcome(
        lambda: validate_artifact(model, fastavro_read(writer.schema, reader_schema, body))
    )
    # The compiled reader alone, no fallback: the fast path really builds it. (Valid data
    # written by an older minor can break a rule of the newer: a 1.0.0 decision has no
    # digest. Then the compiled reader must refuse.)
    built = outcome(lambda: compiled_model_reader(found, writer, native)(body))
    if expected[0] == "value":
        assert built[0] == "value", built
        assert same(built[1], expected[1])
        assert built[1].validated
    else:
        assert built[0] != "value"
    serde = AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")
    decodes_alike(serde, frame(serde.schema_id(writer), body), found, writer.major)


@pytest.mark.parametrize(("family", "writer"), LATEST, ids=ids)
@settings(max_examples=examples(25), deadline=None)
@given(data=st.data())
def test_any_record_decodes_to_the_same_model_or_the_same_error(
    family: str, writer: SchemaVersion, data: Any
) -> None:
    # Drawn from the schema alone, most records break a rule or a field check.
    found = CATALOG.family(family)
    serde = AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")
    body = fastavro_write(writer.schema, data.draw(avro_data(writer.schema)))
    decodes_alike(serde, frame(serde.schema_id(writer), body), found, writer.major)


@pytest.mark.parametrize(("family", "writer"), LATEST, ids=ids)
@settings(max_examples=examples(25), deadline=None)
@given(data=st.data())
def test_a_damaged_message_gets_the_same_refusal(
    family: str, writer: SchemaVersion, data: Any
) -> None:
    found = CATALOG.family(family)
    model = model_for(family, writer.major)
    artifact = validate_artifact(model, data.draw(STRATEGIES[(family, writer.major)]))
    serde = AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")
    body = fastavro_write(writer.schema, artifact.to_avro())
    payload = frame(serde.schema_id(writer), data.draw(damaged(body)))
    decodes_alike(serde, payload, found, writer.major)


@RUNNERS
@pytest.mark.parametrize("family", [f.name for f in CATALOG])
def test_a_hostile_length_is_refused_before_anything_is_allocated(
    native: bool, family: str
) -> None:
    # Every record starts with artifact_id, a string: a length of 2^60 at the first byte.
    latest = CATALOG.family(family).latest
    read = compile_reader(latest.schema, native=native)
    for prefix in (encode_long(2**60), encode_long(-(2**60)), b"\xff" * 10 + b"\x01"):
        with pytest.raises(reader.Refused):
            read(prefix + b"x" * 16)


@RUNNERS
def test_a_hostile_count_is_refused_at_once(native: bool) -> None:
    schema = {
        "type": "record",
        "name": "R",
        "fields": [{"name": "items", "type": {"type": "array", "items": "boolean"}}],
    }
    read = compile_reader(schema, native=native)
    assert read(encode_long(2) + b"\x01\x00\x00") == {"items": [True, False]}
    for count in (2**60, 2**31, 4):
        with pytest.raises(reader.Refused):
            read(encode_long(count) + b"\x01\x00\x00")
    with pytest.raises(UnsupportedSchema):  # items of no bytes stay with fastavro
        compile_reader(
            {**schema, "fields": [{"name": "n", "type": {"type": "array", "items": "null"}}]}
        )


# Indexes outside a union of three: fastavro reads a negative one as Python indexes a list,
# from the end, so -1 reads the last branch (a body below is well-formed if it does); the
# runners refuse every one, a negative one for good (Malformed), a too large one by leaving
# the body to fastavro, which refuses it too.
HOSTILE_BRANCHES = (-1, -2, -3, 3, 4, 2**31, 2**62, -(2**62))


@RUNNERS
def test_a_union_branch_out_of_range_is_refused(native: bool) -> None:
    schema = {
        "type": "record",
        "name": "U",
        "fields": [
            {"name": "one", "type": ["null", "string", "long"]},
            {"name": "many", "type": {"type": "array", "items": ["null", "string", "long"]}},
        ],
    }
    read = compile_reader(schema, native=native)

    def body(one: int, item: int) -> bytes:
        # one = 5 and many = [5], each read from the branch ``one`` and ``item``.
        return encode_long(one) + b"\x0a" + encode_long(1) + encode_long(item) + b"\x0a\x00"

    assert read(body(2, 2)) == {"one": 5, "many": [5]}
    for index in HOSTILE_BRANCHES:
        for hostile in (body(index, 2), body(2, index)):
            with pytest.raises(reader.Refused):
                read(hostile)


@RUNNERS
@pytest.mark.parametrize("family", [f.name for f in CATALOG.all_families()])
def test_a_union_branch_out_of_range_in_a_contract_is_refused(
    native: bool, family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from velocity_stream.contracts import example

    monkeypatch.setattr(reader, "NATIVE_READER", native)  # the serde's readers too
    found = CATALOG.family(family)
    record = example(family).to_avro()
    # provenance.method, ["null", "string"], in every family: its branch index is where the
    # body with a method first differs from the body without.
    provenance = record["provenance"]
    body = fastavro_write(
        found.latest.schema, {**record, "provenance": {**provenance, "method": "m"}}
    )
    without = fastavro_write(
        found.latest.schema, {**record, "provenance": {**provenance, "method": None}}
    )
    at = next(i for i, pair in enumerate(zip(body, without, strict=False)) if pair[0] != pair[1])
    assert body[at : at + 1] == encode_long(1)
    read = compiled_model_reader(found, found.latest, native)
    assert read(body).provenance.method == "m"
    serde = AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")
    for index in (-1, -2, 2, 2**40):
        hostile = body[:at] + encode_long(index) + body[at + 1 :]
        with pytest.raises(reader.Refused):
            read(hostile)
        payload = frame(serde.schema_id(found.latest), hostile)
        answer = decodes_alike(serde, payload, found, found.latest.major)
        # fastavro would read a negative index as a branch counted from the end
        assert forbidden(answer) == (index < 0), answer


@RUNNERS
def test_a_negative_enum_index_and_a_boolean_byte_past_1_are_final(native: bool) -> None:
    schema = {
        "type": "record",
        "name": "E",
        "fields": [
            {"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["A", "B"]}},
            {"name": "flag", "type": "boolean"},
        ],
    }
    read = compile_reader(schema, native=native)
    assert read(encode_long(1) + b"\x01") == {"kind": "B", "flag": True}
    for body, message in (
        (encode_long(-1) + b"\x01", "enum index -1: a negative index"),
        (encode_long(0) + b"\x02", "boolean byte 2: neither 0 nor 1"),
        (encode_long(0) + b"\xff", "boolean byte 255: neither 0 nor 1"),
    ):
        assert fastavro_read(schema, schema, body)["flag"] is True  # fastavro reads them
        with pytest.raises(Malformed, match=f"^{message}$"):
            read(body)
    with pytest.raises(reader.Refused) as refused:  # past the symbols: fastavro refuses too
        read(encode_long(2) + b"\x01")
    assert not isinstance(refused.value, Malformed)


@RUNNERS
def test_an_int_past_32_bits_and_a_varint_past_64_are_final(native: bool) -> None:
    schema = {
        "type": "record",
        "name": "N",
        "fields": [{"name": "small", "type": "int"}, {"name": "large", "type": "long"}],
    }
    read = compile_reader(schema, native=native)
    edge = encode_long(2**31 - 1) + encode_long(-(2**63))
    assert read(edge) == {"small": 2**31 - 1, "large": -(2**63)}
    for body, message in (
        (encode_long(2**31) + b"\x00", "2147483648 does not fit an Avro int"),
        (encode_long(-(2**40)) + b"\x00", "-1099511627776 does not fit an Avro int"),
        (b"\x00" + b"\x80" * 11 + b"\x01", "a varint longer than 64 bits"),  # 12 bytes
        (b"\x00" + b"\xff" * 9 + b"\x7f", "a varint longer than 64 bits"),  # 10, bits past 64
    ):
        fastavro_read(schema, schema, body)  # fastavro reads each
        with pytest.raises(Malformed, match=f"^{message}$"):
            read(body)


@RUNNERS
@pytest.mark.parametrize("family", [f.name for f in CATALOG])
def test_every_truncation_of_a_valid_body_is_refused_like_today(native: bool, family: str) -> None:
    found = CATALOG.family(family)
    model = model_for(family, found.latest.major)
    from velocity_stream.contracts import example

    artifact = example(family)
    assert isinstance(artifact, model)
    body = fastavro_write(found.latest.schema, artifact.to_avro())
    read = compiled_model_reader(found, found.latest, native)
    serde = AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")
    schema_id = serde.schema_id(found.latest)
    for end in range(len(body)):
        with pytest.raises(Exception):  # noqa: B017 - any raise sends it to fastavro
            read(body[:end])
        kind, _ = decodes_alike(serde, frame(schema_id, body[:end]), found, found.latest.major)
        assert kind == "SerdeError"
