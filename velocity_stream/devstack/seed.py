"""The demo data set and how it is published: through the validating producer, like any
service would, so every record takes the gateway's path (accepted, pending review, auto
approved, or dead-lettered with a reason).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.devstack.demo_clients import CLIENTS, ClientsDemo, writeback_ref
from velocity_stream.devstack.demo_intake import LEADS, IntakeDemo
from velocity_stream.kafka.producer import ArtifactProducer, BatchProgress

DEMO_BATCH = "batch:demo-hubspot-01"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """Bytes that are not an artifact at all, sent to a family's ingress topic."""

    family: str
    key: bytes
    value: bytes


@dataclass(frozen=True)
class DemoData:
    artifacts: tuple[Artifact, ...]
    # Valid contracts the gateway refuses on its own rules (ownership, row count).
    refused: tuple[Artifact, ...]
    garbage: tuple[RawRecord, ...]
    # (family, proposal id) of every proposal that waits for a reviewer.
    pending: tuple[tuple[str, str], ...]
    clients: tuple[str, ...]

    @property
    def dead_letters(self) -> int:
        return len(self.refused) + len(self.garbage)

    @property
    def total(self) -> int:
        return len(self.artifacts) + self.dead_letters


def demo_data(now: datetime) -> DemoData:
    """The whole demo, timed relative to ``now`` (the import ran two days ago)."""
    intake = IntakeDemo(now - timedelta(days=2), DEMO_BATCH)
    clients = ClientsDemo(now)
    artifacts: list[Artifact] = [clients.graph(client) for client in CLIENTS]
    artifacts += intake.artifacts()
    for client in CLIENTS:
        artifacts += clients.interactions(client)
        artifacts += clients.signals(client)
    writebacks = [clients.writeback(client) for client in CLIENTS]
    artifacts += [w for w in writebacks if w is not None]
    stray = {"bundle_id": "bundle:stray", "note": "a JSON export sent to the Avro topic"}
    pending = [
        ("NormalizedEntityProposal", f"proposal:entity:{lead.slug}")
        for lead in LEADS
        if lead.review_required or lead.merge_candidates
    ]
    pending += [("OracleWritebackProposal", writeback_ref(c)) for c in CLIENTS if c.proposal]
    return DemoData(
        artifacts=tuple(artifacts),
        refused=(clients.misattributed_signal(), intake.trailing_row()),
        garbage=(
            RawRecord(
                "InteractionBundle",
                CLIENTS[0].ref.encode(),
                json.dumps(stray).encode("utf-8"),
            ),
        ),
        pending=tuple(pending),
        clients=tuple(client.ref for client in CLIENTS),
    )


def publish_demo(
    producer: ArtifactProducer,
    catalog: Catalog,
    topic_prefix: str,
    data: DemoData,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Publish everything (artifacts, then what the gateway will refuse); returns the count.

    Raises if any artifact breaks its contract or the broker does not take it: demo data that
    cannot be published is a bug, not something to skip.
    """

    def report(snapshot: BatchProgress) -> None:
        if progress is not None:
            progress(snapshot.done, data.total)

    result = producer.publish_many(
        [*data.artifacts, *data.refused], progress=report, progress_every=5, total=data.total
    )
    if not result.ok:
        problems = [str(error) for _, error in (*result.rejected, *result.failed)]
        raise RuntimeError("the demo data did not publish: " + "; ".join(problems[:3]))
    for raw in data.garbage:
        topic = catalog.family(raw.family).ingress_topic(topic_prefix)
        producer.publish_raw(topic, raw.key, raw.value).result(30)
    if progress is not None:
        progress(data.total, data.total)
    return data.total
