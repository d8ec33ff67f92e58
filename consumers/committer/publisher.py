"""Publishing applied records: the store's ``graph_outbox`` is the outbox.

After each batch's transaction commits, and once at start (what a crash left), the publisher
sends every record in the outbox through the validating producer (to the AppliedGraphChange
topic, an internal family's, keyed by change id, with the trace id of the input that caused
it), in applied order, waits for the broker's acknowledgement, and only then deletes the
records from the outbox. A failure stops the worker; the records stay and go out on restart
(at-least-once, same artifact ids).
"""

from __future__ import annotations

from consumers.committer.store import GraphStore
from consumers.outbox import send_all
from velocity_stream.kafka.producer import ArtifactProducer

PUBLISH_CHUNK = 1000


class AppliedPublisher:
    def __init__(self, store: GraphStore, producer: ArtifactProducer) -> None:
        self.store = store
        self.producer = producer
        self.published = 0  # records acknowledged since this publisher was made

    def publish_pending(self) -> int:
        """Publish the whole outbox; returns how many records went out."""
        total = 0
        while True:
            due = self.store.unpublished(PUBLISH_CHUNK)
            if not due:
                return total
            send_all(self.producer.publish(d.record, trace_id=d.trace_id) for d in due)
            self.store.mark_published([d.change_id for d in due])
            total += len(due)
            self.published += len(due)
