"""Avro readers per (writer, reader) schema pair: bytes straight to records or contract models.

fastavro's resolving reader walks both schemas for every message and returns dicts, which
pydantic then validates a second time, field by field; together that cost 2 to 3.5 times
fastavro's decode alone (bench/serde.py). Here the pair is resolved once into a read program
(:mod:`velocity_stream.serde.read_program`), and a runner executes it:

- the native runner, ``_fastread``, a Cython extension built when the package is installed;
- the Python runner below, used where the extension could not be built.

Both run the same programs and refuse the same bodies. A runner is strict: a truncated or
over-long body, a length or count beyond the bytes left, a varint past 64 bits (or an int
past 32), an index out of range, a negative block count, invalid UTF-8, a symbol or branch
the reader cannot take, or any finish that fails raises, and the caller hands the message
to fastavro and pydantic, whose answer (a value or a refusal) is the one that counts. So a
runner never accepts what the validated path refuses, and never answers differently.

One refusal is final instead (``Malformed``): a body the Avro specification forbids that
fastavro reads anyway: a negative union or enum index, a boolean byte other than 0 or 1, a
varint past 64 bits or an int past 32.
"""

from __future__ import annotations

import functools
import struct
import sys
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from velocity_stream.serde.read_program import (
    Malformed,
    ReadInstruction,
    ReadOp,
    Refused,
    Shaper,
    read_program,
)

try:  # built by `pip install`; optional, like the native writer
    from velocity_stream.serde import _fastread
except ImportError:  # pragma: no cover - exercised only where the build was skipped
    _fastread = None  # type: ignore[assignment]

# read(data, start=0): the value of the Avro body ``data[start:]``; raises when unproven.
Reader = Callable[..., Any]

# The native runner reads doubles as the machine stores them: Avro's order on little-endian.
NATIVE_READER = _fastread is not None and sys.byteorder == "little"


def compile_reader(
    writer: Mapping[str, Any],
    reader: Mapping[str, Any] | None = None,
    *,
    shaper: Shaper | None = None,
    target: Any = None,
    native: bool | None = None,
) -> Reader:
    """A function reading Avro bodies written with ``writer`` as ``reader``.

    Plain (no ``shaper``), it returns what ``fastavro.schemaless_reader`` returns; with the
    shaper of :mod:`velocity_stream.serde.builders`, the contract model. Raises
    UnsupportedSchema for constructs the programs do not cover.
    """
    program = read_program(writer, reader, shaper, target)
    if native is None:
        native = NATIVE_READER
    if native and not NATIVE_READER:
        raise RuntimeError("the native Avro reader (_fastread) is not built here")
    if shaper is not None and shaper.without_nul:
        return functools.partial(
            _fastread.read_without_nul if native else read_without_nul, program
        )
    return functools.partial(_fastread.read if native else read, program)


__all__ = ["NATIVE_READER", "Reader", "Refused", "compile_reader", "read", "read_without_nul"]


# --- the Python runner ------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAYS_SHIFT = date(1970, 1, 1).toordinal()
_FLOAT = struct.Struct("<f").unpack_from
_DOUBLE = struct.Struct("<d").unpack_from
_INT32 = 1 << 31


def read(program: ReadInstruction, data: bytes, start: int = 0) -> Any:
    """Run ``program`` over ``data[start:]``, which must hold exactly one value."""
    return _run(program, data, start, False)


def read_without_nul(program: ReadInstruction, data: bytes, start: int = 0) -> Any:
    """``read``, refusing a string or map key holding U+0000 too."""
    return _run(program, data, start, True)


def _run(program: ReadInstruction, data: bytes, start: int, no_nul: bool) -> Any:
    if not isinstance(data, bytes):
        raise Refused("the body is not bytes")
    try:
        value, position = _value(program, data, start, no_nul)
    except IndexError:
        raise Refused("the body ends inside a value") from None
    if position != len(data):
        raise Refused(f"{len(data) - position} bytes left over")
    return value


def _long(data: bytes, position: int) -> tuple[int, int]:
    byte = data[position]
    position += 1
    n = byte & 0x7F
    shift = 7
    while byte & 0x80:
        byte = data[position]
        position += 1
        if shift == 63 and byte > 1:
            raise Malformed("a varint longer than 64 bits")
        n |= (byte & 0x7F) << shift
        shift += 7
    return (n >> 1) ^ -(n & 1), position


def _size(data: bytes, position: int) -> tuple[int, int]:
    size, position = _long(data, position)
    if size < 0 or size > len(data) - position:
        raise Refused(f"a length of {size} with {len(data) - position} bytes left")
    return size, position


