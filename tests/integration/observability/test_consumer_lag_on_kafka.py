"""Consumer lag on a real broker, from fetch-response watermarks (cached, and librdkafka stats).

Fifty records are produced in one batch: that is the case where the embedded broker's
ListOffsets answer (the batch's base offset + 1) is wrong, and where the fetch response's
high watermark must still give the exact lag.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from velocity_stream.contracts.catalog import TopicSpec
from velocity_stream.kafka.clients import cached_high_watermark
from velocity_stream.kafka.config import consumer_config, producer_config
from velocity_stream.kafka.topics import TopicAdmin
from velocity_stream.observability import LagTracker
from velocity_stream.settings import Settings

pytestmark = pytest.mark.integration

RECORDS = 50
READ = 20


@pytest.fixture
def batch_topic(kafka_settings: Settings, admin: TopicAdmin, unique_topic) -> Iterator[str]:
    """One partition holding RECORDS records written as a single batch."""
    name = unique_topic("lag")
    errors = admin.create([TopicSpec(name, 1, "delete", 3_600_000)], 1)
    assert errors == {name: None}
    producer = Producer(
        producer_config(
            kafka_settings,
            client_id="it-lag-producer",
            overrides={"linger.ms": 200, "compression.type": "none"},
        )
    )
    for n in range(RECORDS):
        producer.produce(name, key=b"k", value=f"record {n}".encode())
    assert producer.flush(15) == 0
    yield name
    admin.delete([name])


def _consumer(settings: Settings, group: str, **overrides: object) -> Consumer:
    config: dict[str, object] = dict(consumer_config(settings, group))
    config.update(overrides)
    return Consumer(config)


def _read(consumer: Consumer, count: int, timeout: float = 30.0) -> int:
    """Read ``count`` records; returns the position (last offset + 1)."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while len(seen) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error() is not None:
            continue
        seen.append(message.offset())
    assert seen == list(range(count)), seen
    return seen[-1] + 1


def test_lag_from_the_cached_fetch_watermark_is_exact(
    kafka_settings, batch_topic, unique_group, metrics, registry
):
    consumer = _consumer(kafka_settings, unique_group("lag"))
    consumer.subscribe([batch_topic])
    lag = LagTracker("it-lag", metrics)
    try:
        position = _read(consumer, READ)
        high = cached_high_watermark(consumer, batch_topic, 0)
        assert high == RECORDS
        assert lag.update(batch_topic, 0, position, high) == RECORDS - READ

        position = _read_rest(consumer, position)
        assert (
            lag.update(batch_topic, 0, position, cached_high_watermark(consumer, batch_topic, 0))
            == 0
        )
    finally:
        consumer.close()
    labels = {"group": "it-lag", "topic": batch_topic, "partition": "0"}
    assert registry.get_sample_value("velocity_consumer_lag", labels) == 0


def _read_rest(consumer: Consumer, position: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while position < RECORDS and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            assert message.offset() == position
            position += 1
    assert position == RECORDS
    return position


def test_lag_from_librdkafka_statistics_matches_what_was_read(
    kafka_settings, batch_topic, unique_group, metrics, registry
):
    lag = LagTracker("it-stats", metrics)
    updates: list[int] = []

    def on_stats(document: str) -> None:
        updates.append(lag.update_from_statistics(document))

    consumer = _consumer(
        kafka_settings,
        unique_group("stats"),
        **{"statistics.interval.ms": 100, "stats_cb": on_stats},
    )
    consumer.subscribe([batch_topic])
    labels = {"group": "it-stats", "topic": batch_topic, "partition": "0"}
    try:
        _read(consumer, READ)
        # Statistics are emitted from poll(); pausing the partition keeps poll() from handing
        # out more records while it waits for a document at the position reached.
        consumer.pause([TopicPartition(batch_topic, 0)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert consumer.poll(0.2) is None
            if registry.get_sample_value("velocity_consumer_lag", labels) == RECORDS - READ:
                break
    finally:
        consumer.close()
    assert any(updates), "no statistics document reported the assigned partition"
    assert registry.get_sample_value("velocity_consumer_lag", labels) == RECORDS - READ
