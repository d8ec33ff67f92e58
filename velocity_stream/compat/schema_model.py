"""Normalizes an Avro schema (JSON text, dict or list) into a graph of typed nodes: named types
carry full names and resolved aliases, references point at their one definition node, and every
position remembers its JSON pointer, so the rules can walk it without re-reading the JSON.

Nodes of recursive schemas refer to themselves, so they are built mutable and compared by
identity; after ``parse_schema`` returns, nothing mutates them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeAlias

from velocity_stream.compat.issues import JsonValue
from velocity_stream.compat.logical import LogicalType, parse_logical
from velocity_stream.errors import ConfigError

PRIMITIVE_TYPES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)
NAMED_TYPES = frozenset({"record", "error", "enum", "fixed"})


class SchemaParseError(ConfigError):
    """The text is not a valid Avro schema; ``pointer`` says where it went wrong."""

    def __init__(self, message: str, pointer: str = "") -> None:
        self.pointer = pointer
        where = pointer or "(root)"
        super().__init__(f"invalid Avro schema at {where}: {message}")


@dataclass(eq=False, slots=True)
class PrimitiveNode:
    type: str
    raw: JsonValue
    logical: LogicalType | None = None


@dataclass(eq=False, slots=True)
class FieldNode:
    name: str
    aliases: tuple[str, ...]
    type: Node
    type_pointer: str
    pointer: str
    raw: JsonValue
    has_default: bool
    default: JsonValue


@dataclass(eq=False, slots=True)
class RecordNode:
    name: str
    aliases: frozenset[str]
    pointer: str
    raw: JsonValue
    type: str = "record"
    fields: tuple[FieldNode, ...] = ()
    by_name: dict[str, FieldNode] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class EnumNode:
    name: str
    aliases: frozenset[str]
    pointer: str
    raw: JsonValue
    symbols: tuple[str, ...]
    symbol_set: frozenset[str]
    default: str | None
    type: str = "enum"


@dataclass(eq=False, slots=True)
class FixedNode:
    name: str
    aliases: frozenset[str]
    pointer: str
    raw: JsonValue
    size: int
    logical: LogicalType | None = None
    type: str = "fixed"


@dataclass(eq=False, slots=True)
class ArrayNode:
    items: Node
    items_pointer: str
    raw: JsonValue
    type: str = "array"


@dataclass(eq=False, slots=True)
class MapNode:
    values: Node
    values_pointer: str
    raw: JsonValue
    type: str = "map"


@dataclass(eq=False, slots=True)
class UnionNode:
    branches: tuple[Node, ...]
    branch_pointers: tuple[str, ...]
    raw: JsonValue
    type: str = "union"


_PLAIN_PRIMITIVES = {name: PrimitiveNode(name, name) for name in PRIMITIVE_TYPES}
_NAMED_CLASSES = (RecordNode, EnumNode, FixedNode)

NamedNode: TypeAlias = RecordNode | EnumNode | FixedNode
Node: TypeAlias = (
    PrimitiveNode | RecordNode | EnumNode | FixedNode | ArrayNode | MapNode | UnionNode
)


@dataclass(frozen=True, slots=True)
class ParsedSchema:
    """A schema parsed once: its root node, every named type by full name, and the source JSON."""

    root: Node
    named: dict[str, NamedNode]
    source: JsonValue


SchemaInput: TypeAlias = "str | dict[str, JsonValue] | list[JsonValue] | ParsedSchema"


def short_name(fullname: str) -> str:
    return fullname.rpartition(".")[2]


def parse_schema(schema: SchemaInput) -> ParsedSchema:
    """Parse JSON text, a decoded dict/list, or pass an already parsed schema through."""
    if isinstance(schema, ParsedSchema):
        return schema
    if isinstance(schema, str):
        return _parse_text(schema)
    return _Parser().parse(schema)


@lru_cache(maxsize=512)
def _parse_text(text: str) -> ParsedSchema:
    # Cached by text: the catalog check parses each .avsc once however often it is compared.
    stripped = text.strip()
    if stripped in PRIMITIVE_TYPES:
        return _Parser().parse(stripped)
    try:
        source: JsonValue = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise SchemaParseError(f"not JSON: {exc.msg} (line {exc.lineno})") from exc
    return _Parser().parse(source)


class _Parser:
    """Depth-first, left-to-right walk defining names before use, as the specification requires."""

    def __init__(self) -> None:
        self.named: dict[str, NamedNode] = {}

    def parse(self, source: JsonValue) -> ParsedSchema:
        root = self._node(source, "", "")
        return ParsedSchema(root=root, named=self.named, source=source)

    def _node(self, raw: JsonValue, pointer: str, namespace: str) -> Node:
        if isinstance(raw, str):
            # Plain primitive names carry nothing per position, so one shared node each will do.
            shared = _PLAIN_PRIMITIVES.get(raw)
            if shared is not None:
                return shared
            return self._reference(raw, pointer, namespace)
        if isinstance(raw, list):
            return self._union(raw, pointer, namespace)
        if not isinstance(raw, dict):
            raise SchemaParseError(f"expected a type name, object or array, got {raw!r}", pointer)
        kind = raw.get("type")
        if isinstance(kind, dict | list):
            # {"type": {...}} wraps a schema; the wrapper adds nothing to the data format.
            return self._node(kind, f"{pointer}/type", namespace)
        if not isinstance(kind, str):
            raise SchemaParseError('missing or invalid "type"', pointer)
        if kind in PRIMITIVE_TYPES:
            return PrimitiveNode(type=kind, raw=raw, logical=parse_logical(raw, kind))
        if kind in ("record", "error"):
            return self._record(raw, pointer, namespace)
        if kind == "enum":
            return self._enum(raw, pointer, namespace)
        if kind == "fixed":
            return self._fixed(raw, pointer, namespace)
        if kind == "array":
            items = _require(raw, "items", pointer)
            item_pointer = f"{pointer}/items"
            return ArrayNode(self._node(items, item_pointer, namespace), item_pointer, raw)
        if kind == "map":
            values = _require(raw, "values", pointer)
            value_pointer = f"{pointer}/values"
            return MapNode(self._node(values, value_pointer, namespace), value_pointer, raw)
        return self._reference(kind, f"{pointer}/type", namespace)

    def _reference(self, name: str, pointer: str, namespace: str) -> Node:
        candidates = [name] if "." in name else [_join(namespace, name), name]
        for candidate in candidates:
            found = self.named.get(candidate)
            if found is not None:
                return found
        raise SchemaParseError(
            f"unknown type {name!r} (named types must be defined before use)", pointer
        )

    def _union(self, raw: list[JsonValue], pointer: str, namespace: str) -> UnionNode:
        branches: list[Node] = []
        pointers: list[str] = []
        seen: set[str] = set()
        for index, raw_branch in enumerate(raw):
            branch_pointer = f"{pointer}/{index}"
            branch = self._node(raw_branch, branch_pointer, namespace)
            if branch.type == "union":
                raise SchemaParseError("a union may not directly contain a union", branch_pointer)
            # Named types are told apart by name, everything else by type.
            key = branch.name if isinstance(branch, _NAMED_CLASSES) else branch.type
            if key in seen:
                raise SchemaParseError(f"union contains {key!r} twice", branch_pointer)
            seen.add(key)
            branches.append(branch)
            pointers.append(branch_pointer)
        return UnionNode(tuple(branches), tuple(pointers), raw)

    def _define(
        self, raw: dict[str, JsonValue], pointer: str, namespace: str
    ) -> tuple[str, str, frozenset[str]]:
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise SchemaParseError('a named type needs a "name"', pointer)
        if "." in name:
            fullname = name
        else:
            declared = raw.get("namespace")
            fullname = _join(declared if isinstance(declared, str) else namespace, name)
        if fullname in self.named:
            raise SchemaParseError(f"type {fullname!r} is defined twice", pointer)
        own_namespace = fullname.rpartition(".")[0]
        raw_aliases = raw.get("aliases", [])
        if not isinstance(raw_aliases, list):
            raise SchemaParseError('"aliases" must be an array', pointer)
        # Aliases are relative to the namespace of the name they are an alias for.
        aliases = frozenset(
            alias if "." in alias else _join(own_namespace, alias)
            for alias in raw_aliases
            if isinstance(alias, str)
        )
        return fullname, own_namespace, aliases

    def _record(self, raw: dict[str, JsonValue], pointer: str, namespace: str) -> RecordNode:
        fullname, own_namespace, aliases = self._define(raw, pointer, namespace)
        node = RecordNode(name=fullname, aliases=aliases, pointer=pointer, raw=raw, type="record")
        # Registered before the fields are parsed so that fields may refer to the record itself.
        self.named[fullname] = node
        raw_fields = _require(raw, "fields", pointer)
        if not isinstance(raw_fields, list):
            raise SchemaParseError('"fields" must be an array', pointer)
        fields: list[FieldNode] = []
        for index, raw_field in enumerate(raw_fields):
            field_pointer = f"{pointer}/fields/{index}"
            if not isinstance(raw_field, dict) or not isinstance(raw_field.get("name"), str):
                raise SchemaParseError('a field must be an object with a "name"', field_pointer)
            field_name = str(raw_field["name"])
            if field_name in node.by_name:
                raise SchemaParseError(f"field {field_name!r} is defined twice", field_pointer)
            type_pointer = f"{field_pointer}/type"
            field_type = self._node(
                _require(raw_field, "type", field_pointer), type_pointer, own_namespace
            )
            raw_aliases = raw_field.get("aliases")
            field_aliases = (
                tuple(a for a in raw_aliases if isinstance(a, str))
                if raw_aliases and isinstance(raw_aliases, list)
                else ()
            )
            field_node = FieldNode(
                field_name,
                field_aliases,
                field_type,
                type_pointer,
                field_pointer,
                raw_field,
                "default" in raw_field,
                raw_field.get("default"),
            )
            fields.append(field_node)
            node.by_name[field_name] = field_node
        node.fields = tuple(fields)
        return node

    def _enum(self, raw: dict[str, JsonValue], pointer: str, namespace: str) -> EnumNode:
        fullname, _, aliases = self._define(raw, pointer, namespace)
        symbols = _require(raw, "symbols", pointer)
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise SchemaParseError('"symbols" must be an array of strings', pointer)
        symbol_tuple = tuple(str(s) for s in symbols)
        if len(set(symbol_tuple)) != len(symbol_tuple):
            raise SchemaParseError("enum symbols must be unique", pointer)
        default = raw.get("default")
        if default is not None and default not in symbol_tuple:
            raise SchemaParseError(f"enum default {default!r} is not one of its symbols", pointer)
        node = EnumNode(
            fullname,
            aliases,
            pointer,
            raw,
            symbol_tuple,
            frozenset(symbol_tuple),
            default if isinstance(default, str) else None,
        )
        self.named[fullname] = node
        return node

    def _fixed(self, raw: dict[str, JsonValue], pointer: str, namespace: str) -> FixedNode:
        fullname, _, aliases = self._define(raw, pointer, namespace)
        size = _require(raw, "size", pointer)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise SchemaParseError('"size" must be a non-negative integer', pointer)
        node = FixedNode(fullname, aliases, pointer, raw, size, parse_logical(raw, "fixed", size))
        self.named[fullname] = node
        return node


def _join(namespace: str, name: str) -> str:
    return f"{namespace}.{name}" if namespace else name


def _require(raw: dict[str, JsonValue], key: str, pointer: str) -> JsonValue:
    if key not in raw:
        raise SchemaParseError(f'missing "{key}"', pointer)
    return raw[key]


def describe(node: Node) -> str:
    """A short human name for a schema node, as used in messages."""
    if isinstance(node, PrimitiveNode):
        return f"{node.type} ({node.logical.describe()})" if node.logical else node.type
    if isinstance(node, RecordNode | EnumNode):
        return f"{node.type} `{node.name}`"
    if isinstance(node, FixedNode):
        suffix = f", {node.logical.describe()}" if node.logical else ""
        return f"fixed `{node.name}` (size {node.size}{suffix})"
    if isinstance(node, ArrayNode):
        return f"array of {describe(node.items)}"
    if isinstance(node, MapNode):
        return f"map of {describe(node.values)}"
    return "union [" + ", ".join(describe(b) for b in node.branches) + "]"
