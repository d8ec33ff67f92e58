"""Avro writers compiled per schema: contract models straight to Avro bytes.

fastavro's generic writer walks the schema for every record and needs the model dumped to
dicts first; together that is most of what a publish costs. Here each schema is compiled
once into Python source that reads the model's attributes in field order and appends their
Avro binary encoding: no dump, no schema walk, no per-field type dispatch.

The output is byte-for-byte what fastavro writes (a property test holds the two together).
The compiler covers what contracts use: primitives, ``timestamp-millis``, records, enums,
arrays, maps and unions of null with one other type. For anything else it raises
:class:`UnsupportedSchema`, and the caller keeps fastavro for that schema.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

# write(model, head): ``head`` (the wire header) followed by the model's Avro encoding.
Writer = Callable[[object, bytes], bytes]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
# Lengths and counts are small and never negative: their encodings are looked up, not computed.
_SMALL = 1 << 13
_PRIMITIVE_NAMES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


class UnsupportedSchema(ValueError):
    """The schema uses a construct this compiler does not cover (use fastavro for it)."""


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


_SIZES: tuple[bytes, ...] = tuple(encode_long(n) for n in range(_SMALL))


def _size(count: int) -> bytes:
    return _SIZES[count] if count < _SMALL else encode_long(count)


def _millis(value: datetime) -> int:
    return (value - _EPOCH) // _MILLISECOND


def _string(value: str) -> bytes:
    data = value.encode()
    return _size(len(data)) + data


def _bytes(value: bytes) -> bytes:
    return _size(len(value)) + value


# What the generated source may call, by name.
_RUNTIME: dict[str, object] = {
    "_long": encode_long,
    "_size": _size,
    "_SIZES": _SIZES,
    "_SMALL": _SMALL,
    "_millis": _millis,
    "_string": _string,
    "_bytes": _bytes,
    "_double": struct.Struct("<d").pack,
    "_float": struct.Struct("<f").pack,
}


class _Compiler:
    """Turns one schema into the source of a module of writer functions, one per record."""

    def __init__(self) -> None:
        self.functions: list[str] = []
        self.constants: dict[str, object] = {}
        self.records: dict[str, str] = {}  # record full name -> its writer function name
        self.names: dict[str, Any] = {}  # named type full name -> its schema
        self._counter = 0

    def fresh(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}{self._counter}"

    def constant(self, stem: str, value: object) -> str:
        name = self.fresh(f"_{stem}")
        self.constants[name] = value
        return name

    def record(self, schema: Mapping[str, Any], namespace: str | None) -> str:
        """The name of the function writing ``schema``'s record (compiled on first sight)."""
        full = _full_name(schema, namespace)
        if full in self.records:
            return self.records[full]
        function = self.fresh("_record")
        self.records[full] = function
        self.names[full] = schema
        inner = full.rpartition(".")[0] or None
        body: list[str] = []
        for field in schema["fields"]:
            value = self.fresh("v")
            body.append(f"{value} = obj.{_identifier(field['name'])}")
            body.extend(self.value(field["type"], value, inner))
        lines = [f"def {function}(obj, out):", *(f"    {line}" for line in body or ["pass"])]
        self.functions.append("\n".join(lines))
        return function

    def value(self, schema: Any, value: str, namespace: str | None) -> Iterator[str]:
        """Source lines appending the encoding of the Python value named ``value`` to ``out``."""
        if isinstance(schema, str):
            if schema in _PRIMITIVE_NAMES:
                yield from self.primitive(schema, None, value)
                return
            full = schema if "." in schema or namespace is None else f"{namespace}.{schema}"
            named = self.names.get(full) or self.names.get(schema)
            if named is None:
                raise UnsupportedSchema(f"unknown named type {schema!r}")
            yield from self.value(named, value, namespace)
        elif isinstance(schema, list):
            yield from self.union(schema, value, namespace)
        elif isinstance(schema, Mapping):
            kind = schema.get("type")
            if kind == "record":
                yield f"{self.record(schema, namespace)}({value}, out)"
            elif kind == "enum":
                yield from self.enum(schema, value, namespace)
            elif kind == "array":
                yield from self.array(schema["items"], value, namespace)
            elif kind == "map":
                yield from self.map(schema["values"], value, namespace)
            elif kind in _PRIMITIVE_NAMES:
                yield from self.primitive(kind, schema.get("logicalType"), value)
            else:
                raise UnsupportedSchema(f"type {kind!r}")
        else:
            raise UnsupportedSchema(f"schema {schema!r}")

    def primitive(self, kind: str, logical: str | None, value: str) -> Iterator[str]:
        if logical == "timestamp-millis" and kind == "long":
            yield f"out += _long(_millis({value}))"
        elif logical is not None:
            raise UnsupportedSchema(f"logical type {logical!r}")
        elif kind == "null":
            yield f"if {value} is not None: raise TypeError('expected None')"
        elif kind == "boolean":
            yield f"out += b'\\x01' if {value} else b'\\x00'"
        elif kind in ("int", "long"):
            yield f"out += _long({value})"
        elif kind == "float":
            yield f"out += _float({value})"
        elif kind == "double":
            yield f"out += _double({value})"
        elif kind == "bytes":
            yield f"out += _bytes({value})"
        else:
            # Inlined: strings are most of an artifact, and a call per string costs a third
            # of the whole encoding.
            data, size = self.fresh("data"), self.fresh("size")
            yield f"{data} = {value}.encode()"
            yield f"{size} = len({data})"
            yield f"out += _SIZES[{size}] if {size} < _SMALL else _long({size})"
            yield f"out += {data}"

    def enum(self, schema: Mapping[str, Any], value: str, namespace: str | None) -> Iterator[str]:
        self.names[_full_name(schema, namespace)] = schema
        # StrEnum members hash and compare as their symbol, so one table serves both.
        table = self.constant(
            "symbols", {symbol: encode_long(i) for i, symbol in enumerate(schema["symbols"])}
        )
        yield f"out += {table}[{value}]"

    def array(self, items: Any, value: str, namespace: str | None) -> Iterator[str]:
        item = self.fresh("item")
        yield f"if {value}:"
        yield f"    out += _size(len({value}))"
        yield f"    for {item} in {value}:"
        yield from (f"        {line}" for line in self.value(items, item, namespace))
        yield "out += b'\\x00'"

    def map(self, values: Any, value: str, namespace: str | None) -> Iterator[str]:
        key, item = self.fresh("key"), self.fresh("item")
        yield f"if {value}:"
        yield f"    out += _size(len({value}))"
        yield f"    for {key}, {item} in {value}.items():"
        yield f"        out += _string({key})"
        yield from (f"        {line}" for line in self.value(values, item, namespace))
        yield "out += b'\\x00'"

    def union(self, branches: list[Any], value: str, namespace: str | None) -> Iterator[str]:
        others = [b for b in branches if b != "null"]
        if "null" not in branches or len(others) != 1 or len(branches) != 2:
            raise UnsupportedSchema(f"union {branches!r} (only null and one other type)")
        null_index, other_index = branches.index("null"), branches.index(others[0])
        yield f"if {value} is None:"
        yield f"    out += {encode_long(null_index)!r}"
        yield "else:"
        yield f"    out += {encode_long(other_index)!r}"
        yield from (f"    {line}" for line in self.value(others[0], value, namespace))


