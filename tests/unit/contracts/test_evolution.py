"""Schema evolution in practice: InteractionBundle 1.1.0 (additive) and ImportMappingManifest
2.0.0 (breaking, with a reader mapping from 1.x)."""

from __future__ import annotations

import io
from typing import Any

import fastavro
from hypothesis import given, settings

from tests.unit.contracts.conftest import changed, violations
from tests.unit.contracts.strategies import import_mapping_manifest_v1 as manifests_v1
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.examples import example
from velocity_stream.contracts.import_manifest import ImportMappingManifest, ImportMappingManifestV1
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.contracts.metadata import validate_artifact
from velocity_stream.contracts.upgrades import mapping_for, upgrade, upgraded_artifact


def write(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


def read(body: bytes, writer: dict[str, Any], reader: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = fastavro.schemaless_reader(
        io.BytesIO(body), fastavro.parse_schema(writer), fastavro.parse_schema(reader)
    )
    return result


# --- InteractionBundle 1.1.0 ----------------------------------------------------------------


def test_interaction_bundle_1_0_data_reads_under_the_1_1_model(catalog: Catalog) -> None:
    family = catalog.family("InteractionBundle")
    old, new = family.version("1.0.0").schema, family.version("1.1.0").schema
    record = example("InteractionBundle").to_avro()
    del record["thread_ref"]
    record["schema_version"] = "1.0.0"
    decoded = read(write(old, record), old, new)
    bundle = validate_artifact(InteractionBundle, decoded)
    assert bundle.thread_ref is None
    assert bundle.schema_version == "1.0.0"
    assert bundle.event_refs == example("InteractionBundle").event_refs


def test_interaction_bundle_1_1_data_still_reads_under_the_1_0_schema(catalog: Catalog) -> None:
    # Forward direction: an old reader skips the field it does not know.
    family = catalog.family("InteractionBundle")
    old, new = family.version("1.0.0").schema, family.version("1.1.0").schema
    decoded = read(write(new, example("InteractionBundle").to_avro()), new, old)
    assert "thread_ref" not in decoded
    assert decoded["bundle_id"] == example("InteractionBundle").bundle_id


# --- ImportMappingManifest 2.0.0 --------------------------------------------------------------

V2 = example("ImportMappingManifest")


def test_the_latest_manifest_model_is_major_two_and_major_one_is_kept() -> None:
    assert type(V2) is ImportMappingManifest
    assert type(example("ImportMappingManifest", 1)) is ImportMappingManifestV1


def test_manifest_v2_keeps_the_column_accounting_rule() -> None:
    assert violations(ImportMappingManifest, changed(V2)) == set()
    data = changed(V2, {"unmapped_columns": [], "ignored_columns": ["Notes", "Company"]})
    assert violations(ImportMappingManifest, data) == {
        ("contract.import_manifest.column_unaccounted", "source_columns.5"),
        ("contract.import_manifest.column_duplicated", "ignored_columns.1"),
    }


def test_manifest_v2_mapping_confidence_lies_within_zero_to_one() -> None:
    data = changed(V2, {"column_mappings.2.confidence": 1.2})
    assert violations(ImportMappingManifest, data) == {
        ("contract.confidence_range", "column_mappings.2.confidence")
    }


def test_a_direct_mapping_names_no_transform_and_others_name_one() -> None:
    direct_with_transform = changed(V2, {"column_mappings.0.transform": "trim"})
    assert violations(ImportMappingManifest, direct_with_transform) == {
        ("contract.import_manifest.mapping_shape", "column_mappings.0.transform")
    }
    normalized_without = changed(V2, {"column_mappings.2.transform": None})
    assert violations(ImportMappingManifest, normalized_without) == {
        ("contract.import_manifest.mapping_shape", "column_mappings.2.transform")
    }


def test_target_field_paths_are_dotted_snake_case() -> None:
    assert (
        violations(
            ImportMappingManifest,
            changed(V2, {"column_mappings.0.target.field_path": "address.postal_code"}),
        )
        == set()
    )
    data = changed(V2, {"column_mappings.0.target.field_path": "Given Name"})
    assert violations(ImportMappingManifest, data) == {
        ("contract.invalid_field", "column_mappings.0.target.field_path")
    }


def test_the_1_to_2_mapping_is_registered() -> None:
    mapping = mapping_for("ImportMappingManifest", 1)
    assert mapping is not None and mapping.to_major == 2


def test_the_v1_example_upgrades_to_a_valid_v2_manifest(catalog: Catalog) -> None:
    v1 = example("ImportMappingManifest", 1)
    schema = catalog.family("ImportMappingManifest").version("1.0.0").schema
    record = read(write(schema, v1.to_avro()), schema, schema)  # as a 1.x reader gets it
    upgraded = upgraded_artifact("ImportMappingManifest", record, 1)
    assert isinstance(upgraded, ImportMappingManifest)
    assert upgraded.schema_version == "2.0.0"
    assert upgraded.artifact_id == v1.artifact_id and upgraded.batch_id == v1.batch_id
    email = upgraded.column_mappings[2]
    assert (email.source_column, email.target.entity_type.value, email.target.field_path) == (
        "Email",
        "PERSON",
        "email",
    )
    assert (email.mapping_kind.value, email.transform, email.confidence) == (
        "TRANSFORMED",
        "lowercase",
        0.86,
    )
    assert upgraded.column_mappings[0].mapping_kind.value == "DIRECT"
    assert upgraded.column_mappings[4].target.entity_type.value == "ORGANIZATION"
    assert [n.kind.value for n in upgraded.resolver_notes] == ["INFO", "INFO"]
    assert [n.note for n in upgraded.resolver_notes] == [n.note for n in v1.resolver_notes]


def test_a_v1_target_without_an_entity_becomes_unresolved_with_a_note() -> None:
    v1 = changed(example("ImportMappingManifest", 1), {"column_mappings.1.target_field": "surname"})
    upgraded = upgraded_artifact("ImportMappingManifest", v1, 1, 2)
    assert isinstance(upgraded, ImportMappingManifest)
    assert "Last Name" not in {m.source_column for m in upgraded.column_mappings}
    assert upgraded.unmapped_columns == ("Lead Status", "Last Name")
    note = upgraded.resolver_notes[-1]
    assert (note.column, note.kind.value) == ("Last Name", "UPGRADED")
    assert "surname" in note.note


def test_upgrading_leaves_the_v1_record_alone() -> None:
    record = example("ImportMappingManifest", 1).to_avro()
    before = repr(record)
    upgrade("ImportMappingManifest", record, 1, 2)
    assert repr(record) == before


@settings(max_examples=80, deadline=None)
@given(manifests_v1())
def test_every_valid_v1_manifest_upgrades_to_a_valid_v2_with_the_same_columns(
    data: dict[str, Any],
) -> None:
    v1 = validate_artifact(ImportMappingManifestV1, data)
    v2 = upgraded_artifact("ImportMappingManifest", v1.to_avro(), 1)
    assert isinstance(v2, ImportMappingManifest)
    assert v2.source_columns == v1.source_columns
    assert v2.ignored_columns == v1.ignored_columns
    accounted_v1 = {m.source_column for m in v1.column_mappings} | set(v1.unmapped_columns)
    accounted_v2 = {m.source_column for m in v2.column_mappings} | set(v2.unmapped_columns)
    assert accounted_v1 == accounted_v2
    assert len(v2.resolver_notes) >= len(v1.resolver_notes)