def _text(data: bytes, position: int, size: int, no_nul: bool) -> str:
    """The string of ``size`` UTF-8 bytes at ``position``; with ``no_nul``, Refused when one
    is 0x00 (U+0000, which no contract string may hold: the validated path names the field)."""
    if no_nul and data.find(0, position, position + size) >= 0:
        raise Refused("a string holding U+0000")
    return data[position : position + size].decode()


def _value(
    instruction: ReadInstruction, data: bytes, position: int, no_nul: bool
) -> tuple[Any, int]:
    op, argument, finish = instruction
    value: Any
    if op == ReadOp.STRING or op == ReadOp.BYTES_STRING or op == ReadOp.UUID:
        size, position = _size(data, position)
        value = _text(data, position, size, no_nul)
        position += size
        if op == ReadOp.UUID:
            value = uuid.UUID(value)
        elif argument is not None:
            low, high = argument
            if len(value) < low or (high is not None and len(value) > high):
                raise Refused(f"a string of {len(value)} code points")
    elif op == ReadOp.LONG:
        value, position = _long(data, position)
    elif op == ReadOp.INT or op == ReadOp.DATE:
        value, position = _long(data, position)
        if not -_INT32 <= value < _INT32:
            raise Malformed(f"{value} does not fit an Avro int")
        if op == ReadOp.DATE:
            value = date.fromordinal(value + _DAYS_SHIFT)
    elif op == ReadOp.RECORD:
        steps, defaults, build = argument
        values = list(defaults)
        for slot, step in steps:
            item, position = _value(step, data, position, no_nul)
            if slot >= 0:
                values[slot] = item
        value = build(values)
    elif op == ReadOp.UNION:
        index, position = _long(data, position)
        if index < 0:
            raise Malformed(f"union branch {index}: a negative index")
        if index >= len(argument) or argument[index] is None:
            raise Refused(f"union branch {index}")
        value, position = _value(argument[index], data, position, no_nul)
    elif op == ReadOp.DOUBLE:
        if position + 8 > len(data):
            raise Refused("a double past the end")
        value = _DOUBLE(data, position)[0]
        position += 8
    elif op == ReadOp.FLOAT:
        if position + 4 > len(data):
            raise Refused("a float past the end")
        value = _FLOAT(data, position)[0]
        position += 4
    elif op == ReadOp.MILLIS or op == ReadOp.MICROS:
        value, position = _long(data, position)
        micros = value * 1000 if op == ReadOp.MILLIS else value
        value = _EPOCH + timedelta(microseconds=micros)
    elif op == ReadOp.ENUM:
        index, position = _long(data, position)
        if index < 0:
            raise Malformed(f"enum index {index}: a negative index")
        if index >= len(argument) or argument[index] is None:
            raise Refused(f"enum index {index}")
        value = argument[index]
    elif op == ReadOp.ARRAY or op == ReadOp.MAP:
        value = [] if op == ReadOp.ARRAY else {}
        while True:
            count, position = _long(data, position)
            if count == 0:
                break
            if count < 0 or count > len(data) - position:
                raise Refused(f"a block of {count} items with {len(data) - position} bytes left")
            for _ in range(count):
                if op == ReadOp.ARRAY:
                    item, position = _value(argument, data, position, no_nul)
                    value.append(item)
                else:
                    size, position = _size(data, position)
                    key = _text(data, position, size, no_nul)
                    position += size
                    value[key], position = _value(argument, data, position, no_nul)
    elif op == ReadOp.BOOLEAN:
        byte = data[position]
        if byte > 1:
            raise Malformed(f"boolean byte {byte}: neither 0 nor 1")
        value = byte == 1
        position += 1
    elif op == ReadOp.NULL:
        value = None
    elif op == ReadOp.INT_FLOAT:
        number, position = _long(data, position)
        if argument and not -_INT32 <= number < _INT32:
            raise Malformed(f"{number} does not fit an Avro int")
        value = float(number)
    elif op == ReadOp.BYTES or op == ReadOp.STRING_BYTES:
        size, position = _size(data, position)
        value = data[position : position + size]
        if op == ReadOp.STRING_BYTES:
            value.decode()  # fastavro may not check it: refusing only costs a fallback
        position += size
    elif op == ReadOp.FIXED:
        if position + argument > len(data):
            raise Refused("a fixed past the end")
        value = data[position : position + argument]
        position += argument
    else:
        raise Refused(f"unknown op {op}")
    if finish is not None:
        value = finish(value)
    return value, position
