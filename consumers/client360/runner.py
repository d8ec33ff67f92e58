"""The read model's Kafka loop: accepted topics (interactions, QD signals) and the committer's
applied graph changes (an internal family's topic) in, snapshots out.

Per batch: (1) decode every record to the latest contract model (serde + reader mappings)
and project it; (2) apply the batch, its dirty marks and its next offsets in one database
transaction. Whenever the loop is caught up, or ``refresh_interval_s`` has passed since the
last refresh: (3) rebuild the dirty clients' snapshots and (4) publish the changed ones
through the outbox. Offsets live only in the database: at start the runner finishes any
refresh and publication a crash interrupted, assigns every partition and seeks to the
stored offsets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from consumers.client360.facts import Projection
from consumers.client360.projector import project, projected_families
from consumers.client360.publisher import SnapshotPublisher
from consumers.client360.store import ApplyResult, Client360Store, RefreshResult
from consumers.loop import LoopOptions, WorkerLoop
from consumers.partitions import next_offsets
from consumers.reading import ArtifactReader
from velocity_stream.contracts.catalog import Catalog, Family
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.kafka.stage_topics import TopicStage, family_topics
from velocity_stream.protocol.records import InboundMessage as RawMessage
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.settings import Settings

log = logging.getLogger(__name__)

CLIENT_ID = "client360-projector"


@dataclass(frozen=True, slots=True)
class RunnerOptions(LoopOptions):
    # The longest snapshot lag under sustained load. Caught up (an empty poll), snapshots
    # are rebuilt at once; behind, rebuilding at most this often lets a client's burst of
    # events cost one rebuild instead of one per batch.
    refresh_interval_s: float = 5.0


@dataclass
class RunStats:
    batches: int = 0
    records: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: int = 0  # read but not projected
    refreshes: int = 0
    snapshots_changed: int = 0
    published: int = 0

    def add(self, records: int, result: ApplyResult) -> None:
        self.batches += 1
        self.records += records
        self.applied += result.applied
        self.duplicates += result.duplicates
        self.rejected += result.rejected
        self.skipped += records - result.applied - result.duplicates - result.rejected


class Client360Runner:
    """Consumes, projects, applies and publishes; ``producer`` None skips publication."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        serde: AvroSerde,
        store: Client360Store,
        producer: ArtifactProducer | None = None,
        options: RunnerOptions | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.options = options or RunnerOptions()
        self.reader = ArtifactReader(catalog, serde, settings.topic_prefix)
        self.family_topics: dict[str, tuple[Family, int]] = family_topics(
            catalog, settings.topic_prefix, projected_families(), TopicStage.ACCEPTED
        )
        self.loop = WorkerLoop(settings, CLIENT_ID, self.options)
        self.publisher = SnapshotPublisher(store, producer) if producer is not None else None

    def topics(self) -> list[str]:
        return sorted(self.family_topics)

    def run(
        self, *, stop: threading.Event | None = None, max_idle_s: float | None = None
    ) -> RunStats:
        """Run until ``stop`` is set or nothing arrives for ``max_idle_s`` seconds."""
        stats = RunStats()
        self.refresh(stats)  # whatever a crash left dirty or unpublished
        if self.publisher is not None:
            stats.published += self.publisher.publish_pending()
        dirty = False
        last_refresh = time.monotonic()

        def handle(batch: Sequence[RawMessage]) -> None:
            nonlocal dirty
            result = self.handle(batch)
            stats.add(len(batch), result)
            dirty = dirty or result.dirty > 0

        def after_poll(got_batch: bool, now: float) -> None:
            # Caught up: at once; behind: at most every refresh_interval_s.
            nonlocal dirty, last_refresh
            if dirty and (not got_batch or now - last_refresh >= self.options.refresh_interval_s):
                self.refresh(stats)
                dirty, last_refresh = False, time.monotonic()

        self.loop.run(self.topics(), self.store.offsets(), handle, stop, max_idle_s, after_poll)
        return stats

    def refresh(self, stats: RunStats | None = None) -> RefreshResult:
        """Rebuild every dirty snapshot, then publish the changed ones."""
        result = self.store.refresh_all()
        published = self.publisher.publish_changed(result.changed_refs) if self.publisher else 0
        if stats is not None:
            stats.refreshes += 1
            stats.snapshots_changed += len(result.changed_refs)
            stats.published += published
        log.debug("refresh: %s, %d published", result, published)
        return result

    def handle(self, batch: Sequence[RawMessage]) -> ApplyResult:
        """Decode, project and apply one batch with its offsets (one transaction)."""
        projections, rejections = self.loop.read_each(batch, self._project)
        result = self.store.apply(projections, next_offsets(batch), rejections)
        self.loop.counted(result.applied, result.duplicates, (r.reason for r in rejections))
        return result

    def _project(self, message: RawMessage) -> Projection | None:
        target = self.family_topics.get(message.topic)
        if target is None:
            return None
        family, major = target
        if family.internal:  # nothing checked it on the way: the reader does
            return project(self.reader.read_internal(message.key, message.value, family, major))
        return project(self.reader.read(message.value, family, major))
