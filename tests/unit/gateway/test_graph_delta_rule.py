"""Merges and deletes in a ClientGraphDelta must name an approved decision."""

from __future__ import annotations

from velocity_stream.contracts import example
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import RouteKind

PROPOSAL_ID = "proposal:entity:priya-raman"


def _approve(gw, decision_id="decision:0001", decision="APPROVED"):
    """Propose the entity (needs review) and decide it with ``decision_id``."""
    proposal = example("NormalizedEntityProposal")
    gw.send(proposal)
    decision = gw.variant(
        example("ApprovalDecision"),
        proposal_digest=gw.digest_of(proposal),
        decision_id=decision_id,
        proposal_ref=PROPOSAL_ID,
        proposal_family="NormalizedEntityProposal",
        decision=decision,
        decision_notes="Same person, merge.",
    )
    outcome = gw.send(decision)
    assert outcome.route is RouteKind.DECISION_APPLIED
    return gw.message(decision)


def _applied(gw):
    """The committer's record of applying decision:0001's merge: the change it licenses."""
    return gw.variant(example("ClientGraphDelta"), delta_id="applied:decision:0001")


def test_delta_with_only_upserts_needs_no_decision(gw):
    delta = example("ClientGraphDelta")
    upserts = gw.variant(delta, operations=delta.operations[:1], decision_ref=None)
    assert gw.send(upserts).route is RouteKind.ACCEPTED


def test_merge_naming_an_approved_decision_is_accepted(gw):
    decision = _approve(gw)
    delta = gw.message(_applied(gw))
    # keyed by delta_id: the delta is not co-partitioned with the decision, the global
    # approved_decisions table is what lets it see the approval
    assert delta.partition != decision.partition
    assert gw.runner.run([delta])[0].route is RouteKind.ACCEPTED


def test_merge_without_an_approved_decision_is_dead_lettered_after_the_hold(gw):
    delta = gw.message(example("ClientGraphDelta"))
    assert gw.runner.run([delta])[0].route is RouteKind.HELD
    [expired] = gw.expire_after_hold()
    assert expired.route is RouteKind.DEAD_LETTER
    assert expired.reason is ReasonCode.STATE_GRAPH_DECISION_NOT_APPROVED
    assert expired.outputs[0].value == delta.value


def test_merge_naming_a_rejected_decision_is_dead_lettered(gw):
    _approve(gw, decision="REJECTED")
    gw.send(example("ClientGraphDelta"))
    [expired] = gw.expire_after_hold()
    assert expired.reason is ReasonCode.STATE_GRAPH_DECISION_NOT_APPROVED


def test_held_merge_is_released_by_the_sweep_once_its_decision_is_approved(gw, clock):
    delta = _applied(gw)
    assert gw.send(delta).route is RouteKind.HELD
    _approve(gw)
    [released] = gw.runner.expire(clock.now_ms)  # before the deadline
    assert released.route is RouteKind.ACCEPTED
    assert released.artifact_id == delta.artifact_id
    assert gw.expire_after_hold() == []
