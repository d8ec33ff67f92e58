"""Fixtures for the review app without Kafka: the real catalog, in-memory folds filled with the
example artifacts, a publisher that records, and the app under FastAPI's test client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from velocity_stream.contracts import example
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.review.app import ReviewServices, create_app
from velocity_stream.review.auth import ReviewerDirectory
from velocity_stream.review.clients import SnapshotFold
from velocity_stream.review.deadletters import DeadLetterLog
from velocity_stream.review.decisions import DecisionDesk
from velocity_stream.review.proposals import proposal_view
from velocity_stream.review.queue import ApprovalQueue, ProposalState
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

TOKENS = {
    "tok-sayan": "human:sayan",
    "tok-sourik": "human:sourik",
    # a known person the catalog does not list as a reviewer
    "tok-intern": "human:intern",
}
NOW = datetime(2026, 4, 18, 12, 0, tzinfo=UTC)
# Encodes the proposals as the approvals topic would carry them (for their digests).
SERDE = AvroSerde(load_catalog(DEFAULT_SCHEMAS_DIR), InMemorySchemaResolver(), "t")


@dataclass
class RecordingPublisher:
    """Keeps what the app publishes; ``fail`` makes the next publish raise it."""

    published: list[Artifact] = field(default_factory=list)
    fail: Exception | None = None

    def publish(self, decision: Artifact) -> None:
        if self.fail is not None:
            raise self.fail
        self.published.append(decision)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(DEFAULT_SCHEMAS_DIR)


@pytest.fixture
def queue() -> ApprovalQueue:
    filled = ApprovalQueue()
    for family in ("OracleWritebackProposal", "NormalizedEntityProposal"):
        artifact = example(family)
        proposal_id = str(artifact.proposal_id)
        filled.add_proposal(
            proposal_view(family, proposal_id, artifact),
            ProposalState.PENDING,
            value_digest=proposal_digest(SERDE.encode(artifact)),
        )
    return filled


@pytest.fixture
def dead_letters() -> DeadLetterLog:
    return DeadLetterLog()


@pytest.fixture
def snapshots() -> SnapshotFold:
    fold = SnapshotFold()
    snapshot = example("Client360Snapshot")
    assert isinstance(snapshot, Client360Snapshot)
    fold.add(snapshot)
    return fold


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def services(
    catalog: Catalog,
    queue: ApprovalQueue,
    dead_letters: DeadLetterLog,
    snapshots: SnapshotFold,
    publisher: RecordingPublisher,
) -> ReviewServices:
    directory = ReviewerDirectory(TOKENS, catalog.gateway.reviewers, form_key=b"k" * 32)
    desk = DecisionDesk(catalog, queue, dead_letters, publisher, clock=lambda: NOW)
    return ReviewServices(catalog, directory, queue, dead_letters, snapshots, desk)


@pytest.fixture
def client(services: ReviewServices) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as made:
        yield made


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
