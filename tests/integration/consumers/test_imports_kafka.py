"""The imports consumer on the real broker, on SQLite and on PostgreSQL: the demo import lands
and answers its questions, redelivery changes nothing, a different copy is one conflict, hostile
records become rejects, a rebuild and a kill -9 restart equal an uninterrupted run."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from consumers.imports.queries import mapped_fields, row_cells, unresolved_rows
from consumers.imports.tables import ImportTables
from tests.integration.consumers.conftest import (
    NUL_MARK,
    Gateway,
    SinkUnderTest,
    kill_then_restart,
    with_nul,
    without_offsets,
)
from velocity_stream.contracts.example_intake import (
    import_mapping_manifest,
    import_mapping_manifest_v1,
)
from velocity_stream.contracts.import_manifest import ImportMappingManifest
from velocity_stream.contracts.imports import ImportRowRecord, row_content_sha256
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.devstack.demo_intake import IntakeDemo
from velocity_stream.devstack.seed import DEMO_BATCH, demo_data
from velocity_stream.kafka.producer import ArtifactProducer

pytestmark = pytest.mark.integration
NOW = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)
IMPORT_FAMILIES = {"RawImportBatch", "ImportRowRecord", "ImportMappingManifest"}


def imports(sink_store: Callable[..., SinkUnderTest]) -> tuple[SinkUnderTest, ImportTables]:
    made = sink_store("imports")
    assert isinstance(made.store.tables, ImportTables)
    return made, made.store.tables


def demo_imports() -> list[Artifact]:
    return [a for a in demo_data(NOW).artifacts if a.FAMILY in IMPORT_FAMILIES]


def load(batches: int) -> list[Artifact]:
    """``batches`` imports of the demo file: a batch, six rows and a manifest each."""
    found: list[Artifact] = []
    for i in range(batches):
        intake = IntakeDemo(NOW + timedelta(minutes=i), f"batch:load-{i:04d}")
        found += [a for a in intake.artifacts() if a.FAMILY in IMPORT_FAMILIES]
    return found


def test_demo_import_lands_and_answers_its_questions(
    provisioned, catalog, serde, gateway: Gateway, sink_store
):
    artifacts = demo_imports()
    manifest = next(a for a in artifacts if isinstance(a, ImportMappingManifest))
    # The manifest and rows first, the batch last: order does not matter.
    gateway.accept([a for a in artifacts if a.FAMILY != "RawImportBatch"])
    gateway.accept([a for a in artifacts if a.FAMILY == "RawImportBatch"])
    # A major-1 manifest of another batch, on the major-1 accepted topic.
    v1 = import_mapping_manifest_v1()
    family = catalog.family("ImportMappingManifest")
    topic = family.accepted_topic(provisioned.topic_prefix, 1)
    gateway.producer.publish_raw(topic, v1.batch_id, serde.encode(v1)).result(30)
    sink, t = imports(sink_store)
    stats = sink.run(provisioned, catalog, serde)
    assert (stats.records, stats.rejected) == (len(artifacts) + 1, 0)
    found = sink.store.dump()
    assert len(found["batches"]) == 1
    assert len(found["rows"]) == 6 and len(found["row_values"]) == 6 * 7
    assert len(found["manifests"]) == 2 and len(found["manifest_columns"]) == 2 * 7
    assert found["conflicts"] == [] and found["rejects"] == []
    with sink.store.engine.connect() as conn:
        pending = unresolved_rows(conn, t, DEMO_BATCH, "Lead Status")
        assert [r.value for r in pending] == ["Warm", "Hot", "Warm", "Cold", "New", "New"]
        assert {r.manifest_id for r in pending} == {manifest.manifest_id}
        mapped = mapped_fields(conn, t, pending[3].row_id)
        cells = {c.source_column: c.fate for c in row_cells(conn, t, pending[3].row_id)}
        upgraded = conn.execute(
            select(t.manifest_columns.c.source_column, t.manifest_columns.c.fate).where(
                t.manifest_columns.c.manifest_id == v1.manifest_id
            )
        ).all()
    assert {(f.entity_type, f.field_path): f.value for f in mapped}[("PERSON", "phone")] == (
        "033 2455 0199"
    )
    assert cells == {
        **dict.fromkeys(("First Name", "Last Name", "Email", "Phone", "Company"), "MAPPED"),
        "Lead Status": "UNRESOLVED",
        "Notes": "IGNORED",
    }
    assert dict(upgraded)["Email"] == "MAPPED" and dict(upgraded)["Lead Status"] == "UNRESOLVED"


def test_redelivery_changes_nothing_and_a_different_copy_is_one_conflict(
    provisioned, catalog, serde, gateway: Gateway, sink_store
):
    artifacts = demo_imports()
    gateway.accept(artifacts)
    sink, _ = imports(sink_store)
    sink.run(provisioned, catalog, serde)
    before = without_offsets(sink.store.dump())
    again = artifacts[::2]  # the gateway (or anyone) sends some records a second time
    gateway.accept(again)
    stats = sink.run(provisioned, catalog, serde)
    assert (stats.records, stats.unchanged) == (len(again), len(again))
    assert without_offsets(sink.store.dump()) == before
    # The same row id with other cells: a conflict, not an overwrite.
    row = next(a for a in artifacts if isinstance(a, ImportRowRecord))
    values = {**row.raw_values, "Email": "changed@else.example"}
    changed = row.model_copy(
        update={"raw_values": values, "content_sha256": row_content_sha256(values)}
    )
    gateway.accept([changed])
    sink.run(provisioned, catalog, serde)
    after = sink.store.dump()
    assert after["rows"] == before["rows"] and after["row_values"] == before["row_values"]
    (conflict,) = after["conflicts"]
    assert conflict[3:5] == ("row", row.row_id)
    assert set(json.loads(conflict[6])) == {"content_sha256", "raw_values.Email"}
    # Rebuilt from the topics (redeliveries and the conflict included): the same tables.
    sink.store.drop()
    sink.store.create()
    sink.run(provisioned, catalog, serde, batch_size=3)
    assert without_offsets(sink.store.dump()) == without_offsets(after)


def test_rebuild_from_the_earliest_offsets_equals_the_incremental_run(
    provisioned, catalog, serde, gateway: Gateway, sink_store
):
    artifacts = load(30)
    half = len(artifacts) // 2
    # One manifest id on both major topics, with other content: the major-2 copy is read in
    # the first run, the major-1 copy (the earlier position: its topic sorts first) later.
    v1 = import_mapping_manifest_v1()
    v1_topic = catalog.family("ImportMappingManifest").accepted_topic(provisioned.topic_prefix, 1)
    sink, t = imports(sink_store)
    gateway.accept([*artifacts[:half], import_mapping_manifest()])
    sink.run(provisioned, catalog, serde, batch_size=37)
    gateway.accept(artifacts[half:])
    gateway.producer.publish_raw(v1_topic, v1.batch_id, serde.encode(v1)).result(30)
    sink.run(provisioned, catalog, serde, batch_size=37)
    expected = sink.store.dump()
    assert len(expected["rows"]) == 30 * 6
    with sink.store.engine.connect() as conn:
        kept = conn.execute(
            select(t.manifests.c.topic).where(t.manifests.c.manifest_id == v1.manifest_id)
        ).scalar_one()
    assert kept == v1_topic  # the later-read major-1 copy displaced the major-2 one
    (conflict,) = expected["conflicts"]
    assert conflict[3:5] == ("manifest", v1.manifest_id) and conflict[0] != v1_topic
    # Rebuild in place, as `consume imports --rebuild` does: drop, create, replay.
    sink.store.drop()
    sink.store.create()
    sink.run(provisioned, catalog, serde, batch_size=1000)
    assert sink.store.dump() == expected


def frame(schema_id: int, body: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", schema_id) + body


def test_hostile_records_become_rejects_and_never_stop_the_worker(
    provisioned, catalog, serde, gateway: Gateway, producer: ArtifactProducer, sink_store
):
    intake = IntakeDemo(NOW, "batch:hostile")
    batch, row = intake.batch(), intake.row(1, intake.rows[0])
    prefix = provisioned.topic_prefix
    rows_topic = catalog.family("ImportRowRecord").accepted_topic(prefix)
    batches_topic = catalog.family("RawImportBatch").accepted_topic(prefix)
    good = serde.encode(row)
    nul_row = intake.row(2, {**intake.rows[1], "Notes": NUL_MARK})
    hostile = {  # what is sent -> the reason it is refused with
        b"\xff\xfe not avro at all": "decode.bad_magic_byte",
        frame(987654, good[5:]): "decode.unknown_schema_id",
        good[:-7]: "decode.corrupt_body",  # truncated
        serde.encode(batch): "decode.wrong_family",  # a valid record of another family
        good + b"\x00\x01": "decode.corrupt_body",  # bytes after the record
        with_nul(serde, nul_row): "contract.invalid_field",  # a NUL the store cannot keep
        b"": "decode.empty_payload",
    }
    for value in hostile:
        producer.publish_raw(rows_topic, batch.batch_id, value).result(30)
    producer.publish_raw(batches_topic, batch.batch_id, b"\x00\x00").result(30)
    gateway.accept([batch, row])  # valid records after the hostile ones still land
    sink, _ = imports(sink_store)
    stats = sink.run(provisioned, catalog, serde)
    assert stats.rejected == len(hostile) + 1
    found = sink.store.dump()
    assert len(found["rows"]) == 1 and len(found["batches"]) == 1
    refused = {(r[0], r[2]): r[3] for r in found["rejects"]}
    assert refused == {
        **{(rows_topic, offset): reason for offset, reason in enumerate(hostile.values())},
        (batches_topic, 0): "decode.corrupt_body",
    }


@pytest.mark.slow
def test_kill_9_mid_backlog_then_restart_gives_the_tables_of_an_uninterrupted_run(
    provisioned, catalog, serde, gateway: Gateway, sink_store, store_url
):
    ends = gateway.publish(load(120))
    crashed, _ = imports(sink_store)
    kill_then_restart(provisioned, store_url, "imports", crashed.store, crashed.prefix, ends)
    uninterrupted, _ = imports(sink_store)
    uninterrupted.run(provisioned, catalog, serde)
    assert crashed.store.dump() == uninterrupted.store.dump()
    assert len(uninterrupted.store.dump()["rows"]) == 120 * 6
