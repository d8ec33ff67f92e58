"""The values at the edge of every constraint of a model: the first one outside a bound or a
length, the one exactly on it, and NaN and the infinities for every float.

A record drawn at random mostly breaks some other rule before it reaches a given bound, so
the property tests rarely see a value beside one. Here the constrained positions are found
in the model's pydantic core schema (what ``model_validate`` runs, and what the compiled
reader's model builder reads), so a field that gains a constraint is tested without a list
to update; a constraint key with no entry in ``EDGES`` fails ``test_field_edges``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import fastavro
from pydantic import BaseModel

Path = tuple[str | int, ...]
# Any item of an array or value of a map: the first one that reaches the rest of the path.
ANY = "*"
_LENGTHS = ("min_length", "max_length")
# The positions pydantic-core checks a bound of: numbers and sized values.
_BOUNDED = {"int", "float"}
_SIZED = {"str", "bytes", "list", "tuple", "dict", "set", "frozenset"}


@dataclass(frozen=True)
class Edge:
    """``value`` at ``path``; ``outside``: validation must refuse it there (True), must
    accept it (False), or either, as long as the compiled reader answers the same (None)."""

    path: Path
    label: str
    value: Any
    outside: bool | None

    @property
    def dotted(self) -> str:
        """The path as a violation names it."""
        return ".".join(str(part) for part in self.path)

    def __str__(self) -> str:
        return f"{self.dotted} {self.label} ({self.value!r})"


@dataclass(frozen=True)
class Position:
    """A constrained position: its path, its core schema, and the field it belongs to (the
    name of the innermost model class and of the field)."""

    path: Path
    schema: Mapping[str, Any]
    field: tuple[str, str]


def positions(model: type[BaseModel]) -> list[Position]:
    """Every position of ``model`` with a bound, a length or a float, nested models,
    optionals, array items and map values included."""
    schema = model.__pydantic_core_schema__
    definitions: dict[str, Mapping[str, Any]] = {}
    if schema["type"] == "definitions":
        definitions = {d["ref"]: d for d in schema["definitions"]}
        schema = schema["schema"]
    found: list[Position] = []
    open_models: set[Any] = set()  # a recursive model's positions are found once

    def walk(node: Mapping[str, Any], path: Path, field: tuple[str, str]) -> None:
        while node["type"] == "definition-ref":
            node = definitions[node["schema_ref"]]
        kind = node["type"]
        if kind == "model":
            ref = node.get("ref", id(node))
            if ref not in open_models:
                open_models.add(ref)
                owner = node["cls"].__qualname__
                for name, inner in node["schema"]["fields"].items():
                    walk(inner["schema"], (*path, name), (owner, name))
                open_models.discard(ref)
            return
        if kind in _BOUNDED or (kind in _SIZED and any(key in node for key in _LENGTHS)):
            found.append(Position(path, node, field))
        if kind in ("list", "tuple", "set", "frozenset"):
            items = node.get("items_schema")
            for item in items if isinstance(items, list) else [items] if items else []:
                walk(item, (*path, ANY), field)
        elif kind == "dict" and "values_schema" in node:
            walk(node["values_schema"], (*path, ANY), field)
        elif kind == "union":
            for choice in node["choices"]:
                walk(choice[0] if isinstance(choice, tuple) else choice, path, field)
        elif "schema" in node:  # defaults, optionals, validators around a value
            walk(node["schema"], path, field)

    walk(schema, (), ("", ""))
    return found


# --- the values at the edges ------------------------------------------------------------

Step = Callable[[Any, float], Any]  # (bound, direction) -> the next value that way
_SMALLEST32 = struct.unpack("<f", struct.pack("<i", 1))[0]


def _next64(value: float, direction: float) -> float:
    return math.nextafter(value, direction)


def _next32(value: float, direction: float) -> float:
    """The next single-precision value after ``value`` towards ``direction`` (stepping the
    bits: single-precision values are ordered as their bit patterns, sign apart)."""
    if value == 0:
        return math.copysign(_SMALLEST32, direction)
    bits = struct.unpack("<i", struct.pack("<f", value))[0]
    up = direction > value
    bits += 1 if (bits >= 0) == up else -1
    return float(struct.unpack("<f", struct.pack("<i", bits))[0])


def _next_int(value: int, direction: float) -> int:
    return value + (1 if direction > value else -1)


def step_for(kind: str, avro_type: str) -> Step:
    """The step between values of a core schema ``kind`` read from ``avro_type``."""
    return _next_int if kind == "int" else _next32 if avro_type == "float" else _next64


# Per constraint key: (the first value outside, the value on the edge), from the bound and
# the step to the next value; the sizes for lengths.
EDGES: dict[str, Callable[[Any, Step], tuple[Any, Any]]] = {
    "ge": lambda bound, step: (step(bound, -math.inf), bound),
    "gt": lambda bound, step: (bound, step(bound, math.inf)),
    "le": lambda bound, step: (step(bound, math.inf), bound),
    "lt": lambda bound, step: (bound, step(bound, -math.inf)),
    "min_length": lambda size, step: (size - 1, size),
    "max_length": lambda size, step: (size + 1, size),
}
# Constraints whose edges are not a bound: NaN and the infinities, tested on every float;
# a pattern, which a value on a length's edge may break (then either answer will do).
FLAGS = {"allow_inf_nan", "pattern"}
# Keys of a number's or a sized value's core schema that do not constrain it.
NEUTRAL = {"type", "ref", "metadata", "serialization", "strict"}
NEUTRAL |= {"items_schema", "variadic_item_index", "keys_schema", "values_schema"}


def edges(schema: Mapping[str, Any], path: Path, current: Any, avro_type: str) -> Iterator[Edge]:
    """The edges of the position ``schema`` at ``path`` of a valid record, given its value
    there (a sized value is grown or cut from it) and its Avro type (``float`` steps in
    single precision)."""
    kind = schema["type"]
    step = step_for(kind, avro_type)
    for key in sorted(set(schema) - NEUTRAL - FLAGS):
        if key not in EDGES:
            raise KeyError(f"no edges for {key!r} at {path}: add it to EDGES")
        outside, on = EDGES[key](schema[key], step)
        if key in _LENGTHS:
            on_is_valid = False if "pattern" not in schema else None
            for size, is_outside in ((outside, True), (on, on_is_valid)):
                value = sized(current, size)
                if size >= 0 and value is not None:
                    yield Edge(path, f"{key} {size}", value, is_outside)
        else:
            yield Edge(path, f"beyond {key}", outside, True)
            yield Edge(path, f"on {key}", on, False)
    if kind == "float":
        # Allowed by the type, a non-finite value may still break a bound or a rule.
        refused = True if schema.get("allow_inf_nan", True) is False else None
        for value in (math.nan, math.inf, -math.inf):
            yield Edge(path, str(value), value, refused)


def sized(current: Any, size: int) -> Any:
    """A value like ``current`` with ``size`` items (None: nothing to repeat)."""
    if isinstance(current, str | bytes):
        filler = current or ("a" if isinstance(current, str) else b"a")
        return (filler * size)[:size]
    if isinstance(current, Mapping):
        if not current and size:
            return None
        item = next(iter(current.values()), None)
        return {f"k{index}": item for index in range(size)}
    if isinstance(current, list | tuple):
        if not current and size:
            return None
        return [current[index % len(current)] for index in range(size)]
    return None


# --- records ----------------------------------------------------------------------------


def reach(record: Any, path: Path) -> Path | None:
    """``path`` with each ``ANY`` replaced by the first index or key that reaches the rest
    in ``record``; None when nothing does (empty arrays and maps, null optionals)."""
    if not path:
        return ()
    if record is None:
        return None
    head, rest = path[0], path[1:]
    if head != ANY:
        found = reach(record[head], rest)
        return None if found is None else (head, *found)
    for key in record if isinstance(record, Mapping) else range(len(record)):
        found = reach(record[key], rest)
        if found is not None:
            return (key, *found)
    return None


def get_at(record: Any, path: Path) -> Any:
    """The value at a reached ``path``."""
    for part in path:
        record = record[part]
    return record


def set_at(record: Any, path: Path, value: Any) -> Any:
    """A copy of ``record`` with ``value`` at the reached ``path`` (the rest shared)."""
    if not path:
        return value
    head = path[0]
    copy: Any = dict(record) if isinstance(record, Mapping) else list(record)
    copy[head] = set_at(record[head], path[1:], value)
    return copy


def avro_types(schema: Mapping[str, Any]) -> Callable[[Path], str]:
    """The Avro type at a path of records of ``schema`` (an optional's other branch)."""
    expanded = fastavro.parse_schema(dict(schema), expand=True)

    def at(path: Path) -> str:
        node = expanded
        for part in path:
            node = _inner(node)
            if node["type"] == "record":
                node = next(f["type"] for f in node["fields"] if f["name"] == part)
            else:
                node = node["items"] if node["type"] == "array" else node["values"]
        node = _inner(node)
        return str(node if isinstance(node, str) else node["type"])

    return at


def _inner(node: Any) -> Any:
    while True:
        if isinstance(node, list):
            node = next(branch for branch in node if branch != "null")
        elif isinstance(node, Mapping) and not isinstance(node["type"], str):
            node = node["type"]
        else:
            return node
