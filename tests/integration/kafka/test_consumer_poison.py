"""The consumer turns poison messages into typed records with their bytes and keeps consuming."""

from __future__ import annotations

import random
import struct

import pytest

from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.examples import example
from velocity_stream.errors import ReasonCode
from velocity_stream.kafka.consumer import ArtifactConsumer, ConsumedArtifact, PoisonRecord
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import Settings

pytestmark = pytest.mark.integration


def test_poison_messages_become_typed_records_and_the_loop_keeps_going(
    producer: ArtifactProducer,
    provisioned: Settings,
    catalog: Catalog,
    serde: AvroSerde,
    unique_group,
    collect,
):
    family = catalog.family("QdSignalBundle")
    topic = family.ingress_topic(provisioned.topic_prefix)
    good = example("QdSignalBundle")
    good_bytes = serde.encode(good)
    key = str(getattr(good, family.key_field))  # one key: one partition, so order is kept
    rng = random.Random(7)
    random_bytes = bytes([0xC3]) + rng.randbytes(63)
    unknown_id = struct.pack(">bI", 0, 987_654) + good_bytes[5:]
    wrong_family = serde.encode(example("InteractionBundle"))
    breaks_rule = serde.encode(good.model_copy(update={"confidence": 3.0}))
    poison = [
        (random_bytes, ReasonCode.DECODE_BAD_MAGIC_BYTE),
        (b"\x01" + good_bytes[1:], ReasonCode.DECODE_BAD_MAGIC_BYTE),
        (unknown_id, ReasonCode.DECODE_UNKNOWN_SCHEMA_ID),
        (good_bytes[: len(good_bytes) // 2], ReasonCode.DECODE_CORRUPT_BODY),
        (good_bytes[:3], ReasonCode.DECODE_CORRUPT_BODY),
        (None, ReasonCode.DECODE_EMPTY_PAYLOAD),
        (wrong_family, ReasonCode.DECODE_WRONG_FAMILY),
        (breaks_rule, ReasonCode.CONTRACT_CONFIDENCE_RANGE),
    ]
    producer.publish(good)
    for value, _ in poison:
        producer.publish_raw(topic, key, value, {"case": "poison"})
    producer.publish(good.model_copy(update={"artifact_id": "art:after-poison"}))
    assert producer.flush(10) == 0

    with ArtifactConsumer(
        provisioned, catalog, serde, unique_group("poison"), families=["QdSignalBundle"]
    ) as consumer:
        records = collect(consumer, len(poison) + 2)
        for record in records:
            consumer.commit(record)  # a caller dead-letters poison, then commits past it
        last = records[-1].coordinates
        assert consumer.committed(last.topic, last.partition) == last.offset + 1

    first, *middle, after = records
    assert isinstance(first, ConsumedArtifact) and first.artifact == good
    assert isinstance(after, ConsumedArtifact)
    assert after.artifact.artifact_id == "art:after-poison"
    assert [type(r) for r in middle] == [PoisonRecord] * len(poison)
    for record, (value, code) in zip(middle, poison, strict=True):
        assert isinstance(record, PoisonRecord)
        assert record.code is code, record.message
        assert record.raw_value == value
        assert record.family is not None and record.family.name == "QdSignalBundle"
        assert record.coordinates.key == key.encode()
        assert record.coordinates.header_text() == {"case": "poison"}
    assert middle[-1].violations[0].path == "confidence"
    offsets = [r.coordinates.offset for r in records]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
