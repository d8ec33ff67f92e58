"""Schema identity: Avro's Parsing Canonical Form, and the identity form the registry keys on.

Parsing Canonical Form (PCF, Avro specification "Transforming into Parsing Canonical Form") keeps
only what the binary encoding needs: it drops ``default``, ``aliases`` and ``logicalType``. Those
change what a reader does (defaults fill missing fields, aliases rename, logical types decide
whether a long is a timestamp), so two schemas with one PCF are not always the same contract. The
registry therefore keys schemas on the *identity form*: PCF's rules (full names, fixed key order,
no whitespace, no doc) applied to the schema with those meaning-bearing attributes kept. Whitespace,
key order, namespace spelling and ``doc`` never make a new version; a new default or logical type
does. Plain PCF (fastavro's) is exposed too, for fingerprints and comparisons with other tools.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import fastavro
from fastavro.schema import to_parsing_canonical_form

from velocity_stream.compat import parse_schema
from velocity_stream.registry.avro_names import InvalidName, check_names
from velocity_stream.registry.errors import invalid_schema
from velocity_stream.registry.references import expand

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
# Attributes PCF strips that still change how data is read; kept in the identity form.
MEANINGFUL = ("aliases", "default", "logicalType", "precision", "scale")
_NAMED = frozenset({"record", "error", "enum", "fixed"})

JsonValue = Any  # a decoded JSON document; schemas are nested dicts, lists and strings


@dataclass(frozen=True, slots=True)
class CanonicalSchema:
    """One Avro schema as the registry stores it.

    ``text`` is the schema as first registered, compacted (it keeps docs and key order, so a
    deserializer sees what the producer wrote); ``identity`` is the identity form and
    ``fingerprint`` its SHA-256, the key that decides "same schema". ``expanded`` is ``text``
    with its referenced types defined in place (references.py): what the parsers and the
    compatibility engine see; the same as ``text`` for a schema without references.
    """

    text: str
    parsing_canonical_form: str
    identity: str
    fingerprint: str
    expanded: str


def parse_avro(text: str, provided: Mapping[str, JsonValue] | None = None) -> CanonicalSchema:
    """Validate ``text`` as an Avro schema and compute its forms; 42201 when it is not one.

    ``provided`` holds the definitions of the types its references name (full name ->
    definition); the schema is validated with them in place.
    """

    try:
        document: JsonValue = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise invalid_schema(f"not JSON: {error}") from None
    try:
        check_names(document)
    except InvalidName as error:
        raise invalid_schema(str(error)) from None
    try:
        whole = expand(document, provided or {})
        # Both parsers must accept it: fastavro decodes the data, and the compatibility engine
        # (stricter in places, e.g. enum symbols) judges every later version against it.
        fastavro.parse_schema(whole, _force=True)
        parse_schema(whole)
        pcf = to_parsing_canonical_form(whole)
        identity = identity_form(document)
    except Exception as error:  # untrusted input: any parser failure means "not a valid schema"
        raise invalid_schema(f"{type(error).__name__}: {error}") from None
    compact = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    expanded = compact if whole is document else json.dumps(whole, separators=(",", ":"))
    fingerprint = hashlib.sha256(identity.encode("utf-8")).hexdigest()
    return CanonicalSchema(compact, pcf, identity, fingerprint, expanded)


def content_fingerprint(
    identity: str,
    *,
    references: Sequence[JsonValue] = (),
    metadata: JsonValue = None,
    rule_set: JsonValue = None,
) -> str:
    """The key of "same schema": the identity form, plus its references (in order) and the
    data-contract fields when present.

    A schema without any of them keeps the plain SHA-256 of its identity form, so the
    fingerprints of records written before these fields existed still match.
    """
    if not references and metadata is None and rule_set is None:
        return hashlib.sha256(identity.encode("utf-8")).hexdigest()
    members: dict[str, JsonValue] = {"metadata": metadata, "ruleSet": rule_set}
    if references:
        members["references"] = list(references)
    extras = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{identity}\n{extras}".encode()).hexdigest()


def identity_form(schema: JsonValue) -> str:
    """PCF's transformation with ``default``, ``aliases`` and logical-type attributes kept."""
    return _dump(_canonical(schema, "", MEANINGFUL))


def canonical_form(schema: JsonValue, keep: tuple[str, ...] = ()) -> str:
    """PCF when ``keep`` is empty (tests compare it with fastavro's); otherwise the named extras."""
    return _dump(_canonical(schema, "", keep))


def _dump(node: JsonValue) -> str:
    # [STRINGS] literal UTF-8, [WHITESPACE] none; insertion order carries [ORDER].
    return json.dumps(node, separators=(",", ":"), ensure_ascii=False)


def _full_name(name: str, namespace: str) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def _namespace_of(full_name: str) -> str:
    return full_name.rpartition(".")[0]


def _extras(node: dict[str, JsonValue], keep: tuple[str, ...], namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in sorted(keep):
        if key not in node:
            continue
        value = node[key]
        if key == "aliases" and isinstance(value, list):
            value = sorted(_full_name(str(alias), namespace) for alias in value)
        elif key == "default":
            # Defaults are JSON values; a sorted, compact dump gives them one spelling.
            value = json.loads(json.dumps(value, sort_keys=True))
        found[key] = value
    return found


def _canonical(node: JsonValue, namespace: str, keep: tuple[str, ...]) -> JsonValue:
    if isinstance(node, str):
        # [PRIMITIVES] stay bare; [FULLNAMES] references to named types become full names.
        return node if node in PRIMITIVES else _full_name(node, namespace)
    if isinstance(node, list):
        return [_canonical(branch, namespace, keep) for branch in node]
    if not isinstance(node, dict):
        raise TypeError(f"a schema is a string, list or object, not {type(node).__name__}")
    kind = node.get("type")
    if isinstance(kind, dict | list):
        inner = _canonical(kind, namespace, keep)
        extras = _extras(node, keep, namespace)
        return {"type": inner, **extras} if extras else inner
    if not isinstance(kind, str):
        raise TypeError("a schema object needs a string 'type'")
    extras = _extras(node, keep, namespace)
    if kind in PRIMITIVES or kind not in (_NAMED | {"array", "map"}):
        # {"type": "int"} is just "int"; {"type": "Name"} is a reference.
        bare = _canonical(kind, namespace, keep)
        return {"type": bare, **extras} if extras else bare
    if kind == "array":
        return {"type": "array", "items": _canonical(node["items"], namespace, keep), **extras}
    if kind == "map":
        return {"type": "map", "values": _canonical(node["values"], namespace, keep), **extras}
    explicit = node.get("namespace")
    full = _full_name(str(node["name"]), str(explicit) if explicit is not None else namespace)
    inner_namespace = _namespace_of(full)
    out: dict[str, JsonValue] = {"name": full}
    if kind in ("record", "error"):
        out["type"] = "record"
        out["fields"] = [
            {
                "name": field["name"],
                "type": _canonical(field["type"], inner_namespace, keep),
                **_extras(field, keep, inner_namespace),
            }
            for field in node["fields"]
        ]
    elif kind == "enum":
        out["type"] = "enum"
        out["symbols"] = list(node["symbols"])
    else:
        out["type"] = "fixed"
        out["size"] = node["size"]
    out.update(_extras(node, keep, inner_namespace))
    return out
