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

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from consumers.loop import LoopOptions, WorkerLoop
from consumers.partitions import next_offsets
from consumers.reading import ArtifactReader, UnreadableRecord
from consumers.sink.store import SinkResult, SinkStore
from consumers.sink.writes import Writes
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.errors import ReasonCode
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.settings import Settings


class Mapper(Protocol):
    """One per consumer; pure: no Kafka client, no database."""

    name: str

    def topics(self, catalog: Catalog, topic_prefix: str) -> list[str]:
        """Every topic the consumer reads."""
        ...

    def map(self, message: InboundMessage, reader: ArtifactReader) -> Writes:
        """What ``message`` asks of the store; raises UnreadableRecord to refuse it."""
        ...


SinkOptions = LoopOptions  # a sink tunes nothing beyond the loop


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
        self.loop = WorkerLoop(settings, f"{mapper.name}-sink", self.options)

    def topics(self) -> list[str]:
        return sorted(set(self.mapper.topics(self.catalog, self.settings.topic_prefix)))

    def run(
        self, *, stop: threading.Event | None = None, max_idle_s: float | None = None
    ) -> SinkStats:
        """Run until ``stop`` is set or nothing arrives for ``max_idle_s`` seconds."""
        stats = SinkStats()

        def handle(batch: Sequence[InboundMessage]) -> None:
            stats.add(len(batch), self.handle(batch))

        self.loop.run(self.topics(), self.store.offsets(), handle, stop, max_idle_s)
        return stats

    def handle(self, batch: Sequence[InboundMessage]) -> SinkResult:
        """Map and apply one batch with its offsets (one transaction)."""
        mapped, rejections = self.loop.read_each(batch, self._map)
        result = self.store.apply([w for w in mapped if w], rejections, next_offsets(batch))
        self.loop.counted(result.records, result.unchanged, (r.reason for r in rejections))
        return result

    def _map(self, message: InboundMessage) -> Writes:
        writes = self.mapper.map(message, self.reader)
        refuse_unstorable(writes)
        return writes


def refuse_unstorable(writes: Writes) -> None:
    """UnreadableRecord when a text value holds a NUL character: PostgreSQL text cannot, and
    one such value would fail its whole batch on every retry. The contract refuses NUL in
    every string already (docs/reason-codes.md); this holds a mapper to it for whatever text
    it makes. Refused on every database, so SQLite and PostgreSQL stores hold the same rows."""
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
