"""The models match their .avsc files, and the drift check notices when one does not."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import pytest
from pydantic import AwareDatetime, Field

from velocity_stream.contracts.catalog import Catalog, SchemaVersion, Version
from velocity_stream.contracts.drift import check_drift
from velocity_stream.contracts.metadata import Artifact, ContractModel, FrozenMap, StrMap
from velocity_stream.contracts.registry import MODELS

FAMILY_MAJORS = [(family, major) for family in MODELS for major in sorted(MODELS[family])]


@pytest.mark.parametrize(("family", "major"), FAMILY_MAJORS)
def test_model_matches_the_latest_schema_of_its_major(
    catalog: Catalog, family: str, major: int
) -> None:
    version = catalog.family(family).latest_of_major(major)
    assert check_drift(MODELS[family][major], version) == []


# --- a small schema and model pair to drift on purpose ------------------------------------

PROVENANCE = {
    "type": "record",
    "name": "Provenance",
    "namespace": "velocity.common",
    "fields": [
        {
            "name": "origin",
            "type": {
                "type": "enum",
                "name": "ProvenanceOrigin",
                "symbols": ["UPLOAD", "AI", "HUMAN", "SYSTEM", "DERIVED"],
            },
        },
        {"name": "source_refs", "type": {"type": "array", "items": "string"}, "default": []},
        {"name": "method", "type": ["null", "string"], "default": None},
        {"name": "model", "type": ["null", "string"], "default": None},
    ],
}


def probe_schema(*extra_fields: dict[str, Any]) -> SchemaVersion:
    fields: list[dict[str, Any]] = [
        {"name": "artifact_id", "type": "string"},
        {"name": "artifact_type", "type": "string", "default": "Probe"},
        {"name": "schema_version", "type": "string", "default": "1.0.0"},
        {"name": "source_system", "type": "string"},
        {"name": "created_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "created_by", "type": "string"},
        {"name": "confidence", "type": "double"},
        {"name": "provenance", "type": PROVENANCE},
        *extra_fields,
    ]
    schema = {
        "type": "record",
        "name": "Probe",
        "namespace": "velocity.artifacts",
        "fields": fields,
    }
    return SchemaVersion("Probe", Version(1, 0, 0), __file__, schema)  # type: ignore[arg-type]


class Colour(StrEnum):
    RED = "RED"
    GREEN = "GREEN"


class Part(ContractModel):
    name: str
    weight: int


PART = {
    "type": "record",
    "name": "Part",
    "fields": [{"name": "name", "type": "string"}, {"name": "weight", "type": "long"}],
}
FIELDS: list[dict[str, Any]] = [
    {"name": "label", "type": "string"},
    {"name": "count", "type": "long"},
    {"name": "note", "type": ["null", "string"], "default": None},
    {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
    {"name": "attrs", "type": {"type": "map", "values": "string"}, "default": {}},
    {"name": "colour", "type": {"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN"]}},
    {"name": "parts", "type": {"type": "array", "items": PART}},
    {"name": "spare", "type": ["null", "Part"], "default": None},
    {"name": "seen_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "enabled", "type": "boolean", "default": True},
]


class Probe(Artifact):
    FAMILY = "Probe"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "Probe"
    schema_version: str = "1.0.0"
    label: str
    count: int
    note: str | None = None
    tags: tuple[str, ...] = ()
    attrs: StrMap = Field(default_factory=FrozenMap)
    colour: Colour
    parts: tuple[Part, ...]
    spare: Part | None = None
    seen_at: AwareDatetime
    enabled: bool = True


def test_a_matching_probe_has_no_drift() -> None:
    assert check_drift(Probe, probe_schema(*FIELDS)) == []


def schema_with(name: str, **replacement: Any) -> SchemaVersion:
    """The probe schema with field ``name`` replaced (or dropped when nothing is given)."""
    fields = []
    for f in FIELDS:
        if f["name"] != name:
            fields.append(f)
        elif replacement:
            fields.append({"name": name, **replacement})
    return probe_schema(*fields)


def one_problem(problems: list[str], *needles: str) -> None:
    assert len(problems) == 1, problems
    for needle in needles:
        assert needle in problems[0], problems


def has_problem(problems: list[str], *needles: str) -> None:
    assert any(all(n in p for n in needles) for p in problems), problems


def test_a_field_missing_from_the_model_is_drift() -> None:
    schema = probe_schema(*FIELDS, {"name": "extra", "type": "string"})
    one_problem(check_drift(Probe, schema), "extra", "missing from the model")


def test_a_field_missing_from_the_schema_is_drift() -> None:
    one_problem(check_drift(Probe, schema_with("note")), "note", "missing from the schema")


def test_a_reordered_field_is_drift() -> None:
    fields = [FIELDS[1], FIELDS[0], *FIELDS[2:]]
    one_problem(check_drift(Probe, probe_schema(*fields)), "order")


def test_a_changed_primitive_type_is_drift() -> None:
    one_problem(check_drift(Probe, schema_with("count", type="string")), "count", "string")


def test_a_boolean_never_passes_for_a_long() -> None:
    class BoolCount(Probe):
        count: bool  # type: ignore[assignment]

    one_problem(check_drift(BoolCount, probe_schema(*FIELDS)), "count", "long")


def test_nullability_must_agree_both_ways() -> None:
    # a required non-null schema field against an optional model field: type and default differ
    has_problem(check_drift(Probe, schema_with("note", type="string")), "note", "allows None")
    nullable_label = schema_with("label", type=["null", "string"], default=None)
    has_problem(check_drift(Probe, nullable_label), "label", "nullable")


def test_a_changed_default_is_drift() -> None:
    schema = schema_with("note", type=["null", "string"], default=None)
    assert check_drift(Probe, schema) == []
    one_problem(
        check_drift(Probe, schema_with("enabled", type="boolean", default=False)),
        "enabled",
        "default",
    )


def test_a_default_on_one_side_only_is_drift() -> None:
    one_problem(check_drift(Probe, schema_with("tags", type=FIELDS[3]["type"])), "tags", "default")
    one_problem(
        check_drift(Probe, schema_with("label", type="string", default="x")), "label", "requires"
    )


def test_enum_symbols_must_match() -> None:
    schema = schema_with(
        "colour", type={"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN", "BLUE"]}
    )
    one_problem(check_drift(Probe, schema), "colour", "BLUE")


def test_drift_inside_a_nested_record_names_its_path() -> None:
    part = {
        **PART,
        "fields": [{"name": "name", "type": "string"}, {"name": "weight", "type": "double"}],
    }
    schema = schema_with("parts", type={"type": "array", "items": part})
    one_problem(check_drift(Probe, schema), "parts[].weight", "double")


def test_a_named_type_referenced_twice_is_compared_by_its_definition() -> None:
    class BadSpare(ContractModel):
        name: str

    class Drifted(Probe):
        spare: BadSpare | None = None  # type: ignore[assignment]

    one_problem(check_drift(Drifted, probe_schema(*FIELDS)), "spare.weight")


def test_array_and_map_shapes_must_match() -> None:
    map_of_tags = schema_with("tags", type={"type": "map", "values": "string"}, default={})
    has_problem(check_drift(Probe, map_of_tags), "tags", "dict[str, X]")

    class PlainDict(Probe):
        attrs: dict[str, str] = Field(default_factory=dict)  # type: ignore[assignment]

    one_problem(check_drift(PlainDict, probe_schema(*FIELDS)), "attrs")
    assert "StrMap" in check_drift(PlainDict, probe_schema(*FIELDS))[0]

    class FixedTuple(Probe):
        tags: tuple[str, str] = ("a", "b")  # type: ignore[assignment]

    has_problem(check_drift(FixedTuple, probe_schema(*FIELDS)), "tags", "variable-length")


def test_timestamps_must_be_timezone_aware_datetimes() -> None:
    class Naive(Probe):
        seen_at: datetime  # type: ignore[assignment]

    one_problem(check_drift(Naive, probe_schema(*FIELDS)), "seen_at", "AwareDatetime")
    one_problem(check_drift(Probe, schema_with("seen_at", type="long")), "seen_at", "long")


def test_a_model_declaring_another_version_is_drift(catalog: Catalog) -> None:
    version = catalog.family("RawImportBatch").latest
    other = SchemaVersion(version.family, Version(1, 9, 0), version.path, version.schema)
    one_problem(check_drift(MODELS["RawImportBatch"][1], other), "SCHEMA_VERSION")


def test_a_model_of_another_family_is_drift(catalog: Catalog) -> None:
    problems = check_drift(MODELS["QdSignalBundle"][1], catalog.family("RawImportBatch").latest)
    has_problem(problems, "model family 'QdSignalBundle'")
    has_problem(problems, "batch_id", "missing from the model")
