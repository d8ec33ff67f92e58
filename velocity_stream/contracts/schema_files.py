"""Reading .avsc files: shared named types and their expansion into self-contained schemas.

A family schema may refer to a shared type (``_shared/<full name>.avsc``) by its full name;
:func:`expand_schema` inlines the definition at its first use, so every released version is
one standalone schema that any Avro tool can read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from velocity_stream.errors import ConfigError

SHARED_DIR = "_shared"
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})

AvroSchema = dict[str, Any]


def load_shared_types(root: Path) -> dict[str, AvroSchema]:
    """Shared named types by full name, from ``_shared/<full name>.avsc``."""
    shared: dict[str, AvroSchema] = {}
    folder = root / SHARED_DIR
    if folder.is_dir():
        for path in sorted(folder.glob("*.avsc")):
            schema = read_schema_file(path)
            shared[full_name(schema, None)] = schema
    return shared


def expand_schema(schema: AvroSchema, shared: Mapping[str, AvroSchema]) -> AvroSchema:
    """Inline every reference to a shared type at its first use, so the schema stands alone."""
    defined: set[str] = set()

    def walk(node: Any, namespace: str | None) -> Any:
        if isinstance(node, str):
            if node in _PRIMITIVES:
                return node
            full = node if "." in node or namespace is None else f"{namespace}.{node}"
            if full in defined or node in defined:
                return node
            for candidate in (node, full):
                if candidate in shared:
                    return walk(shared[candidate], None)
            return node
        if isinstance(node, list):
            return [walk(branch, namespace) for branch in node]
        if not isinstance(node, dict):
            return node
        kind = node.get("type")
        if kind in ("record", "error", "enum", "fixed"):
            full = full_name(node, namespace)
            defined.add(full)
            inner_ns = full.rsplit(".", 1)[0] if "." in full else None
            if kind in ("record", "error"):
                fields = [{**f, "type": walk(f["type"], inner_ns)} for f in node["fields"]]
                return {**node, "fields": fields}
            return dict(node)
        if kind == "array":
            return {**node, "items": walk(node["items"], namespace)}
        if kind == "map":
            return {**node, "values": walk(node["values"], namespace)}
        return {**node, "type": walk(kind, namespace)} if isinstance(kind, dict | list) else node

    expanded: AvroSchema = walk(schema, None)
    return expanded


def full_name(schema: Mapping[str, Any], enclosing_namespace: str | None = None) -> str:
    """The full name of a named schema, qualified by its own or the enclosing namespace."""
    name = str(schema["name"])
    if "." in name:
        return name
    namespace = schema.get("namespace", enclosing_namespace)
    return f"{namespace}.{name}" if namespace else name


def read_schema_file(path: Path) -> AvroSchema:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: cannot read schema: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a schema file must hold a JSON object")
    return data
