"""Write programs: an Avro schema flattened into the steps that write a model of it.

A program is a tuple of instructions, one per record field in order. An instruction is
``(op, attribute, argument)``: what to write, which attribute of the model holds the value
(None for array items and map values), and what the op needs: the symbol table of an enum,
the program of a nested record, the instruction for the items of an array or the values of
a map, or ``(null_index, other_index, instruction)`` for a union of null with one type.

The writers in :mod:`velocity_stream.serde.compiled` run programs. The compiler covers what
contracts use: primitives, ``timestamp-millis``, records, enums, arrays, maps and unions of
null with one other type. Anything else raises :class:`UnsupportedSchema`, and the caller
keeps fastavro's generic writer for that schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any


class Op(IntEnum):
    STRING = 1
    BYTES = 2
    LONG = 3  # Avro int and long: the same zig-zag varint
    MILLIS = 4  # long with logicalType timestamp-millis, from an aware datetime
    DOUBLE = 5
    FLOAT = 6
    BOOLEAN = 7
    ENUM = 8
    RECORD = 9
    ARRAY = 10
    MAP = 11
    OPTIONAL = 12


Instruction = tuple[int, str | None, Any]
Program = tuple[Instruction, ...]

_PRIMITIVES = {
    "string": Op.STRING,
    "bytes": Op.BYTES,
    "int": Op.LONG,
    "long": Op.LONG,
    "double": Op.DOUBLE,
    "float": Op.FLOAT,
    "boolean": Op.BOOLEAN,
}


class UnsupportedSchema(ValueError):
    """The schema uses a construct the writers do not cover (use fastavro for it)."""


def write_program(schema: Mapping[str, Any]) -> Program:
    """The program writing a model of the record ``schema``."""
    if not isinstance(schema, Mapping) or schema.get("type") != "record":
        raise UnsupportedSchema("only record schemas are compiled")
    return _Compiler().record(schema, None)


class _Compiler:
    def __init__(self) -> None:
        self.records: dict[str, Program] = {}  # by full name
        self.enums: dict[str, dict[str, int]] = {}  # by full name: symbol -> index
        self.open: set[str] = set()  # records being compiled (a reference inside is recursion)

    def record(self, schema: Mapping[str, Any], namespace: str | None) -> Program:
        full = _full_name(schema, namespace)
        self.open.add(full)
        inner = full.rpartition(".")[0] or None
        program = tuple(
            self.instruction(field["type"], _attribute(field["name"]), inner)
            for field in schema["fields"]
        )
        self.open.discard(full)
        self.records[full] = program
        return program

    def instruction(self, schema: Any, attribute: str | None, namespace: str | None) -> Instruction:
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return (_PRIMITIVES[schema], attribute, None)
            return self.reference(schema, attribute, namespace)
        if isinstance(schema, list):
            return self.union(schema, attribute, namespace)
        if not isinstance(schema, Mapping):
            raise UnsupportedSchema(f"schema {schema!r}")
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if kind == "record":
            return (Op.RECORD, attribute, self.record(schema, namespace))
        if kind == "enum":
            symbols = {symbol: index for index, symbol in enumerate(schema["symbols"])}
            self.enums[_full_name(schema, namespace)] = symbols
            return (Op.ENUM, attribute, symbols)
        if kind == "array":
            return (Op.ARRAY, attribute, self.instruction(schema["items"], None, namespace))
        if kind == "map":
            return (Op.MAP, attribute, self.instruction(schema["values"], None, namespace))
        if logical == "timestamp-millis" and kind == "long":
            return (Op.MILLIS, attribute, None)
        if logical is not None:
            raise UnsupportedSchema(f"logical type {logical!r}")
        if kind in _PRIMITIVES:
            return (_PRIMITIVES[kind], attribute, None)
        raise UnsupportedSchema(f"type {kind!r}")

    def reference(self, name: str, attribute: str | None, namespace: str | None) -> Instruction:
        full = name if "." in name or namespace is None else f"{namespace}.{name}"
        if full in self.open or name in self.open:
            raise UnsupportedSchema(f"recursive record {name!r}")
        for key in (full, name):
            if key in self.records:
                return (Op.RECORD, attribute, self.records[key])
            if key in self.enums:
                return (Op.ENUM, attribute, self.enums[key])
        raise UnsupportedSchema(f"unknown named type {name!r}")

    def union(
        self, branches: list[Any], attribute: str | None, namespace: str | None
    ) -> Instruction:
        others = [branch for branch in branches if branch != "null"]
        if "null" not in branches or len(others) != 1 or len(branches) != 2:
            raise UnsupportedSchema(f"union {branches!r} (only null and one other type)")
        other = self.instruction(others[0], None, namespace)
        return (Op.OPTIONAL, attribute, (branches.index("null"), branches.index(others[0]), other))


def _full_name(schema: Mapping[str, Any], namespace: str | None) -> str:
    name = str(schema["name"])
    space = schema.get("namespace", namespace)
    return name if "." in name or not space else f"{space}.{name}"


def _attribute(name: str) -> str:
    if not name.isidentifier():
        raise UnsupportedSchema(f"field name {name!r} is not a Python identifier")
    return name
