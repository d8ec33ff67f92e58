"""Borrowed, stretched and reused approvals, and decisions about other proposal bytes, through
a real worker and broker: none reaches an accepted or commits topic, each is dead-lettered with
its own code, and the approval's own change still goes through."""

from __future__ import annotations

import uuid

import pytest

from velocity_stream.contracts import example
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.errors import ReasonCode
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


def delta(gw, decision, proposal, **changes):
    fields = {
        "delta_id": f"applied:{decision.decision_id}",
        "artifact_id": uid("art:delta"),
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


def test_the_approvals_own_change_is_accepted(gateway):
    entity, decision = approved(gateway, ENTITY)
    report = delta(gateway, decision, entity)
    gateway.publish(report)
    [out] = gateway.wait_for(lambda o: o.text(h.ARTIFACT_ID) == report.artifact_id)
    assert out.topic == gateway.accepted("ClientGraphDelta")


def test_an_approval_of_another_proposal_is_not_borrowed(gateway):
    entity, _ = approved(gateway, ENTITY)
    writeback, other = approved(gateway, WRITEBACK)
    borrowed = delta(gateway, other, entity)
    gateway.publish(borrowed)
    out = refused(gateway, borrowed, ReasonCode.STATE_GRAPH_LICENCE_BORROWED)
    assert writeback.proposal_id in out.text(h.DLQ_MESSAGE)


def test_one_approval_does_not_license_two_deltas(gateway):
    entity, decision = approved(gateway, ENTITY)
    first = delta(gateway, decision, entity, delta_id=uid("delta"))
    second = delta(gateway, decision, entity, delta_id=uid("delta"))
    gateway.publish(first)
    gateway.publish(second)
    refused(gateway, first, ReasonCode.STATE_GRAPH_LICENCE_USED)
    refused(gateway, second, ReasonCode.STATE_GRAPH_LICENCE_USED)


def test_an_approval_does_not_stretch_to_another_merge(gateway):
    entity, decision = approved(gateway, ENTITY)
    ops = [op.model_dump() for op in example("ClientGraphDelta").operations]
    ops[1]["merged_refs"] = [*ops[1]["merged_refs"], "person:not-approved"]
    stretched = delta(gateway, decision, entity, operations=ops)
    gateway.publish(stretched)
    out = refused(gateway, stretched, ReasonCode.STATE_GRAPH_LICENCE_EXCEEDED)
    assert "person:not-approved" in out.text(h.DLQ_MESSAGE)


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
