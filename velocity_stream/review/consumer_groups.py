"""Consumer groups and their lag per partition, for operators.

The groups and their committed offsets come from the broker (ListGroups, OffsetFetch through
the AdminClient); the partition ends come from fetch responses, never from ListOffsets, which
undercounts on the embedded broker (Tansu: see velocity_stream/observability/lag.py). To get
a fetch response for each partition, a group-less consumer is assigned to every partition at
its committed offset (or its start) and polled until each partition has answered with a
record or a partition-EOF event; librdkafka then holds the high watermark of that fetch
(velocity_stream.kafka.clients.cached_high_watermark). Lag is that end minus the committed
offset (velocity_stream.observability.lag.consumer_lag).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Protocol

from confluent_kafka import (
    OFFSET_BEGINNING,
    ConsumerGroupTopicPartitions,
    KafkaError,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from velocity_stream.errors import VelocityError
from velocity_stream.kafka.client_logs import librdkafka_logger
from velocity_stream.kafka.clients import cached_high_watermark, new_consumer
from velocity_stream.kafka.config import admin_config
from velocity_stream.observability.lag import consumer_lag
from velocity_stream.settings import Settings

ADMIN_TIMEOUT_S = 10.0
FETCH_TIMEOUT_S = 10.0


class GroupsUnavailable(VelocityError):
    """The broker did not say which groups there are or what they committed."""


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # the next offset the group reads; None: nothing committed
    end: int | None  # the high watermark of a fetch response; None: not learned in time
    lag: int | None


@dataclass(frozen=True, slots=True)
class GroupLag:
    group: str
    state: str
    partitions: tuple[PartitionLag, ...]

    @property
    def total(self) -> int | None:
        """The summed lag, or None when some partition's lag is unknown."""
        lags = [p.lag for p in self.partitions]
        return None if any(lag is None for lag in lags) else sum(lag or 0 for lag in lags)


class GroupReader(Protocol):
    def groups(self) -> list[GroupLag]: ...


class KafkaGroupReader:
    """Every consumer group of the cluster with its per-partition lag."""

    def __init__(self, settings: Settings, *, prefix_only: str | None = None) -> None:
        self._settings = settings
        self._prefix = prefix_only

    def groups(self) -> list[GroupLag]:
        admin = AdminClient(
            admin_config(self._settings, client_id=f"{self._settings.client_id}-review-groups"),
            logger=librdkafka_logger(),
        )
        try:
            listing = admin.list_consumer_groups(request_timeout=ADMIN_TIMEOUT_S).result()
        except Exception as error:  # KafkaException, or a broker without ListGroups
            raise GroupsUnavailable(
                f"the broker did not list its consumer groups: {error}"
            ) from None
        states = {g.group_id: str(getattr(g.state, "name", g.state)) for g in listing.valid}
        committed: dict[str, list[TopicPartition]] = {}
        for group in sorted(states):
            future = admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group)], request_timeout=ADMIN_TIMEOUT_S
            )[group]
            try:
                answer = future.result()
            except Exception as error:
                raise GroupsUnavailable(f"no committed offsets of {group}: {error}") from None
            committed[group] = [tp for tp in answer.topic_partitions or () if tp.error is None]
        ends = self._ends(
            {(tp.topic, tp.partition): tp.offset for tps in committed.values() for tp in tps}
        )
        return [
            GroupLag(
                group,
                states[group],
                tuple(
                    PartitionLag(
                        tp.topic,
                        tp.partition,
                        tp.offset if tp.offset >= 0 else None,
                        ends.get((tp.topic, tp.partition)),
                        consumer_lag(
                            tp.offset if tp.offset >= 0 else None,
                            ends.get((tp.topic, tp.partition)),
                        ),
                    )
                    for tp in sorted(tps, key=lambda t: (t.topic, t.partition))
                ),
            )
            for group, tps in committed.items()
        ]

    def _ends(self, starts: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        """Each partition's high watermark from a fetch response (never ListOffsets)."""
        if not starts:
            return {}
        consumer = new_consumer(
            self._settings,
            f"review-lag-{uuid.uuid4().hex[:8]}",
            client_id=f"{self._settings.client_id}-review-lag",
            overrides={"enable.partition.eof": True},
        )
        ends: dict[tuple[str, int], int] = {}
        try:
            consumer.assign(
                [
                    TopicPartition(topic, partition, offset if offset >= 0 else OFFSET_BEGINNING)
                    for (topic, partition), offset in starts.items()
                ]
            )
            waiting = set(starts)
            deadline = time.monotonic() + FETCH_TIMEOUT_S
            while waiting and time.monotonic() < deadline:
                message = consumer.poll(0.2)
                if message is None:
                    continue
                error = message.error()
                if error is not None and error.code() != KafkaError._PARTITION_EOF:
                    continue
                key = (message.topic() or "", message.partition() or 0)
                high = cached_high_watermark(consumer, *key)
                if error is not None and (message.offset() or 0) >= 0:
                    high = max(high or 0, message.offset() or 0)  # the EOF event's offset
                if high is not None:
                    ends[key] = high
                    waiting.discard(key)
                    consumer.incremental_unassign([TopicPartition(*key)])
        finally:
            consumer.close()
        return ends
