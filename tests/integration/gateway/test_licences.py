"""An approval is used once, by its commit record; decisions about other proposal bytes commit
nothing. Through a real worker and broker, and for the attacker's forged "applied" delta
through the committer and the read model too: it reaches neither."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from consumers.client360.runner import Client360Runner
from consumers.client360.store import Client360Store
from consumers.committer.runner import CommitterRunner
from consumers.committer.store import GraphStore
from consumers.storage import open_engine
from velocity_stream.contracts import example
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.errors import ReasonCode
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.protocol import headers as h

pytestmark = pytest.mark.integration

ENTITY = "NormalizedEntityProposal"
WRITEBACK = "OracleWritebackProposal"


def uid(label: str) -> str:
    return f"{label}:{uuid.uuid4().hex[:10]}"


def approved(gw, family: str, **changes):
    """Publish a proposal and a person's approval of exactly its bytes; wait for the commit."""
    proposal_id = uid(f"proposal:{family}")
    proposal = gw.variant(
        example(family), proposal_id=proposal_id, artifact_id=f"art:{proposal_id}", **changes
    )
    value = gw.publish(proposal)
    decision = gw.variant(
        example("ApprovalDecision"),
        proposal_ref=proposal_id,
        proposal_family=family,
        decision_id=uid("decision"),
        artifact_id=uid("art:decision"),
        decision_notes="Checked.",
        proposal_digest=proposal_digest(value),
    )
    gw.publish(decision)
    gw.wait_for(lambda o: o.topic == gw.commits and o.key == proposal_id.encode())
    return proposal, decision


MERGE = {
    "op": "MERGE_NODES",
    "node_ref": "person:priya-raman",
    "merged_refs": ["person:p-raman-2025"],
}


def delta(gw, decision, proposal, **changes):
    """What the committer's applied record of ``decision`` looked like when it came through
    the gateway: the approved merge, citing the approval, ``applied:<decision id>``."""
    fields = {
        "delta_id": f"applied:{decision.decision_id}",
        "artifact_id": uid("art:delta"),
        "operations": [MERGE],
        "decision_ref": decision.decision_id,
        "proposal_ref": proposal.proposal_id,
    }
    return gw.variant(example("ClientGraphDelta"), **{**fields, **changes})


def refused(gw, artifact, reason: ReasonCode):
    """The one output of ``artifact``: its dead letter, with the original bytes and ``reason``."""
    key, value = gw.key_of(artifact), gw.encode(artifact)
    [out] = gw.wait_for(lambda o: o.key == key and o.value == value)
    assert out.topic == gw.dead_letters, out.topic
    assert out.text(h.DLQ_REASON) == reason.value, out.text(h.DLQ_MESSAGE)
    return out


def test_the_approved_change_as_a_delta_is_refused_its_commit_record_used_the_approval(gateway):
    entity, decision = approved(gateway, ENTITY)
    for report in (
        delta(gateway, decision, entity),
        delta(gateway, decision, entity, delta_id=decision.decision_id),
        delta(gateway, decision, entity, delta_id=uid("delta")),
    ):
        gateway.publish(report)
        out = refused(gateway, report, ReasonCode.STATE_GRAPH_LICENCE_USED)
        assert decision.decision_id in out.text(h.DLQ_MESSAGE)


def test_a_delta_riding_on_an_approval_of_something_else_is_refused(gateway):
    _, decision = approved(gateway, WRITEBACK)
    entity = example(ENTITY)
    delete = {"op": "DELETE_NODE", "node_ref": "client:acme"}
    ride = delta(gateway, decision, entity, operations=[delete], delta_id=uid("delta"))
    gateway.publish(ride)
    refused(gateway, ride, ReasonCode.STATE_GRAPH_LICENCE_USED)


