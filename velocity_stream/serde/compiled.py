"""Avro writers per schema: contract models straight to Avro bytes.

fastavro's generic writer walks the schema for every record and needs the model dumped to
dicts first; together that was most of what a publish cost. Here a schema becomes a write
program once (:mod:`velocity_stream.serde.program`), and a writer runs it: it reads the
model's attributes in field order and appends their Avro binary encoding, with no dump.

Two writers run the same programs and write the same bytes, fastavro's byte for byte
(property tests hold all three together):

- the native writer, ``_fastwrite``, a Cython extension built when the package is
  installed (1.2 us for a 1 KB InteractionBundle);
- the Python writer, which turns a program into Python source (3.7 us for the same), used
  where the extension could not be built.
"""

from __future__ import annotations

import functools
import struct
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from velocity_stream.serde.program import Instruction, Op, Program, write_program

try:  # built by `pip install`; optional, so an install without a C compiler still works
    from velocity_stream.serde import _fastwrite
except ImportError:  # pragma: no cover - exercised only where the build was skipped
    _fastwrite = None  # type: ignore[assignment]

# write(model, head): ``head`` (the wire header) followed by the model's Avro encoding.
Writer = Callable[[object, bytes], bytes]

# The native writer copies doubles as the machine stores them, which is Avro's order only on
# little-endian machines.
NATIVE_WRITER = _fastwrite is not None and sys.byteorder == "little"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
# Lengths and counts are small and never negative: their encodings are looked up, not computed.
_SMALL = 1 << 13


def compile_writer(schema: Mapping[str, Any], *, native: bool | None = None) -> Writer:
    """A function writing a model of the record ``schema`` as Avro binary, after ``head``.

    ``native`` picks the writer (default: the native one when it is built). Raises
    UnsupportedSchema for constructs the programs do not cover; writing a value of the wrong
    type raises TypeError, AttributeError, KeyError, ValueError or OverflowError.
    """
    program = write_program(schema)
    if native is None:
        native = NATIVE_WRITER
    if native:
        if not NATIVE_WRITER:
            raise RuntimeError("the native Avro writer (_fastwrite) is not built here")
        return functools.partial(_fastwrite.write, program)
    source, constants = python_source(program)
    namespace: dict[str, Any] = {**_RUNTIME, **constants}
    exec(compile(source, f"<avro writer {schema.get('name')}>", "exec"), namespace)
    writer: Writer = namespace["write"]
    return writer


def encode_long(value: int) -> bytes:
    """Avro's zig-zag varint encoding of an int or long."""
    if not -(1 << 63) <= value < 1 << 63:
        raise OverflowError(f"{value} does not fit in an Avro long")
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# --- the Python writer ------------------------------------------------------------------

_SIZES: tuple[bytes, ...] = tuple(encode_long(n) for n in range(_SMALL))


def _size(count: int) -> bytes:
    return _SIZES[count] if count < _SMALL else encode_long(count)


def _millis(value: datetime) -> int:
    return (value - _EPOCH) // _MILLISECOND


def _string(value: str) -> bytes:
    data = value.encode()
    return _size(len(data)) + data


# What the generated source may call, by name.
_RUNTIME: dict[str, object] = {
    "_long": encode_long,
    "_size": _size,
    "_SIZES": _SIZES,
    "_SMALL": _SMALL,
    "_millis": _millis,
    "_string": _string,
    "_double": struct.Struct("<d").pack,
    "_float": struct.Struct("<f").pack,
}


def python_source(program: Program) -> tuple[str, dict[str, object]]:
    """Python source of a ``write(obj, head=b'')`` running ``program``, and its constants.

    Straight-line code: one block of statements per field, strings inlined (a call per
    string would cost a third of the whole encoding), one function per nested record.
    """
    source = _PythonSource()
    root = source.record(program)
    entry = f"def write(obj, head=b''):\n    out = bytearray(head)\n    {root}(obj, out)\n"
    return "\n\n".join([*source.functions, entry + "    return bytes(out)"]), source.constants


class _PythonSource:
    def __init__(self) -> None:
        self.functions: list[str] = []
        self.constants: dict[str, object] = {}
        self.records: dict[int, str] = {}  # id of a program -> its function's name
        self._counter = 0

    def fresh(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}{self._counter}"

    def record(self, program: Program) -> str:
        """The name of the function writing a record of ``program`` (generated once)."""
        if id(program) in self.records:
            return self.records[id(program)]
        function = self.records[id(program)] = self.fresh("_record")
        body: list[str] = []
        for instruction in program:
            value = self.fresh("v")
            body.append(f"{value} = obj.{instruction[1]}")
            body.extend(self.value(instruction, value))
        lines = [f"def {function}(obj, out):", *(f"    {line}" for line in body or ["pass"])]
        self.functions.append("\n".join(lines))
        return function

    def value(self, instruction: Instruction, value: str) -> Iterator[str]:
        """Lines appending the encoding of the variable ``value`` to ``out``."""
        op, _, argument = instruction
        if op == Op.STRING or op == Op.BYTES:
            data, size = self.fresh("data"), self.fresh("size")
            yield f"{data} = {value}.encode()" if op == Op.STRING else f"{data} = {value}"
            yield f"{size} = len({data})"
            yield f"out += _SIZES[{size}] if {size} < _SMALL else _long({size})"
            yield f"out += {data}"
        elif op == Op.LONG:
            yield f"out += _long({value})"
        elif op == Op.MILLIS:
            yield f"out += _long(_millis({value}))"
        elif op == Op.DOUBLE:
            yield f"out += _double({value})"
        elif op == Op.FLOAT:
            yield f"out += _float({value})"
        elif op == Op.BOOLEAN:
            yield f"out += b'\\x01' if {value} else b'\\x00'"
        elif op == Op.ENUM:
            # StrEnum members hash and compare as their symbol, so one table serves both.
            table = {symbol: encode_long(index) for symbol, index in argument.items()}
            name = self.fresh("_symbols")
            self.constants[name] = table
            yield f"out += {name}[{value}]"
        elif op == Op.RECORD:
            yield f"{self.record(argument)}({value}, out)"
        elif op == Op.OPTIONAL:
            null_index, other_index, inner = argument
            yield f"if {value} is None:"
            yield f"    out += {encode_long(null_index)!r}"
            yield "else:"
            yield f"    out += {encode_long(other_index)!r}"
            yield from (f"    {line}" for line in self.value(inner, value))
        elif op == Op.ARRAY or op == Op.MAP:
            item = self.fresh("item")
            yield f"if {value}:"
            yield f"    out += _size(len({value}))"
            if op == Op.ARRAY:
                yield f"    for {item} in {value}:"
            else:
                key = self.fresh("key")
                yield f"    for {key}, {item} in {value}.items():"
                yield f"        out += _string({key})"
            yield from (f"        {line}" for line in self.value(argument, item))
            yield "out += b'\\x00'"
        else:
            raise ValueError(f"unknown op {op!r}")
