"""The import store's questions: rows that left a column unresolved, a row's mapped fields, both
under the batch's latest manifest whatever order things arrived in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from consumers.imports.copies import ImportCopy, import_copy
from consumers.imports.queries import (
    latest_manifest_id,
    mapped_fields,
    row_cells,
    unresolved_rows,
)
from consumers.imports.store import apply_copies
from consumers.imports.tables import ImportTables
from tests.unit.consumers.imports.conftest import START
from velocity_stream.contracts.import_manifest import ImportMappingManifest
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.devstack.demo_intake import IntakeDemo

BATCH, OTHER = "batch:q-01", "batch:q-02"


def store(engine: Engine, tables: ImportTables, artifacts: list[Artifact]) -> None:
    copies: list[ImportCopy] = []
    for offset, artifact in enumerate(artifacts):
        made = import_copy(artifact, ("t", 0, offset))
        if made is not None:
            copies.append(made)
    with engine.begin() as conn:
        apply_copies(conn, tables, copies)


def remap_status(manifest: ImportMappingManifest, minutes: int) -> ImportMappingManifest:
    """A later manifest of the same batch that maps Lead Status and leaves Phone unresolved."""
    data = manifest.model_dump()
    mappings = [m for m in data["column_mappings"] if m["source_column"] != "Phone"]
    mappings.append(
        {
            "source_column": "Lead Status",
            "target": {"entity_type": "OPPORTUNITY", "field_path": "stage"},
            "mapping_kind": "TRANSFORMED",
            "transform": "hubspot-status",
            "confidence": 0.8,
        }
    )
    return ImportMappingManifest.model_validate(
        {
            **data,
            "manifest_id": f"{manifest.manifest_id}:v2",
            "artifact_id": f"{manifest.artifact_id}:v2",
            "created_at": manifest.created_at + timedelta(minutes=minutes),
            "column_mappings": mappings,
            "unmapped_columns": ("Phone",),
            "resolver_notes": (),
        }
    )


def test_rows_of_a_batch_that_left_a_column_unresolved(
    engine: Engine, tables: ImportTables
) -> None:
    intake, other = IntakeDemo(START, BATCH), IntakeDemo(START, OTHER)
    store(engine, tables, [*intake.artifacts(), *other.artifacts()])
    with engine.connect() as conn:
        found = unresolved_rows(conn, tables, BATCH, "Lead Status")
        assert [(r.row_number, r.value) for r in found] == [
            (n, values["Lead Status"]) for n, values in enumerate(intake.rows, 1)
        ]
        assert {r.row_id.split("/row/")[0] for r in found} == {BATCH}
        assert {r.manifest_id for r in found} == {intake.manifest_id}
        assert unresolved_rows(conn, tables, BATCH, "Email") == []  # mapped
        assert unresolved_rows(conn, tables, BATCH, "Notes") == []  # ignored
        assert unresolved_rows(conn, tables, BATCH, "No Such Column") == []


def test_no_manifest_yet_means_nothing_is_unresolved_or_mapped(
    engine: Engine, tables: ImportTables
) -> None:
    intake = IntakeDemo(START, BATCH)
    store(engine, tables, [intake.row(1, intake.rows[0])])
    with engine.connect() as conn:
        assert latest_manifest_id(conn, tables, BATCH) is None
        assert unresolved_rows(conn, tables, BATCH, "Lead Status") == []
        assert mapped_fields(conn, tables, f"{BATCH}/row/1") == []


def test_mapped_fields_of_a_row(engine: Engine, tables: ImportTables) -> None:
    intake = IntakeDemo(START, BATCH)
    # The row first, its manifest later: the answer comes from whatever is there at query time.
    store(engine, tables, [intake.row(2, intake.rows[1]), intake.manifest()])
    with engine.connect() as conn:
        found = mapped_fields(conn, tables, f"{BATCH}/row/2")
    assert [(f.entity_type, f.field_path, f.source_column, f.value) for f in found] == [
        ("ORGANIZATION", "name", "Company", "Sen Family Office"),
        ("PERSON", "email", "Email", "arjun@senfamilyoffice.example"),
        ("PERSON", "family_name", "Last Name", "Sen"),
        ("PERSON", "given_name", "First Name", "Arjun"),
        ("PERSON", "phone", "Phone", "+91 98310 55501"),
    ]
    email = found[1]
    assert (email.mapping_kind, email.transform, email.confidence) == (
        "NORMALIZED",
        "lowercase",
        0.97,
    )


@pytest.mark.parametrize("later_first", [False, True])
def test_the_latest_manifest_answers_whatever_order_they_arrived(
    engine: Engine, tables: ImportTables, later_first: bool
) -> None:
    intake = IntakeDemo(START, BATCH)
    first = intake.manifest()
    later = remap_status(first, minutes=30)
    manifests: list[Artifact] = [later, first] if later_first else [first, later]
    store(engine, tables, [intake.batch(), *manifests, intake.row(4, intake.rows[3])])
    with engine.connect() as conn:
        assert latest_manifest_id(conn, tables, BATCH) == later.manifest_id
        assert unresolved_rows(conn, tables, BATCH, "Lead Status") == []
        (phone,) = unresolved_rows(conn, tables, BATCH, "Phone")
        assert (phone.row_number, phone.value) == (4, "033 2455 0199")
        fields = {
            (f.entity_type, f.field_path): f for f in mapped_fields(conn, tables, phone.row_id)
        }
    assert ("PERSON", "phone") not in fields
    stage = fields[("OPPORTUNITY", "stage")]
    assert (stage.value, stage.transform, stage.manifest_id) == (
        "Cold",
        "hubspot-status",
        later.manifest_id,
    )


def test_manifests_created_at_the_same_moment_tie_on_the_greater_id(
    engine: Engine, tables: ImportTables
) -> None:
    intake = IntakeDemo(START, BATCH)
    first = intake.manifest()
    twin = remap_status(first, minutes=0)
    store(engine, tables, [twin, first])
    with engine.connect() as conn:
        assert latest_manifest_id(conn, tables, BATCH) == max(first.manifest_id, twin.manifest_id)


def test_row_cells_carry_their_fate_under_the_latest_manifest(
    engine: Engine, tables: ImportTables
) -> None:
    intake = IntakeDemo(START, BATCH)
    first = intake.manifest()
    store(engine, tables, [intake.row(4, intake.rows[3])])
    with engine.connect() as conn:
        before = row_cells(conn, tables, f"{BATCH}/row/4")
    assert len(before) == 7 and {c.fate for c in before} == {None}  # no manifest yet
    store(engine, tables, [first, remap_status(first, minutes=30)])
    with engine.connect() as conn:
        cells = {c.source_column: c for c in row_cells(conn, tables, f"{BATCH}/row/4")}
    assert (cells["Phone"].value, cells["Phone"].fate) == ("033 2455 0199", "UNRESOLVED")
    status = cells["Lead Status"]
    assert (status.fate, status.entity_type, status.field_path) == (
        "MAPPED",
        "OPPORTUNITY",
        "stage",
    )
    assert cells["Notes"].fate == "IGNORED" and cells["Notes"].entity_type is None
    assert {c.manifest_id for c in cells.values()} == {f"{first.manifest_id}:v2"}
    with engine.connect() as conn:
        assert row_cells(conn, tables, "no-such-row") == []
