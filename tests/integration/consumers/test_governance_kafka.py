"""The governance consumer on the real broker and both databases.

The demo data goes through the real gateway pipeline (in memory, signed decisions): a
reviewer approves every pending proposal but one, which they reject, and approves a writeback
of an entity that does not exist. The gateway's outputs go to the broker as it would write
them; the real committer reads the commit records, applies or refuses them (applied records,
dead letters); then the governance consumer reads the approvals, accepted-decision, applied
and dead-letter topics into its tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from consumers.committer.runner import CommitterRunner
from consumers.governance.queries import audit_trail, proposal_history
from consumers.sink.runner import SinkStats
from tests import signing
from tests.integration.consumers.conftest import SinkUnderTest, kill_then_restart
from tests.unit.consumers import events as ev
from tests.unit.devstack.test_demo_downstream import approval
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.contracts.catalog import Catalog
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.devstack.seed import DemoData, demo_data
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import MemoryRunner, Pipeline
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.protocol import headers as h
from velocity_stream.serde import AvroSerde
from velocity_stream.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)
IDLE_S = 1.5
PROPOSALS = ("NormalizedEntityProposal", "OracleWritebackProposal")
GHOST = ev.writeback("ghost", "opportunity:ghost", stage=("A", "B"))


class Flow:
    """The gateway in memory, its outputs sent to the broker as it would write them."""

    def __init__(self, settings: Settings, catalog: Catalog, serde: AvroSerde) -> None:
        self.prefix = settings.topic_prefix
        self.catalog = catalog
        self.serde = serde
        pipeline = Pipeline(
            catalog,
            serde,
            self.prefix,
            gateway_version="t",
            clock=lambda: 0,
            verify_keys=signing.KEYRING,
            rule_signer=signing.RULE_KEY,
        )
        self.runner = MemoryRunner(pipeline)
        self.sent: dict[str, int] = {}

    def send(self, artifact: Artifact, timestamp_ms: int = 1_000) -> None:
        family = self.catalog.family(artifact.FAMILY)
        key = str(getattr(artifact, family.key_field)).encode()
        topic = family.ingress_topic(self.prefix)
        value = self.serde.encode(artifact)
        headers: tuple[tuple[str, bytes], ...] = ()
        if artifact.FAMILY == "ApprovalDecision":
            headers = signing.with_signature(headers, topic, key, value, artifact.source_system)
        self.runner.send(topic, key, value, headers, timestamp_ms)

    def decide(self, proposal: Artifact, outcome: str = "APPROVED") -> None:
        pid = str(getattr(proposal, "proposal_id"))  # noqa: B009
        made = approval(proposal.FAMILY, pid, proposal_digest(self.serde.encode(proposal)))
        if outcome != "APPROVED":
            changed = {**made.model_dump(), "decision": outcome, "decision_notes": "not now"}
            made = type(made).model_validate(changed)
        self.send(made, 2_000)

    def publish(self, producer: ArtifactProducer, only: str | None = None) -> int:
        """Write every output the gateway made since the last call (not its ingress feedback),
        or only those of topic ``only``."""
        ingress = set(self.runner.pipeline.ingress_topics())
        futures = []
        for topic, outputs in sorted(self.runner.produced.items()):
            if topic in ingress or only not in (None, topic):
                continue
            start = self.sent.get(topic, 0)
            for out in outputs[start:]:
                futures.append(producer.publish_raw(topic, out.key, out.value, out.headers))
            self.sent[topic] = len(outputs)
        for future in futures:
            future.result(30)
        return len(futures)


@pytest.fixture(scope="module")
def data() -> DemoData:
    return demo_data(NOW)


def _demo_flow(settings: Settings, catalog: Catalog, serde: AvroSerde, data: DemoData) -> Flow:
    flow = Flow(settings, catalog, serde)
    for artifact in (*data.artifacts, *data.refused):
        flow.send(artifact)
    flow.send(GHOST)
    proposals = {(a.FAMILY, str(getattr(a, "proposal_id", ""))): a for a in data.artifacts}
    pending = list(data.pending)
    for index, (family, pid) in enumerate(pending):
        flow.decide(proposals[(family, pid)], "REJECTED" if index == 0 else "APPROVED")
    flow.decide(GHOST)
    return flow


@pytest.fixture
def governance_store(sink_store: Callable[..., SinkUnderTest]) -> Callable[[], SinkUnderTest]:
    return lambda: sink_store("governance")


def _consume(
    settings: Settings,
    catalog: Catalog,
    serde: AvroSerde,
    made: SinkUnderTest,
    batch_size: int = 200,
) -> SinkStats:
    return made.run(settings, catalog, serde, batch_size=batch_size)


@pytest.fixture
def demo(provisioned, catalog, serde, producer, graph_store, data) -> Flow:
    flow = _demo_flow(provisioned, catalog, serde, data)
    committer = CommitterRunner(provisioned, catalog, serde, graph_store, producer)
    # The CRM's graph first (the committer reads deltas and commits in any order).
    deltas = catalog.family("ClientGraphDelta").accepted_topic(provisioned.topic_prefix)
    assert flow.publish(producer, only=deltas) > 0
    assert committer.run(max_idle_s=IDLE_S).refused == 0
    assert flow.publish(producer) > 0
    stats = committer.run(max_idle_s=IDLE_S)
    assert stats.refused == 1 and stats.applied > 0, stats
    return flow


def test_the_demo_lands_with_every_state_decision_and_commit(
    provisioned, catalog, serde, demo, data, governance_store
):
    store_sink = governance_store()
    store = store_sink.store
    stats = _consume(provisioned, catalog, serde, store_sink)
    assert stats.rejected == 0, stats
    expected = {
        str(getattr(a, "proposal_id"))  # noqa: B009
        for a in (*data.artifacts, GHOST)
        if a.FAMILY in PROPOSALS
    }
    tables = store.tables
    with store.engine.connect() as conn:
        histories = {pid: proposal_history(conn, tables, pid) for pid in expected}
        trail = audit_trail(conn, tables)
    states = {pid: history.state for pid, history in histories.items()}
    rejected_pid = data.pending[0][1]
    assert states.pop(rejected_pid) == "REJECTED"
    assert states.pop(GHOST.proposal_id) == "REFUSED"  # type: ignore[attr-defined]
    assert set(states.values()) == {"COMMITTED"}, states  # reviewed or auto-approved
    ghost = histories[GHOST.proposal_id]  # type: ignore[attr-defined]
    assert [(c.outcome, c.reason) for c in ghost.commits] == [
        ("REFUSED", ReasonCode.PERSISTENCE_ENTITY_NOT_FOUND.value)
    ]
    auto = [d for d in trail if d.rule is not None]
    assert auto and all(d.reviewer == f"rule:{d.rule}" for d in auto)
    people = {d.proposal_id for d in trail if d.reviewer == "human:demo-reviewer"}
    assert people == {pid for _, pid in data.pending} | {GHOST.proposal_id}  # type: ignore[attr-defined]
    for pid in expected - {rejected_pid, GHOST.proposal_id}:  # type: ignore[attr-defined]
        assert [s.state for s in histories[pid].states][-1] == "COMMITTED"
    # the gateway's own dead letters (the demo's refused and garbage records) are not ours
    assert store.dump()["rejects"] == []


def test_redelivery_changes_nothing_and_a_rebuild_equals_the_incremental_run(
    provisioned, catalog, serde, demo, governance_store
):
    incremental_sink = governance_store()
    incremental = incremental_sink.store
    _consume(provisioned, catalog, serde, incremental_sink, batch_size=7)
    once = incremental.dump()
    # Redelivery: forget the offsets, read everything again into the same tables.
    with incremental.engine.begin() as conn:
        conn.execute(incremental.tables.offsets.delete())
    _consume(provisioned, catalog, serde, incremental_sink, batch_size=50)
    assert incremental.dump() == once
    rebuilt_sink = governance_store()
    rebuilt = rebuilt_sink.store
    _consume(provisioned, catalog, serde, rebuilt_sink, batch_size=1000)
    assert rebuilt.dump() == once


def test_hostile_records_become_rejects_and_never_stop_the_worker(
    provisioned, catalog, serde, demo, producer, governance_store, data
):
    prefix = provisioned.topic_prefix
    approvals = catalog.approvals_topic(prefix)
    decisions = catalog.family("ApprovalDecision").accepted_topic(prefix)
    applied = catalog.family("AppliedGraphChange").ingress_topic(prefix)
    dead_letters = catalog.dead_letter_topic(prefix)
    ingress = catalog.family(GHOST.FAMILY).ingress_topic(prefix)
    ghost_bytes = serde.encode(GHOST)
    wrong_family = serde.encode(ev.interaction("client:x", 1))
    # a decision with a made-up schema id on the accepted topic (refused)
    good = demo.runner.topic(decisions)[0]
    bad_id = good.value[:1] + (999_999).to_bytes(4, "big") + good.value[5:]  # type: ignore[index]
    forged_block = (
        (h.DLQ_REASON, b"x"),
        (h.DLQ_SOURCE_TOPIC, catalog.commits_topic(prefix).encode()),
    )
    gateway_block = (
        (h.DLQ_REASON, b"decode.bad_magic_byte"),
        (h.DLQ_SOURCE_TOPIC, ingress.encode()),
    )
    hostile = [
        (approvals, b"k", b"\xff\x00garbage", ((h.SOURCE_TOPIC, ingress.encode()),)),
        (
            approvals,
            GHOST.proposal_id.encode(),
            ghost_bytes[:9],
            ((h.SOURCE_TOPIC, ingress.encode()),),
        ),  # type: ignore[attr-defined]
        (decisions, good.key, bad_id, ()),
        (decisions, b"client:x", wrong_family, ()),
        (applied, b"x", b"\x00\x00\x00", ()),
        (dead_letters, b"k", ghost_bytes, (*forged_block, *gateway_block)),
        (
            dead_letters,
            b"k",
            b"\x00garbage",
            ((h.DLQ_REASON, b"y"), (h.DLQ_SOURCE_TOPIC, catalog.commits_topic(prefix).encode())),
        ),
    ]
    # A well-formed, signed approval of the rejected proposal, written straight to the decision
    # ingress topic (the gateway is not running to check it): never read by the store.
    family, rejected_pid = data.pending[0]
    forged = approval(family, rejected_pid, "0" * 64).model_copy(
        update={"decision_id": "decision:forged", "artifact_id": "art:decision:forged"}
    )
    forged_topic = catalog.family("ApprovalDecision").ingress_topic(prefix)
    forged_value = serde.encode(forged)
    signed = signing.with_signature((), forged_topic, b"k", forged_value, forged.source_system)
    hostile.append((forged_topic, rejected_pid.encode(), forged_value, signed))
    for topic, key, value, headers in hostile:
        producer.publish_raw(topic, key, value, headers).result(30)
    store_sink = governance_store()
    store = store_sink.store
    stats = _consume(provisioned, catalog, serde, store_sink)
    rejects = store.dump()["rejects"]
    assert stats.rejected == len(rejects) == 6, rejects  # the forged-through-gateway one is ignored
    assert all(reason for *_pos, reason, _detail in rejects)
    assert {r[0] for r in rejects} == {approvals, decisions, applied, dead_letters}
    with store.engine.connect() as conn:
        # nothing hostile changed a state: the same as the demo alone
        assert proposal_history(conn, store.tables, GHOST.proposal_id).state == "REFUSED"  # type: ignore[attr-defined]
        rejected = proposal_history(conn, store.tables, rejected_pid)
    assert rejected.state == "REJECTED"
    assert "decision:forged" not in {d.decision_id for d in rejected.decisions}


def test_kill_9_mid_backlog_then_restart_equals_an_uninterrupted_run(
    provisioned, catalog, serde, demo, producer, governance_store, store_url
):
    # A longer backlog: many writeback proposals, half of them decided.
    extra = [ev.writeback(f"bulk{n}", f"opportunity:bulk{n}", stage=("A", "B")) for n in range(300)]
    for proposal in extra:
        demo.send(proposal)
    for proposal in extra[::2]:
        demo.decide(proposal, "REJECTED")
    demo.publish(producer)
    uninterrupted_sink = governance_store()
    uninterrupted = uninterrupted_sink.store
    _consume(provisioned, catalog, serde, uninterrupted_sink, batch_size=500)
    ends = uninterrupted.offsets()  # every partition's end: nothing more is written
    crashed_sink = governance_store()
    crashed = crashed_sink.store
    # the tables are gov_*, not governance_* (SinkUnderTest.prefix assumes the mapper's name)
    prefix = crashed.tables.offsets.name.removesuffix("gov_offsets")
    kill_then_restart(provisioned, store_url, "governance", crashed, prefix, ends, 5)
    assert crashed.dump() == uninterrupted.dump()
    assert (
        len([r for r in uninterrupted.dump()["proposals"] if r[0].startswith("proposal:bulk")])
        == 300
    )
