"""Records aiokafka handed over and the worker did not route come again after the rewind.

A real aiokafka consumer (no group, as the rewind only needs an assignment) on the session's
broker, driven through the calls the worker's fetch step makes: aiokafka's ``fetched_records``
with faust's set of active partitions, then :func:`rewind_positions` on the same loop. The
first test shows the trigger of the takeover stall: asked for an empty set of partitions,
aiokafka hands over the records of every partition, paused ones included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from confluent_kafka import Producer

from velocity_stream.contracts.catalog import TopicSpec
from velocity_stream.gateway.runtime.rewind import (
    FetchedRecords,
    current_assignment,
    positions,
    rewind_positions,
)
from velocity_stream.kafka.topics import TopicAdmin
from velocity_stream.settings import Settings

pytestmark = pytest.mark.integration

RECORDS_PER_PARTITION = 3


@pytest.fixture
def two_partitions(kafka_settings: Settings, unique_topic: Callable[[str], str]) -> Iterator[str]:
    """A topic of two partitions holding offsets 0-2 in each."""
    topic = unique_topic("rewind")
    admin = TopicAdmin(kafka_settings)
    admin.create([TopicSpec(topic, 2, "delete", 3_600_000)], 1)
    producer = Producer({"bootstrap.servers": kafka_settings.kafka_bootstrap_servers})
    for partition in (0, 1):
        for offset in range(RECORDS_PER_PARTITION):
            producer.produce(topic, value=f"{partition}:{offset}".encode(), partition=partition)
    assert producer.flush(30) == 0
    yield topic
    admin.delete([topic])


def with_consumer(
    bootstrap: str, topic: str, body: Callable[[AIOKafkaConsumer, list[TopicPartition]], Awaitable]
) -> Any:
    async def run() -> Any:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=10,
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
            consumer.assign(partitions)
            return await body(consumer, partitions)
        finally:
            await consumer.stop()

    return asyncio.run(run())


async def hand_over(
    consumer: AIOKafkaConsumer, asked: set[TopicPartition], want: set[TopicPartition]
) -> FetchedRecords[TopicPartition, int]:
    """Call ``fetched_records(asked)`` as faust's fetch step does until all of ``want`` came.

    The offsets handed over, by partition, noted as the adapter's consumer thread notes them:
    with the assignment and the positions right after the hand-over.
    """
    got: dict[TopicPartition, list[int]] = {}
    for _ in range(100):
        fetched = await consumer._fetcher.fetched_records(asked, timeout=0.2)
        for tp, records in fetched.items():
            got.setdefault(tp, []).extend(r.offset for r in records)
        if all(len(got.get(tp, ())) >= RECORDS_PER_PARTITION for tp in want):
            assignment = current_assignment(consumer)
            return FetchedRecords(got, assignment, positions(assignment, got))
    pytest.fail(f"aiokafka handed over {got}, expected records of {want}")


def test_aiokafka_hands_over_every_partition_when_asked_for_none(
    kafka_settings: Settings, two_partitions: str
):
    async def body(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> Any:
        return dict(await hand_over(consumer, set(), set(partitions)))

    got = with_consumer(kafka_settings.kafka_bootstrap_servers, two_partitions, body)
    # faust's set of active partitions is empty while a takeover recovers its tables: the
    # records of the paused ingress partitions are handed over all the same.
    assert got == {
        TopicPartition(two_partitions, p): list(range(RECORDS_PER_PARTITION)) for p in (0, 1)
    }


def test_records_not_routed_come_again_after_the_rewind(
    kafka_settings: Settings, two_partitions: str
):
    async def body(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> Any:
        first, second = partitions
        got = await hand_over(consumer, set(), {first, second})
        assert await consumer.position(first) == RECORDS_PER_PARTITION
        # The worker routed the first partition and not the second (paused when handed over).
        rewound = rewind_positions(consumer, got, {second: got[second][0]})
        assert rewound == {second: 0}
        again = await hand_over(consumer, {second}, {second})
        return got, dict(again), await consumer.position(first)

    got, again, first_position = with_consumer(
        kafka_settings.kafka_bootstrap_servers, two_partitions, body
    )
    second = TopicPartition(two_partitions, 1)
    assert again == {second: got[second]}
    assert first_position == RECORDS_PER_PARTITION  # the routed partition stays where it was


def test_a_partition_sought_since_the_hand_over_keeps_that_seek(
    kafka_settings: Settings, two_partitions: str
):
    async def body(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> Any:
        first, _ = partitions
        got = await hand_over(consumer, {first}, {first})
        consumer.seek(first, 1)  # as faust seeks to a committed offset when recovery ends
        rewound = rewind_positions(consumer, got, {first: 0})
        for _ in range(100):
            fetched = await consumer._fetcher.fetched_records({first}, timeout=0.2)
            if fetched:
                return rewound, [r.offset for r in fetched[first]]
        pytest.fail("nothing came after the seek")

    rewound, again = with_consumer(kafka_settings.kafka_bootstrap_servers, two_partitions, body)
    assert rewound == {}
    assert again == [1, 2]


def test_a_rewind_for_an_assignment_that_was_replaced_moves_nothing(
    kafka_settings: Settings, two_partitions: str
):
    async def body(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> Any:
        first, _ = partitions
        old = await hand_over(consumer, {first}, {first})
        consumer.assign(partitions)  # a new assignment: positions start over by themselves
        assert current_assignment(consumer) is not old.assignment
        await hand_over(consumer, {first}, {first})
        rewound = rewind_positions(consumer, old, {first: 0})
        return rewound, await consumer.position(first)

    rewound, position = with_consumer(kafka_settings.kafka_bootstrap_servers, two_partitions, body)
    assert rewound == {}
    assert position == RECORDS_PER_PARTITION
