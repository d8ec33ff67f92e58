"""Model vs schema drift: the .avsc files are the source of truth, and a model must match them.

:func:`check_drift` walks a pydantic model and an Avro schema side by side and names every
difference in fields (names and order), types (nested records, enum symbols, arrays, maps,
nullable unions, timestamps), optionality and defaults. The mapping it checks is the project's
model convention: arrays are ``tuple[X, ...]``, maps ``StrMap`` (a dict frozen after
validation, so a validated artifact never changes), ``["null", X]`` is
``X | None``, records are ContractModel subclasses, enums StrEnums, and
``timestamp-millis`` is ``AwareDatetime``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import AfterValidator, AwareDatetime, BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from velocity_stream.contracts.catalog import SchemaVersion
from velocity_stream.contracts.metadata import FrozenMap

_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "null": (type(None),),
    "boolean": (bool,),
    "int": (int,),
    "long": (int,),
    "float": (float,),
    "double": (float,),
    "bytes": (bytes,),
    "string": (str,),
}
_LOGICAL: dict[str, type] = {
    "timestamp-millis": AwareDatetime,
    "timestamp-micros": AwareDatetime,
    "date": date,
}


@dataclass
class _Walk:
    """State of one comparison: named types seen so far and the problems found."""

    named: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    compared: set[tuple[int, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def report(self, path: str, problem: str) -> None:
        self.problems.append(f"{path or '<record>'}: {problem}")

    def define(self, schema: Mapping[str, Any], namespace: str | None) -> str:
        name = str(schema["name"])
        full = name if "." in name else f"{schema.get('namespace', namespace)}.{name}"
        self.named[full] = schema
        self.named.setdefault(name, schema)
        return full

    def lookup(self, name: str, namespace: str | None) -> Mapping[str, Any] | None:
        for candidate in (name, f"{namespace}.{name}"):
            if candidate in self.named:
                return self.named[candidate]
        return None


def check_drift(model: type[BaseModel], schema_version: SchemaVersion) -> list[str]:
    """Every difference between ``model`` and the schema of ``schema_version``; [] if none."""
    schema = schema_version.schema
    walk = _Walk()
    label = f"{model.__name__} vs {schema_version.family} {schema_version.version}"
    family = getattr(model, "FAMILY", None)
    if family is not None and str(schema["name"]).rsplit(".", 1)[-1] != family:
        walk.report("", f"model family {family!r}, schema record {schema['name']!r}")
    declared = getattr(model, "SCHEMA_VERSION", None)
    if declared is not None and declared != str(schema_version.version):
        walk.report(
            "", f"model declares SCHEMA_VERSION {declared}, schema is {schema_version.version}"
        )
    _record(walk, model, schema, None, "")
    return [f"{label}: {problem}" for problem in walk.problems]


def _record(
    walk: _Walk, model: type[BaseModel], schema: Mapping[str, Any], namespace: str | None, path: str
) -> None:
    full = walk.define(schema, namespace)
    if (id(model), full) in walk.compared:
        return  # already compared (a named type used twice, or a recursive reference)
    walk.compared.add((id(model), full))
    inner_ns = full.rsplit(".", 1)[0] if "." in full else None
    avro_fields = {str(f["name"]): f for f in schema["fields"]}
    model_fields = model.model_fields
    for name in avro_fields.keys() - model_fields.keys():
        walk.report(_join(path, name), "in the schema, missing from the model")
    for name in model_fields.keys() - avro_fields.keys():
        walk.report(_join(path, name), "in the model, missing from the schema")
    common_schema = [n for n in avro_fields if n in model_fields]
    common_model = [n for n in model_fields if n in avro_fields]
    if common_schema != common_model:
        walk.report(path, f"field order differs: schema {common_schema}, model {common_model}")
    for name in common_schema:
        where = _join(path, name)
        avro_field = avro_fields[name]
        info = model_fields[name]
        _type(walk, info.annotation, avro_field["type"], inner_ns, where)
        _default(walk, info, avro_field, where)
        if _is_map(avro_field["type"]) and not _is_frozen(info):
            # The producer trusts a validated artifact not to change: a plain dict could.
            walk.report(where, "a map is StrMap in a model (frozen after validation), not a dict")


def _default(walk: _Walk, info: FieldInfo, avro_field: Mapping[str, Any], path: str) -> None:
    has_schema_default = "default" in avro_field
    if info.is_required():
        if has_schema_default:
            walk.report(path, f"schema default {avro_field['default']!r}, model requires a value")
        return
    if not has_schema_default:
        walk.report(path, "model has a default, schema has none (the field is required)")
        return
    model_default = (
        info.default_factory()  # type: ignore[call-arg]
        if info.default is PydanticUndefined and info.default_factory is not None
        else info.default
    )
    as_json = _json_value(model_default)
    schema_default = avro_field["default"]
    if not _same_json(as_json, schema_default):
        walk.report(path, f"default differs: schema {schema_default!r}, model {as_json!r}")


def _type(walk: _Walk, annotation: Any, avro: Any, namespace: str | None, path: str) -> None:
    annotation = _strip_annotated(annotation)
    if isinstance(avro, list):
        _union(walk, annotation, avro, namespace, path)
        return
    if _is_optional(annotation):
        walk.report(path, f"model allows None, schema type {_show(avro)} is not nullable")
        return
    if isinstance(avro, str):
        if avro in _PRIMITIVES:
            _primitive(walk, annotation, avro, path)
            return
        named = walk.lookup(avro, namespace)
        if named is None:
            walk.report(path, f"schema refers to unknown type {avro!r}")
            return
        avro = named
    kind = avro.get("type")
    logical = avro.get("logicalType")
    if isinstance(kind, str) and kind in _PRIMITIVES and logical in _LOGICAL:
        expected = _LOGICAL[logical]
        if annotation is not expected:
            walk.report(
                path, f"{logical} is {expected.__name__} in a model, not {_show(annotation)}"
            )
        return
    if kind == "record" or kind == "error":
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _record(walk, annotation, avro, namespace, path)
        else:
            walk.report(path, f"schema record {avro['name']!r}, model type {_show(annotation)}")
    elif kind == "enum":
        _enum(walk, annotation, avro, namespace, path)
    elif kind == "array":
        _container(walk, annotation, tuple, avro["items"], namespace, f"{path}[]")
    elif kind == "map":
        _container(walk, annotation, dict, avro["values"], namespace, f"{path}{{}}")
    elif kind == "fixed":
        walk.define(avro, namespace)
        _primitive(walk, annotation, "bytes", path)
    else:
        _type(walk, annotation, kind, namespace, path)


def _union(
    walk: _Walk, annotation: Any, branches: list[Any], namespace: str | None, path: str
) -> None:
    nullable = "null" in branches
    rest = [b for b in branches if b != "null"]
    if nullable and not _is_optional(annotation):
        walk.report(
            path, f"schema is nullable ({_show(branches)}), model type {_show(annotation)} is not"
        )
        return
    if not nullable and _is_optional(annotation):
        walk.report(path, f"model allows None, schema union {_show(branches)} does not")
        return
    model_branches = [a for a in typing.get_args(annotation) if a is not type(None)]
    if not _is_union(annotation):
        model_branches = [annotation]
    if len(model_branches) != len(rest):
        walk.report(path, f"schema union {_show(branches)}, model {_show(annotation)}")
        return
    for model_branch, avro_branch in zip(model_branches, rest, strict=True):
        _type(walk, model_branch, avro_branch, namespace, path)


def _primitive(walk: _Walk, annotation: Any, avro: str, path: str) -> None:
    expected = _PRIMITIVES[avro]
    # bool is an int subclass; compare exact types so a boolean never passes for a long.
    if annotation not in expected:
        names = "/".join(t.__name__ for t in expected)
        walk.report(path, f"schema {avro} is {names} in a model, not {_show(annotation)}")


def _enum(
    walk: _Walk, annotation: Any, avro: Mapping[str, Any], namespace: str | None, path: str
) -> None:
    walk.define(avro, namespace)
    if not (isinstance(annotation, type) and issubclass(annotation, Enum)):
        walk.report(path, f"schema enum {avro['name']!r}, model type {_show(annotation)}")
        return
    model_symbols = [str(member.value) for member in annotation]
    if model_symbols != list(avro["symbols"]):
        walk.report(path, f"enum symbols differ: schema {avro['symbols']}, model {model_symbols}")


def _container(
    walk: _Walk, annotation: Any, origin: type, inner: Any, namespace: str | None, path: str
) -> None:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is not origin:
        shape = "tuple[X, ...]" if origin is tuple else "dict[str, X]"
        walk.report(
            path.rstrip("[]{}"),
            f"schema {'array' if origin is tuple else 'map'} is "
            f"{shape} in a model, not {_show(annotation)}",
        )
        return
    if origin is tuple:
        if len(args) != 2 or args[1] is not Ellipsis:
            walk.report(
                path, f"an array is a variable-length tuple[X, ...], not {_show(annotation)}"
            )
            return
        _type(walk, args[0], inner, namespace, path)
    else:
        if args[0] is not str:
            walk.report(path, f"map keys are str, model has {_show(args[0])}")
        _type(walk, args[1], inner, namespace, path)


# --- small helpers ------------------------------------------------------------------------


def _is_map(avro: Any) -> bool:
    branches = avro if isinstance(avro, list) else [avro]
    return any(isinstance(b, Mapping) and b.get("type") == "map" for b in branches)


def _is_frozen(info: FieldInfo) -> bool:
    return any(
        isinstance(item, AfterValidator) and item.func is FrozenMap for item in info.metadata
    )


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _is_optional(annotation: Any) -> bool:
    return _is_union(annotation) and type(None) in typing.get_args(annotation)


def _json_value(value: object) -> object:
    """A model default in the JSON form Avro writes defaults in."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return value


def _same_json(left: object, right: object) -> bool:
    # True == 1 in Python; a boolean default against a numeric one is still drift.
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return left == right


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(thing: Any) -> str:
    if isinstance(thing, type):
        return thing.__name__
    return str(thing).replace("typing.", "")
