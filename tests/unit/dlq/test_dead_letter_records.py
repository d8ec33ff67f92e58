"""Parsing the gateway's dead letters back: reason, origin, family, and the original headers."""

from __future__ import annotations

from typing import Any

from velocity_stream.contracts.metadata import Artifact
from velocity_stream.dlq.records import (
    REPLAY_DLQ_OFFSET,
    REPLAY_DLQ_PARTITION,
    REPLAY_DLQ_TOPIC,
    REPLAY_ID,
    REPLAY_OPERATOR,
    REPLAY_REASON,
    original_headers,
    parse_dead_letter,
    replay_headers,
)
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import InboundMessage
from velocity_stream.protocol import headers as h

from .conftest import PREFIX, T_MS, Factory

PRODUCER_HEADERS = (
    ("velocity.artifact_type", b"ImportRowRecord"),
    ("velocity.artifact_id", b"art:import-row-record:01-0003"),
    ("velocity.trace_id", b"0123456789abcdef0123456789abcdef"),
    ("x-custom", b"\x00\xffbinary"),
)


def variant(artifact: Artifact, **changes: Any) -> Artifact:
    return type(artifact).model_validate({**artifact.model_dump(), **changes})


def test_expired_row_dead_letter_names_reason_source_family_and_deadline(
    factory: Factory, examples: dict[str, Artifact]
):
    factory.send(examples["ImportRowRecord"], headers=PRODUCER_HEADERS)
    factory.expire()
    [record] = factory.dead_letters()
    ingress = factory.catalog.ingress_topics(PREFIX)

    dead = parse_dead_letter(record, ingress)

    assert dead.reason == ReasonCode.STATE_ROW_UNKNOWN_BATCH.value
    assert dead.stage == "state"
    assert "did not arrive" in dead.message
    assert dead.source_topic == factory.ingress("ImportRowRecord")
    assert dead.source == (factory.ingress("ImportRowRecord"), dead.source_partition, 0)
    assert dead.family == "ImportRowRecord"
    assert dead.artifact_id == "art:import-row-record:01-0003"
    assert dead.gateway_version == "9.9.9-test"
    # an expired hold is dead-lettered at its deadline (state), not at the input's timestamp
    assert dead.time_ms == dead.dead_lettered_at_ms != T_MS
    assert dead.is_gateway_dead_letter
    assert dead.position == f"{record.partition}:{record.offset}"


def test_original_headers_are_exactly_what_the_producer_sent(
    factory: Factory, examples: dict[str, Artifact]
):
    intruder = variant(examples["QdSignalBundle"], source_system="not-a-producer")
    factory.send(intruder, headers=PRODUCER_HEADERS)
    [record] = factory.dead_letters()

    dead = parse_dead_letter(record, factory.catalog.ingress_topics(PREFIX))

    assert dead.reason == ReasonCode.AUTH_NOT_OWNER.value
    assert dead.field == "source_system"
    assert dead.original_headers == PRODUCER_HEADERS
    assert record.headers[: len(PRODUCER_HEADERS)] == PRODUCER_HEADERS
    assert len(record.headers) > len(PRODUCER_HEADERS)


def test_a_forged_reason_header_in_the_input_neither_wins_nor_is_resent(
    factory: Factory, examples: dict[str, Artifact]
):
    forged = (*PRODUCER_HEADERS, (h.DLQ_REASON, b"approval.already_decided"))
    intruder = variant(examples["QdSignalBundle"], source_system="not-a-producer")
    factory.send(intruder, headers=forged)
    [record] = factory.dead_letters()

    dead = parse_dead_letter(record, factory.catalog.ingress_topics(PREFIX))

    assert dead.reason == ReasonCode.AUTH_NOT_OWNER.value  # the gateway's block is the last one
    assert dead.original_headers == PRODUCER_HEADERS  # velocity.dlq.* never goes back in


def test_replay_headers_replace_an_earlier_replays_and_name_the_dead_letter(
    factory: Factory, examples: dict[str, Artifact]
):
    earlier = (*PRODUCER_HEADERS, (REPLAY_ID, b"old-run"), (REPLAY_DLQ_OFFSET, b"7"))
    factory.send(examples["ImportRowRecord"], headers=earlier)
    factory.expire()
    [record] = factory.dead_letters()
    dead = parse_dead_letter(record, factory.catalog.ingress_topics(PREFIX))

    sent = replay_headers(dead, "run-2", "ops:alice")

    assert sent[: len(PRODUCER_HEADERS)] == PRODUCER_HEADERS
    added = dict(sent[len(PRODUCER_HEADERS) :])
    assert added == {
        REPLAY_ID: b"run-2",
        REPLAY_DLQ_TOPIC: factory.dlq_topic.encode(),
        REPLAY_DLQ_PARTITION: str(record.partition).encode(),
        REPLAY_DLQ_OFFSET: str(record.offset).encode(),
        REPLAY_REASON: ReasonCode.STATE_ROW_UNKNOWN_BATCH.value.encode(),
        REPLAY_OPERATOR: b"ops:alice",
    }
    assert not any(name.startswith("velocity.dlq.") for name, _ in sent)


def test_a_record_without_the_gateways_headers_is_not_a_dead_letter():
    record = InboundMessage("u.gateway.dead-letter.v1", 0, 4, b"k", b"v", (("a", b"1"),), 5)

    dead = parse_dead_letter(record, {})

    assert not dead.is_gateway_dead_letter
    assert dead.reason == ""
    assert dead.source is None
    assert dead.time_ms == 5
    assert dead.original_headers == (("a", b"1"),)


def test_odd_header_values_never_raise():
    headers = (
        (h.DLQ_REASON, b"\xff\xfe"),
        (h.DLQ_SOURCE_PARTITION, b"three"),
        (h.DLQ_SOURCE_OFFSET, b"\xff"),
        (h.DLQ_TIME, b""),
        (h.DLQ_SOURCE_TOPIC, b"u.nowhere.v1"),
    )
    record = InboundMessage("dlq", 1, 2, None, None, headers, 9)

    dead = parse_dead_letter(record, {})

    assert dead.reason == "\ufffd\ufffd"
    assert dead.source_partition is None and dead.source_offset is None
    assert dead.source is None
    assert dead.time_ms == 9
    assert dead.family is None


def test_family_falls_back_to_the_producers_type_hint_for_unknown_topics():
    headers = (
        ("velocity.artifact_type", b"QdSignalBundle"),
        (h.DLQ_REASON, b"decode.unknown_topic"),
        (h.DLQ_SOURCE_TOPIC, b"u.somewhere-else.v1"),
    )
    dead = parse_dead_letter(InboundMessage("dlq", 0, 0, None, b"", headers, 0), {})

    assert dead.family == "QdSignalBundle"
    assert original_headers(headers) == (("velocity.artifact_type", b"QdSignalBundle"),)
