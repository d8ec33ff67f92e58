"""Read programs: a writer schema resolved against a reader schema, once, into read steps.

A read program is one instruction, ``(op, argument, finish)``: what to read from the body,
what the op needs, and ``finish``, a callable applied to the value read (or None). The
arguments are:

- ``STRING``: None, or ``(low, high)``: the bounds of its length in code points (high None:
  no upper bound), a :class:`LengthCheck` folded in;
- ``ENUM``: per writer symbol index, the reader's symbol (the reader default stands in for
  a symbol the reader lacks) or None when the reader has neither; with a
  :class:`SymbolLookup` folded in, what the lookup gives for that symbol;
- ``FIXED``: the size; ``ARRAY`` and ``MAP``: the instruction of the items or values;
- ``UNION``: per writer branch index, the instruction reading that branch into the reader's
  schema, or None when no reader branch matches (what fastavro refuses);
- ``RECORD``: ``(steps, defaults, build)``: ``steps`` a tuple of ``(slot, instruction)`` in
  the writer's field order (slot -1: a writer-only field, read and dropped), ``defaults``
  the reader's field values before reading (its defaults for fields the writer lacks) and
  ``build`` the callable turning the filled list into the record (a dict, or a contract
  model: :mod:`velocity_stream.serde.builders`).

The resolution follows the Avro specification as fastavro applies it (promotions int ->
long -> float -> double and string <-> bytes, the first matching reader branch of a union,
enum defaults, field defaults as written in the reader schema). What a program reads equals
what ``fastavro.schemaless_reader`` returns for the same writer and reader, or the runner
refuses the body (and the caller takes fastavro's path, which then decides). A construct
this module does not cover raises :class:`UnsupportedSchema` when the program is compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Any

from velocity_stream.serde.program import UnsupportedSchema


class ReadOp(IntEnum):
    NULL = 1
    BOOLEAN = 2
    INT = 3  # a writer int: a varint that must fit 32 bits
    LONG = 4
    INT_FLOAT = 5  # int or long promoted to float or double
    FLOAT = 6
    DOUBLE = 7
    STRING = 8
    BYTES = 9
    STRING_BYTES = 10  # writer string, reader bytes: the UTF-8 bytes
    BYTES_STRING = 11  # writer bytes, reader string: decoded as UTF-8
    ENUM = 12
    FIXED = 13
    ARRAY = 14
    MAP = 15
    UNION = 16
    RECORD = 17
    MILLIS = 18  # long, timestamp-millis: an aware datetime in UTC
    MICROS = 19  # long, timestamp-micros
    DATE = 20  # int, date
    UUID = 21  # string, uuid


Finish = Callable[[Any], Any]
_Names = dict[str, tuple[Mapping[str, Any], str | None]]  # full name -> (schema, namespace)
Build = Callable[[list[Any]], Any]
ReadInstruction = tuple[int, Any, Finish | None]

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "enum", "fixed"})
_LOGICAL = {
    ("long", "timestamp-millis"): ReadOp.MILLIS,
    ("long", "timestamp-micros"): ReadOp.MICROS,
    ("int", "date"): ReadOp.DATE,
    ("string", "uuid"): ReadOp.UUID,
}
# Writer type -> reader types it is promoted to, with the op reading it (fastavro's list).
_PROMOTIONS: dict[tuple[str, str], ReadOp] = {
    ("int", "long"): ReadOp.INT,
    ("int", "float"): ReadOp.INT_FLOAT,
    ("int", "double"): ReadOp.INT_FLOAT,
    ("long", "float"): ReadOp.INT_FLOAT,
    ("long", "double"): ReadOp.INT_FLOAT,
    ("float", "double"): ReadOp.FLOAT,
    ("string", "bytes"): ReadOp.STRING_BYTES,
    ("bytes", "string"): ReadOp.BYTES_STRING,
}
_SAME: dict[str, ReadOp] = {
    "null": ReadOp.NULL,
    "boolean": ReadOp.BOOLEAN,
    "int": ReadOp.INT,
    "long": ReadOp.LONG,
    "float": ReadOp.FLOAT,
    "double": ReadOp.DOUBLE,
    "string": ReadOp.STRING,
    "bytes": ReadOp.BYTES,
}
# Defaults fastavro hands out as written in the schema; only immutable ones are taken, so
# one value can serve every record.
_DEFAULT_TYPES = (str, bool, int, float, type(None))


class Refused(ValueError):
    """A runner or finish does not vouch for a body; the validated path decides instead."""


class Malformed(Refused):
    """A body the Avro specification forbids but fastavro reads anyway: a negative union or
    enum index (fastavro indexes a Python list with it, from the end), a boolean byte other
    than 0 or 1, a varint past 64 bits (fastavro keeps or wraps the extra bits) or an int
    past 32 (fastavro reads ints as longs). This refusal is final. The gateway forwards
    accepted bodies byte for byte, so letting fastavro accept one would hand every stricter
    reader downstream a record it cannot read."""


class SymbolLookup:
    """A finish from a symbol to what it stands for (an enum member, say). On an ENUM it is
    folded into the op's table when the program is compiled, so reading costs nothing."""

    __slots__ = ("table",)

    def __init__(self, table: Mapping[str, Any]) -> None:
        self.table = table

    def __call__(self, value: Any) -> Any:
        found = self.table.get(value)
        if found is None:
            raise Refused(f"{value!r} is not one of {sorted(self.table)}")
        return found


