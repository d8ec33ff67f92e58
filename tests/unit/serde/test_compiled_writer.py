"""Both writers write exactly what fastavro writes, for any valid artifact."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.contracts.strategies import STRATEGIES
from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.metadata import FrozenMap, validate_artifact
from velocity_stream.contracts.registry import model_for
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver, compiled, unframe
from velocity_stream.serde.compiled import compile_writer, encode_long
from velocity_stream.serde.program import UnsupportedSchema
from velocity_stream.settings import load_settings

CATALOG = load_catalog(load_settings().schemas_dir)
EDGES: dict[str, Any] = {
    "type": "record",
    "name": "Edges",
    "namespace": "test",
    "fields": [
        {"name": "text", "type": "string"},
        {"name": "count", "type": "long"},
        {"name": "small", "type": "int"},
        {"name": "flag", "type": "boolean"},
        {"name": "ratio", "type": "float"},
        {"name": "blob", "type": "bytes"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tags", "type": {"type": "map", "values": "long"}},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
        {"name": "again", "type": ["null", "Kind"]},
        {"name": "nested", "type": {"type": "array", "items": {"type": "array", "items": "Kind"}}},
    ],
}


# Both writers run the same programs: every test below runs against each.
WRITERS = pytest.mark.parametrize("native", [True, False], ids=["native", "python"])


def test_the_native_writer_is_built() -> None:
    # pip builds it on install (it needs a C compiler); without it publishing is 3x slower.
    assert compiled.NATIVE_WRITER, "velocity_stream.serde._fastwrite is missing: pip install -e ."


def fastavro_bytes(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


@WRITERS
@pytest.mark.parametrize(("family", "major"), sorted(STRATEGIES))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_valid_artifact_is_written_byte_for_byte_like_fastavro(
    native: bool, family: str, major: int, data: st.DataObject
) -> None:
    model = model_for(family, major)
    artifact = validate_artifact(model, data.draw(STRATEGIES[(family, major)]))
    schema = CATALOG.family(family).version(model.SCHEMA_VERSION).schema
    written = compile_writer(schema, native=native)(artifact)
    assert written == fastavro_bytes(schema, artifact.to_avro())


@WRITERS
@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=10_000) | st.text(min_size=8_190, max_size=8_200),
    count=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    small=st.integers(min_value=-(2**31), max_value=2**31 - 1),
    flag=st.booleans(),
    ratio=st.floats(width=32),
    blob=st.binary(max_size=20_000),
    at=st.integers(min_value=-(10**11), max_value=10**11).map(
        lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    ),
    tags=st.dictionaries(
        st.text(max_size=5), st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=4
    ),
    kind=st.sampled_from(["A", "B"]),
    again=st.none() | st.sampled_from(["A", "B"]),
    nested=st.lists(st.lists(st.sampled_from(["A", "B"]), max_size=3), max_size=3),
)
def test_edge_values_are_written_like_fastavro(native: bool, **record: Any) -> None:
    write = compile_writer(EDGES, native=native)
    assert write(SimpleNamespace(**record)) == fastavro_bytes(EDGES, record)


_MILLIS = {
    "type": "record",
    "name": "At",
    "fields": [{"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}],
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST, _LAST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)


class Moment(datetime):
    """A datetime subclass: the native writer leaves it to Python's arithmetic."""


