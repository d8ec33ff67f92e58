"""The committer's applied records: what they state, when they are published, and how the read
model builds its graph from them alone, so a refused change never reaches a snapshot."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from consumers.applied import COMMITTER, applied_id
from consumers.client360.projector import project
from consumers.client360.runner import Client360Runner
from consumers.committer.changes import from_delta
from consumers.committer.runner import CommitterRunner
from consumers.committer.store import GraphStore, Incoming, Verdict
from consumers.storage import open_engine
from tests.unit.consumers import events as ev
from tests.unit.consumers.conftest import fresh_store
from velocity_stream.contracts.applied_graph_change import AppliedGraphChange
from velocity_stream.contracts.catalog import load_catalog
from velocity_stream.contracts.graph_delta import ClientGraphDelta
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.errors import ReasonCode
from velocity_stream.kafka.producer import Delivery, DeliveryError
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde import AvroSerde, InMemorySchemaResolver
from velocity_stream.settings import Settings

CLIENT = "client:acme"
PREFIX = "unit"
SEED = ev.delta(
    "seed",
    ev.upsert_node(CLIENT, "CLIENT"),
    ev.upsert_node("person:priya", "PERSON", given_name="Priya"),
    ev.upsert_node("person:p-dup", "PERSON", email="p@x.example", phone="+91"),
    ev.upsert_node("opportunity:o1", "OPPORTUNITY", title="3BHK", stage="QUALIFYING", amount="9"),
    ev.upsert_edge("person:priya", CLIENT, "CONTACT_OF"),
    ev.upsert_edge("person:p-dup", CLIENT, "CONTACT_OF", role="old"),
    ev.upsert_edge("opportunity:o1", CLIENT, "OPPORTUNITY_OF"),
    minute=1,
)


def _ops(record: AppliedGraphChange) -> list[dict[str, Any]]:
    return [o.model_dump(mode="json", exclude_defaults=True) for o in record.operations]


def test_an_applied_record_states_the_final_state_of_every_row_the_change_wrote(committer):
    committer.commit([SEED])
    proposal = ev.entity_proposal("e1", "person:priya", merge=("person:p-dup",), family_name="R")
    [record] = committer.commit([(proposal, "decision:e1", 5)])
    assert isinstance(record, AppliedGraphChange)
    assert record.artifact_id == applied_id("decision:e1")
    assert record.change_id == "decision:e1"
    assert (record.source_system, record.created_by) == (COMMITTER, COMMITTER)
    assert (record.proposal_ref, record.decision_ref) == ("proposal:e1", "decision:e1")
    assert record.provenance.source_refs == ("decision:e1", "proposal:e1")
    assert record.created_at == ev.at(5)
    assert _ops(record) == [
        {"op": "MERGE_NODES", "node_ref": "person:priya", "merged_refs": ["person:p-dup"]},
        # the survivor's whole attribute set, the merged node's values folded in
        {
            "op": "UPSERT_NODE",
            "node_ref": "person:priya",
            "node_type": "PERSON",
            "attributes": {
                "email": "p@x.example",
                "family_name": "R",
                "given_name": "Priya",
                "phone": "+91",
            },
        },
        {
            "op": "DELETE_EDGE",
            "edge": {"from_ref": "person:p-dup", "to_ref": CLIENT, "relation": "CONTACT_OF"},
        },
        {
            "op": "UPSERT_EDGE",
            "edge": {"from_ref": "person:priya", "to_ref": CLIENT, "relation": "CONTACT_OF"},
            "attributes": {"role": "old"},
        },
    ]


def test_applied_times_strictly_increase_when_the_clock_stalls_or_steps_back():
    now = [1_700_000_000.0]
    store = GraphStore(open_engine("sqlite://"), "t_", clock=lambda: now[0])
    store.create()
    times = []
    for n, clock in enumerate([1_700_000_000.0, 1_700_000_000.0, 1_600_000_000.0]):
        now[0] = clock
        delta = ev.delta(f"n{n}", ev.upsert_node(f"task:{n}", "TASK"))
        [result] = store.apply(
            [Incoming(InboundMessage("t", 0, n, b"k", b""), from_delta(delta))], {}
        )
        assert result.applied is not None
        times.append(result.applied.created_at.timestamp())
    assert times == [1_700_000_000.0, 1_700_000_000.001, 1_700_000_000.002]
    # A restarted store goes on from the stored times, not from its clock.
    again = GraphStore(store.engine, "t_", clock=lambda: 0.0)
    delta = ev.delta("n9", ev.upsert_node("task:9", "TASK"))
    [result] = again.apply([Incoming(InboundMessage("t", 0, 9, b"k", b""), from_delta(delta))], {})
    assert result.applied is not None
    assert result.applied.created_at.timestamp() == pytest.approx(1_700_000_000.003)


def test_a_change_that_would_not_make_a_valid_record_is_refused_and_writes_nothing(committer):
    committer.commit([SEED])
    before = committer.store.dump()
    # A merge of a node into itself passes the graph checks but is no valid delta.
    itself = ev.writeback("m1", "person:priya", operation="MERGE", merge=("person:priya",))
    assert committer.commit([(itself, "decision:m1", 2)]) == []
    [result] = committer.results[-1:]
    assert result.verdict is Verdict.REFUSED and result.refusal is not None
    assert result.refusal.code is ReasonCode.CONTRACT_GRAPH_OPERATION_SHAPE
    assert result.refusal.field.startswith("applied.operations.0")
    after = committer.store.dump()
    assert {k: v for k, v in after.items() if k != "changes"} == {
        k: v for k, v in before.items() if k != "changes"
    }


def test_a_requested_delta_projects_to_nothing_and_its_applied_record_names_the_change():
    # The read model does not read requested changes at all; it reads only applied records.
    assert project(SEED) is None
    [record] = ev.MemoryCommitter().commit([SEED])
    projection = project(record)
    assert projection is not None
    assert projection.event_id == applied_id("delta:seed")
    assert {f.source_ref for f in projection.nodes} == {"delta:seed"}
    assert projection.clients == (CLIENT,)


def test_refused_changes_never_reach_the_snapshot(apply_all, committer):
    stale = ev.writeback("w1", "opportunity:o1", stage=("NEGOTIATION", "CLOSED_WON"))
    ghost = ev.writeback("w2", "opportunity:ghost", stage=("A", "B"))
    merge = ev.delta("m1", ev.merge_nodes("person:priya", "person:p-dup"), minute=3)
    merge_again = ev.entity_proposal(
        "e2", "person:other", merge=("person:p-dup",), given_name="Other"
    )
    fresh = ev.writeback("w3", "opportunity:o1", stage=("QUALIFYING", "SITE_VISITS"))
    store = apply_all(
        [
            SEED,
            (stale, "decision:w1", 2),
            (ghost, "decision:w2", 2),
            merge,
            (merge_again, "decision:e2", 4),  # p-dup is merged already: all of it refused
            (fresh, "decision:w3", 5),
        ]
    )
    assert committer.refused == [
        "decision:w1: persistence.stale_value",
        "decision:w2: persistence.entity_not_found",
        "decision:e2: persistence.already_merged",
    ]
    snapshot = store.snapshot(CLIENT)
    assert snapshot is not None
    [opportunity] = snapshot.active_opportunities
    assert opportunity.stage == "SITE_VISITS"  # the applied change; never CLOSED_WON
    assert "decision:w1" not in snapshot.provenance.source_refs
    assert "decision:w2" not in snapshot.provenance.source_refs
    assert "decision:e2" not in snapshot.provenance.source_refs
    assert "decision:w3" in snapshot.provenance.source_refs
    assert snapshot.identity.entity_refs == ("person:priya",)
    assert store.snapshot("opportunity:ghost") is None


def test_a_removed_field_disappears_also_when_a_merge_had_folded_it_in(apply_all):
    store = apply_all(
        [
            SEED,
            ev.delta("m1", ev.merge_nodes("person:priya", "person:p-dup"), minute=2),
            # the committer folded p-dup's email into priya; this update removes it
            (ev.writeback("w1", "person:priya", email=("p@x.example", None)), "decision:w1", 3),
            (ev.writeback("w2", "opportunity:o1", amount=("9", None)), "decision:w2", 4),
        ]
    )
    snapshot = store.snapshot(CLIENT)
    assert snapshot is not None
    assert snapshot.identity.emails == ()
    assert snapshot.identity.phones == ("+91",)
    assert snapshot.active_opportunities[0].amount is None


class _Producer:
    """Records what the runners send; ``fail`` makes artifact publications fail."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.artifacts: list[tuple[Artifact, str | None]] = []
        self.raw: list[tuple[str, Any]] = []

    def publish(self, artifact: Artifact, *, trace_id: str | None = None) -> Future[Delivery]:
        future: Future[Delivery] = Future()
        if self.fail:
            future.set_exception(DeliveryError("t", "broker gone"))
        else:
            self.artifacts.append((artifact, trace_id))
            future.set_result(Delivery("t", 0, len(self.artifacts), None))
        return future

    def publish_raw(self, topic, key, value, headers=None) -> Future[Delivery]:
        self.raw.append((topic, value))
        future: Future[Delivery] = Future()
        future.set_result(Delivery(topic, 0, len(self.raw), key))
        return future