def _full_name(schema: Mapping[str, Any], namespace: str | None) -> str:
    name = str(schema["name"])
    space = schema.get("namespace", namespace)
    return name if "." in name or not space else f"{space}.{name}"


def _identifier(name: str) -> str:
    if not name.isidentifier():
        raise UnsupportedSchema(f"field name {name!r} is not a Python identifier")
    return name


def writer_source(schema: Mapping[str, Any]) -> tuple[str, dict[str, object]]:
    """The generated source for a record schema and the constants it refers to."""
    if not isinstance(schema, Mapping) or schema.get("type") != "record":
        raise UnsupportedSchema("only record schemas are compiled")
    compiler = _Compiler()
    root = compiler.record(schema, None)
    entry = (
        "def write(obj, head=b''):\n"
        "    out = bytearray(head)\n"
        f"    {root}(obj, out)\n"
        "    return bytes(out)"
    )
    return "\n\n".join([*compiler.functions, entry]), compiler.constants


def compile_writer(schema: Mapping[str, Any]) -> Writer:
    """A function writing a model that matches ``schema`` as Avro binary, after ``head``.

    Raises UnsupportedSchema for constructs the compiler does not cover; writing a value of
    the wrong type raises TypeError, AttributeError, KeyError or OverflowError.
    """
    source, constants = writer_source(schema)
    namespace: dict[str, Any] = {**_RUNTIME, **constants}
    exec(compile(source, f"<avro writer {schema.get('name')}>", "exec"), namespace)
    writer: Writer = namespace["write"]
    return writer
