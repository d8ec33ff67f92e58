"""An approval licenses exactly its proposal's change, once: borrowed, stretched and reused
approvals are dead-lettered; a decision about other proposal bytes is refused."""

from __future__ import annotations

from velocity_stream.contracts import example
from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import RouteKind

ENTITY = "proposal:entity:priya-raman"  # merges person:p-raman-2025 into person:priya-raman
WRITEBACK = "proposal:writeback:acme-stage"  # an UPDATE: licenses nothing destructive


def _approve(gw, proposal: Artifact, decision_id: str) -> None:
    gw.send(proposal)
    decision = gw.variant(
        example("ApprovalDecision"),
        decision_id=decision_id,
        proposal_ref=proposal.proposal_id,
        proposal_family=proposal.FAMILY,
        proposal_digest=proposal_digest(gw.message(proposal).value),
    )
    assert gw.send(decision).route is RouteKind.DECISION_APPLIED


def _delta(gw, **changes: object) -> Artifact:
    """The committer's record of applying decision:0001 (merge p-raman-2025 into priya-raman)."""
    changes = {"delta_id": "applied:decision:0001", **changes}
    return gw.variant(example("ClientGraphDelta"), **changes)


def test_the_proposals_own_change_is_licensed(gw):
    _approve(gw, example("NormalizedEntityProposal"), "decision:0001")
    outcome = gw.send(_delta(gw))
    assert outcome.route is RouteKind.ACCEPTED


def test_an_approval_of_another_proposal_is_not_borrowed(gw):
    _approve(gw, example("NormalizedEntityProposal"), "decision:0001")
    _approve(gw, example("OracleWritebackProposal"), "decision:wb")
    borrowed = gw.send(_delta(gw, decision_ref="decision:wb"))
    assert borrowed.reason is ReasonCode.STATE_GRAPH_LICENCE_BORROWED
    assert "decision:wb" in borrowed.detail and WRITEBACK in borrowed.detail
    unnamed = gw.send(_delta(gw, delta_id="delta:2", proposal_ref=None))
    assert unnamed.reason is ReasonCode.STATE_GRAPH_LICENCE_BORROWED


def test_an_approval_does_not_stretch_to_other_refs_or_targets(gw):
    _approve(gw, example("NormalizedEntityProposal"), "decision:0001")
    delta = example("ClientGraphDelta")
    ops = [op.model_dump() for op in delta.operations]
    ops[1]["merged_refs"] = ["person:p-raman-2025", "person:someone-else"]
    more = gw.send(_delta(gw, operations=ops))
    assert more.route is RouteKind.DEAD_LETTER
    assert more.reason is ReasonCode.STATE_GRAPH_LICENCE_EXCEEDED
    assert "person:someone-else" in more.detail
    ops = [op.model_dump() for op in delta.operations]
    ops.append({"op": "DELETE_NODE", "node_ref": "client:acme"})
    delete = gw.send(_delta(gw, delta_id="delta:3", operations=ops))
    assert delete.reason is ReasonCode.STATE_GRAPH_LICENCE_EXCEEDED


def test_an_update_approval_licenses_no_merge(gw):
    _approve(gw, example("OracleWritebackProposal"), "decision:wb")
    outcome = gw.send(_delta(gw, decision_ref="decision:wb", proposal_ref=WRITEBACK))
    assert outcome.reason is ReasonCode.STATE_GRAPH_LICENCE_EXCEEDED


def test_an_approval_licenses_its_own_change_once(gw):
    _approve(gw, example("NormalizedEntityProposal"), "decision:0001")
    # The approval's change is its commit record; a delta asking for the same merge again
    # under another id would apply it twice.
    [commit] = gw.topic(gw.commits)
    assert commit.key is not None
    again = gw.send(_delta(gw, delta_id="delta:0001", artifact_id="art:again"))
    assert again.route is RouteKind.DEAD_LETTER
    assert again.reason is ReasonCode.STATE_GRAPH_LICENCE_USED
    assert "delta:0001" in again.detail
    other = gw.send(_delta(gw, delta_id="delta:0002", artifact_id="art:other"))
    assert other.reason is ReasonCode.STATE_GRAPH_LICENCE_USED
    # the committer's record of applying the approved change is that change: accepted, also
    # when it is published twice
    report = _delta(gw)
    assert gw.send(report).route is RouteKind.ACCEPTED
    assert gw.send(gw.variant(report, artifact_id="art:twice")).route is RouteKind.ACCEPTED


def test_a_redelivered_delta_repeats_its_outputs(gw):
    _approve(gw, example("NormalizedEntityProposal"), "decision:0001")
    message = gw.message(_delta(gw))
    [first] = gw.runner.run([message])
    [again] = gw.runner.run([message])
    assert again.route is RouteKind.ACCEPTED
    assert [o.value for o in again.outputs] == [o.value for o in first.outputs]


def test_a_decision_about_other_proposal_bytes_is_refused(gw):
    proposal = example("OracleWritebackProposal")
    changed = gw.variant(proposal, reasoning_summary="Something else entirely.")
    # the reviewer saw `proposal`; the gateway holds `changed` (it arrived first)
    gw.send(changed)
    decision = gw.variant(
        example("ApprovalDecision"),
        proposal_digest=proposal_digest(gw.message(proposal).value),
    )
    outcome = gw.send(decision)
    assert outcome.route is RouteKind.DEAD_LETTER
    assert outcome.reason is ReasonCode.APPROVAL_PROPOSAL_CHANGED
    assert gw.topic(gw.commits) == []
    # the decision about the bytes the gateway holds commits
    right = gw.variant(
        example("ApprovalDecision"),
        decision_id="decision:right",
        artifact_id="art:right",
        proposal_digest=proposal_digest(gw.message(changed).value),
    )
    assert gw.send(right).route is RouteKind.DECISION_APPLIED
    assert len(gw.topic(gw.commits)) == 1


def test_an_auto_rule_decision_names_the_proposal_bytes(gw):
    proposal = gw.variant(
        example("NormalizedEntityProposal"),
        proposal_id="proposal:entity:low-risk",
        review_required=False,
        confidence=0.95,
        merge_candidate_refs=(),
    )
    message = gw.message(proposal)
    gw.runner.run([message])
    [commit] = gw.topic(gw.commits)
    decisions = gw.topic(gw.accepted("ApprovalDecision"))
    assert len(decisions) == 1
    decision = gw.serde.decode_record(decisions[0].value, gw.family("ApprovalDecision"), 1)
    assert decision.record["proposal_digest"] == proposal_digest(message.value)
    assert commit is not None
