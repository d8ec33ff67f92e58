"""Checks that a field's JSON default is a value of the field's type, because the reader fills
it in whenever the writer lacks the field (table of default encodings in the specification)."""

from __future__ import annotations

from velocity_stream.compat.issues import JsonValue
from velocity_stream.compat.schema_model import (
    ArrayNode,
    EnumNode,
    FixedNode,
    MapNode,
    Node,
    PrimitiveNode,
    RecordNode,
    UnionNode,
)

_INT_BOUNDS = {"int": 2**31, "long": 2**63}


def default_conforms(node: Node, value: JsonValue) -> bool:
    """True when ``value`` (decoded JSON) is a valid default for ``node``."""
    if isinstance(node, PrimitiveNode):
        return _primitive_conforms(node.type, value)
    if isinstance(node, UnionNode):
        # Avro 1.12: the default must match one element of the union (older versions: the first).
        return any(default_conforms(branch, value) for branch in node.branches)
    if isinstance(node, EnumNode):
        return isinstance(value, str) and value in node.symbol_set
    if isinstance(node, FixedNode):
        return isinstance(value, str) and len(value) == node.size and _is_byte_string(value)
    if isinstance(node, ArrayNode):
        return isinstance(value, list) and all(default_conforms(node.items, v) for v in value)
    if isinstance(node, MapNode):
        return isinstance(value, dict) and all(
            default_conforms(node.values, v) for v in value.values()
        )
    if not isinstance(value, dict):
        return False
    return _record_conforms(node, value)


def _record_conforms(node: RecordNode, value: dict[str, JsonValue]) -> bool:
    for field in node.fields:
        if field.name in value:
            if not default_conforms(field.type, value[field.name]):
                return False
        elif not field.has_default:
            return False
    return True


def _primitive_conforms(kind: str, value: JsonValue) -> bool:
    if kind == "null":
        return value is None
    if isinstance(value, bool):
        return kind == "boolean"
    if kind in _INT_BOUNDS:
        bound = _INT_BOUNDS[kind]
        return isinstance(value, int) and -bound <= value < bound
    if kind in ("float", "double"):
        return isinstance(value, int | float)
    if kind == "string":
        return isinstance(value, str)
    if kind == "bytes":
        return isinstance(value, str) and _is_byte_string(value)
    return False


def _is_byte_string(value: str) -> bool:
    # Bytes and fixed defaults are JSON strings whose code points 0-255 stand for the bytes.
    return all(ord(char) < 256 for char in value)