@pytest.fixture
def wiring():
    settings = Settings(topic_prefix=PREFIX)
    catalog = load_catalog(settings.schemas_dir)
    return settings, catalog, AvroSerde(catalog, InMemorySchemaResolver(), PREFIX)


def _delta_message(catalog, serde, delta: ClientGraphDelta, offset: int) -> InboundMessage:
    topic = catalog.family("ClientGraphDelta").accepted_topic(PREFIX)
    trace = (("velocity.trace_id", b"0123456789abcdef0123456789abcdef"),)
    return InboundMessage(topic, 0, offset, delta.delta_id.encode(), serde.encode(delta), trace)


def _applied_message(
    catalog, serde, record: Artifact, offset: int, key: bytes = b""
) -> InboundMessage:
    topic = catalog.family("AppliedGraphChange").ingress_topic(PREFIX)
    assert isinstance(record, AppliedGraphChange)
    return InboundMessage(topic, 0, offset, key or record.change_id.encode(), serde.encode(record))


def test_the_committer_publishes_after_commit_on_the_applied_topic(wiring):
    settings, catalog, serde = wiring
    store = GraphStore(open_engine("sqlite://"), "unit_")
    store.create()
    failing = _Producer(fail=True)
    runner = CommitterRunner(settings, catalog, serde, store, failing)  # type: ignore[arg-type]
    with pytest.raises(DeliveryError):
        runner.handle([_delta_message(catalog, serde, SEED, 0)])
    # The batch committed; its record waits in the outbox for the broker.
    assert store.change("delta:seed") is not None
    [waiting] = store.unpublished()
    assert waiting.change_id == "delta:seed"
    assert waiting.trace_id == "0123456789abcdef0123456789abcdef"

    producer = _Producer()
    restarted = CommitterRunner(settings, catalog, serde, store, producer)  # type: ignore[arg-type]
    assert restarted.publisher.publish_pending() == 1  # as run() does at start
    [(record, trace)] = producer.artifacts
    assert record == waiting.record and trace == waiting.trace_id
    assert store.unpublished() == []
    # An AppliedGraphChange: the validating producer sends it to the family's own topic, which
    # the committer does not read (nothing of its own comes back to it).
    assert isinstance(record, AppliedGraphChange)
    applied_topic = catalog.family(record.FAMILY).ingress_topic(PREFIX)
    assert applied_topic == f"{PREFIX}.graph-committer.applied.v1"
    assert applied_topic not in restarted.topics()
    assert catalog.family("ClientGraphDelta").ingress_topic(PREFIX) not in restarted.topics()


