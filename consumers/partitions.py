"""Reading topics by partition assignment from offsets the caller stored in its own database.

The consumers keep offsets in SQL, in the same transaction as the rows they produced, so they
never join a consumer group: they assign every partition of their topics and seek to the stored
offsets (the earliest offset where none is stored). No group also means no join wait, which on
the embedded broker (Tansu) is about half the session timeout (docs/embedded-broker.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from velocity_stream.errors import ConfigError
from velocity_stream.kafka.clients import (
    OwnedConsumer,
    cached_high_watermark,
    new_consumer,
    to_record,
    topic_partitions,
)
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.settings import Settings

log = logging.getLogger(__name__)


class PartitionSource(OwnedConsumer):
    """Every partition of ``topics``, positioned at ``start`` offsets; never commits to Kafka."""

    def __init__(
        self,
        settings: Settings,
        topics: Sequence[str],
        start: Mapping[tuple[str, int], int],
        *,
        client_id: str,
    ) -> None:
        # librdkafka wants a group id even for assign(); it is never joined nor committed to.
        super().__init__(
            new_consumer(
                settings, f"{client_id}-assign-only", client_id=client_id, on_error=_on_error
            )
        )
        assignment: list[TopicPartition] = []
        for topic in sorted(set(topics)):
            for partition in self._partitions(topic):
                offset = start.get((topic, partition), OFFSET_BEGINNING)
                assignment.append(TopicPartition(topic, partition, offset))
        self.assignment = tuple((tp.topic, tp.partition) for tp in assignment)
        self._consumer.assign(assignment)

    def _partitions(self, topic: str) -> list[int]:
        found = topic_partitions(self._consumer, topic)
        if found is None:
            raise ConfigError(
                f"topic {topic} does not exist: run `velocity-stream topics apply` first"
            )
        return found

    def poll_batch(self, max_records: int, timeout: float) -> list[InboundMessage]:
        """Up to ``max_records`` records, waiting at most ``timeout`` seconds for the first."""
        batch: list[InboundMessage] = []
        for message in self._consumer.consume(max_records, timeout):
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error: %s", error)
                continue
            batch.append(to_record(message))
        return batch

    def high_watermark(self, topic: str, partition: int) -> int | None:
        """The partition's high watermark from the last fetch response, with no broker request
        (ListOffsets is wrong on Tansu; see velocity_stream/observability/lag.py)."""
        return cached_high_watermark(self._consumer, topic, partition)


def next_offsets(batch: Sequence[InboundMessage]) -> dict[tuple[str, int], int]:
    """The offset to resume from per partition after ``batch``."""
    found: dict[tuple[str, int], int] = {}
    for message in batch:
        key = (message.topic, message.partition)
        found[key] = max(found.get(key, 0), message.offset + 1)
    return found


def _on_error(error: KafkaError) -> None:
    log.warning("consumer error: %s", error)
