"""Reading a topic without a consumer group: a snapshot of it, what arrives next, or one record.

Partitions are assigned, not subscribed, and no offset is ever committed, so reading changes
nothing for anyone (the dead-letter tools and ``tail`` use it). Where a partition "ends" comes
from the fetch responses, never from ListOffsets: on Tansu ListOffsets answers the last
batch's base offset + 1, so it can name an offset inside the last batch
(docs/embedded-broker.md). Concretely:

* from the beginning, without ``follow``: each partition is read up to the high watermark of
  the first fetch response that reaches it (librdkafka's cached value, or a partition-EOF
  event, which carries the same number), then the read stops;
* only new records (``from_beginning=False``): the partition starts at OFFSET_END (a
  ListOffsets answer, possibly too low on Tansu) and everything below the first fetch
  response's high watermark is skipped, so records that were already there never show, even
  when ListOffsets was off.

Records a fetch returned after the read started can fall on either side of that first high
watermark; that is the usual "as of start" of a console consumer.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaError, KafkaException, TopicPartition

from velocity_stream.errors import VelocityError
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

# How long a partition may stay silent (no record, no end-of-partition event) before a read
# that is not following gives up: generous, since the first fetch waits for the connection.
DEFAULT_STALL_TIMEOUT_S = 30.0


class TopicReadError(VelocityError):
    """A topic could not be read: missing, unreachable, or a partition never reached its end."""


@dataclass(slots=True)
class _Bounds:
    """What the first fetch response told about one partition."""

    learned: bool = False
    floor: int = 0  # records below it were there before the read started
    end: int | None = None  # without follow: where this partition's read stops


class TopicReader(OwnedConsumer):
    """A group-less consumer for snapshot and follow reads; a context manager.

    ``client_id`` defaults to the settings' client id plus ``-`` and ``role`` (what reads:
    ``dlq-reader``, ``tail``), so the broker's logs tell the tools apart.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        role: str = "reader",
        client_id: str | None = None,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT_S,
    ) -> None:
        name = client_id or f"{settings.client_id}-{role}"
        super().__init__(
            new_consumer(
                settings,
                # Required by librdkafka even though nothing joins or commits with it.
                f"{name}-{uuid.uuid4().hex[:8]}",
                client_id=name,
                overrides={"enable.partition.eof": True},
            )
        )
        self._stall_timeout = stall_timeout

    def partitions(self, topic: str) -> list[int]:
        """The topic's partition numbers; TopicReadError when the topic does not exist."""
        try:
            found = topic_partitions(self._consumer, topic)
        except KafkaException as error:
            raise TopicReadError(f"no metadata for {topic}: {error}") from None
        if found is None:
            raise TopicReadError(f"topic {topic} does not exist")
        return found

    def exists(self, topic: str) -> bool:
        try:
            self.partitions(topic)
        except TopicReadError:
            return False
        return True

    def read_all(
        self, topic: str, *, on_record: Callable[[int], None] | None = None
    ) -> Iterator[InboundMessage]:
        """Every record of ``topic``, partition by partition in arrival order, up to the end it
        had when the read reached it. ``on_record`` gets the running count (for progress)."""
        return self.read(topic, from_beginning=True, follow=False, on_record=on_record)

    def read(
        self,
        topic: str,
        *,
        from_beginning: bool,
        follow: bool,
        on_record: Callable[[int], None] | None = None,
    ) -> Iterator[InboundMessage]:
        """The records of ``topic``: from its first offset or only new ones; up to each
        partition's end as of the first fetch, or on and on with ``follow``."""
        partitions = self.partitions(topic)
        start = OFFSET_BEGINNING if from_beginning else OFFSET_END
        self._consumer.assign([TopicPartition(topic, p, start) for p in partitions])
        bounds = {p: _Bounds() for p in partitions}
        pending = set(partitions)
        count = 0
        last_event = time.monotonic()
        try:
            while follow or pending:
                message = self._consumer.poll(0.5)
                if message is None:
                    if not follow and time.monotonic() - last_event > self._stall_timeout:
                        raise TopicReadError(
                            f"{topic}: partitions {sorted(pending)} did not reach their end "
                            f"within {self._stall_timeout:.0f} s"
                        )
                    continue
                last_event = time.monotonic()
                partition = message.partition() or 0
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        if partition in bounds:
                            self._learn(
                                bounds[partition],
                                topic,
                                partition,
                                message.offset(),
                                from_beginning=from_beginning,
                                follow=follow,
                            )
                        pending.discard(partition)
                        continue
                    if error.fatal() or error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                        raise TopicReadError(f"{topic}: {error.str()}")
                    log.warning("reading %s: %s", topic, error.str())
                    continue
                here = bounds.get(partition)
                if here is None:
                    continue
                self._learn(
                    here, topic, partition, None, from_beginning=from_beginning, follow=follow
                )
                offset = message.offset() or 0
                if offset < here.floor:
                    continue  # there before the read started (OFFSET_END was too low)
                if not follow:
                    if partition not in pending:
                        continue  # past this partition's end: not part of the snapshot
                    if here.end is not None and offset >= here.end:
                        pending.discard(partition)
                        continue
                count += 1
                if on_record is not None:
                    on_record(count)
                yield to_record(message)
                if here.end is not None and offset + 1 >= here.end:
                    pending.discard(partition)
        finally:
            if not self._closed:
                self._consumer.unassign()

    def _learn(
        self,
        bounds: _Bounds,
        topic: str,
        partition: int,
        eof_offset: int | None,
        *,
        from_beginning: bool,
        follow: bool,
    ) -> None:
        if bounds.learned:
            return
        known = [
            offset
            for offset in (cached_high_watermark(self._consumer, topic, partition), eof_offset)
            if offset is not None and offset >= 0
        ]
        if not known:
            return
        high = max(known)
        bounds.learned = True
        if not from_beginning:
            bounds.floor = high
        if not follow:
            bounds.end = high

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
                    if error.code() in (KafkaError._PARTITION_EOF, KafkaError.OFFSET_OUT_OF_RANGE):
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
