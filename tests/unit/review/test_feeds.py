"""The views read exactly what the gateway writes: records produced by the real pipeline (in
memory) fold into the queue, the decisions and the dead-letter log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests import signing
from velocity_stream.contracts import example
from velocity_stream.contracts.approval import ApprovalDecision, DecisionOutcome, proposal_digest
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.gateway import MemoryRunner, OutboundMessage, Pipeline, partition_for
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.review.clients import SnapshotFeed, SnapshotFold
from velocity_stream.review.deadletters import DeadLetterFeed, DeadLetterLog, dead_letter_entry
from velocity_stream.review.queue import ApprovalFeed, ApprovalQueue, ProposalState
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver

PREFIX = "t"
T_MS = 1_776_500_000_000


class Gateway:
    """The pipeline over in-memory topics, plus the review app's feeds over its outputs."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.serde = AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)
        pipeline = Pipeline(
            catalog,
            self.serde,
            PREFIX,
            gateway_version="test",
            clock=lambda: 0,
            verify_keys=signing.KEYRING,
            rule_signer=signing.RULE_KEY,
        )
        self.runner = MemoryRunner(pipeline)
        self.queue = ApprovalQueue()
        self.dead_letters = DeadLetterLog()
        self.approvals = ApprovalFeed(catalog, self.serde, PREFIX, self.queue)
        self.dlq = DeadLetterFeed(catalog, self.serde, PREFIX, self.dead_letters)
        self._seen: dict[str, int] = {}

    def send(self, artifact: Artifact) -> None:
        family = self.catalog.family(artifact.FAMILY)
        key = str(getattr(artifact, family.key_field)).encode()
        topic, value = family.ingress_topic(PREFIX), self.serde.encode(artifact)
        headers = signing.with_signature((), topic, key, value, artifact.source_system)
        self.runner.send(topic, key, value, headers, T_MS)
        self.sync()

    def sync(self) -> None:
        """Hand every output not yet seen to the feed that follows its topic."""
        for topic, outputs in self.runner.produced.items():
            start = self._seen.get(topic, 0)
            for offset, output in enumerate(outputs[start:], start):
                record = tail_record(output, offset)
                if topic in self.approvals.topics:
                    self.approvals.handle(record)
                elif topic in self.dlq.topics:
                    self.dlq.handle(record)
            self._seen[topic] = len(outputs)


def tail_record(output: OutboundMessage, offset: int) -> InboundMessage:
    return InboundMessage(
        output.topic, 0, offset, output.key, output.value, tuple(output.headers), T_MS
    )


def decision(
    proposal: Artifact, reviewer: str, outcome=DecisionOutcome.APPROVED, *, serde: AvroSerde
) -> ApprovalDecision:
    base = example("ApprovalDecision")
    assert isinstance(base, ApprovalDecision)
    proposal_id = str(proposal.proposal_id)
    return ApprovalDecision.model_validate(
        {
            **base.model_dump(),
            "artifact_id": f"art:{reviewer}:{proposal_id}",
            "decision_id": f"decision:{reviewer}:{proposal_id}",
            "proposal_ref": proposal_id,
            "proposal_family": proposal.FAMILY,
            "reviewer_ref": reviewer,
            "created_by": reviewer,
            "decision": outcome,
            "decision_notes": "checked",
            "proposal_digest": proposal_digest(serde.encode(proposal)),
        }
    )


@pytest.fixture
def gw(catalog: Catalog) -> Gateway:
    return Gateway(catalog)


def test_a_routed_proposal_is_pending_with_its_view(gw: Gateway):
    proposal = example("OracleWritebackProposal")
    gw.send(proposal)
    [entry] = gw.queue.pending()
    assert entry.key == ("OracleWritebackProposal", "proposal:writeback:acme-stage")
    # the digest of the bytes the approvals topic carries: what a decision says it reviewed
    assert entry.value_digest == proposal_digest(gw.serde.encode(proposal))
    assert entry.state is ProposalState.PENDING
    assert entry.view.reasoning == proposal.reasoning_summary


def test_an_applied_decision_takes_the_proposal_off_the_queue(gw: Gateway):
    proposal = example("OracleWritebackProposal")
    gw.send(proposal)
    gw.send(decision(proposal, "human:sayan", serde=gw.serde))
    assert gw.queue.pending() == []
    [entry] = gw.queue.recently_decided()
    assert entry.decision is not None
    assert entry.decision.decision_id == "decision:human:sayan:proposal:writeback:acme-stage"
    assert entry.decision.reviewer == "human:sayan" and entry.decision.approved
    assert isinstance(entry.decision.decided_at, datetime)


