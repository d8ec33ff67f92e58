"""Writer-to-reader resolution beyond what the catalog uses today, held to fastavro.

Each pair below is written with fastavro from data drawn from the writer schema and read
with both runners: the value must be fastavro's, and a body fastavro reads must be read by
the runner too unless fastavro's reader refuses it (an enum symbol or a union branch the
reader cannot take, invalid UTF-8 read as a string).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.serde.avro_data import (
    RUNNERS,
    avro_data,
    damaged,
    fastavro_read,
    fastavro_write,
    outcome,
    plain_agrees,
)
from velocity_stream.serde.program import UnsupportedSchema
from velocity_stream.serde.reader import compile_reader


def record(name: str, *fields: tuple[str, Any], **extra: Any) -> dict[str, Any]:
    made = [{"name": n, "type": t} for n, t in fields]
    return {"type": "record", "name": name, "namespace": "test", "fields": made, **extra}


def with_default(name: str, kind: Any, default: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "default": default}


ENUM = {"type": "enum", "name": "Kind", "symbols": ["A", "B", "C", "D"]}
INNER = record("Inner", ("x", "long"), ("tags", {"type": "array", "items": "string"}))

PAIRS: dict[str, tuple[Any, Any]] = {
    "promotions": (
        record(
            "P",
            ("i", "int"),
            ("l", "long"),
            ("f", "float"),
            ("s", "string"),
            ("b", "bytes"),
            ("i2", "int"),
            ("l2", "long"),
            ("i3", "int"),
        ),
        record(
            "P",
            ("i", "long"),
            ("l", "double"),
            ("f", "double"),
            ("s", "bytes"),
            ("b", "string"),
            ("i2", "float"),
            ("l2", "float"),
            ("i3", "double"),
        ),
    ),
    "enum with a default": (
        record("E", ("k", ENUM)),
        record(
            "E", ("k", {"type": "enum", "name": "Kind", "symbols": ["B", "A", "Z"], "default": "Z"})
        ),
    ),
    "enum without one": (
        record("E", ("k", ENUM)),
        record("E", ("k", {"type": "enum", "name": "Kind", "symbols": ["A", "B"]})),
    ),
    "unions on both sides": (
        record("U", ("u", ["null", "int", "string"]), ("v", ["null", "string"])),
        record("U", ("u", ["string", "null", "long"]), ("v", "string")),
    ),
    "a union read into one": (
        record("U", ("u", ["int", "long"]), ("w", "int")),
        record("U", ("u", "double"), ("w", ["null", "double"])),
    ),
    "writer-only fields": (
        record(
            "S",
            ("keep", "string"),
            ("inner", INNER),
            ("many", {"type": "array", "items": "test.Inner"}),
            ("map", {"type": "map", "values": ["null", "double"]}),
            ("kind", ENUM),
            ("fixed", {"type": "fixed", "name": "F", "size": 3}),
            ("flag", "boolean"),
            ("ratio", "float"),
            ("last", "long"),
        ),
        record("S", ("last", "long"), ("keep", "string")),
    ),
    "reader-only fields": (
        record("D", ("a", "long")),
        {
            **record("D", ("a", "long")),
            "fields": [
                {"name": "a", "type": "long"},
                with_default("n", ["null", "string"], None),
                with_default("s", "string", "x"),
                with_default("i", "int", 7),
                with_default("d", "double", 1),
                with_default("t", "boolean", True),
                with_default("k", ENUM, "C"),
            ],
        },
    ),
    "logical types": (
        record(
            "L",
            ("ms", {"type": "long", "logicalType": "timestamp-millis"}),
            ("us", {"type": "long", "logicalType": "timestamp-micros"}),
            ("day", {"type": "int", "logicalType": "date"}),
            ("id", {"type": "string", "logicalType": "uuid"}),
            ("maybe", ["null", {"type": "long", "logicalType": "timestamp-millis"}]),
        ),
        None,
    ),
    "nested and named again": (
        record(
            "N",
            ("first", INNER),
            ("again", ["null", "test.Inner"]),
            ("nested", {"type": "array", "items": {"type": "map", "values": "Inner"}}),
        ),
        None,
    ),
}


@RUNNERS
@pytest.mark.parametrize("pair", sorted(PAIRS))
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_a_pair_reads_like_fastavro(native: bool, pair: str, data: Any) -> None:
    writer, reader = PAIRS[pair]
    reader = writer if reader is None else reader
    body = fastavro_write(writer, data.draw(avro_data(writer)))
    kind, _ = plain_agrees(writer, reader, body, native)
    if kind != "value":  # only where fastavro refuses too
        assert outcome(lambda: fastavro_read(writer, reader, body))[0] != "value"


@RUNNERS
@pytest.mark.parametrize("pair", sorted(PAIRS))
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_a_damaged_body_of_a_pair_is_refused_or_read_like_fastavro(
    native: bool, pair: str, data: Any
) -> None:
    writer, reader = PAIRS[pair]
    body = fastavro_write(writer, data.draw(avro_data(writer)))
    plain_agrees(writer, writer if reader is None else reader, data.draw(damaged(body)), native)


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        (record("R", ("a", "long")), record("R", ("a", "long"), ("b", "string"))),  # no default
        (record("R", ("a", "long")), record("R", ("a", "string"))),
        (record("R", ("a", "long")), record("Other", ("a", "long"))),
        (
            record("R", ("a", "long")),
            {
                **record("R", ("a", "long")),
                "fields": [
                    {"name": "a", "type": "long"},
                    with_default("r", record("Q", ("q", "long")), {"q": 1}),  # a mutable default
                ],
            },
        ),
        (record("R", ("a", {"type": "bytes", "logicalType": "decimal", "precision": 4})), None),
        (record("R", ("a", {"type": "array", "items": "null"})), None),
        (
            record("R", ("a", "long")),
            record("R", ("a", {"type": "long", "logicalType": "timestamp-millis"})),
        ),
    ],
)
def test_what_is_not_compiled_is_said_when_compiling(writer: Any, reader: Any) -> None:
    with pytest.raises(UnsupportedSchema):
        compile_reader(writer, reader)


LONG = record("V", ("a", "long"))
INT = record("V", ("a", "int"))


@RUNNERS
@pytest.mark.parametrize(
    ("schema", "body"),
    [
        (LONG, b"\xff" * 9 + b"\x01"),  # the largest 10-byte varint: -2^63
        (LONG, b"\xfe" + b"\xff" * 8 + b"\x01"),  # 2^63 - 1
        (LONG, b"\x80\x00"),  # 0, not in its shortest form
        (LONG, b"\x80" * 9 + b"\x00"),
        (LONG, b"\xff" * 9 + b"\x02"),  # a 65th bit
        (LONG, b"\xff" * 10 + b"\x00"),  # eleven bytes
        (LONG, b"\x80"),  # cut inside the varint
        (INT, b"\xfe\xff\xff\xff\x0f"),  # 2^31 - 1
        (INT, b"\x80\x80\x80\x80\x10"),  # 2^31: past an int
        (INT, b"\xff\xff\xff\xff\x1f"),
    ],
)
def test_varints_at_the_edges_read_like_fastavro_or_are_refused(
    native: bool, schema: Any, body: bytes
) -> None:
    plain_agrees(schema, schema, body, native)