def test_an_outbox_row_of_the_old_applied_delta_goes_out_as_an_applied_change(committer):
    # A row a committer wrote before applied records had a family of their own.
    [record] = ev.MemoryCommitter().commit([SEED])
    assert isinstance(record, AppliedGraphChange)
    legacy = ClientGraphDelta.model_validate(
        {
            **record.model_dump(exclude={"change_id"}),
            "artifact_type": "ClientGraphDelta",
            "delta_id": record.artifact_id,
        }
    )
    store = committer.store
    with store.engine.begin() as conn:
        conn.execute(
            store.tables.outbox.insert().values(
                change_id="delta:seed",
                applied_at_ms=1,
                record=legacy.model_dump_json(),
                trace_id=None,
            )
        )
    [waiting] = store.unpublished()
    assert waiting.record == record


def test_the_read_model_reads_applied_records_from_their_own_topic_only(wiring):
    settings, catalog, serde = wiring
    store = fresh_store()
    runner = Client360Runner(settings, catalog, serde, store, None)
    [record] = ev.MemoryCommitter().commit([SEED])
    assert runner.topics() == sorted(
        [
            catalog.family("AppliedGraphChange").ingress_topic(PREFIX),
            *(
                catalog.family(name).accepted_topic(PREFIX)
                for name in ("InteractionBundle", "QdSignalBundle")
            ),
        ]
    )
    result = runner.handle([_applied_message(catalog, serde, record, 0)])
    assert (result.applied, result.duplicates, result.rejected) == (1, 0, 0)
    runner.refresh()
    snapshot = store.snapshot(CLIENT)
    assert snapshot is not None and snapshot.identity.entity_refs == (
        "person:p-dup",
        "person:priya",
    )


def test_the_read_model_refuses_an_applied_record_not_written_by_the_committer(wiring):
    settings, catalog, serde = wiring
    store = fresh_store()
    runner = Client360Runner(settings, catalog, serde, store, None)
    [record] = ev.MemoryCommitter().commit([SEED])
    forged = record.model_copy(update={"source_system": "import-normalizer"})
    wrong_key = _applied_message(catalog, serde, record, 1, key=b"delta:other")
    result = runner.handle([_applied_message(catalog, serde, forged, 0), wrong_key])
    assert (result.applied, result.rejected) == (0, 2)
    reasons = sorted(row[3] for row in store.dump()["rejects"])
    assert reasons == ["auth.not_owner", "contract.key_mismatch"]
    runner.refresh()
    assert store.snapshot(CLIENT) is None
