"""A decision approves exactly the proposal bytes the reviewer saw: a decision about other
proposal bytes is refused, an auto rule's names the bytes it judged. (That the approval is
used once, by its commit record: test_graph_delta_rule.py.)"""

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
