"""Reading a whole topic, or one record of it, without joining a consumer group.

The tools here read a snapshot: every partition from its first offset up to the end it had
when the read reached it. The end comes from the fetch responses (librdkafka's partition-EOF
event), never from ListOffsets: on Tansu the ListOffsets high watermark is wrong
(docs/embedded-broker.md), so counting is done by consuming. Partitions are assigned, not
subscribed, and no offset is ever committed: reading the dead letters changes nothing for anyone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from velocity_stream.contracts.catalog import Catalog, Family
from velocity_stream.dlq.audit import AuditLog
from velocity_stream.dlq.filters import DeadLetterFilter
from velocity_stream.dlq.records import DeadLetter, parse_dead_letter
from velocity_stream.errors import VelocityError
from velocity_stream.gateway.messages import InboundMessage
from velocity_stream.kafka.config import consumer_config
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.settings import Settings

log = logging.getLogger(__name__)
librdkafka_log = logging.getLogger("velocity_stream.kafka.librdkafka")

METADATA_TIMEOUT_S = 10.0
# How long a partition may stay silent (no record, no end-of-partition event) before the read
# gives up: generous, since the first fetch waits for the broker connection.
DEFAULT_STALL_TIMEOUT_S = 30.0


class TopicReadError(VelocityError):
    """A topic could not be read: missing, unreachable, or a partition never reached its end."""


def _headers_of(message: Message) -> tuple[tuple[str, bytes], ...]:
    raw = message.headers() or ()
    pairs = raw.items() if isinstance(raw, dict) else raw
    return tuple(
        (name, value.encode() if isinstance(value, str) else (value or b""))
        for name, value in pairs
    )


def to_record(message: Message) -> InboundMessage:
    """A consumed confluent-kafka message as the plain record the gateway core uses."""
    _, timestamp = message.timestamp()
    return InboundMessage(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        key=message.key(),
        value=message.value(),
        headers=_headers_of(message),
        timestamp_ms=timestamp if timestamp >= 0 else 0,
    )


class TopicReader:
    """A group-less consumer for snapshot reads; a context manager."""

    def __init__(
        self,
        settings: Settings,
        *,
        client_id: str | None = None,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT_S,
    ) -> None:
        name = client_id or f"{settings.client_id}-dlq-reader"
        config: dict[str, object] = dict(
            consumer_config(
                settings,
                # Required by librdkafka even though nothing joins or commits with it.
                group_id=name,
                client_id=name,
                overrides={"enable.partition.eof": True},
            )
        )
        config["logger"] = librdkafka_log
        self._consumer = Consumer(config)
        self._stall_timeout = stall_timeout
        self._closed = False

    def partitions(self, topic: str) -> list[int]:
        """The topic's partition numbers; TopicReadError when the topic does not exist."""
        try:
            metadata = self._consumer.list_topics(topic, timeout=METADATA_TIMEOUT_S)
        except KafkaException as error:
            raise TopicReadError(f"no metadata for {topic}: {error}") from error
        found = metadata.topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            raise TopicReadError(f"topic {topic} does not exist")
        return sorted(found.partitions)

    def exists(self, topic: str) -> bool:
        try:
            self.partitions(topic)
        except TopicReadError:
            return False
        return True

    def read_all(
        self, topic: str, *, on_record: Callable[[int], None] | None = None
    ) -> Iterator[InboundMessage]:
        """Every record of ``topic``, partition by partition in arrival order, up to the end.

        ``on_record`` gets the running count (for progress output).
        """
        partitions = self.partitions(topic)
        self._consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        pending = set(partitions)
        count = 0
        last_progress = time.monotonic()
        try:
            while pending:
                message = self._consumer.poll(0.5)
                if message is None:
                    if time.monotonic() - last_progress > self._stall_timeout:
                        raise TopicReadError(
                            f"{topic}: partitions {sorted(pending)} did not reach their end "
                            f"within {self._stall_timeout:.0f} s"
                        )
                    continue
                last_progress = time.monotonic()
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        pending.discard(message.partition() or 0)
                        continue
                    if error.fatal() or error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                        raise TopicReadError(f"{topic}: {error.str()}")
                    log.warning("reading %s: %s", topic, error.str())
                    continue
                if (message.partition() or 0) not in pending:
                    continue  # arrived after that partition's end: not part of the snapshot
                count += 1
                if on_record is not None:
                    on_record(count)
                yield to_record(message)
        finally:
            self._consumer.unassign()

    def read_one(self, topic: str, partition: int, offset: int) -> InboundMessage | None:
        """The record at exactly ``partition:offset``; None when there is none (past the end,
        or removed by retention)."""
        if partition not in self.partitions(topic):
            return None
        self._consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + self._stall_timeout
        try:
            while time.monotonic() < deadline:
                message = self._consumer.poll(0.5)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        return None
                    if error.code() == KafkaError.OFFSET_OUT_OF_RANGE:
                        return None
                    log.warning("reading %s[%d]@%d: %s", topic, partition, offset, error.str())
                    continue
                found = message.offset()
                if found is None or found < offset:
                    continue
                return to_record(message) if found == offset else None
        finally:
            self._consumer.unassign()
        raise TopicReadError(f"{topic}[{partition}]@{offset}: no answer in time")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_dead_letters(
    reader: TopicReader,
    topic: str,
    ingress: Mapping[str, tuple[Family, int]],
    selection: DeadLetterFilter | None = None,
    *,
    limit: int | None = None,
    on_record: Callable[[int], None] | None = None,
) -> list[DeadLetter]:
    """The dead letters of ``topic`` that pass ``selection``, at most ``limit`` of them."""
    found: list[DeadLetter] = []
    if limit is not None and limit <= 0:
        return found
    for record in reader.read_all(topic, on_record=on_record):
        dead_letter = parse_dead_letter(record, ingress)
        if selection is None or selection.matches(dead_letter):
            found.append(dead_letter)
            if limit is not None and len(found) >= limit:
                break
    return found


def read_audit_log(reader: TopicReader, topic: str, serde: AvroSerde, catalog: Catalog) -> AuditLog:
    """Every replay audit record; an empty log when the audit topic does not exist yet."""
    if not reader.exists(topic):
        return AuditLog(())
    log_ = AuditLog.from_records(reader.read_all(topic), serde, catalog)
    if log_.unreadable:
        log.warning("%s: %d records are not audit records; ignored", topic, log_.unreadable)
    return log_
