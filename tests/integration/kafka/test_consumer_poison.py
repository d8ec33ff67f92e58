"""Poison on a topic: the reader hands every record on with its bytes, and the tail's decoder
gives each a stable reason code without stopping (the path `velocity-stream tail` takes)."""

from __future__ import annotations

import random
import struct

import pytest

from velocity_stream.console.tail import RecordDecoder
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.examples import example
from velocity_stream.errors import ReasonCode
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.kafka.reader import TopicReader
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import Settings

pytestmark = pytest.mark.integration


def test_poison_messages_get_reason_codes_and_the_read_keeps_going(
    producer: ArtifactProducer,
    provisioned: Settings,
    catalog: Catalog,
    serde: AvroSerde,
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

    with TopicReader(provisioned, role="it-poison") as reader:
        records = list(reader.read_all(topic))
    assert len(records) == len(poison) + 2
    decoder = RecordDecoder(catalog, serde, provisioned.topic_prefix)
    decoded = [
        decoder.decode(r.value, decoder.target(r.topic, r.headers, r.value)) for r in records
    ]

    first, *middle, after = decoded
    assert first.ok and first.artifact == good.model_dump(mode="json")
    assert after.ok and after.artifact is not None
    assert after.artifact["artifact_id"] == "art:after-poison"
    for record, result, (value, code) in zip(records[1:-1], middle, poison, strict=True):
        assert not result.ok
        assert result.error_code == code.value, result.error_message
        assert result.family == "QdSignalBundle"
        assert record.value == value  # the original bytes, for a dead letter
        assert record.key == key.encode()
        assert record.header_text() == {"case": "poison"}
    assert middle[-1].violations[0]["path"] == "confidence"
    offsets = [r.offset for r in records]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