@WRITERS
@settings(max_examples=500, deadline=None)
@given(
    at=st.one_of(
        st.datetimes(min_value=datetime.min, max_value=datetime.max, timezones=st.just(UTC)),
        st.sampled_from(
            [_FIRST, _LAST, _EPOCH, datetime(2000, 2, 29, tzinfo=UTC), datetime(1900, 3, 1)]
        ).map(lambda at: at.replace(tzinfo=UTC)),
        st.integers(min_value=-2000, max_value=2000).map(
            lambda us: _EPOCH + timedelta(microseconds=us)  # around 1970: floor, not truncation
        ),
        st.datetimes(
            min_value=datetime(1, 1, 2),
            max_value=datetime(9999, 12, 30),
            timezones=st.sampled_from(
                [timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(0), "Z")]
            ),
        ),
        st.datetimes(min_value=datetime(1, 1, 2), timezones=st.just(UTC)).map(
            lambda at: Moment.fromisoformat(at.isoformat())
        ),
    )
)
def test_timestamps_of_any_instant_and_zone_are_written_like_fastavro(
    native: bool, at: datetime
) -> None:
    """UTC values are counted from their fields natively; the count is Python's, floor
    division of the microseconds included, before 1970 too."""
    written = compile_writer(_MILLIS, native=native)(SimpleNamespace(at=at))
    assert written == fastavro_bytes(_MILLIS, {"at": at})
    assert written == encode_long((at - _EPOCH) // timedelta(milliseconds=1))


class Shadowed:
    """``name`` in the instance's __dict__, and a property of the class that getattr asks first."""

    def __init__(self) -> None:
        self.__dict__["name"] = "from the instance"

    @property
    def name(self) -> str:
        return "from the property"


class Looked:
    """A class with its own attribute lookup: getattr's answer is the one written."""

    def __init__(self) -> None:
        self.name = "stored"

    def __getattribute__(self, attribute: str) -> Any:
        value = object.__getattribute__(self, attribute)
        return value.upper() if attribute == "name" else value


class Fallback:
    """Nothing in the instance's __dict__: the class's ``__getattr__`` answers."""

    def __getattr__(self, attribute: str) -> str:
        return f"asked for {attribute}"


@WRITERS
@pytest.mark.parametrize(
    ("record", "text"),
    [
        (Shadowed(), "from the property"),
        (Looked(), "STORED"),
        (Fallback(), "asked for name"),
        (SimpleNamespace(name="plain"), "plain"),
    ],
)
def test_a_field_is_what_getattr_says(native: bool, record: Any, text: str) -> None:
    """The native writer reads a model's fields from its __dict__ where getattr would find
    them there, and asks getattr everywhere else."""
    schema = {"type": "record", "name": "R", "fields": [{"name": "name", "type": "string"}]}
    assert record.name == text
    assert compile_writer(schema, native=native)(record) == fastavro_bytes(schema, {"name": text})


class Reordered(dict[str, str]):
    """A dict whose ``items`` gives its entries in reverse: a map is written as items() says."""

    def items(self) -> Any:
        return list(super().items())[::-1]


_STRING_MAP = {
    "type": "record",
    "name": "M",
    "fields": [{"name": "values", "type": {"type": "map", "values": "string"}}],
}


@WRITERS
@pytest.mark.parametrize(
    "values",
    [{"b": "2", "a": "é"}, FrozenMap({"b": "2", "a": "1"}), Reordered({"b": "2", "a": "1"}), {}],
    ids=["dict", "FrozenMap", "own items", "empty"],
)
def test_a_map_of_strings_is_written_in_the_order_of_its_items(
    native: bool, values: dict[str, str]
) -> None:
    written = compile_writer(_STRING_MAP, native=native)(SimpleNamespace(values=values))
    assert written == fastavro_bytes(_STRING_MAP, {"values": dict(values.items())})


@WRITERS
@pytest.mark.parametrize("values", [{1: "one"}, {"a": 1}], ids=["int key", "int value"])
def test_a_map_of_strings_holding_another_type_raises(native: bool, values: object) -> None:
    with pytest.raises((TypeError, AttributeError)):
        compile_writer(_STRING_MAP, native=native)(SimpleNamespace(values=values))


@WRITERS
def test_the_head_comes_first_and_long_strings_keep_their_length(native: bool) -> None:
    write = compile_writer(
        {"type": "record", "name": "R", "fields": [{"name": "s", "type": "string"}]},
        native=native,
    )
    text = "é" * 10_000  # 20,000 UTF-8 bytes: longer than the table of small lengths
    assert write(SimpleNamespace(s=text), b"HEAD") == b"HEAD" + encode_long(20_000) + text.encode()


@WRITERS
@pytest.mark.parametrize(
    ("field_type", "value", "error"),
    [
        ("long", 2**63, OverflowError),
        ("long", "7", TypeError),
        ("string", 7, (TypeError, AttributeError)),
        ("bytes", "text", (TypeError, AttributeError)),
        ({"type": "enum", "name": "E", "symbols": ["A"]}, "B", KeyError),
        ({"type": "long", "logicalType": "timestamp-millis"}, datetime(2026, 1, 1), TypeError),
    ],
)
def test_a_value_of_the_wrong_type_raises(
    native: bool, field_type: Any, value: object, error: type[Exception]
) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": field_type}]}
    with pytest.raises(error):
        compile_writer(schema, native=native)(SimpleNamespace(x=value))


@WRITERS
def test_a_missing_attribute_raises(native: bool) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": "long"}]}
    with pytest.raises(AttributeError):
        compile_writer(schema, native=native)(SimpleNamespace())


@pytest.mark.parametrize(
    "field_type",
    [
        ["string", "long"],
        ["null", "string", "long"],
        {"type": "fixed", "name": "F", "size": 4},
        {"type": "bytes", "logicalType": "decimal", "precision": 4},
        "Undefined",
        {"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"]}]},
    ],
)
def test_constructs_outside_the_contracts_are_left_to_fastavro(field_type: Any) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": field_type}]}
    with pytest.raises(UnsupportedSchema):
        compile_writer(schema)


def test_the_serde_writes_its_wire_header_then_the_compiled_body() -> None:
    serde = AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")
    artifact = example("InteractionBundle")
    schema_id, body = unframe(serde.encode(artifact))
    version = CATALOG.family("InteractionBundle").version(artifact.SCHEMA_VERSION)
    assert schema_id == serde.schema_id(version)
    assert bytes(body) == fastavro_bytes(version.schema, artifact.to_avro())


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_a_model_built_without_validation_gets_fastavros_error() -> None:
    serde = AvroSerde(CATALOG, InMemorySchemaResolver(), "velocity")
    artifact = example("InteractionBundle")
    broken = type(artifact).model_construct(**{**dict(artifact), "confidence": "high"})
    with pytest.raises((TypeError, ValueError)):
        serde.encode(broken)
