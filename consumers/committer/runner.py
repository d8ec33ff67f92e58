"""The committer's Kafka loop: commit records and accepted graph deltas in, graph rows out,
refusals to the dead-letter topic, a record of every applied change to the AppliedGraphChange
topic (consumers/applied.py; the read model builds its graph from those).

Commit records are an internal family: nothing checked them before they got here, so the
reader checks them against their contract (consumers/reading.py). The accepted delta topic
carries only requested changes (from importers, the CRM sync): the committer never reads its
own applied records back.

A refusal is dead-lettered like the gateway does it: original key, bytes and headers, plus
the ``velocity.dlq.*`` reason headers (protocol/headers.py), so the review app's dead-letter
page and any replay tool treat both alike. Offsets live only in the database (see store.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from consumers.applied import COMMITTER
from consumers.committer.changes import from_commit, from_delta
from consumers.committer.graph import Refusal
from consumers.committer.publisher import AppliedPublisher
from consumers.committer.store import GraphStore, Incoming, Result, Verdict
from consumers.loop import LoopOptions, WorkerLoop
from consumers.outbox import send_all
from consumers.partitions import next_offsets
from consumers.reading import ArtifactReader, UnreadableRecord
from velocity_stream.contracts.catalog import Catalog, Family
from velocity_stream.contracts.graph_delta import ClientGraphDelta
from velocity_stream.errors import ReasonCode
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.kafka.stage_topics import TopicStage, family_topics
from velocity_stream.observability import message_context
from velocity_stream.protocol import headers as envelope
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.records import Headers
from velocity_stream.protocol.records import InboundMessage as RawMessage
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "COMMITTER",
    "CommitterOptions",
    "CommitterRunner",
    "CommitterStats",
    "dead_letter_headers",
]


@dataclass(frozen=True, slots=True)
class CommitterOptions(LoopOptions):
    batch_size: int = 500


@dataclass
class CommitterStats:
    batches: int = 0
    records: int = 0
    applied: int = 0
    refused: int = 0
    duplicates: int = 0
    published: int = 0  # applied records published

    def add(self, results: Sequence[Result]) -> None:
        self.batches += 1
        self.records += len(results)
        for result in results:
            if result.verdict is Verdict.APPLIED:
                self.applied += 1
            elif result.verdict is Verdict.REFUSED:
                self.refused += 1
            else:
                self.duplicates += 1


def dead_letter_headers(message: RawMessage, refusal: Refusal) -> Headers:
    """The input's headers plus the reason headers; times come from the input (same bytes
    on every redelivery)."""
    text = refusal.message.encode("utf-8", "replace")
    if len(text) > h.MAX_MESSAGE_BYTES:
        text = text[: h.MAX_MESSAGE_BYTES - 3] + b"..."
    added: list[tuple[str, bytes]] = [
        (h.DLQ_REASON, refusal.code.value.encode("ascii")),
        (h.DLQ_STAGE, refusal.code.stage.encode("ascii")),
        (h.DLQ_MESSAGE, text),
    ]
    if refusal.field:
        added.append((h.DLQ_FIELD, refusal.field.encode("utf-8", "replace")))
    added += [
        (h.DLQ_SOURCE_TOPIC, message.topic.encode("utf-8")),
        (h.DLQ_SOURCE_PARTITION, b"%d" % message.partition),
        (h.DLQ_SOURCE_OFFSET, b"%d" % message.offset),
        (h.DLQ_TIME, b"%d" % message.timestamp_ms),
        (envelope.PRODUCER, COMMITTER.encode("ascii")),
    ]
    return tuple(message.headers) + tuple(added)


class CommitterRunner:
    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        serde: AvroSerde,
        store: GraphStore,
        producer: ArtifactProducer,
        options: CommitterOptions | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.producer = producer
        self.options = options or CommitterOptions()
        self.reader = ArtifactReader(catalog, serde, settings.topic_prefix)
        self.delta_topics: dict[str, tuple[Family, int]] = family_topics(
            catalog, settings.topic_prefix, [ClientGraphDelta.FAMILY], TopicStage.ACCEPTED
        )
        self.commits_topic = catalog.commits_topic(settings.topic_prefix)
        self.dead_letter_topic = catalog.dead_letter_topic(settings.topic_prefix)
        self.loop = WorkerLoop(settings, COMMITTER, self.options)
        self.publisher = AppliedPublisher(store, producer)

    def topics(self) -> list[str]:
        return sorted([*self.delta_topics, self.commits_topic])

    def run(
        self, *, stop: threading.Event | None = None, max_idle_s: float | None = None
    ) -> CommitterStats:
        stats = CommitterStats()
        published_before = self.publisher.published
        self.publisher.publish_pending()  # whatever a crash left in the outbox

        def handle(batch: Sequence[RawMessage]) -> None:
            stats.add(self.handle(batch))

        self.loop.run(self.topics(), self.store.offsets(), handle, stop, max_idle_s)
        stats.published = self.publisher.published - published_before
        return stats

    def handle(self, batch: Sequence[RawMessage]) -> list[Result]:
        """Apply one batch (one transaction), then publish what it applied; one result per
        record, in order."""
        incoming, _ = self.loop.read_each(batch, self._incoming)  # refusals are its own
        results = self.store.apply(incoming, next_offsets(batch), self._dead_letter)
        self.loop.counted(
            sum(r.verdict is Verdict.APPLIED for r in results),
            sum(r.verdict is Verdict.DUPLICATE for r in results),
            (r.refusal.code for r in results if r.refusal is not None),
        )
        self.publisher.publish_pending()
        return results

    def _incoming(self, message: RawMessage) -> Incoming:
        try:
            if message.topic == self.commits_topic:
                record, proposal = self.reader.read_commit(message.key, message.value)
                change_set = from_commit(record, proposal)
                if change_set is None:
                    return Incoming(
                        message,
                        None,
                        Refusal(
                            ReasonCode.PERSISTENCE_UNSUPPORTED_CHANGE,
                            f"{record.proposal_family} proposals do not change the client graph",
                            "proposal_family",
                        ),
                    )
                return Incoming(message, change_set)
            family, major = self.delta_topics[message.topic]
            delta = self.reader.read(message.value, family, major)
            assert isinstance(delta, ClientGraphDelta)
            return Incoming(message, from_delta(delta))
        except UnreadableRecord as error:
            # Keep the reader's code: decode.registry_unavailable, say, tells the operator
            # that a replay will succeed once the registry is back.
            return Incoming(message, None, Refusal(error.code, str(error), error.field))

    def _dead_letter(self, refused: Sequence[Result]) -> None:
        for result in refused:
            assert result.refusal is not None
            with message_context(result.message.headers):
                log.info("refused %s: %s", result.change_id, result.refusal.message)
        # A failure rolls the batch back.
        send_all(
            self.producer.publish_raw(
                self.dead_letter_topic,
                result.message.key,
                result.message.value,
                dead_letter_headers(result.message, result.refusal),
            )
            for result in refused
            if result.refusal is not None
        )
