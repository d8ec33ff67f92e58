"""Helpers for the contract tests: the real catalog, Avro round trips and rule checks."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import fastavro
import pytest

from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.metadata import Artifact, validate_artifact
from velocity_stream.errors import ContractError

SCHEMAS = Path(__file__).resolve().parents[3] / "avro_schemas"
_CATALOG = load_catalog(SCHEMAS)
_PARSED: dict[tuple[str, str], Any] = {}


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return _CATALOG


def avro_round_trip(artifact: Artifact) -> Artifact:
    """Write with the schema version the model matches, read back, validate again."""
    version = _CATALOG.family(artifact.FAMILY).version(artifact.SCHEMA_VERSION)
    key = (version.family, str(version.version))
    if key not in _PARSED:
        _PARSED[key] = fastavro.parse_schema(version.schema)
    parsed = _PARSED[key]
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, artifact.to_avro())
    buffer.seek(0)
    record = fastavro.schemaless_reader(buffer, parsed)
    assert buffer.tell() == len(buffer.getvalue())
    return validate_artifact(type(artifact), record)


def changed(artifact: Artifact, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The artifact as plain data, with the value at each dotted path (``a.b.0``) replaced."""
    data = _lists(copy.deepcopy(artifact.model_dump(mode="python")))
    for dotted, value in (changes or {}).items():
        parts = dotted.split(".")
        target: Any = data
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last = parts[-1]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return data


def _lists(value: Any) -> Any:
    # model_dump keeps tuples; nested tuples cannot be assigned into, so use lists throughout.
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


def violations(model: type[Artifact], data: dict[str, Any]) -> set[tuple[str, str]]:
    """(code, path) of every violation; an empty set when the data holds the contract."""
    try:
        validate_artifact(model, data)
    except ContractError as error:
        return {(v.code.value, v.path) for v in error.violations}
    return set()
