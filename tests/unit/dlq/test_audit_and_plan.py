"""The audit record format, the audit log index, and choosing what a replay sends."""

from __future__ import annotations

import pytest

from velocity_stream.contracts import example
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.dlq.audit import AuditLog, AuditRecord, audit_topic, audit_topic_spec
from velocity_stream.dlq.records import REPLAY_ID, parse_dead_letter, replay_headers
from velocity_stream.dlq.replay import SkipReason, plan_replay
from velocity_stream.gateway import InboundMessage
from velocity_stream.protocol import headers as h
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver, frame
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

from .conftest import PREFIX, Factory


def audit_record(dead_letter=("u.gateway.dead-letter.v1", 2, 7), **changes) -> AuditRecord:
    values = {
        "replay_id": "run-1",
        "operator": "ops:alice",
        "replayed_at": "2026-04-18T10:00:00.000Z",
        "dead_letter": dead_letter,
        "reason": "state.import_row.unknown_batch",
        "family": "ImportRowRecord",
        "artifact_id": "art:row:1",
        "source": ("u.import-row-record.v1", 1, 40),
        "target": ("u.import-row-record.v1", 1, 97),
        "forced": False,
        "filter": "reason state",
        "host": "ops-box",
        "tool_version": "0.1.0",
    }
    values.update(changes)
    return AuditRecord(**values)


CATALOG = load_catalog(DEFAULT_SCHEMAS_DIR)
SERDE = AvroSerde(CATALOG, InMemorySchemaResolver(), PREFIX)


def as_message(record: AuditRecord, offset: int = 0) -> InboundMessage:
    return InboundMessage("audit", 0, offset, record.key, record.encode(SERDE), (), 0)


def test_audit_record_round_trips_through_its_avro_contract():
    record = audit_record(source=None, family=None, forced=True)
    value = record.encode(SERDE)
    assert value[0] == 0  # Confluent framing: Avro with the catalog's schema, not JSON
    assert AuditRecord.decode(value, SERDE, CATALOG) == record
    assert AuditRecord.decode(audit_record().encode(SERDE), SERDE, CATALOG) == audit_record()
    assert record.key == b"u.gateway.dead-letter.v1:2:7"
    assert record.to_artifact().dead_letter_ref == "u.gateway.dead-letter.v1:2:7"


@pytest.mark.parametrize(
    "data",
    [
        b'{"schema":"velocity.dlq.audit/1"}',  # the JSON the tool wrote before
        b"not avro",
        frame(9999, b"\0"),
        SERDE.encode(example("QdSignalBundle")),  # another family's record
    ],
)
def test_anything_else_on_the_audit_topic_is_rejected(data: bytes):
    with pytest.raises(ValueError):
        AuditRecord.decode(data, SERDE, CATALOG)


def test_an_audit_record_breaking_its_contract_is_rejected():
    record = audit_record().to_artifact()
    lying = record.model_copy(update={"dead_letter_ref": "u.gateway.dead-letter.v1:0:1"})
    with pytest.raises(ValueError, match=r"contract\.dlq_replay_audit\.ref_mismatch"):
        AuditRecord.decode(SERDE.encode(lying), SERDE, CATALOG)


def test_audit_log_indexes_replays_per_dead_letter_and_counts_unreadable_records():
    first = audit_record()
    second = audit_record(replay_id="run-2", forced=True)
    other = audit_record(dead_letter=("u.gateway.dead-letter.v1", 0, 1))
    junk = InboundMessage("audit", 0, 9, None, b"{}", (), 0)

    log = AuditLog.from_records(
        [as_message(first), junk, as_message(second, 1), as_message(other, 2)], SERDE, CATALOG
    )

    assert log.unreadable == 1
    assert log.replays_of(first.dead_letter) == [first, second]
    assert log.last_replay(first.dead_letter) == second
    assert log.last_replay(("u.gateway.dead-letter.v1", 9, 9)) is None
    assert log.replayed == {first.dead_letter, other.dead_letter}


def test_audit_topic_defaults_beside_the_dead_letter_topic(catalog: Catalog):
    assert audit_topic(catalog, "prod") == "prod.gateway.dlq-audit.v1"
    spec = audit_topic_spec(catalog, "prod")
    assert (spec.partitions, spec.cleanup_policy, spec.retention_ms) == (1, "delete", -1)


def test_audit_topic_is_the_audit_familys_topic(catalog: Catalog):
    family = catalog.dlq_audit
    assert family.internal and family.name == "DlqReplayAudit"
    assert audit_topic(catalog, "prod") == family.ingress_topic("prod")


def expired_rows(factory: Factory, examples: dict[str, Artifact], n: int):
    row = examples["ImportRowRecord"]
    for i in range(n):
        factory.send(type(row).model_validate({**row.model_dump(), "artifact_id": f"art:row:{i}"}))
    factory.expire()
    return [
        parse_dead_letter(r, factory.catalog.ingress_topics(PREFIX)) for r in factory.dead_letters()
    ]


def test_plan_skips_what_the_audit_log_says_was_replayed_unless_forced(
    factory: Factory, examples: dict[str, Artifact]
):
    dead = expired_rows(factory, examples, 3)
    log = AuditLog((audit_record(dead_letter=dead[1].coordinates),))
    ingress = factory.catalog.ingress_topics(PREFIX)

    plan = plan_replay(dead, log, ingress)

    assert [d.coordinates for d in plan.selected] == [dead[0].coordinates, dead[2].coordinates]
    [skipped] = plan.skipped
    assert skipped.why is SkipReason.ALREADY_REPLAYED
    assert "ops:alice" in skipped.detail and "--force" in skipped.detail
    assert plan.targets() == {factory.ingress("ImportRowRecord"): 2}

    forced = plan_replay(dead, log, ingress, force=True)
    assert len(forced.selected) == 3 and not forced.skipped and forced.forced