def test_a_decision_read_before_its_proposal_still_joins(gw: Gateway, catalog: Catalog):
    proposal = example("OracleWritebackProposal")
    gw.send(proposal)
    gw.send(decision(proposal, "human:sayan", serde=gw.serde))
    # a fresh view that reads the accepted decision first, then the approvals topic
    queue = ApprovalQueue()
    feed = ApprovalFeed(catalog, gw.serde, PREFIX, queue)
    decided = gw.runner.topic(catalog.family("ApprovalDecision").accepted_topic(PREFIX))
    approvals = gw.runner.topic(catalog.approvals_topic(PREFIX))
    for offset, output in enumerate(decided):
        feed.handle(tail_record(output, offset))
    for offset, output in enumerate(approvals):
        feed.handle(tail_record(output, offset))
    assert queue.pending() == []
    assert queue.counts() == {"proposals": 1, "pending": 0, "decided": 1}


def test_an_auto_approved_proposal_never_waits_for_a_reviewer(gw: Gateway):
    proposal = example("NormalizedEntityProposal").model_copy(
        update={"review_required": False, "confidence": 0.95, "merge_candidate_refs": ()}
    )
    gw.send(proposal)
    assert gw.queue.pending() == []
    [entry] = gw.queue.recently_decided()
    assert entry.state is ProposalState.AUTO_APPROVED
    assert entry.rule == "low-risk-entity"
    assert entry.decision is not None and entry.decision.reviewer == "rule:low-risk-entity"


def test_a_decision_the_gateway_refuses_is_found_by_its_decision_id(gw: Gateway):
    proposal = example("OracleWritebackProposal")
    gw.send(proposal)
    refused = decision(proposal, "human:intern", serde=gw.serde)
    gw.send(refused)
    entry = gw.dead_letters.refusal_of(refused.decision_id)
    assert entry is not None
    assert entry.reason == "auth.not_reviewer"
    assert entry.stage == "auth"
    assert "human:intern" in entry.message
    assert entry.source_topic == "t.approval-decision.v1"
    assert [e.key for e in gw.queue.pending()] == [
        ("OracleWritebackProposal", "proposal:writeback:acme-stage")
    ]


def test_a_dead_letter_is_read_from_the_gateways_headers(gw: Gateway):
    gw.runner.send("t.qd-signal-bundle.v1", b"client:acme", b"\x07not avro", (), T_MS)
    gw.sync()
    [entry] = gw.dead_letters.recent()
    assert entry.reason == "decode.bad_magic_byte"
    assert entry.stage == "decode"
    partition = partition_for(b"client:acme", 6)
    assert entry.source == f"t.qd-signal-bundle.v1[{partition}]@0"
    assert entry.key == "client:acme"
    assert entry.value_bytes == 9
    assert entry.refused_at == datetime.fromtimestamp(T_MS / 1000, tz=UTC)
    assert entry.decision_id is None


def test_a_record_without_gateway_headers_still_reads():
    record = InboundMessage("t.gateway.dead-letter.v1", 2, 7, None, None)
    entry = dead_letter_entry(record)
    assert (entry.reason, entry.stage, entry.refused_at) == ("unknown", "unknown", None)
    assert (entry.dlq_partition, entry.dlq_offset) == (2, 7)


def test_the_log_keeps_the_newest_entries_and_counts_them_all():
    log = DeadLetterLog(capacity=2)
    for offset in range(3):
        record = InboundMessage("dlq", 0, offset, None, b"", (("velocity.dlq.reason", b"r"),))
        log.add(dead_letter_entry(record))
    assert [e.dlq_offset for e in log.recent()] == [2, 1]
    assert log.total == 3 and log.counts() == [("r", 3)]


def test_snapshots_fold_to_the_latest_per_client(catalog: Catalog):
    serde = AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)
    fold = SnapshotFold()
    feed = SnapshotFeed(catalog, serde, PREFIX, fold)
    newer = example("Client360Snapshot")
    older = newer.model_copy(
        update={"as_of": datetime(2026, 1, 1, tzinfo=UTC), "artifact_id": "art:old"}
    )
    topic = catalog.family("Client360Snapshot").accepted_topic(PREFIX)
    for offset, snapshot in enumerate([newer, older]):
        feed.handle(InboundMessage(topic, 0, offset, None, serde.encode(snapshot)))
    latest = fold.snapshot("client:acme-holdings")
    assert latest is not None and latest.artifact_id == newer.artifact_id
    [summary] = fold.list_clients()
    assert summary.open_opportunities == 1
