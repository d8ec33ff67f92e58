"""A sink's Kafka loop: its topics in, the mapper's writes to its store, offsets with them.

Per batch: (1) the mapper reads every record (any major, as the latest model, through the
ArtifactReader) and says what it asks of the store, or refuses it with a reason code; (2) the
store applies the writes, the refusals and the next offsets in one transaction. Offsets live
only in the database: at start the runner assigns every partition of the mapper's topics and
seeks to the stored offsets (the earliest where none is stored), like the other two workers.

A refused record never stops the worker: it becomes a row of the rejects table (position,
reason code, detail) and its offset advances with the batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from consumers.partitions import PartitionSource, next_offsets
from consumers.reading import ArtifactReader, UnreadableRecord
from consumers.sink.store import Rejection, SinkResult, SinkStore
from consumers.sink.writes import Writes
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.errors import ReasonCode
from velocity_stream.observability import ConsumerMetrics, LagTracker, message_context
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.settings import Settings

log = logging.getLogger(__name__)

DETAIL_CHARS = 2000  # a reject's detail is for an operator, not a copy of the record


class Mapper(Protocol):
    """One per consumer; pure: no Kafka client, no database."""

    name: str

    def topics(self, catalog: Catalog, topic_prefix: str) -> list[str]:
        """Every topic the consumer reads."""
        ...

    def map(self, message: InboundMessage, reader: ArtifactReader) -> Writes:
        """What ``message`` asks of the store; raises UnreadableRecord to refuse it."""
        ...


@dataclass(frozen=True, slots=True)
class SinkOptions:
    batch_size: int = 1000
    poll_timeout_s: float = 0.5


@dataclass
class SinkStats:
    batches: int = 0
    records: int = 0
    applied: int = 0  # records that asked for writes
    unchanged: int = 0  # writes that changed nothing (older or repeated copies)
    rejected: int = 0
    skipped: int = 0  # records that asked for nothing

    def add(self, records: int, result: SinkResult) -> None:
        self.batches += 1
        self.records += records
        self.applied += result.records
        self.unchanged += result.unchanged
        self.rejected += result.rejected
        self.skipped += records - result.records - result.rejected


class SinkRunner:
    """Consumes the mapper's topics into its store until stopped or idle."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        serde: AvroSerde,
        mapper: Mapper,
        store: SinkStore,
        options: SinkOptions | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.mapper = mapper
        self.store = store
        self.options = options or SinkOptions()
        self.reader = ArtifactReader(catalog, serde, settings.topic_prefix)
        self.client_id = f"{mapper.name}-sink"
        self.metrics = ConsumerMetrics(self.client_id)
        self.lag = LagTracker(self.client_id)

    def topics(self) -> list[str]:
        return sorted(set(self.mapper.topics(self.catalog, self.settings.topic_prefix)))

    def run(
        self, *, stop: threading.Event | None = None, max_idle_s: float | None = None
    ) -> SinkStats:
        """Run until ``stop`` is set or nothing arrives for ``max_idle_s`` seconds."""
        stats = SinkStats()
        stop = stop or threading.Event()
        with PartitionSource(
            self.settings, self.topics(), self.store.offsets(), client_id=self.client_id
        ) as source:
            idle_since = time.monotonic()
            while not stop.is_set():
                batch = source.poll_batch(self.options.batch_size, self.options.poll_timeout_s)
                if not batch:
                    if max_idle_s is not None and time.monotonic() - idle_since >= max_idle_s:
                        break
                    continue
                idle_since = time.monotonic()
                stats.add(len(batch), self.handle(batch))
                self.lag.update_many(next_offsets(batch), source.high_watermark)
        return stats

    def handle(self, batch: Sequence[InboundMessage]) -> SinkResult:
        """Map and apply one batch with its offsets (one transaction)."""
        writes: list[Writes] = []
        rejections: list[Rejection] = []
        for message in batch:
            with message_context(message.headers):  # its trace id on any log line
                try:
                    mapped = self.mapper.map(message, self.reader)
                    refuse_unstorable(mapped)
                except UnreadableRecord as error:
                    log.warning(
                        "%s: unreadable record %s[%d]@%d: %s",
                        self.mapper.name,
                        message.topic,
                        message.partition,
                        message.offset,
                        error.code.value,
                    )
                    rejections.append(rejection(message, error))
                    continue
            if mapped:
                writes.append(mapped)
        result = self.store.apply(writes, rejections, next_offsets(batch))
        # Counted once the batch's transaction committed.
        self.metrics.applied(result.records)
        self.metrics.duplicates(result.unchanged)
        for refused in rejections:
            self.metrics.rejected(refused.reason)
        return result


def rejection(message: InboundMessage, error: UnreadableRecord) -> Rejection:
    detail = clean_text(str(error))
    if len(detail) > DETAIL_CHARS:
        detail = detail[: DETAIL_CHARS - 3] + "..."
    return Rejection(message.topic, message.partition, message.offset, error.code, detail)


def clean_text(value: str) -> str:
    """``value`` without NUL characters (PostgreSQL text cannot hold them)."""
    return value.replace("\x00", "\\x00")


def refuse_unstorable(writes: Writes) -> None:
    """UnreadableRecord when a text value holds a NUL character: Avro strings may, PostgreSQL
    text may not, and one such value would fail its whole batch on every retry. Refused on
    every database, so SQLite and PostgreSQL stores hold the same rows."""
    for upsert in writes.normalized():
        owned = [(child, row) for child, rows in upsert.children.items() for row in rows]
        for table, row in [(upsert.table, upsert.row), *owned]:
            for column, value in row.items():
                if isinstance(value, str) and "\x00" in value:
                    raise UnreadableRecord(
                        ReasonCode.CONTRACT_INVALID_FIELD,
                        f"{table.name}.{column} holds a NUL character, which the store cannot keep",
                        column,
                    )