class LengthCheck:
    """A finish refusing a value of fewer than ``low`` or more than ``high`` items (code
    points for a string). On a STRING it is folded into the op: the runner checks it."""

    __slots__ = ("high", "low")

    def __init__(self, low: int, high: int | None) -> None:
        self.low = low
        self.high = high

    def __call__(self, value: Any) -> Any:
        if len(value) < self.low or (self.high is not None and len(value) > self.high):
            raise Refused(f"a length of {len(value)}")
        return value


class Shaper:
    """What becomes of the values read: plain (fastavro's dicts and lists) by default.

    :mod:`velocity_stream.serde.builders` subclasses it to build contract models. ``target``
    is opaque here: the shaper's own description of what the position should become.
    """

    # True: the runner refuses a string or map key holding U+0000 (read_without_nul), and
    # the shaper may count on no value it is given holding one.
    without_nul = False

    def record(
        self, target: Any, name: str, fields: tuple[str, ...]
    ) -> tuple[Build, tuple[Any, ...], Finish | None]:
        """How a record of reader ``fields`` is built, the targets of its fields, and the
        finish applied to the built record."""
        return _dict_builder(fields), (None,) * len(fields), None

    def resolve(self, target: Any, reader: Any, kind: str) -> tuple[Any, Finish | None, bool]:
        """For a value of reader type ``kind`` (an Avro type name or logical type): the
        target of its parts, a finish, and whether the parts are plain (a finish applied to
        fastavro's form). Plain: no target, no finish."""
        return None, None, True

    def branch(self, target: Any, branch: Any) -> Any:
        """The target of one branch of a reader union (``target`` is the union's)."""
        return None

    def default(self, target: Any, value: Any) -> Any:
        """What a reader default becomes at ``target`` (raises UnsupportedSchema when it
        cannot serve every record)."""
        return value


def _dict_builder(fields: tuple[str, ...]) -> Build:
    def build(values: list[Any]) -> dict[str, Any]:
        return dict(zip(fields, values, strict=True))

    return build


def read_program(
    writer: Mapping[str, Any],
    reader: Mapping[str, Any] | None = None,
    shaper: Shaper | None = None,
    target: Any = None,
) -> ReadInstruction:
    """The program reading a body written with the record ``writer`` as ``reader``
    (default: the writer itself), shaped by ``shaper`` starting from ``target``."""
    if not isinstance(writer, Mapping) or writer.get("type") != "record":
        raise UnsupportedSchema("only record schemas are compiled")
    reader = writer if reader is None else reader
    if not isinstance(reader, Mapping) or reader.get("type") != "record":
        raise UnsupportedSchema("the reader schema is not a record")
    writers, readers = _named_types(writer), _named_types(reader)
    return _Resolver(writers, readers, shaper or Shaper()).value(writer, reader, target, None, None)