def test_a_forged_applied_delta_reaches_neither_the_committer_nor_the_read_model(
    gateway, tmp_path: Path
):
    """The attacker writes "applied" ClientGraphDelta records to the delta ingress topic: as
    the committer (no longer a producer of the family) and as an allowed producer citing a
    real approval. Beside them, an honest importer's delta shows the path is live."""
    entity, decision = approved(gateway, ENTITY)
    forged_node = {"op": "UPSERT_NODE", "node_ref": "person:forged", "node_type": "PERSON"}
    as_committer = delta(
        gateway, decision, entity, source_system="graph-committer", operations=[forged_node]
    )
    riding = delta(gateway, decision, entity, operations=[MERGE, forged_node])
    client, person = uid("client"), uid("person")
    honest = gateway.variant(
        example("ClientGraphDelta"),
        delta_id=uid("delta"),
        artifact_id=uid("art:delta"),
        operations=[
            {"op": "UPSERT_NODE", "node_ref": client, "node_type": "CLIENT"},
            {"op": "UPSERT_NODE", "node_ref": person, "node_type": "PERSON"},
            {
                "op": "UPSERT_EDGE",
                "edge": {"from_ref": person, "to_ref": client, "relation": "CONTACT_OF"},
            },
        ],
    )
    for artifact in (as_committer, riding, honest):
        gateway.publish(artifact)
    refused(gateway, as_committer, ReasonCode.AUTH_NOT_OWNER)
    refused(gateway, riding, ReasonCode.STATE_GRAPH_LICENCE_USED)
    gateway.wait_for(lambda o: o.text(h.ARTIFACT_ID) == honest.artifact_id)

    settings, catalog = gateway.settings, gateway.catalog
    graph = GraphStore(open_engine(f"sqlite:///{tmp_path / 'graph.db'}"), "it_")
    graph.create()
    with ArtifactProducer(settings, catalog, gateway.serde, producer_name="graph-committer") as p:
        committed = CommitterRunner(settings, catalog, gateway.serde, graph, p).run(max_idle_s=2)
    assert committed.applied >= 1  # the honest delta (the approval's commit may be refused:
    # its nodes do not exist in this graph)
    assert graph.node(person) is not None
    assert graph.node("person:forged") is None
    for artifact in (as_committer, riding):
        assert graph.change(artifact.delta_id) is None
    assert not [row for row in graph.dump()["changes"] if "forged" in repr(row)]

    read_model = Client360Store(open_engine(f"sqlite:///{tmp_path / 'c360.db'}"), "it_")
    read_model.create()
    Client360Runner(settings, catalog, gateway.serde, read_model, None).run(max_idle_s=2)
    snapshot = read_model.snapshot(client)
    assert snapshot is not None and person in snapshot.identity.entity_refs
    assert "person:forged" not in repr(read_model.dump())
    assert not {f"applied:{a.delta_id}" for a in (as_committer, riding)} & {
        row[0] for row in read_model.dump()["applied"]
    }


def test_a_decision_about_other_proposal_content_is_not_committed(gateway):
    proposal_id = uid("proposal:writeback")
    seen = gateway.variant(
        example(WRITEBACK), proposal_id=proposal_id, artifact_id=f"art:{proposal_id}"
    )
    held = gateway.variant(seen, reasoning_summary="Changed after the reviewer looked.")
    # The decision about `seen` arrives first and waits; the proposal that comes is `held`.
    decision = gateway.variant(
        example("ApprovalDecision"),
        proposal_ref=proposal_id,
        proposal_family=WRITEBACK,
        decision_id=uid("decision"),
        artifact_id=uid("art:decision"),
        proposal_digest=proposal_digest(gateway.encode(seen)),
    )
    gateway.publish(decision)
    gateway.publish(held)
    refused(gateway, decision, ReasonCode.APPROVAL_PROPOSAL_CHANGED)
    gateway.settle(1.0)
    assert not [
        o for o in gateway.outputs if o.topic == gateway.commits and o.key == proposal_id.encode()
    ]
