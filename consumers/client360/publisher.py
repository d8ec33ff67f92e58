"""Publishing changed snapshots: the store's snapshot table is the outbox.

A snapshot row whose digest differs from its published digest is due. The publisher sends
due snapshots through the validating producer (to the Client360Snapshot ingress topic, keyed
by client ref), waits for the broker's acknowledgement, and only then records the digest as
published. A crash in between publishes the same bytes again on restart (at-least-once, and
harmless: the topic is compacted by client ref and the artifact id is a content digest).
"""

from __future__ import annotations

from collections.abc import Sequence

from consumers.client360.store import Client360Store, PendingSnapshot
from consumers.outbox import send_all
from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.kafka.producer import ArtifactProducer

PUBLISH_CHUNK = 1000


class SnapshotPublisher:
    def __init__(self, store: Client360Store, producer: ArtifactProducer) -> None:
        self.store = store
        self.producer = producer

    def publish_pending(self) -> int:
        """Publish every due snapshot (a full scan: at start, after a crash)."""
        total = 0
        while True:
            due = self.store.pending(PUBLISH_CHUNK)
            total += self._publish(due)
            if len(due) < PUBLISH_CHUNK:
                return total

    def publish_changed(self, refs: Sequence[str]) -> int:
        """Publish the due snapshots among ``refs`` (what one batch changed)."""
        return self._publish(self.store.pending(refs=refs)) if refs else 0

    def _publish(self, due: Sequence[PendingSnapshot]) -> int:
        if not due:
            return 0
        # DeliveryError propagates: the snapshots stay due and are retried on restart.
        send_all(
            self.producer.publish(Client360Snapshot.model_validate_json(item.body)) for item in due
        )
        self.store.mark_published(due)
        return len(due)
