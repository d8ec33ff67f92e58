"""The intel mapper (pure: artifact -> rows) and the sink runner's batch path, offline: an
in-memory SQLite store, records as the broker would hand them over, no broker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from consumers.intel.mapper import IntelMapper, stamp
from consumers.intel.tables import intel_tables
from consumers.sink import SinkRunner, SinkStore, Upsert
from consumers.storage import open_engine
from tests.unit.consumers import events as ev
from tests.unit.consumers.conftest import PREFIX, written_with
from velocity_stream.contracts import example
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.kafka.stage_topics import TopicStage, family_topics
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.settings import Settings


@pytest.fixture
def mapper():
    return IntelMapper(intel_tables("unit_"))


def _one(mapper: IntelMapper, artifact: Artifact) -> Upsert:
    (upsert,) = mapper.writes(artifact).normalized()
    return upsert


def test_it_reads_every_major_of_the_three_families_from_their_accepted_topics(catalog, mapper):
    families = ["InteractionBundle", "TranscriptBundle", "QdSignalBundle"]
    expected = family_topics(catalog, PREFIX, families, TopicStage.ACCEPTED)
    assert mapper.topics(catalog, PREFIX) == sorted(expected)
    assert all(".accepted." in topic for topic in expected)


def test_an_interaction_row_keeps_its_refs_and_attachments(mapper):
    bundle = example("InteractionBundle")
    upsert = _one(mapper, bundle)
    assert upsert.table is mapper.tables.interactions
    row = upsert.row
    assert row["bundle_id"] == bundle.bundle_id and row["client_ref"] == bundle.client_ref
    assert json.loads(row["event_refs"]) == list(bundle.event_refs)
    assert json.loads(row["attachments"]) == [a.model_dump(mode="json") for a in bundle.attachments]
    assert row["occurred_at_ms"] == int(bundle.created_at.timestamp() * 1000)
    assert row["stamp"] == stamp(bundle)


def test_a_transcript_owns_its_segments_and_a_signal_its_evidence(mapper):
    transcript = ev.transcript("bundle:x:1", lines=["one", "two", "three"])
    upsert = _one(mapper, transcript)
    segments = upsert.children[mapper.tables.segments]
    assert [(s["seq"], s["text"]) for s in segments] == [(0, "one"), (1, "two"), (2, "three")]
    assert {s["transcript_id"] for s in segments} == {transcript.transcript_id}
    assert upsert.row["interaction_ref"] == "bundle:x:1"

    base = example("QdSignalBundle").model_dump(mode="python")
    base["supporting_evidence_refs"] = ("ev:a", "ev:b", "ev:a")  # a repeated ref: one row
    signal = type(example("QdSignalBundle")).model_validate(base)
    upsert = _one(mapper, signal)
    assert [e["ref"] for e in upsert.children[mapper.tables.evidence]] == ["ev:a", "ev:b"]
    assert upsert.row["operator_ref"] == signal.operator_input.operator_ref  # the example has one


def test_stamps_order_by_time_then_artifact_id():
    early = ev.interaction("c", 1, minute=0)
    late = ev.interaction("c", 1, minute=1)
    tied = ev.interaction("c", 1, minute=0).model_copy(update={"artifact_id": "art:zzz"})
    assert stamp(early) < stamp(late)
    assert stamp(early) < stamp(tied) < stamp(late)


@pytest.fixture
def store() -> Iterator[SinkStore]:
    tables = intel_tables("unit_")
    made = SinkStore(open_engine("sqlite://"), tables)
    made.create()
    yield made
    made.engine.dispose()


def test_a_batch_stores_rows_an_older_minor_and_rejects_in_one_go(catalog, serde, mapper, store):
    runner = SinkRunner(Settings(VELOCITY_TOPIC_PREFIX=PREFIX), catalog, serde, mapper, store)
    interactions = catalog.family("InteractionBundle")
    topic = interactions.accepted_topic(PREFIX)
    record = ev.interaction("client:a", 2).to_avro()
    del record["thread_ref"]  # written by a 1.0.0 producer
    record["schema_version"] = "1.0.0"
    older = written_with(serde, interactions, "1.0.0", record)
    batch = [
        InboundMessage(topic, 0, 0, b"k", serde.encode(ev.interaction("client:a", 1))),
        InboundMessage(topic, 0, 1, b"k", b"\x00garbage"),
        InboundMessage(topic, 1, 5, b"k", older),
    ]
    result = runner.handle(batch)
    assert (result.records, result.rejected, result.unchanged) == (2, 1, 0)
    dump = store.dump()
    assert [(r[0], r[6]) for r in dump["interactions"]] == [
        ("bundle:client:a:1", "thread:acme:3bhk-search"),
        ("bundle:client:a:2", None),  # 1.0.0 had no thread_ref
    ]
    assert [(r[:3], r[3]) for r in dump["rejects"]] == [((topic, 0, 1), "decode.unknown_schema_id")]
    assert store.offsets() == {(topic, 0): 2, (topic, 1): 6}
