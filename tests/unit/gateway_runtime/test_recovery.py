"""Changelog ends for table recovery: taken from fetch responses, never from ListOffsets.

A stand-in consumer plays the broker's two answers: ``seek_to_end`` positions a partition at
the ListOffsets end (Tansu: the last batch's base offset + 1), and ``getmany`` is one fetch
round, after which ``highwater`` reports what the fetch response said.
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple

import pytest
from aiokafka.structs import TopicPartition as KafkaTopicPartition

from velocity_stream.gateway.runtime.recovery import ChangelogEndsUnknown, fetch_ends


class TP(NamedTuple):  # faust's TP has this shape
    topic: str
    partition: int


class Broker:
    """Per partition: the true end, the ListOffsets end, and after how many fetches it answers."""

    def __init__(self, partitions: dict[tuple[str, int], tuple[int, int, int]]) -> None:
        self.partitions = partitions
        self.fetches = 0
        self.sought: list[KafkaTopicPartition] = []
        self.fetched: list[tuple[KafkaTopicPartition, ...]] = []
        self.positions: dict[KafkaTopicPartition, int] = {}

    async def seek_to_end(self, *partitions: KafkaTopicPartition) -> None:
        self.sought.extend(partitions)
        for tp in partitions:
            self.positions[tp] = self.partitions[(tp.topic, tp.partition)][1]

    def highwater(self, tp: KafkaTopicPartition) -> int | None:
        end, _, after = self.partitions[(tp.topic, tp.partition)]
        return end if self.fetches >= after else None

    async def getmany(
        self, *partitions: KafkaTopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[KafkaTopicPartition, list[object]]:
        self.fetches += 1
        self.fetched.append(partitions)
        return {}


def run(coro):
    return asyncio.run(coro)


def test_ends_are_the_fetch_responses_high_watermarks_not_listoffsets():
    # Partition 0's last batch holds 4 records (offsets 6-9): ListOffsets says 7, the end is 10.
    broker = Broker({("t", 0): (10, 7, 1), ("t", 1): (3, 3, 1)})
    ends = run(fetch_ends(broker, [TP("t", 0), TP("t", 1)]))
    assert ends == {TP("t", 0): 10, TP("t", 1): 3}
    # The ListOffsets end is only where the fetch starts (so it returns at most the last batch).
    assert broker.positions == {KafkaTopicPartition("t", 0): 7, KafkaTopicPartition("t", 1): 3}


def test_answers_are_keyed_by_the_callers_partition_objects():
    broker = Broker({("t", 0): (5, 5, 1)})
    ends = run(fetch_ends(broker, [TP("t", 0)]))
    [key] = ends
    assert type(key) is TP


def test_an_empty_partition_ends_at_zero():
    # A watermark of 0 is an answer, not a missing one.
    broker = Broker({("t", 0): (0, 0, 1)})
    assert run(fetch_ends(broker, [TP("t", 0)])) == {TP("t", 0): 0}


def test_fetches_go_on_only_for_partitions_still_without_an_answer():
    broker = Broker({("t", 0): (4, 4, 1), ("t", 1): (9, 2, 3)})
    ends = run(fetch_ends(broker, [TP("t", 0), TP("t", 1)]))
    assert ends == {TP("t", 0): 4, TP("t", 1): 9}
    assert broker.fetched[0] == (KafkaTopicPartition("t", 0), KafkaTopicPartition("t", 1))
    assert broker.fetched[1:] == [(KafkaTopicPartition("t", 1),)] * 2


def test_no_answer_in_time_fails_instead_of_trusting_listoffsets():
    broker = Broker({("t", 0): (4, 4, 1), ("t", 1): (9, 2, 10**9)})
    now = [0.0]

    def clock() -> float:
        now[0] += 1.0
        return now[0]

    with pytest.raises(ChangelogEndsUnknown, match=r"1 changelog partitions .* t/1"):
        run(fetch_ends(broker, [TP("t", 0), TP("t", 1)], timeout_s=5, clock=clock))


def test_nothing_to_recover_asks_nothing():
    broker = Broker({})
    assert run(fetch_ends(broker, [])) == {}
    assert broker.sought == [] and broker.fetches == 0
