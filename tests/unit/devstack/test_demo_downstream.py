"""The demo survives the persistence layer and shows what it should on the client pages: routed
by the real pipeline (in memory), then applied by the committer and the Client360 read model
(SQLite in memory), before and after a reviewer approves every pending proposal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consumers.client360.projector import project
from consumers.client360.store import Client360Store
from consumers.committer.changes import from_commit, from_delta
from consumers.committer.store import GraphStore, Incoming, Verdict
from consumers.reading import ArtifactReader
from consumers.storage import open_engine
from tests import signing
from velocity_stream.contracts import example
from velocity_stream.contracts.approval import ApprovalDecision, proposal_digest
from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.contracts.graph_delta import ClientGraphDelta
from velocity_stream.devstack.seed import DemoData, demo_data
from velocity_stream.gateway import MemoryRunner, OutboundMessage, Pipeline
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import DEFAULT_SCHEMAS_DIR

PREFIX = "demo"
NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)
REVIEWER = "human:demo-reviewer"


class Downstream:
    """The gateway in memory, and both consumers over SQLite, fed what the gateway wrote."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.serde = AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)
        pipeline = Pipeline(
            catalog,
            self.serde,
            PREFIX,
            gateway_version="t",
            clock=lambda: 0,
            verify_keys=signing.KEYRING,
            rule_signer=signing.RULE_KEY,
        )
        self.runner = MemoryRunner(pipeline)
        self.reader = ArtifactReader(catalog, self.serde, PREFIX)
        self.graph = GraphStore(open_engine("sqlite://"), "demo_")
        self.graph.create()
        self.client360 = Client360Store(open_engine("sqlite://"), "demo_")
        self.client360.create()
        self.refused: list[str] = []
        self._seen: dict[str, int] = {}

    def send(self, artifact) -> None:
        family = self.catalog.family(artifact.FAMILY)
        key = str(getattr(artifact, family.key_field)).encode()
        topic = family.ingress_topic(PREFIX, int(artifact.SCHEMA_VERSION.split(".")[0]))
        value = self.serde.encode(artifact)
        headers: tuple[tuple[str, bytes], ...] = ()
        if isinstance(artifact, ApprovalDecision):  # signed as the review app signs it
            headers = signing.with_signature(headers, topic, key, value, artifact.source_system)
        self.runner.send(topic, key, value, headers, 1_000)

    def drain(self) -> None:
        """Apply what the gateway wrote since the last drain: deltas, then commits; the
        read model projects the records the committer applied."""
        deltas = self.catalog.family("ClientGraphDelta").accepted_topic(PREFIX)
        commits = self.catalog.commits_topic(PREFIX)
        accepted = {
            family.accepted_topic(PREFIX): family
            for family in self.catalog
            if family.name in ("InteractionBundle", "QdSignalBundle", "ClientGraphDelta")
        }
        incoming, projections = [], []
        for topic in [*sorted(accepted, key=lambda t: t != deltas), commits]:
            for offset, message in self._new(topic):
                raw = InboundMessage(topic, 0, offset, message.key, message.value)
                if topic == commits:
                    record, proposal = self.reader.read_commit(message.key, message.value)
                    change_set = from_commit(record, proposal)
                    projection = None  # the read model sees only what the committer applied
                else:
                    artifact = self.reader.read(message.value, accepted[topic], 1)
                    change_set = (
                        from_delta(artifact) if isinstance(artifact, ClientGraphDelta) else None
                    )
                    projection = project(artifact)
                if change_set is not None:
                    incoming.append(Incoming(raw, change_set))
                if projection is not None:
                    projections.append(projection)
        results = self.graph.apply(incoming, {})
        projections += [project(r.applied) for r in results if r.applied is not None]
        self.refused += [
            f"{r.change_id}: {r.refusal}" for r in results if r.verdict is Verdict.REFUSED
        ]
        self.client360.apply(projections, {})
        # Rebuild the snapshots the batch made dirty, as the runner does after each batch
        # (a store that rebuilds inside apply has no refresh step).
        refresh = getattr(self.client360, "refresh_all", None)
        if refresh is not None:
            refresh()

    def _new(self, topic: str) -> list[tuple[int, OutboundMessage]]:
        outputs = self.runner.topic(topic)
        start = self._seen.get(topic, 0)
        self._seen[topic] = len(outputs)
        return list(enumerate(outputs))[start:]


def approval(family: str, proposal_id: str, digest: str) -> ApprovalDecision:
    base = example("ApprovalDecision").model_dump()
    base.update(
        artifact_id=f"art:decision:{proposal_id}",
        decision_id=f"decision:{proposal_id}",
        proposal_ref=proposal_id,
        proposal_family=family,
        reviewer_ref=REVIEWER,
        created_by=REVIEWER,
        decided_at=NOW,
        created_at=NOW,
        proposal_digest=digest,
    )
    return ApprovalDecision.model_validate(base)


@pytest.fixture(scope="module")
def data() -> DemoData:
    return demo_data(NOW)


@pytest.fixture
def downstream(data: DemoData) -> Downstream:
    made = Downstream(load_catalog(DEFAULT_SCHEMAS_DIR))
    for artifact in data.artifacts:
        made.send(artifact)
    made.drain()
    return made


def test_the_committer_applies_everything_the_gateway_accepted(downstream: Downstream):
    assert downstream.refused == []
    assert downstream.graph.node("opportunity:acme-3bhk") is not None
    assert downstream.graph.node("person:arjun-sen") is not None  # enriched by the auto rule


def test_every_client_has_a_snapshot_before_any_review(downstream: Downstream, data: DemoData):
    for client_ref in data.clients:
        assert downstream.client360.snapshot(client_ref) is not None
    acme = downstream.client360.snapshot("client:acme-holdings")
    assert acme is not None
    assert acme.identity.display_name == "Acme Holdings (P. Raman)"
    assert [o.stage for o in acme.active_opportunities] == ["QUALIFYING"]
    bose = downstream.client360.snapshot("client:bose-logistics")
    assert bose is not None and [f.code for f in bose.risk_flags] == ["qd.churn_risk"]


def test_approving_every_pending_proposal_commits_cleanly_and_shows(
    downstream: Downstream, data: DemoData
):
    proposals = {(a.FAMILY, str(getattr(a, "proposal_id", ""))): a for a in data.artifacts}
    for family, proposal_id in data.pending:
        shown = proposal_digest(downstream.serde.encode(proposals[(family, proposal_id)]))
        downstream.send(approval(family, proposal_id, shown))
    downstream.drain()
    assert downstream.refused == []
    acme = downstream.client360.snapshot("client:acme-holdings")
    assert acme is not None
    assert [o.stage for o in acme.active_opportunities] == ["SITE_VISITS"]
    # Priya's proposal merged the old duplicate record into her
    assert acme.identity.display_name == "Acme Holdings (Priya Raman)"
    assert "duplicate_contact_merged" in {f.code for f in acme.risk_flags}
    sen = downstream.client360.snapshot("client:sen-family-office")
    assert sen is not None and sen.active_opportunities[0].amount == 39_500_000
    bose = downstream.client360.snapshot("client:bose-logistics")
    assert bose is not None and [o.stage for o in bose.active_opportunities] == ["ON_HOLD"]