def _full_name(schema: Mapping[str, Any], namespace: str | None) -> str:
    name = str(schema["name"])
    space = schema.get("namespace", namespace)
    return name if "." in name or not space else f"{space}.{name}"


def _named_types(schema: Any) -> _Names:
    """Every named type of a schema by full name: its definition and enclosing namespace."""
    found: _Names = {}

    def walk(node: Any, namespace: str | None) -> None:
        if isinstance(node, list):
            for branch in node:
                walk(branch, namespace)
        elif isinstance(node, Mapping):
            kind = node.get("type")
            if node.get("aliases"):
                raise UnsupportedSchema("aliases")
            if kind in _NAMED:
                full = _full_name(node, namespace)
                if full in found:
                    raise UnsupportedSchema(f"{full} is defined twice")
                found[full] = (node, namespace)
                inner = full.rpartition(".")[0] or None
                for field in node.get("fields", ()):
                    if field.get("aliases"):
                        raise UnsupportedSchema("field aliases")
                    walk(field["type"], inner)
            elif kind == "array":
                walk(node["items"], namespace)
            elif kind == "map":
                walk(node["values"], namespace)
            elif isinstance(kind, list | Mapping):
                walk(kind, namespace)

    walk(schema, None)
    return found


class _Resolver:
    def __init__(self, writers: _Names, readers: _Names, shaper: Shaper) -> None:
        self.writers = writers
        self.readers = readers
        self.shaper = shaper
        self.open: set[tuple[str, str]] = set()
        self._skipper: _Resolver | None = None

    def skip(self, schema: Any, namespace: str | None) -> ReadInstruction:
        """Reading a writer-only value as itself (to be dropped)."""
        if self._skipper is None:
            self._skipper = _Resolver(self.writers, self.writers, Shaper())
        return self._skipper.value(schema, schema, None, namespace, namespace)

    def named(self, schema: Any, namespace: str | None, table: _Names) -> tuple[Any, str | None]:
        """``schema`` with a named reference replaced by its definition, and its namespace."""
        if isinstance(schema, str) and schema not in _PRIMITIVES:
            full = schema if "." in schema or namespace is None else f"{namespace}.{schema}"
            for key in (full, schema):
                if key in table:
                    return table[key]
            raise UnsupportedSchema(f"unknown named type {schema!r}")
        if isinstance(schema, Mapping) and isinstance(schema.get("type"), list | Mapping):
            return schema["type"], namespace
        return schema, namespace

    def kind(self, schema: Any) -> str:
        """The Avro type of a resolved schema; logical types as ``type/logicalType``."""
        if isinstance(schema, str):
            return schema
        if isinstance(schema, list):
            return "union"
        kind = schema.get("type")
        if not isinstance(kind, str):
            raise UnsupportedSchema(f"schema {schema!r}")
        logical = schema.get("logicalType")
        if logical is not None and kind not in _NAMED and kind not in ("array", "map"):
            if (kind, logical) not in _LOGICAL:
                raise UnsupportedSchema(f"logical type {logical!r} on {kind}")
            return f"{kind}/{logical}"
        return kind

    def matches(self, writer: Any, reader: Any, wns: str | None, rns: str | None) -> bool:
        """fastavro's test for whether a writer branch reads as a reader branch."""
        writer, _ = self.named(writer, wns, self.writers)
        reader, _ = self.named(reader, rns, self.readers)
        if isinstance(writer, list) or isinstance(reader, list):
            return True
        wkind, rkind = self.kind(writer).split("/")[0], self.kind(reader).split("/")[0]
        if wkind in _NAMED or rkind in _NAMED:
            if wkind != rkind:
                return False
            if wkind == "fixed" and writer["size"] != reader["size"]:
                return False
            return bool(writer["name"].split(".")[-1] == reader["name"].split(".")[-1])
        if wkind == rkind:
            if wkind == "array":
                return self.matches(writer["items"], reader["items"], wns, rns)
            if wkind == "map":
                return self.matches(writer["values"], reader["values"], wns, rns)
            return True
        return (wkind, rkind) in _PROMOTIONS

    def value(
        self,
        writer: Any,
        reader: Any,
        target: Any,
        wns: str | None,
        rns: str | None,
    ) -> ReadInstruction:
        writer, wns = self.named(writer, wns, self.writers)
        reader, rns = self.named(reader, rns, self.readers)
        wkind, rkind = self.kind(writer), self.kind(reader)
        if wkind == "union":
            return self.writer_union(writer, reader, target, wns, rns)
        if rkind == "union":
            for branch in reader:
                if self.matches(writer, branch, wns, rns):
                    inner = self.shaper.branch(target, branch)
                    return self.value(writer, branch, inner, wns, rns)
            raise UnsupportedSchema(f"{wkind} matches no branch of the reader union")
        if rkind == "record":  # the shaper's record() takes the target itself
            return self.typed(writer, reader, wkind, rkind, target, wns, rns)
        parts, finish, plain = self.shaper.resolve(target, reader, rkind)
        if plain:
            parts = None
        instruction = self.typed(writer, reader, wkind, rkind, parts, wns, rns)
        if finish is None:
            return instruction
        op, argument, inner = instruction
        if isinstance(finish, SymbolLookup) and op == ReadOp.ENUM and inner is None:
            table = tuple(None if s is None else finish.table.get(s) for s in argument)
            return (op, table, None)
        if isinstance(finish, LengthCheck) and op == ReadOp.STRING and argument is None:
            return (op, (finish.low, finish.high), inner)
        if instruction[2] is not None:
            first, second = instruction[2], finish

            def both(value: Any) -> Any:
                return second(first(value))

            finish = both
        return (instruction[0], instruction[1], finish)

    def writer_union(
        self, writer: list[Any], reader: Any, target: Any, wns: str | None, rns: str | None
    ) -> ReadInstruction:
        branches: list[ReadInstruction | None] = []
        for branch in writer:
            if isinstance(reader, list):
                chosen = next((r for r in reader if self.matches(branch, r, wns, rns)), None)
                if chosen is None:
                    branches.append(None)
                    continue
                inner = self.shaper.branch(target, chosen)
                branches.append(self.value(branch, chosen, inner, wns, rns))
            elif self.matches(branch, reader, wns, rns):
                branches.append(self.value(branch, reader, target, wns, rns))
            else:
                branches.append(None)
        return (ReadOp.UNION, tuple(branches), None)

    def typed(
        self,
        writer: Any,
        reader: Any,
        wkind: str,
        rkind: str,
        target: Any,
        wns: str | None,
        rns: str | None,
    ) -> ReadInstruction:
        if "/" in wkind or "/" in rkind:
            if wkind != rkind:
                raise UnsupportedSchema(f"{wkind} read as {rkind}")
            return (_LOGICAL[tuple(wkind.split("/"))], None, None)  # type: ignore[index]
        if wkind in _PRIMITIVES and rkind in _PRIMITIVES:
            if wkind == rkind:
                return (_SAME[wkind], None, None)
            if (wkind, rkind) in _PROMOTIONS:
                op = _PROMOTIONS[(wkind, rkind)]
                # An int promoted to a float still has to fit 32 bits on the wire.
                return (op, wkind == "int" if op == ReadOp.INT_FLOAT else None, None)
            raise UnsupportedSchema(f"{wkind} read as {rkind}")
        if wkind != rkind:
            raise UnsupportedSchema(f"{wkind} read as {rkind}")
        if wkind == "array":
            items = self.value(writer["items"], reader["items"], target, wns, rns)
            _refuse_empty(items)
            return (ReadOp.ARRAY, items, None)
        if wkind == "map":
            values = self.value(writer["values"], reader["values"], target, wns, rns)
            return (ReadOp.MAP, values, None)
        if writer["name"].split(".")[-1] != reader["name"].split(".")[-1]:
            raise UnsupportedSchema(f"{writer['name']} read as {reader['name']}")
        if wkind == "enum":
            return (ReadOp.ENUM, _enum_table(writer, reader), None)
        if wkind == "fixed":
            if writer["size"] != reader["size"]:
                raise UnsupportedSchema("fixed sizes differ")
            return (ReadOp.FIXED, int(writer["size"]), None)
        if wkind == "record":
            return self.record(writer, reader, target, wns, rns)
        raise UnsupportedSchema(f"type {wkind!r}")

    def record(
        self,
        writer: Mapping[str, Any],
        reader: Mapping[str, Any],
        target: Any,
        wns: str | None,
        rns: str | None,
    ) -> ReadInstruction:
        key = (_full_name(writer, wns), _full_name(reader, rns))
        if key in self.open:
            raise UnsupportedSchema(f"recursive record {key[1]!r}")
        self.open.add(key)
        winner = key[0].rpartition(".")[0] or None
        rinner = key[1].rpartition(".")[0] or None
        by_name = {str(field["name"]): field for field in reader["fields"]}
        if len(by_name) != len(reader["fields"]):
            raise UnsupportedSchema(f"{key[1]} names a field twice")
        # Slots in fastavro's key order: the fields both have, in the writer's order, then
        # the reader's own (from their defaults), in the reader's order.
        shared = [str(f["name"]) for f in writer["fields"] if f["name"] in by_name]
        names = (*shared, *(name for name in by_name if name not in set(shared)))
        build, targets, finish = self.shaper.record(target, key[1], names)
        slots = {name: index for index, name in enumerate(names)}
        defaults: list[Any] = [None] * len(names)
        steps: list[tuple[int, ReadInstruction]] = []
        for field in writer["fields"]:
            name = str(field["name"])
            slot = slots.get(name, -1)
            if slot < 0:
                # Read and dropped: fastavro reads a writer-only field too, so a body that
                # breaks it breaks the record.
                steps.append((-1, self.skip(field["type"], winner)))
                continue
            read = self.value(field["type"], by_name[name]["type"], targets[slot], winner, rinner)
            steps.append((slot, read))
        for index, name in enumerate(names[len(shared) :], start=len(shared)):
            field = by_name[name]
            if "default" not in field:
                raise UnsupportedSchema(f"{key[1]}.{name} has no default")
            default = field["default"]
            if not isinstance(default, _DEFAULT_TYPES):
                raise UnsupportedSchema(f"{key[1]}.{name}: default {default!r}")
            defaults[index] = self.shaper.default(targets[index], default)
        self.open.discard(key)
        return (ReadOp.RECORD, (tuple(steps), tuple(defaults), build), finish)


def _enum_table(writer: Mapping[str, Any], reader: Mapping[str, Any]) -> tuple[str | None, ...]:
    symbols = set(reader["symbols"])
    default = reader.get("default")
    return tuple(
        symbol if symbol in symbols else (default if default else None)
        for symbol in writer["symbols"]
    )


def _refuse_empty(items: ReadInstruction) -> None:
    # Items of no bytes (null, a record of nulls, an empty fixed) would let a hostile count
    # loop without reading; arrays of them stay with fastavro. Any other item takes at least
    # one byte, so a count beyond the bytes left is refused before anything is read.
    if _may_be_empty(items):
        raise UnsupportedSchema("an array of items that may take no bytes")


def _may_be_empty(instruction: ReadInstruction) -> bool:
    op, argument, _ = instruction
    if op == ReadOp.NULL:
        return True
    if op == ReadOp.FIXED:
        return bool(argument == 0)
    if op == ReadOp.RECORD:
        return all(_may_be_empty(step) for _, step in argument[0])
    return False
