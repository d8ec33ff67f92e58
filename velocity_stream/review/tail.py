"""Follow whole topics from their first offset, without a consumer group, in a thread.

The review app's views (the approval queue, recent dead letters, snapshots) are in-memory
folds that every app instance rebuilds from the beginning of a few topics. Assigning the
partitions directly (no group) avoids the group join, which on Tansu waits about half the
session timeout, and never commits offsets. "Caught up" comes from partition-EOF events:
they carry the fetch response's high watermark, which is right on Tansu (ListOffsets is not).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, Message, TopicPartition

from velocity_stream.kafka.clients import new_consumer, to_record, topic_partitions
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.settings import Settings

log = logging.getLogger(__name__)

METADATA_TIMEOUT_S = 5.0
# A missing topic (not provisioned yet) is looked for again after this long.
MISSING_TOPIC_RETRY_S = 1.0

Handler = Callable[[InboundMessage], None]


class TopicTail:
    """Calls ``handle`` for every message of ``topics``, oldest first per partition.

    A handler that raises is logged and the message skipped: a view must not stop on one
    bad record. ``caught_up`` is set once every partition has been read to its end.
    """

    def __init__(
        self, settings: Settings, topics: Sequence[str], handle: Handler, *, name: str
    ) -> None:
        self.topics = tuple(topics)
        self.name = name
        self._handle = handle
        self._consumer = new_consumer(
            settings,
            # Required by librdkafka even though nothing joins or commits under it.
            f"{settings.client_id}-{name}-{uuid.uuid4().hex[:8]}",
            client_id=f"{settings.client_id}-{name}",
            overrides={"enable.partition.eof": True},
        )
        self._stop = threading.Event()
        self.caught_up = threading.Event()
        self._pending_eof: set[tuple[str, int]] = set()
        self._assigned: set[str] = set()
        self.handled = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name=f"review-{name}", daemon=True)

    def start(self) -> TopicTail:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait_caught_up(self, timeout: float) -> bool:
        return self.caught_up.wait(timeout)

    # --- the loop --------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            next_lookup = 0.0
            while not self._stop.is_set():
                if len(self._assigned) < len(self.topics) and time.monotonic() >= next_lookup:
                    self._assign_new()
                    next_lookup = time.monotonic() + MISSING_TOPIC_RETRY_S
                if not self._assigned:
                    self._stop.wait(0.1)
                    continue
                message = self._consumer.poll(0.2)
                if message is not None:
                    self._on_message(message)
        except Exception:  # the thread boundary: say so loudly, the view goes stale
            log.exception("tail %s stopped on an unexpected error", self.name)
        finally:
            self._consumer.close()

    def _assign_new(self) -> None:
        added: list[TopicPartition] = []
        for topic in self.topics:
            if topic in self._assigned:
                continue
            try:
                found = topic_partitions(self._consumer, topic, METADATA_TIMEOUT_S)
            except KafkaException as error:
                log.warning("tail %s: no metadata for %s: %s", self.name, topic, error)
                continue
            if found is None:
                continue
            self._assigned.add(topic)
            for partition in found:
                added.append(TopicPartition(topic, partition, OFFSET_BEGINNING))
                self._pending_eof.add((topic, partition))
        if added:
            self._consumer.incremental_assign(added)

    def _on_message(self, message: Message) -> None:
        error: KafkaError | None = message.error()
        topic = message.topic() or ""
        partition = message.partition() or 0
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                self._pending_eof.discard((topic, partition))
                if not self._pending_eof and len(self._assigned) == len(self.topics):
                    self.caught_up.set()
            elif error.fatal():
                raise KafkaException(error)
            else:
                log.warning("tail %s: %s", self.name, error)
            return
        record = to_record(message)
        try:
            self._handle(record)
            self.handled += 1
        except Exception:
            self.failed += 1
            log.exception("tail %s: skipped %s[%d]@%d", self.name, topic, partition, record.offset)
