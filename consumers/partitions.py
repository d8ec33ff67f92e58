"""Reading topics by partition assignment from offsets the caller stored in its own database.

The consumers keep offsets in SQL, in the same transaction as the rows they produced, so they
never join a consumer group: they assign every partition of their topics and seek to the stored
offsets (the earliest offset where none is stored). No group also means no join wait, which on
the embedded broker (Tansu) is about half the session timeout (docs/embedded-broker.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from velocity_stream.errors import ConfigError
from velocity_stream.kafka.client_logs import librdkafka_logger
from velocity_stream.kafka.config import consumer_config
from velocity_stream.observability import cached_high_watermark
from velocity_stream.settings import Settings

log = logging.getLogger(__name__)
librdkafka_log = librdkafka_logger()

Headers = tuple[tuple[str, bytes], ...]
METADATA_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One record as the broker returned it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None = field(repr=False)
    headers: Headers = ()
    timestamp_ms: int = 0


class PartitionSource:
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
        config: dict[str, object] = dict(
            consumer_config(settings, f"{client_id}-assign-only", client_id=client_id)
        )
        config["logger"] = librdkafka_log
        config["error_cb"] = _on_error
        self._consumer = Consumer(config)
        self._closed = False
        assignment: list[TopicPartition] = []
        for topic in sorted(set(topics)):
            for partition in self._partitions(topic):
                offset = start.get((topic, partition), OFFSET_BEGINNING)
                assignment.append(TopicPartition(topic, partition, offset))
        self.assignment = tuple((tp.topic, tp.partition) for tp in assignment)
        self._consumer.assign(assignment)

    def _partitions(self, topic: str) -> list[int]:
        metadata = self._consumer.list_topics(topic, timeout=METADATA_TIMEOUT_S)
        found = metadata.topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            raise ConfigError(
                f"topic {topic} does not exist: run `velocity-stream topics apply` first"
            )
        return sorted(found.partitions)

    def poll_batch(self, max_records: int, timeout: float) -> list[RawMessage]:
        """Up to ``max_records`` records, waiting at most ``timeout`` seconds for the first."""
        batch: list[RawMessage] = []
        for message in self._consumer.consume(max_records, timeout):
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error: %s", error)
                continue
            raw_headers = message.headers() or ()
            _, timestamp = message.timestamp()
            batch.append(
                RawMessage(
                    topic=message.topic() or "",
                    partition=message.partition() or 0,
                    offset=message.offset() or 0,
                    key=message.key(),
                    value=message.value(),
                    headers=_headers(raw_headers),
                    timestamp_ms=max(timestamp, 0),
                )
            )
        return batch

    def high_watermark(self, topic: str, partition: int) -> int | None:
        """The partition's high watermark from the last fetch response, with no broker request
        (ListOffsets is wrong on Tansu; see velocity_stream/observability/lag.py)."""
        return cached_high_watermark(self._consumer, topic, partition)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._consumer.close()

    def __enter__(self) -> PartitionSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def next_offsets(batch: Sequence[RawMessage]) -> dict[tuple[str, int], int]:
    """The offset to resume from per partition after ``batch``."""
    found: dict[tuple[str, int], int] = {}
    for message in batch:
        key = (message.topic, message.partition)
        found[key] = max(found.get(key, 0), message.offset + 1)
    return found


def _headers(raw: object) -> Headers:
    pairs = raw.items() if isinstance(raw, dict) else raw
    assert isinstance(pairs, Iterable)
    return tuple(
        (str(name), value.encode() if isinstance(value, str) else bytes(value or b""))
        for name, value in pairs
    )


def _on_error(error: KafkaError) -> None:
    log.warning("consumer error: %s", error)
