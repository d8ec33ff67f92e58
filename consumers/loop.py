"""The Kafka loop every worker runs (Client360, the committer, the table sinks).

A worker's own part is what it does with one batch; this module holds the rest, the same for
all: read the worker's topics by partition assignment from the offsets its store holds, one
batch at a time, until ``stop`` is set or nothing arrives for ``max_idle_s`` seconds; update
the lag gauges after each batch; turn every record the reader cannot read into a Rejection
(its position, reason code and a detail an operator can store) with one log line carrying the
record's trace context; count what a committed batch applied, repeated and refused.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from consumers.partitions import PartitionSource, next_offsets
from consumers.reading import UnreadableRecord
from consumers.storage import Rejection
from velocity_stream.observability import ConsumerMetrics, LagTracker, message_context
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
DETAIL_CHARS = 2000  # a reject's detail is for an operator, not a copy of the record


@dataclass(frozen=True, slots=True)
class LoopOptions:
    """The loop's tuning, the same for every worker; a worker's own options extend it."""

    batch_size: int = 1000  # records per poll, and so per transaction
    poll_timeout_s: float = 0.5  # how long one poll waits for a batch to fill


class WorkerLoop:
    """One worker's Kafka client id, metrics and lag gauges, and the loop that feeds it."""

    def __init__(self, settings: Settings, client_id: str, options: LoopOptions) -> None:
        self.settings = settings
        self.client_id = client_id
        self.options = options
        self.metrics = ConsumerMetrics(client_id)
        self.lag = LagTracker(client_id)

    def run(
        self,
        topics: Sequence[str],
        offsets: Mapping[tuple[str, int], int],
        handle: Callable[[Sequence[InboundMessage]], object],
        stop: threading.Event | None = None,
        max_idle_s: float | None = None,
        after_poll: Callable[[bool, float], None] | None = None,
    ) -> None:
        """Poll ``topics`` from ``offsets`` and ``handle`` every batch until ``stop`` is set
        or nothing arrives for ``max_idle_s`` seconds. ``after_poll(got_batch, now)`` runs
        after every poll, empty or not (the worker's own cadence, such as a refresh)."""
        stop = stop or threading.Event()
        with PartitionSource(self.settings, topics, offsets, client_id=self.client_id) as source:
            idle_since = time.monotonic()
            while not stop.is_set():
                batch = source.poll_batch(self.options.batch_size, self.options.poll_timeout_s)
                now = time.monotonic()
                if batch:
                    idle_since = now
                    handle(batch)
                    self.lag.update_many(next_offsets(batch), source.high_watermark)
                if after_poll is not None:
                    after_poll(bool(batch), now)
                if not batch and max_idle_s is not None and now - idle_since >= max_idle_s:
                    break

    def read_each(
        self,
        batch: Sequence[InboundMessage],
        read: Callable[[InboundMessage], T | None],
    ) -> tuple[list[T], list[Rejection]]:
        """``read`` every message of ``batch`` under its trace context: what it gave (None:
        nothing to keep), and a Rejection for every one it refused with UnreadableRecord."""
        kept: list[T] = []
        rejections: list[Rejection] = []
        for message in batch:
            with message_context(message.headers):  # its trace id on any log line
                try:
                    made = read(message)
                except UnreadableRecord as error:
                    rejections.append(self.unreadable(message, error))
                    continue
            if made is not None:
                kept.append(made)
        return kept, rejections

    def unreadable(self, message: InboundMessage, error: UnreadableRecord) -> Rejection:
        """The log line and the Rejection of a record ``error`` refused."""
        log.warning(
            "%s: unreadable record %s[%d]@%d: %s: %s",
            self.client_id,
            message.topic,
            message.partition,
            message.offset,
            error.code.value,
            error,
        )
        detail = str(error)
        if len(detail) > DETAIL_CHARS:
            detail = detail[: DETAIL_CHARS - 3] + "..."
        return Rejection(message.topic, message.partition, message.offset, error.code, detail)

    def counted(self, applied: int, duplicates: int, refused: Iterable[str]) -> None:
        """Count a batch once its transaction committed."""
        self.metrics.applied(applied)
        self.metrics.duplicates(duplicates)
        for reason in refused:
            self.metrics.rejected(reason)
