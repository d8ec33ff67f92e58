"""A merge or delete is applied only through an approved proposal's commit record: the
approval is used once, there. A ClientGraphDelta on the ingress that merges or deletes is
refused whatever decision it names (catalog: ``approved_only_by_commit``)."""

from __future__ import annotations

from velocity_stream.contracts import example
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import RouteKind
from velocity_stream.gateway.state import HeldMessage

PROPOSAL_ID = "proposal:entity:priya-raman"  # merges person:p-raman-2025 into person:priya-raman
MERGE = {
    "op": "MERGE_NODES",
    "node_ref": "person:priya-raman",
    "merged_refs": ["person:p-raman-2025"],
}


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


def _merge(gw, **changes: object) -> Artifact:
    """A delta carrying exactly the approved proposal's merge and citing its approval."""
    fields = {
        "delta_id": "delta:merge",
        "operations": [MERGE],
        "proposal_ref": PROPOSAL_ID,
        "decision_ref": "decision:0001",
    }
    return gw.variant(example("ClientGraphDelta"), **{**fields, **changes})


def test_delta_with_only_upserts_needs_no_decision(gw):
    assert gw.send(example("ClientGraphDelta")).route is RouteKind.ACCEPTED


def test_the_approved_change_itself_is_refused_as_a_delta_its_commit_record_used_it(gw):
    _approve(gw)
    assert len(gw.topic(gw.commits)) == 1  # the approval's one use
    for delta in (
        _merge(gw),
        # what the committer's applied records looked like when they came through here
        _merge(gw, delta_id="applied:decision:0001", artifact_id="art:applied"),
        _merge(gw, delta_id="decision:0001", artifact_id="art:claim"),
    ):
        outcome = gw.send(delta)
        assert outcome.route is RouteKind.DEAD_LETTER
        assert outcome.reason is ReasonCode.STATE_GRAPH_LICENCE_USED
        assert "decision:0001" in outcome.detail
        assert outcome.outputs[0].value == gw.message(delta).value
    assert gw.topic(gw.accepted("ClientGraphDelta")) == []


def test_a_merge_naming_no_approved_decision_is_refused_at_once_not_held(gw):
    for delta in (
        _merge(gw, decision_ref="decision:never"),
        _merge(gw, delta_id="delta:2", artifact_id="art:2"),  # decided later, still refused
    ):
        outcome = gw.send(delta)
        assert outcome.route is RouteKind.DEAD_LETTER
        assert outcome.reason is ReasonCode.STATE_GRAPH_LICENCE_USED
    _approve(gw)
    assert gw.expire_after_hold() == []  # nothing was held waiting for it


def test_a_delete_riding_on_an_approval_of_something_else_is_refused(gw):
    _approve(gw)
    delete = {"op": "DELETE_NODE", "node_ref": "client:acme"}
    outcome = gw.send(_merge(gw, delta_id="delta:3", operations=[delete]))
    assert outcome.reason is ReasonCode.STATE_GRAPH_LICENCE_USED


def test_the_committer_is_no_producer_of_deltas_any_more(gw):
    delta = gw.variant(example("ClientGraphDelta"), source_system="graph-committer")
    assert gw.send(delta).reason is ReasonCode.AUTH_NOT_OWNER


def test_a_redelivered_refusal_repeats_its_outputs(gw):
    _approve(gw)
    message = gw.message(_merge(gw))
    [first] = gw.runner.run([message])
    [again] = gw.runner.run([message])
    assert again.route is RouteKind.DEAD_LETTER
    assert [o.value for o in again.outputs] == [o.value for o in first.outputs]


def test_a_delta_an_older_version_held_for_its_decision_expires_with_that_reason(gw):
    # Older versions held a merging delta under "decision:<family>:<delta id>" until its
    # decision was seen approved; a restored changelog can still hold one. Nothing waits for
    # a decision now: it expires like any hold, dead-lettered with the reason it was held for.
    delta = gw.message(_merge(gw))
    state = gw.runner.state(delta.partition)
    entry = HeldMessage(
        delta, 0, ReasonCode.STATE_GRAPH_DECISION_NOT_APPROVED.value, "decision:0001", "art:1"
    )
    state.hold("decision:ClientGraphDelta:delta:merge", entry)
    _approve(gw)
    [expired] = gw.expire_after_hold()
    assert expired.route is RouteKind.DEAD_LETTER
    assert expired.reason is ReasonCode.STATE_GRAPH_DECISION_NOT_APPROVED
    assert "'decision:0001' was not seen approved" in expired.detail
    assert expired.outputs[0].value == delta.value
    assert gw.expire_after_hold() == []
