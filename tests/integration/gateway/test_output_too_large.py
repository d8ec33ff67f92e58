"""An output refused as too large is dead-lettered; the worker goes on and commits past it.

The worker runs with librdkafka's ``message.max.bytes`` at 100 KB for its outputs
(limited_worker.py): an input of ~150 KB is taken by the broker (Tansu enforces no limit) but
its accepted output, and then its dead letter, are refused while queueing, exactly the error a
broker's ``max.message.bytes`` gives. Before the fix the worker stopped on it and, restarted,
stopped on the same input again.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from velocity_stream.contracts import example
from velocity_stream.errors import ReasonCode
from velocity_stream.protocol import headers as h

pytestmark = pytest.mark.integration

LIMIT = 100_000
LAUNCHER = Path(__file__).with_name("limited_worker.py")


def _consumer(gw, group: str | None = None) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": gw.settings.kafka_bootstrap_servers,
            "group.id": group or f"probe-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )


def _committed(gw, topic: str, partition: int) -> int:
    consumer = _consumer(gw, f"{gw.prefix}-gateway")  # the worker's group; it never joins
    try:
        [tp] = consumer.committed([TopicPartition(topic, partition)], timeout=10)
        return int(tp.offset)
    finally:
        consumer.close()


def _record_at(gw, topic: str, partition: int, offset: int) -> bytes | None:
    consumer = _consumer(gw)
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                assert message.offset() == offset
                value: bytes | None = message.value()
                return value
        pytest.fail(f"no record at {topic}/{partition}@{offset}")
    finally:
        consumer.close()


def _wait_committed_past(gw, topic: str, partition: int, offset: int) -> int:
    deadline = time.monotonic() + 30
    while True:
        committed = _committed(gw, topic, partition)
        if committed > offset:
            return committed
        if time.monotonic() > deadline:
            pytest.fail(f"offset of {topic}/{partition} stayed at {committed}:\n{gw.log()[-3000:]}")
        time.sleep(0.5)


def _int(out, name: str) -> int:
    value = out.header(name)
    assert value is not None, f"{name} missing: {out.headers}"
    return int(value)


def test_an_oversized_output_is_dead_lettered_and_the_worker_goes_on(fresh_gateway):
    gw = fresh_gateway
    gw.start(command=[sys.executable, str(LAUNCHER), str(LIMIT)])
    family = "InteractionBundle"
    # keyed by its own client_ref (the key check), unique to this test
    client_ref = f"client:big-{uuid.uuid4().hex[:8]}"
    key = client_ref.encode()
    big = gw.variant(
        example(family),
        artifact_id=f"art:{uuid.uuid4().hex[:8]}",
        client_ref=client_ref,
        summary="s" * (LIMIT + 50_000),
    )
    good = gw.variant(
        example(family), artifact_id=f"art:{uuid.uuid4().hex[:8]}", client_ref=client_ref
    )

    big_bytes = gw.publish(big, headers=[("trace", b"big-one")])
    gw.publish(good)  # same key: same partition, after the big one

    [dead] = gw.wait_for(lambda o: o.topic == gw.dead_letters and o.key == key)
    [accepted] = gw.wait_for(lambda o: o.topic == gw.accepted(family) and o.key == key)
    assert accepted.text(h.ARTIFACT_ID) == good.artifact_id  # the next good message went on

    assert dead.text(h.DLQ_REASON) == ReasonCode.ROUTE_OUTPUT_TOO_LARGE.value
    assert dead.text(h.DLQ_STAGE) == "route"
    assert dead.text(h.DLQ_REFUSED_TOPIC) == gw.accepted(family)
    assert _int(dead, h.DLQ_REFUSED_BYTES) > LIMIT
    # the dead letter with the input's bytes was too large as well: sent without them
    assert dead.value is None
    assert dead.text(h.DLQ_DROPPED) == "value,headers"
    assert _int(dead, h.DLQ_ORIGINAL_VALUE_BYTES) == len(big_bytes)
    assert all(name != "trace" for name, _ in dead.headers)
    # ... and says where the original is: the input, byte for byte, at those coordinates
    topic = dead.text(h.DLQ_SOURCE_TOPIC)
    partition, offset = _int(dead, h.DLQ_SOURCE_PARTITION), _int(dead, h.DLQ_SOURCE_OFFSET)
    assert topic == gw.ingress(family)
    assert _record_at(gw, topic, partition, offset) == big_bytes

    assert _wait_committed_past(gw, topic, partition, offset) >= offset + 2  # both inputs
    gw.settle(1.0)
    assert [o for o in gw.outputs if o.key == key and o.topic != gw.dead_letters] == [accepted]
    assert len(gw.dead_letters_for(key)) == 1
    assert gw.alive(), gw.log()[-3000:]
    assert "route.output_too_large" in gw.log()
    assert gw.stop() == 0, gw.log()[-3000:]


def test_a_dead_letter_too_large_for_its_topic_keeps_its_own_reason(fresh_gateway):
    gw = fresh_gateway
    gw.start(command=[sys.executable, str(LAUNCHER), str(LIMIT)])
    topic = gw.ingress("QdSignalBundle")
    key = f"junk:{uuid.uuid4().hex[:8]}".encode()
    junk = b"\x07" + b"j" * (LIMIT + 10_000)  # not the wire format: decode.bad_magic_byte

    gw.publish_raw(topic, junk, key=key)

    [dead] = gw.wait_for(lambda o: o.topic == gw.dead_letters and o.key == key)
    assert dead.text(h.DLQ_REASON) == ReasonCode.DECODE_BAD_MAGIC_BYTE.value
    assert dead.value is None and dead.text(h.DLQ_DROPPED) == "value"
    assert _int(dead, h.DLQ_ORIGINAL_VALUE_BYTES) == len(junk)
    offset = _int(dead, h.DLQ_SOURCE_OFFSET)
    _wait_committed_past(gw, topic, _int(dead, h.DLQ_SOURCE_PARTITION), offset)
    assert gw.alive(), gw.log()[-3000:]
    assert gw.stop() == 0, gw.log()[-3000:]
