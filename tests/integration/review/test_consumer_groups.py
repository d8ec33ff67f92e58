"""Consumer-group lag on the session's Kafka: committed offsets from the broker, partition ends
from fetch responses (never ListOffsets, which undercounts on Tansu when a batch holds more
than one record, as a batched producer writes them)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import TopicPartition

from velocity_stream.contracts.catalog import TopicSpec
from velocity_stream.kafka.clients import new_consumer, new_producer
from velocity_stream.kafka.topics import TopicAdmin
from velocity_stream.review.consumer_groups import KafkaGroupReader
from velocity_stream.settings import Settings

pytestmark = pytest.mark.integration


def test_lag_per_partition_is_the_fetch_end_minus_the_committed_offset(
    kafka_settings: Settings,
    unique_topic: Callable[[str], str],
    unique_group: Callable[[str], str],
) -> None:
    topic, group = unique_topic("lag"), unique_group("lag")
    admin = TopicAdmin(kafka_settings)
    assert not admin.create([TopicSpec(topic, 2, "delete", -1)], 1).get(topic)
    producer = new_producer(kafka_settings, client_id="it-lag", overrides={"linger.ms": 50})
    for n in range(7):  # one batch per partition: ListOffsets would say 1 record each
        producer.produce(topic, value=b"x%d" % n, partition=0)
    for n in range(3):
        producer.produce(topic, value=b"y%d" % n, partition=1)
    assert producer.flush(10) == 0
    committer = new_consumer(kafka_settings, group)
    committer.commit(
        offsets=[TopicPartition(topic, 0, 2), TopicPartition(topic, 1, 3)], asynchronous=False
    )
    committer.close()
    try:
        found = {g.group: g for g in KafkaGroupReader(kafka_settings).groups()}
        lags = {
            (p.topic, p.partition): (p.committed, p.end, p.lag) for p in found[group].partitions
        }
        assert lags == {(topic, 0): (2, 7, 5), (topic, 1): (3, 3, 0)}
        assert found[group].total == 5
    finally:
        admin.delete([topic])
