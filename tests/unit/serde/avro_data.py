"""Hypothesis strategies for Avro data of any schema, the damage done to bodies, and the
comparison of a compiled reader with fastavro.

``avro_data`` draws any value a schema admits (any text, any long, any symbol), so records of
a contract family drawn from it mostly break the contract: that exercises the refusals as
the contract strategies exercise the acceptances. ``damaged`` turns a body into the kinds
an attacker writes: cut short, bytes flipped, bytes added, and lengths or counts of 2^60.
"""

from __future__ import annotations

import io
import math
import re
import struct
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

import fastavro
import pytest
from hypothesis import strategies as st

from velocity_stream.contracts.catalog import Family
from velocity_stream.serde import AvroSerde
from velocity_stream.serde.compiled import encode_long
from velocity_stream.serde.reader import compile_reader

# A test of a compiled reader runs on each runner: the native one and the Python one.
RUNNERS = pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
TEXT = st.text(max_size=12)
HUGE = [encode_long(2**60), encode_long(-(2**60)), encode_long(2**31), b"\xff" * 11]


def avro_data(schema: Any, names: dict[str, Any] | None = None, space: str | None = None) -> Any:
    """A strategy of values fastavro's writer takes for ``schema``."""
    names = {} if names is None else names
    if isinstance(schema, str):
        simple = _SIMPLE.get(schema)
        if simple is not None:
            return simple
        full = schema if "." in schema or space is None else f"{space}.{schema}"
        return st.deferred(lambda: names[full] if full in names else names[schema])
    if isinstance(schema, list):
        return st.one_of([avro_data(branch, names, space) for branch in schema])
    kind = schema["type"]
    logical = schema.get("logicalType")
    if logical == "timestamp-millis":
        return st.integers(-(10**13), 10**13)
    if logical == "timestamp-micros":
        return st.integers(-(10**16), 10**16)
    if logical == "date":
        return st.dates(min_value=date(1, 1, 2))
    if logical == "uuid":
        return st.uuids().map(str)
    if kind == "record" or kind == "enum" or kind == "fixed":
        name = schema["name"]
        here = schema.get("namespace", space)
        full = name if "." in name or not here else f"{here}.{name}"
        inner = full.rpartition(".")[0] or None
        if kind == "enum":
            made: Any = st.sampled_from(schema["symbols"])
        elif kind == "fixed":
            made = st.binary(min_size=schema["size"], max_size=schema["size"])
        else:
            made = st.fixed_dictionaries(
                {f["name"]: avro_data(f["type"], names, inner) for f in schema["fields"]}
            )
        names[full] = made
        return made
    if kind == "array":
        return st.lists(avro_data(schema["items"], names, space), max_size=3)
    if kind == "map":
        return st.dictionaries(TEXT, avro_data(schema["values"], names, space), max_size=3)
    return avro_data(kind, names, space)


_SIMPLE: dict[str, Any] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(width=32),
    "double": st.floats(),
    "bytes": st.binary(max_size=12),
    "string": TEXT,
}


@st.composite
def damaged(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` cut, flipped, extended, or with a hostile varint spliced in."""
    how = draw(st.sampled_from(["cut", "flip", "extend", "huge", "noise"]))
    at = draw(st.integers(0, len(body)))
    if how == "cut":
        return body[:at]
    if how == "flip" and body:
        at = min(at, len(body) - 1)
        return body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1 :]
    if how == "extend":
        return body + draw(st.binary(min_size=1, max_size=4))
    if how == "huge":
        # Over a length or count at ``at`` (or any other varint there): 2^60 of something.
        return body[:at] + draw(st.sampled_from(HUGE)) + body[at + 1 :]
    return draw(st.binary(max_size=64))


def same(left: Any, right: Any) -> bool:
    """Equal, and of the same types all the way down (a tuple is not a list, -0.0 is not
    0.0, NaN is NaN); for models also the fields set and the private attributes."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        if math.isnan(left):
            return math.isnan(right)
        return struct.pack("<d", left) == struct.pack("<d", right)
    if isinstance(left, datetime):
        return left == right and left.tzinfo is right.tzinfo
    if isinstance(left, tuple | list):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, Mapping):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    if hasattr(left, "__pydantic_fields_set__"):
        return (
            left.__pydantic_fields_set__ == right.__pydantic_fields_set__
            and left.__pydantic_extra__ == right.__pydantic_extra__
            and left.__pydantic_private__ == right.__pydantic_private__
            and same(left.__dict__, right.__dict__)
        )
    if isinstance(left, bytes | str | int | bool | date | UUID) or left is None:
        return bool(left == right)
    return bool(left == right) and left is not None


def fastavro_write(schema: Any, record: Any) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


def fastavro_read(writer: Any, reader: Any, body: bytes) -> Any:
    buffer = io.BytesIO(body)
    value = fastavro.schemaless_reader(
        buffer, fastavro.parse_schema(writer), fastavro.parse_schema(reader)
    )
    if buffer.tell() != len(body):
        raise ValueError("bytes left over")
    return value


def outcome(action: Any) -> tuple[str, Any]:
    try:
        return "value", action()
    except Exception as error:  # the refusal itself is what is compared
        # fastavro's messages name the buffer object by its address: not part of the text.
        text = re.sub(r" at 0x[0-9a-f]+", " at 0x...", str(error))
        return type(error).__name__, (text, getattr(error, "violations", None))


def alike(ours: tuple[str, Any], theirs: tuple[str, Any]) -> None:
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "value":
        assert same(ours[1], theirs[1])
    else:
        assert ours[1] == theirs[1]


# How a body the Avro specification forbids is refused (velocity_stream.serde.Malformed):
# fastavro reads such a body, so it is the one answer not held to fastavro's.
FORBIDDEN = re.compile(
    r"^decode\.corrupt_body: Avro body does not match writer schema \d+: "
    r"((union branch|enum index) -\d+: a negative index|boolean byte \d+: neither 0 nor 1"
    r"|a varint longer than 64 bits|-?\d+ does not fit an Avro int)$"
)


def forbidden(answer: tuple[str, Any]) -> bool:
    """Whether ``answer`` (an ``outcome``) is the final refusal of a forbidden body."""
    return answer[0] == "SerdeError" and FORBIDDEN.search(answer[1][0]) is not None


def decodes_alike(serde: AvroSerde, payload: bytes, family: Family, major: int) -> Any:
    """``decode`` and ``decode_record`` against a serde without compiled readers (fastavro's
    record, then pydantic), sharing the registry: the same model, record or error; or, for a
    body the Avro specification forbids, the same final refusal from both."""
    reference = AvroSerde(serde.catalog, serde.resolver, "velocity", compiled=False)
    record = outcome(lambda: serde.decode_record(payload, family, major).record)
    ours = outcome(lambda: serde.decode(payload, family, major))
    if forbidden(record):
        assert ours == record
        return ours
    alike(record, outcome(lambda: reference.decode_record(payload, family, major).record))
    alike(ours, outcome(lambda: reference.decode(payload, family, major)))
    if ours[0] == "value":
        assert ours[1].validated
    return ours


def plain_agrees(writer: Any, reader: Any, body: bytes, native: bool) -> Any:
    """The plain runner's value, checked against fastavro: same value, or a refusal (a
    refusal where fastavro answers only sends the message the validated way)."""
    ours = outcome(lambda: compile_reader(writer, reader, native=native)(body))
    theirs = outcome(lambda: fastavro_read(writer, reader, body))
    if ours[0] == "value":
        assert theirs[0] == "value", f"fastavro refuses what the runner reads: {theirs}"
        assert same(ours[1], theirs[1])
    return ours
