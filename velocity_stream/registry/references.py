"""Schema references for Avro: named types a schema uses but another subject defines.

A registration may list ``references``: ``{"name", "subject", "version"}`` each, where ``name``
is the full name of the type (``shop.Address``) and the subject version is the schema that
defines it. The schema text itself only names the type. Three things need the types resolved:

* parsing: fastavro and our compatibility engine must see every type defined;
* compatibility: old and new versions are compared with their references in place;
* the serde: a reader must know the referenced types to decode.

All three use the *expanded* schema (:func:`expand`): the schema with the definition of each
referenced type put in where the type is first used, as Avro's parsers resolve a name to the
definition seen first. References of references are expanded the same way. The schema text
stored and served stays as registered; identity is the schema's identity form plus its
reference list (a schema using ``Address`` version 1 is not the one using version 2).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from velocity_stream.registry.errors import invalid_schema

Json = Any
PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})


@dataclass(frozen=True, slots=True, order=True)
class Reference:
    """``name`` (a full type name) is defined by version ``version`` of ``subject``."""

    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "subject": self.subject, "version": self.version}


def parse_references(value: object) -> tuple[Reference, ...]:
    """A request's ``references``, checked; 42201 naming the bad entry."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise invalid_schema("references must be a list of {name, subject, version}")
    found: list[Reference] = []
    for index, item in enumerate(value):
        where = f"references[{index}]"
        if not isinstance(item, dict):
            raise invalid_schema(f"{where} must be an object with name, subject and version")
        name, subject, version = item.get("name"), item.get("subject"), item.get("version")
        if not isinstance(name, str) or not name:
            raise invalid_schema(f"{where} has no name (the full name of the referenced type)")
        if not isinstance(subject, str) or not subject:
            raise invalid_schema(f"{where} ({name}) has no subject")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise invalid_schema(f"{where} ({name}) needs a version of 1 or more, not {version!r}")
        found.append(Reference(name, subject, version))
    names = [r.name for r in found]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise invalid_schema(f"references name {', '.join(duplicated)} more than once")
    return tuple(found)


def references_from_record(value: object) -> tuple[Reference, ...]:
    """References as stored in a topic record (already checked when written); ValueError if not."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("references is not a list")
    return tuple(
        Reference(str(item["name"]), str(item["subject"]), int(item["version"])) for item in value
    )


def _full_name(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _own_namespace(node: Mapping[str, Json], enclosing: str) -> tuple[str, str]:
    """(full name, namespace for its children) of a named type definition."""
    name = str(node.get("name"))
    explicit = node.get("namespace")
    full = _full_name(name, str(explicit) if explicit is not None else enclosing)
    return full, full.rpartition(".")[0]


def top_level_name(document: Json) -> str | None:
    """The full name of a schema whose root is a named type; None for any other schema."""
    if isinstance(document, dict) and document.get("type") in _NAMED:
        return _own_namespace(document, "")[0]
    return None


def standalone(document: Json) -> Json:
    """A named type definition that keeps its full name wherever it is put: a name without
    a namespace gets ``"namespace": ""`` so it does not take the enclosing one."""
    if not isinstance(document, dict) or document.get("type") not in _NAMED:
        return document
    full = top_level_name(document)
    if full is None or "." in full:
        return document
    placed = dict(document)
    placed["namespace"] = ""
    return placed


class _Expander:
    def __init__(self, provided: Mapping[str, Json]) -> None:
        self.provided = provided
        self.defined: set[str] = set()

    def node(self, raw: Json, namespace: str) -> Json:
        if isinstance(raw, str):
            return self.name(raw, namespace)
        if isinstance(raw, list):
            return [self.node(branch, namespace) for branch in raw]
        if not isinstance(raw, dict):
            return raw
        kind = raw.get("type")
        out = dict(raw)
        if isinstance(kind, dict | list):
            out["type"] = self.node(kind, namespace)
            return out
        if not isinstance(kind, str):
            return out
        if kind in _NAMED:
            full, inner = _own_namespace(raw, namespace)
            self.defined.add(full)
            if kind in ("record", "error") and isinstance(raw.get("fields"), list):
                out["fields"] = [
                    {**field, "type": self.node(field.get("type"), inner)}
                    if isinstance(field, dict)
                    else field
                    for field in raw["fields"]
                ]
            return out
        if kind == "array" and "items" in raw:
            out["items"] = self.node(raw["items"], namespace)
        elif kind == "map" and "values" in raw:
            out["values"] = self.node(raw["values"], namespace)
        elif kind not in PRIMITIVES and kind not in ("array", "map"):
            out["type"] = self.name(kind, namespace)
        return out

    def name(self, raw: str, namespace: str) -> Json:
        if raw in PRIMITIVES:
            return raw
        full = _full_name(raw, namespace)
        if full not in self.defined and full not in self.provided and raw in self.provided:
            full = raw  # a type without namespace used from inside one
        if full in self.defined or full not in self.provided:
            return raw  # defined already, or unknown: the parsers say so
        # First use of a referenced type: its definition goes here, expanded in turn.
        return self.node(standalone(copy.deepcopy(self.provided[full])), "")


def expand(document: Json, provided: Mapping[str, Json]) -> Json:
    """``document`` with each referenced type (``provided``: full name -> definition) defined
    where it is first used."""
    if not provided:
        return document
    return _Expander(provided).node(document, "")


def provided_types(documents: Mapping[Reference, Json]) -> dict[str, Json]:
    """Full name -> definition for the referenced schemas; 42201 when a reference's schema is
    not a named type, or two references define one name differently."""
    provided: dict[str, Json] = {}
    for reference, document in documents.items():
        full = top_level_name(document)
        if full is None:
            raise invalid_schema(
                f"reference {reference.name} (subject {reference.subject!r} version "
                f"{reference.version}) is not a named type (record, enum or fixed)"
            )
        known = provided.get(full)
        if known is not None and json.dumps(known, sort_keys=True) != json.dumps(
            document, sort_keys=True
        ):
            raise invalid_schema(f"two references define {full} differently")
        provided[full] = document
    return provided