def test_plan_never_targets_anything_but_an_ingress_topic(factory: Factory):
    accepted = factory.catalog.family("ImportRowRecord").accepted_topic(PREFIX)
    records = [
        InboundMessage(
            "dlq",
            0,
            0,
            None,
            b"",
            ((h.DLQ_REASON, b"x.y"), (h.DLQ_SOURCE_TOPIC, accepted.encode())),
            0,
        ),
        InboundMessage("dlq", 0, 1, None, b"", ((h.DLQ_REASON, b"x.y"),), 0),
        InboundMessage("dlq", 0, 2, None, b"", (("a", b"b"),), 0),
    ]
    dead = [parse_dead_letter(r, {}) for r in records]

    plan = plan_replay([*dead, dead[0]], AuditLog(()), factory.catalog.ingress_topics(PREFIX))

    assert not plan.selected
    assert [s.why for s in plan.skipped] == [
        SkipReason.NOT_AN_INGRESS_TOPIC,
        SkipReason.NO_SOURCE_TOPIC,
        SkipReason.NOT_A_DEAD_LETTER,
    ]


def test_a_dead_letter_that_left_out_its_input_is_never_replayed(factory: Factory):
    ingress = factory.ingress("ImportRowRecord")
    headers = (
        (h.DLQ_REASON, b"route.output_too_large"),
        (h.DLQ_SOURCE_TOPIC, ingress.encode()),
        (h.DLQ_SOURCE_PARTITION, b"1"),
        (h.DLQ_SOURCE_OFFSET, b"40"),
        (h.DLQ_DROPPED, b"value,headers"),
    )
    [dead] = [parse_dead_letter(InboundMessage("dlq", 0, 0, b"k", None, headers, 0), {})]
    assert dead.dropped == ("value", "headers")

    plan = plan_replay([dead], AuditLog(()), factory.catalog.ingress_topics(PREFIX), force=True)

    assert not plan.selected
    [skipped] = plan.skipped
    assert skipped.why is SkipReason.INPUT_NOT_KEPT
    assert f"{ingress} 1:40" in skipped.detail and "value, headers" in skipped.detail


def test_limit_counts_what_is_replayed_not_what_is_skipped(
    factory: Factory, examples: dict[str, Artifact]
):
    dead = expired_rows(factory, examples, 4)
    log = AuditLog((audit_record(dead_letter=dead[0].coordinates),))

    plan = plan_replay(dead, log, factory.catalog.ingress_topics(PREFIX), limit=2)

    assert [d.coordinates for d in plan.selected] == [dead[1].coordinates, dead[2].coordinates]
    assert [s.dead_letter.coordinates for s in plan.skipped] == [dead[0].coordinates]


def test_a_replay_refused_again_is_never_replayed_but_its_original_is_when_forced(
    factory: Factory, examples: dict[str, Artifact]
):
    """A replay of a record still wrong is dead-lettered again; replaying that copy would
    resend it for ever. It names its original (velocity.replay.dlq.*), and only that is
    replayable (forced, since the audit log has its replay)."""
    [original] = expired_rows(factory, examples, 1)
    resent = replay_headers(original, "run-1", "ops:alice")
    record = original.record
    factory.runner.send(
        original.source_topic or "", record.key, record.value, resent, record.timestamp_ms
    )
    factory.expire()
    ingress = factory.catalog.ingress_topics(PREFIX)
    first = original
    again = parse_dead_letter(factory.as_record(factory.outputs()[-1], 1), ingress)
    assert first.replay_of is None and first.replay_id is None
    assert again.replay_of == original.coordinates and again.replay_id == "run-1"
    assert again.reason == original.reason  # still refused for the same cause
    # the replay headers are not part of what a replay would resend
    assert not any(n.startswith("velocity.replay.") for n, _ in again.original_headers)

    log = AuditLog((audit_record(dead_letter=first.coordinates),))
    for force in (False, True):
        plan = plan_replay([first, again], log, ingress, force=force)
        skipped = {s.dead_letter.coordinates: s for s in plan.skipped}
        assert skipped[again.coordinates].why is SkipReason.REPLAY_REFUSED_AGAIN
        detail = skipped[again.coordinates].detail
        assert "run-1" in detail and f"{first.record.partition}:{first.record.offset}" in detail
        assert [d.coordinates for d in plan.selected] == ([first.coordinates] if force else [])


def test_a_record_marked_as_a_replay_without_coordinates_is_still_not_replayed(
    factory: Factory,
):
    ingress = factory.ingress("ImportRowRecord")
    headers = (
        (REPLAY_ID, b"run-9"),
        (h.DLQ_REASON, b"state.import_row.unknown_batch"),
        (h.DLQ_SOURCE_TOPIC, ingress.encode()),
        (h.DLQ_SOURCE_PARTITION, b"0"),
        (h.DLQ_SOURCE_OFFSET, b"3"),
    )
    [dead] = [parse_dead_letter(InboundMessage("dlq", 0, 0, b"k", b"v", headers, 0), {})]

    plan = plan_replay([dead], AuditLog(()), factory.catalog.ingress_topics(PREFIX), force=True)

    assert not plan.selected
    assert [s.why for s in plan.skipped] == [SkipReason.REPLAY_REFUSED_AGAIN]
