"""ArtifactConsumer: reads families' topics and yields validated models or typed poison records.

A message that cannot be decoded or breaks its contract never raises out of the loop: it
comes back as a `PoisonRecord` with its raw bytes and a stable reason code, for the caller to
dead-letter. Offsets are committed only when the caller says its work is done (`commit`),
which gives at-least-once delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from velocity_stream.errors import ContractError, ReasonCode, SerdeError, Violation
from velocity_stream.kafka.client_logs import librdkafka_logger
from velocity_stream.kafka.config import consumer_config
from velocity_stream.kafka.headers import header_map
from velocity_stream.settings import Settings

if TYPE_CHECKING:
    from velocity_stream.contracts.catalog import Catalog, Family
    from velocity_stream.contracts.metadata import Artifact
    from velocity_stream.serde.avro import AvroSerde

log = logging.getLogger(__name__)
librdkafka_log = librdkafka_logger()


class TopicStage(StrEnum):
    """Which of a family's topics to read: what producers sent, or what the gateway accepted."""

    INGRESS = "ingress"
    ACCEPTED = "accepted"


@dataclass(frozen=True, slots=True)
class Coordinates:
    """Where a record sits in Kafka, with its key and headers as they arrived."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None

    def header_text(self) -> dict[str, str]:
        return header_map(self.headers)


@dataclass(frozen=True, slots=True)
class ConsumedArtifact:
    """A decoded, validated artifact and where it came from."""

    artifact: Artifact
    family: Family
    major: int
    coordinates: Coordinates
    raw_value: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class PoisonRecord:
    """A message that is not a valid artifact: why (a stable code), and its original bytes."""

    code: ReasonCode
    message: str
    family: Family | None
    coordinates: Coordinates
    raw_value: bytes | None = field(repr=False)
    violations: tuple[Violation, ...] = ()


ConsumedRecord = ConsumedArtifact | PoisonRecord


def family_topics(
    catalog: Catalog,
    prefix: str,
    families: Iterable[str] | None = None,
    stage: TopicStage = TopicStage.INGRESS,
) -> dict[str, tuple[Family, int]]:
    """Topic name -> (family, major) for the named families (default: all), every major."""
    chosen = [catalog.family(name) for name in families] if families is not None else list(catalog)
    topics: dict[str, tuple[Family, int]] = {}
    for family in chosen:
        for major in family.majors():
            # An internal family has one topic, whatever the stage.
            name = (
                family.ingress_topic(prefix, major)
                if stage is TopicStage.INGRESS or family.internal
                else family.accepted_topic(prefix, major)
            )
            topics[name] = (family, major)
    return topics


class ArtifactConsumer:
    """A consumer-group member over families' topics, with manual commits.

    Iterate it (or call `poll`) to get `ConsumedArtifact` and `PoisonRecord` values; call
    `commit(record)` once the record's work is done.
    """

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        serde: AvroSerde,
        group_id: str,
        *,
        families: Iterable[str] | None = None,
        stage: TopicStage = TopicStage.INGRESS,
        client_id: str | None = None,
        auto_offset_reset: str = "earliest",
        overrides: dict[str, str | int | float | bool] | None = None,
    ) -> None:
        self._serde = serde
        self.topics = family_topics(catalog, settings.topic_prefix, families, stage)
        config: dict[str, object] = dict(
            consumer_config(
                settings,
                group_id,
                client_id=client_id,
                auto_offset_reset=auto_offset_reset,
                overrides=overrides,
            )
        )
        config["logger"] = librdkafka_log
        config["error_cb"] = self._on_error
        self._consumer = Consumer(config)
        self._consumer.subscribe(sorted(self.topics))
        self._closed = False

    # --- reading -------------------------------------------------------------------------

    def poll(self, timeout: float = 1.0) -> ConsumedRecord | None:
        """The next record, or None when nothing arrived within ``timeout`` seconds."""
        message = self._consumer.poll(timeout)
        if message is None:
            return None
        return self._record(message)

    def poll_batch(self, max_records: int = 500, timeout: float = 1.0) -> list[ConsumedRecord]:
        """Up to ``max_records`` records, waiting at most ``timeout`` seconds for the first."""
        records: list[ConsumedRecord] = []
        for message in self._consumer.consume(max_records, timeout):
            record = self._record(message)
            if record is not None:
                records.append(record)
        return records

    def records(
        self, *, poll_timeout: float = 1.0, max_idle: float | None = None
    ) -> Iterator[ConsumedRecord]:
        """Records as they arrive; stops after ``max_idle`` seconds without one (None: never)."""
        idle = 0.0
        while not self._closed:
            record = self.poll(poll_timeout)
            if record is None:
                idle += poll_timeout
                if max_idle is not None and idle >= max_idle:
                    return
                continue
            idle = 0.0
            yield record

    def __iter__(self) -> Iterator[ConsumedRecord]:
        return self.records()

    # --- committing ----------------------------------------------------------------------

    def commit(self, record: ConsumedRecord, *, asynchronous: bool = False) -> None:
        """Mark ``record`` (and everything before it on its partition) as done."""
        where = record.coordinates
        self.commit_offsets({(where.topic, where.partition): where.offset + 1}, asynchronous)

    def commit_offsets(
        self, next_offsets: dict[tuple[str, int], int], asynchronous: bool = False
    ) -> None:
        """Commit the next offset to read for each (topic, partition)."""
        partitions = [TopicPartition(t, p, o) for (t, p), o in next_offsets.items()]
        if not partitions:
            return
        if asynchronous:
            self._consumer.commit(offsets=partitions, asynchronous=True)
            return
        for result in self._consumer.commit(offsets=partitions, asynchronous=False) or ():
            if result.error is not None:
                raise KafkaException(result.error)

    def committed(self, topic: str, partition: int, timeout: float = 10.0) -> int | None:
        """The group's committed next offset for a partition, None if nothing is committed."""
        [found] = self._consumer.committed([TopicPartition(topic, partition)], timeout=timeout)
        return int(found.offset) if found.offset >= 0 else None

    def assignment(self) -> list[tuple[str, int]]:
        return [(tp.topic, tp.partition) for tp in self._consumer.assignment()]

    # --- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Leave the group (uncommitted records will be read again by the next member)."""
        if not self._closed:
            self._closed = True
            self._consumer.close()

    def __enter__(self) -> ArtifactConsumer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------

    def _record(self, message: Message) -> ConsumedRecord | None:
        kafka_error = message.error()
        if kafka_error is not None:
            if kafka_error.fatal():
                raise KafkaException(kafka_error)
            # Transient broker or partition errors: librdkafka recovers; nothing to yield.
            if kafka_error.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error: %s", kafka_error)
            return None
        topic = message.topic() or ""
        _, timestamp = message.timestamp()
        coordinates = Coordinates(
            topic=topic,
            partition=message.partition() or 0,
            offset=message.offset() or 0,
            key=message.key(),
            headers=_headers_of(message),
            timestamp_ms=timestamp if timestamp >= 0 else None,
        )
        value = message.value()
        target = self.topics.get(topic)
        if target is None:
            # Subscribed topics only, so this is a bug or a regex subscription gone wide.
            return PoisonRecord(
                ReasonCode.INTERNAL_ERROR,
                f"no family reads topic {topic}",
                None,
                coordinates,
                value,
            )
        family, major = target
        try:
            artifact = self._serde.decode(value, family, major)
        except SerdeError as error:
            return PoisonRecord(error.code, str(error), family, coordinates, value)
        except ContractError as error:
            return PoisonRecord(
                error.code, str(error), family, coordinates, value, tuple(error.violations)
            )
        except Exception as error:  # the loop boundary: a bug must not stop consumption
            log.exception(
                "unexpected error decoding %s[%d]@%d",
                topic,
                coordinates.partition,
                coordinates.offset,
            )
            return PoisonRecord(
                ReasonCode.INTERNAL_ERROR,
                f"{type(error).__name__}: {error}",
                family,
                coordinates,
                value,
            )
        return ConsumedArtifact(artifact, family, major, coordinates, value or b"")

    def _on_error(self, error: KafkaError) -> None:
        log.warning("consumer error: %s", error)


def _headers_of(message: Message) -> tuple[tuple[str, bytes], ...]:
    raw = message.headers() or ()
    pairs = raw.items() if isinstance(raw, dict) else raw
    return tuple(
        (name, value.encode() if isinstance(value, str) else (value or b""))
        for name, value in pairs
    )
