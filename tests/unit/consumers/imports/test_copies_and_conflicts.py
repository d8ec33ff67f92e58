"""The import store's copies: first copy kept, identical copies and redeliveries change nothing,
a different copy is one conflict per position; columns get their fates, rows their index."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence

from sqlalchemy import Engine, select

from consumers.imports.copies import ImportCopy, Position, import_copy, manifest_copy
from consumers.imports.store import CopyResult, apply_copies
from consumers.imports.tables import ImportTables
from consumers.storage import open_engine
from tests.unit.consumers.imports.conftest import START
from velocity_stream.contracts.example_intake import import_mapping_manifest_v1
from velocity_stream.contracts.import_manifest import ImportMappingManifest
from velocity_stream.contracts.imports import ImportRowRecord, row_content_sha256
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.contracts.upgrades import upgraded_artifact
from velocity_stream.devstack.demo_intake import IntakeDemo

BATCH = "batch:unit-01"


def copy_at(artifact: Artifact, offset: int, topic: str = "t") -> ImportCopy:
    made = import_copy(artifact, (topic, 0, offset))
    assert made is not None
    return made


def apply(engine: Engine, tables: ImportTables, copies: Sequence[ImportCopy]) -> CopyResult:
    with engine.begin() as conn:
        return apply_copies(conn, tables, copies)


def dump(engine: Engine, tables: ImportTables) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
            for t in tables.all()
        }


def with_cells(row: ImportRowRecord, cells: dict[str, str]) -> ImportRowRecord:
    """Another copy of ``row`` (same id) whose cells differ by ``cells``."""
    values = {**row.raw_values, **cells}
    return row.model_copy(
        update={"raw_values": values, "content_sha256": row_content_sha256(values)}
    )


def demo() -> IntakeDemo:
    return IntakeDemo(START, BATCH)


def demo_copies() -> list[ImportCopy]:
    intake = demo()
    imports = [a for a in intake.artifacts() if import_copy(a, ("t", 0, 0)) is not None]
    return [copy_at(a, offset) for offset, a in enumerate(imports)]


def test_other_families_make_no_copy() -> None:
    proposals = [a for a in demo().artifacts() if a.FAMILY == "NormalizedEntityProposal"]
    assert proposals and all(import_copy(p, ("t", 0, 0)) is None for p in proposals)


def test_demo_import_lands_with_every_value_indexed(engine: Engine, tables: ImportTables) -> None:
    intake = demo()
    result = apply(engine, tables, demo_copies())
    assert result == CopyResult(kept=1 + len(intake.rows) + 1)
    found = dump(engine, tables)
    assert len(found[tables.batches.name]) == 1
    assert len(found[tables.rows.name]) == len(intake.rows)
    cells = sum(len(row) for row in intake.rows)
    assert len(found[tables.row_values.name]) == cells
    with engine.connect() as conn:
        query = select(tables.row_values.c.value).where(
            tables.row_values.c.row_id == f"{BATCH}/row/2",
            tables.row_values.c.source_column == "Email",
        )
        assert conn.execute(query).scalar_one() == "arjun@senfamilyoffice.example"
        stored = conn.execute(select(tables.rows.c.raw_values, tables.rows.c.content_sha256))
        for raw, digest in stored:
            assert row_content_sha256(json.loads(raw)) == digest


def test_redelivery_and_identical_copies_change_nothing(
    engine: Engine, tables: ImportTables
) -> None:
    copies = demo_copies()
    apply(engine, tables, copies)
    before = dump(engine, tables)
    again = apply(engine, tables, copies)  # same positions: a redelivery
    assert again == CopyResult(duplicates=len(copies))
    # The same content read again at other positions (a producer retry) is a duplicate too.
    elsewhere = [copy_at_position(c, ("t", 1, c.position[2])) for c in copies]
    assert apply(engine, tables, elsewhere) == CopyResult(duplicates=len(copies))
    assert dump(engine, tables) == before


def copy_at_position(copy: ImportCopy, position: Position) -> ImportCopy:
    return ImportCopy(copy.kind, copy.ref, copy.artifact_id, position, copy.record, copy.details)


def test_a_different_batch_copy_is_a_conflict_recorded_once(
    engine: Engine, tables: ImportTables
) -> None:
    first = demo().batch()
    changed = first.model_copy(update={"row_count": 7, "storage_ref": "s3://elsewhere"})
    apply(engine, tables, [copy_at(first, 0)])
    result = apply(engine, tables, [copy_at(changed, 5)])
    assert result == CopyResult(conflicts=1)
    apply(engine, tables, [copy_at(changed, 5)])  # redelivered: still one conflict row
    found = dump(engine, tables)
    assert found[tables.batches.name][0][7] == 6  # the first copy's row_count is kept
    (conflict,) = found[tables.conflicts.name]
    topic, partition, offset, kind, ref, _artifact, diff, _content = conflict
    assert (topic, partition, offset, kind, ref) == ("t", 0, 5, "batch", BATCH)
    assert json.loads(str(diff)) == {
        "row_count": [6, 7],
        "storage_ref": [first.storage_ref, "s3://elsewhere"],
    }


def test_a_conflict_inside_one_batch_keeps_the_first_read(
    engine: Engine, tables: ImportTables
) -> None:
    intake = demo()
    row = intake.row(1, intake.rows[0])
    other = with_cells(row, {"Email": "someone@else.example"})
    assert apply(engine, tables, [copy_at(row, 3), copy_at(other, 4)]) == CopyResult(
        kept=1, conflicts=1
    )
    with engine.connect() as conn:
        email = conn.execute(
            select(tables.row_values.c.value).where(tables.row_values.c.source_column == "Email")
        ).scalar_one()
        diff = json.loads(conn.execute(select(tables.conflicts.c.differences)).scalar_one())
    assert email == intake.rows[0]["Email"]
    assert set(diff) == {"content_sha256", "raw_values.Email"}
    assert diff["raw_values.Email"] == [intake.rows[0]["Email"], "someone@else.example"]


def test_manifest_columns_carry_their_fate_target_and_notes(
    engine: Engine, tables: ImportTables
) -> None:
    manifest = demo().manifest()
    apply(engine, tables, [copy_at(manifest, 0)])
    with engine.connect() as conn:
        rows = conn.execute(select(tables.manifest_columns)).mappings().all()
        notes = conn.execute(select(tables.manifests.c.notes)).scalar_one()
    by_column = {r["source_column"]: r for r in rows}
    assert set(by_column) == set(manifest.source_columns)
    assert {c: r["fate"] for c, r in by_column.items()} == {
        "First Name": "MAPPED",
        "Last Name": "MAPPED",
        "Email": "MAPPED",
        "Phone": "MAPPED",
        "Company": "MAPPED",
        "Lead Status": "UNRESOLVED",
        "Notes": "IGNORED",
    }
    email = by_column["Email"]
    assert (email["entity_type"], email["field_path"], email["mapping_kind"]) == (
        "PERSON",
        "email",
        "NORMALIZED",
    )
    assert (email["transform"], email["confidence"]) == ("lowercase", 0.97)
    assert by_column["Notes"]["entity_type"] is None
    (status_note,) = json.loads(by_column["Lead Status"]["notes"])
    assert status_note["kind"] == "AMBIGUOUS"
    assert {c["field_path"] for c in status_note["candidate_fields"]} == {
        "stage",
        "lifecycle_stage",
    }
    assert [n["note"] for n in json.loads(notes)] == ["Header row detected on line 1."]


def test_a_manifest_differing_in_one_column_fate_is_a_conflict_on_that_column(
    engine: Engine, tables: ImportTables
) -> None:
    manifest = demo().manifest()
    changed = ImportMappingManifest.model_validate(
        {
            **manifest.model_dump(),
            "column_mappings": [
                m for m in manifest.model_dump()["column_mappings"] if m["source_column"] != "Phone"
            ],
            "unmapped_columns": ("Lead Status", "Phone"),
        }
    )
    apply(engine, tables, [copy_at(manifest, 0)])
    assert apply(engine, tables, [copy_at(changed, 1)]) == CopyResult(conflicts=1)
    with engine.connect() as conn:
        diff = json.loads(conn.execute(select(tables.conflicts.c.differences)).scalar_one())
    assert list(diff) == ["columns.Phone"]
    stored, incoming = diff["columns.Phone"]
    assert (stored["fate"], incoming["fate"]) == ("MAPPED", "UNRESOLVED")


def test_a_major_1_manifest_read_as_major_2_keeps_every_column(
    engine: Engine, tables: ImportTables
) -> None:
    v1 = import_mapping_manifest_v1()
    upgraded = upgraded_artifact("ImportMappingManifest", v1.to_avro(), 1)
    assert isinstance(upgraded, ImportMappingManifest)
    made = manifest_copy(upgraded, ("t.v1", 0, 0))
    fates = {
        d["source_column"]: (d["fate"], d["entity_type"], d["transform"]) for d in made.details
    }
    assert fates["Email"] == ("MAPPED", "PERSON", "lowercase")
    assert fates["Company"] == ("MAPPED", "ORGANIZATION", None)
    assert fates["Lead Status"][0] == "UNRESOLVED"
    assert made.record["schema_version"] == "2.0.0"
    apply(engine, tables, [made])
    assert len(dump(engine, tables)[tables.manifest_columns.name]) == len(v1.source_columns)


def test_rows_before_their_batch_and_manifest_end_the_same(
    engine: Engine, tables: ImportTables
) -> None:
    copies = demo_copies()
    apply(engine, tables, list(reversed(copies)))
    reversed_order = dump(engine, tables)
    fresh = open_engine("sqlite://")
    tables.metadata.create_all(fresh)
    for copy in copies:  # one by one, in reading order
        apply(fresh, tables, [copy])
    assert dump(fresh, tables) == reversed_order
    fresh.dispose()


def test_a_row_with_no_cells_indexes_nothing(engine: Engine, tables: ImportTables) -> None:
    row = demo().row(1, {})
    assert isinstance(row, ImportRowRecord)
    apply(engine, tables, [copy_at(row, 0)])
    found = dump(engine, tables)
    assert len(found[tables.rows.name]) == 1 and found[tables.row_values.name] == []


def test_a_row_copy_with_one_more_cell_names_that_cell(
    engine: Engine, tables: ImportTables
) -> None:
    intake = demo()
    row = intake.row(1, intake.rows[0])
    other = with_cells(row, {"Extra": "x"})
    apply(engine, tables, [copy_at(row, 0), copy_at(other, 1)])
    with engine.connect() as conn:
        diff = json.loads(conn.execute(select(tables.conflicts.c.differences)).scalar_one())
    assert diff["raw_values.Extra"] == [None, "x"]


def test_the_earliest_copy_is_kept_whatever_order_the_copies_are_read_in(
    engine: Engine, tables: ImportTables
) -> None:
    """Copies of one row id on different partitions can reach a rebuild in any order: the
    tables come out the same for every order, in one batch or one copy per batch."""
    intake = demo()
    row = intake.row(1, intake.rows[0])
    other = with_cells(row, {"Email": "someone@else.example"})
    third = with_cells(row, {"Notes": "changed"})
    copies = [
        copy_at_position(copy_at(other, 0), ("t", 1, 4)),
        copy_at_position(copy_at(row, 0), ("t", 2, 9)),
        copy_at_position(copy_at(row, 0), ("t", 3, 1)),  # equal to the one at t/2
        copy_at_position(copy_at(third, 0), ("t", 0, 7)),
    ]
    outcomes = []
    for order in itertools.permutations(copies):
        for one_batch in (True, False):
            fresh = open_engine("sqlite://")
            tables.metadata.create_all(fresh)
            if one_batch:
                apply(fresh, tables, order)
            else:
                for copy in order:
                    apply(fresh, tables, [copy])
                apply(fresh, tables, order)  # and everything redelivered
            outcomes.append(dump(fresh, tables))
            fresh.dispose()
    assert all(found == outcomes[0] for found in outcomes)
    found = outcomes[0]
    (kept,) = found[tables.rows.name]
    assert kept[-3:] == ("t", 0, 7)  # the earliest position: the third copy
    conflicts = {c[:3]: json.loads(str(c[6])) for c in found[tables.conflicts.name]}
    assert set(conflicts) == {("t", 1, 4), ("t", 2, 9), ("t", 3, 1)}
    assert set(conflicts[("t", 1, 4)]) == {"content_sha256", "raw_values.Email", "raw_values.Notes"}
    values = {r[1]: r[4] for r in found[tables.row_values.name]}
    assert values["Notes"] == "changed"
