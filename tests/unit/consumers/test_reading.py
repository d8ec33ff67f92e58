"""Consumers read older minors through Avro resolution and older majors through reader
mappings, and turn unreadable records into reason codes; the runner's batch path, offline."""

from __future__ import annotations

import pytest

from consumers.client360.runner import Client360Runner
from consumers.reading import UnreadableRecord
from tests.unit.consumers import events as ev
from tests.unit.consumers.conftest import PREFIX, written_with
from velocity_stream.contracts import example
from velocity_stream.contracts.import_manifest import ImportMappingManifest
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.errors import ReasonCode
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde import frame
from velocity_stream.settings import Settings


def test_an_older_minor_is_read_as_the_latest_model_through_schema_resolution(
    catalog, serde, reader
):
    family = catalog.family("InteractionBundle")
    record = ev.interaction("client:a", 1).to_avro()
    del record["thread_ref"]  # 1.0.0 had no thread_ref
    record["schema_version"] = "1.0.0"
    payload = written_with(serde, family, "1.0.0", record)
    artifact = reader.read(payload, family, 1)
    assert isinstance(artifact, InteractionBundle)
    assert artifact.thread_ref is None and artifact.bundle_id == "bundle:client:a:1"


def test_an_older_major_is_read_through_its_reader_mapping(catalog, serde, reader):
    family = catalog.family("ImportMappingManifest")
    payload = serde.encode(example("ImportMappingManifest", 1))
    artifact = reader.read(payload, family, 1)
    assert isinstance(artifact, ImportMappingManifest)
    assert artifact.schema_version == "2.0.0"
    assert {m.target.field_path for m in artifact.column_mappings} >= {"email", "phone"}


def test_unreadable_bytes_become_reason_codes(catalog, serde, reader):
    family = catalog.family("InteractionBundle")
    with pytest.raises(UnreadableRecord) as unknown:
        reader.read(frame(999, b"\x00"), family, 1)
    assert unknown.value.code is ReasonCode.DECODE_UNKNOWN_SCHEMA_ID
    with pytest.raises(UnreadableRecord) as wrong:
        reader.read(serde.encode(example("QdSignalBundle")), family, 1)
    assert wrong.value.code is ReasonCode.DECODE_WRONG_FAMILY
    # Commit records (an internal family): tests/unit/consumers/test_commit_records.py.


def test_runner_batch_applies_once_and_stores_offsets_and_rejects(catalog, serde, store):
    settings = Settings(topic_prefix=PREFIX)
    runner = Client360Runner(settings, catalog, serde, store)
    accepted = catalog.family("InteractionBundle").accepted_topic(PREFIX)
    deltas = catalog.family("AppliedGraphChange").ingress_topic(PREFIX)
    [applied] = ev.MemoryCommitter().commit([ev.delta("d1", ev.upsert_node("task:t1", "TASK"))])
    batch = [
        InboundMessage(accepted, 0, 0, b"client:a", serde.encode(ev.interaction("client:a", 1))),
        InboundMessage(accepted, 0, 1, b"client:a", b"garbage"),
        InboundMessage(deltas, 3, 7, b"delta:d1", serde.encode(applied)),
    ]
    assert set(runner.topics()) >= {accepted, deltas}
    first = runner.handle(batch)
    assert (first.applied, first.rejected) == (2, 1)
    assert runner.refresh().changed_refs == ("client:a",)
    assert store.offsets() == {(accepted, 0): 2, (deltas, 3): 8}
    again = runner.handle(batch)
    assert (again.applied, again.duplicates) == (0, 2)
    dump = store.dump()
    assert [row[:4] for row in dump["rejects"]] == [(accepted, 0, 1, "decode.bad_magic_byte")]
    assert ("applied:delta:d1", "AppliedGraphChange") in dump["applied"]
