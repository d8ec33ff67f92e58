"""The approval gate: pending proposals, decisions, commit records, auto rules."""

from __future__ import annotations

from velocity_stream.contracts import example
from velocity_stream.contracts.commit_record import CommitRecord
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway import RouteKind
from velocity_stream.gateway.approvals import auto_decision_id
from velocity_stream.protocol import headers as h

WRITEBACK = "OracleWritebackProposal"
ENTITY = "NormalizedEntityProposal"


def _proposal(gw, proposal_id="proposal:writeback:acme-stage", **changes):
    return gw.variant(
        example(WRITEBACK), proposal_id=proposal_id, artifact_id=f"art:{proposal_id}", **changes
    )


def _decision(gw, proposal_id="proposal:writeback:acme-stage", *, proposal=None, **changes):
    """A decision on ``proposal`` (default: ``_proposal(gw, proposal_id)``) naming its digest;
    the author is the reviewer, and a rule's decision has SYSTEM provenance (the contract)."""
    fields = {
        "proposal_ref": proposal_id,
        "decision_id": f"decision:{proposal_id}",
        "artifact_id": f"art:decision:{proposal_id}",
        "proposal_digest": gw.digest_of(proposal or _proposal(gw, proposal_id)),
    }
    reviewer = changes.get("reviewer_ref")
    if reviewer is not None:
        fields["created_by"] = reviewer
        if reviewer.startswith("rule:"):
            fields["provenance"] = {"origin": "SYSTEM"}
    fields.update(changes)
    return gw.variant(example("ApprovalDecision"), **fields)


def _low_risk_entity(gw, proposal_id="proposal:entity:low-risk"):
    return gw.variant(
        example(ENTITY),
        proposal_id=proposal_id,
        artifact_id=f"art:{proposal_id}",
        review_required=False,
        merge_candidate_refs=(),
        confidence=0.95,
    )


def test_proposal_goes_to_the_approvals_topic_as_pending(gw):
    message = gw.message(_proposal(gw))
    outcome = gw.runner.run([message])[0]
    assert outcome.route is RouteKind.PENDING_APPROVAL
    [out] = outcome.outputs
    assert out.topic == gw.approvals
    assert out.key == b"proposal:writeback:acme-stage" and out.value == message.value
    assert gw.header(out, h.APPROVAL_STATE) == b"pending"
    assert gw.header(out, h.FAMILY) == WRITEBACK.encode()


def test_entity_proposal_needing_review_is_pending_not_auto_approved(gw):
    outcome = gw.send(example(ENTITY))  # merge candidates, review required
    assert outcome.route is RouteKind.PENDING_APPROVAL


def test_approval_produces_the_decision_and_a_commit_record(gw):
    proposal = gw.message(_proposal(gw))
    gw.runner.run([proposal])
    outcome = gw.send(_decision(gw))

    assert outcome.route is RouteKind.DECISION_APPLIED
    accepted, commit = outcome.outputs
    assert accepted.topic == gw.accepted("ApprovalDecision")
    assert commit.topic == gw.commits and commit.key == b"proposal:writeback:acme-stage"
    record = gw.serde.decode(commit.value, gw.catalog.commits)
    assert isinstance(record, CommitRecord)  # Avro, with the catalog's commit contract
    assert record.artifact_id == "commit:decision:proposal:writeback:acme-stage"
    assert record.proposal_family == WRITEBACK
    assert record.proposal_id == "proposal:writeback:acme-stage"
    assert record.proposal == proposal.value  # the proposal's original bytes
    assert record.proposal_topic == proposal.topic
    assert record.decision_id == "decision:proposal:writeback:acme-stage"
    assert record.reviewer == "human:sayan"
    assert gw.header(commit, h.COMMIT_DECISION_ID) == record.decision_id.encode()


def test_rejection_closes_the_proposal_without_a_commit(gw):
    gw.send(_proposal(gw))
    outcome = gw.send(_decision(gw, decision="REJECTED", decision_notes="Not what was said."))
    assert outcome.route is RouteKind.DECISION_APPLIED
    assert [out.topic for out in outcome.outputs] == [gw.accepted("ApprovalDecision")]
    later = gw.send(_decision(gw, decision_id="decision:second", artifact_id="art:second"))
    assert later.reason is ReasonCode.APPROVAL_ALREADY_DECIDED


def test_second_decision_is_dead_lettered(gw):
    gw.send(_proposal(gw))
    gw.send(_decision(gw))
    second = gw.send(
        _decision(gw, decision_id="decision:other", reviewer_ref="human:sourik", artifact_id="a2")
    )
    assert second.route is RouteKind.DEAD_LETTER
    assert second.reason is ReasonCode.APPROVAL_ALREADY_DECIDED
    assert len(gw.topic(gw.commits)) == 1


def test_same_decision_sent_twice_is_a_duplicate_and_not_re_emitted(gw):
    gw.send(_proposal(gw))
    gw.send(_decision(gw))
    again = gw.send(_decision(gw))
    assert again.route is RouteKind.DUPLICATE and again.outputs == ()


def test_redelivered_decision_repeats_identical_outputs(gw):
    gw.send(_proposal(gw))
    message = gw.message(_decision(gw))
    first = gw.runner.run([message])[0]
    again = gw.runner.replay(message)
    assert again.route is RouteKind.DECISION_APPLIED
    assert again.outputs == first.outputs


def test_reviewer_may_not_decide_their_own_proposal(gw):
    mine = _proposal(gw, created_by="human:sagnik")
    gw.send(mine)
    outcome = gw.send(_decision(gw, proposal=mine, reviewer_ref="human:sagnik"))
    assert outcome.reason is ReasonCode.AUTH_SELF_APPROVAL
    assert gw.header(outcome.outputs[0], h.DLQ_FIELD) == b"reviewer_ref"


def test_reviewer_outside_the_catalog_is_refused(gw):
    gw.send(_proposal(gw))
    outcome = gw.send(_decision(gw, reviewer_ref="human:mallory"))
    assert outcome.reason is ReasonCode.AUTH_NOT_REVIEWER
    assert gw.topic(gw.commits) == []


def test_rule_reviewer_cannot_decide_a_proposal_its_rule_did_not_approve(gw):
    gw.send(_proposal(gw))
    forged = _decision(gw, reviewer_ref="rule:low-risk-entity", source_system="approval-rules")
    assert gw.send(forged).reason is ReasonCode.AUTH_NOT_REVIEWER


def test_rule_reviewer_through_the_review_app_is_refused(gw):
    gw.send(_proposal(gw))
    forged = _decision(gw, reviewer_ref="rule:low-risk-entity")
    assert gw.send(forged).reason is ReasonCode.AUTH_NOT_REVIEWER


def test_late_decision_is_held_and_applied_when_its_proposal_arrives(gw):
    held = gw.send(_decision(gw))
    assert held.route is RouteKind.HELD and held.outputs == ()

    outcome = gw.send(_proposal(gw))
    assert outcome.route is RouteKind.PENDING_APPROVAL
    [released] = outcome.released
    assert released.route is RouteKind.DECISION_APPLIED
    assert [out.topic for out in outcome.outputs] == [
        gw.approvals,
        gw.accepted("ApprovalDecision"),
        gw.commits,
    ]


def test_decision_for_a_proposal_that_never_arrives_is_dead_lettered_after_the_hold(gw):
    message = gw.message(_decision(gw, proposal_ref="proposal:ghost"))
    gw.runner.run([message])
    [expired] = gw.expire_after_hold()
    assert expired.reason is ReasonCode.APPROVAL_UNKNOWN_PROPOSAL
    assert expired.outputs[0].value == message.value
    assert expired.artifact_id == "art:decision:proposal:writeback:acme-stage"
    assert expired.source == message


def test_decision_naming_the_wrong_proposal_family_never_meets_the_proposal(gw):
    gw.send(_proposal(gw))
    assert gw.send(_decision(gw, proposal_family=ENTITY)).route is RouteKind.HELD
    [expired] = gw.expire_after_hold()
    assert expired.reason is ReasonCode.APPROVAL_UNKNOWN_PROPOSAL


def test_approval_flow_over_several_partitions(gw):
    ids = [f"proposal:writeback:{n}" for n in range(24)]
    proposals = [gw.message(_proposal(gw, pid)) for pid in ids]
    decisions = [gw.message(_decision(gw, pid)) for pid in ids]
    assert len({m.partition for m in proposals}) >= 3
    # co-partitioned: each decision lands on its proposal's partition number
    assert [m.partition for m in proposals] == [m.partition for m in decisions]

    # half the decisions arrive first (late proposals), half after
    early, late = decisions[:12], decisions[12:]
    outcomes = gw.runner.run(early + proposals + late)
    assert all(o.route is RouteKind.HELD for o in outcomes[:12])
    assert all(len(o.released) == 1 for o in outcomes[12:24])
    assert all(o.route is RouteKind.DECISION_APPLIED for o in outcomes[36:])
    commits = [gw.serde.decode(m.value, gw.catalog.commits) for m in gw.topic(gw.commits)]
    assert sorted(c.proposal_id for c in commits) == sorted(ids)


def test_same_proposal_twice_is_a_duplicate_and_other_content_a_conflict(gw):
    gw.send(_proposal(gw))
    assert gw.send(_proposal(gw)).route is RouteKind.DUPLICATE
    changed = gw.send(_proposal(gw, reasoning_summary="Something else entirely."))
    assert changed.reason is ReasonCode.APPROVAL_PROPOSAL_CONFLICT


def test_low_risk_entity_is_auto_approved_with_a_decision_by_its_rule(gw):
    proposal = gw.message(_low_risk_entity(gw))
    outcome = gw.runner.run([proposal])[0]

    assert outcome.route is RouteKind.AUTO_APPROVED
    approval, decision = outcome.outputs
    assert approval.topic == gw.approvals
    assert gw.header(approval, h.APPROVAL_STATE) == b"auto_approved"
    assert gw.header(approval, h.APPROVAL_RULE) == b"low-risk-entity"
    assert decision.topic == gw.ingress("ApprovalDecision")
    assert decision.key == b"proposal:entity:low-risk"
    artifact = gw.serde.decode(decision.value, gw.family("ApprovalDecision"))
    assert artifact.reviewer_ref == "rule:low-risk-entity"
    assert artifact.source_system == "approval-rules"
    assert artifact.decision_id == auto_decision_id(
        ENTITY, "proposal:entity:low-risk", "low-risk-entity"
    )
    assert artifact.decided_at.timestamp() * 1000 == proposal.timestamp_ms

    # the runner fed the decision back through the gateway: it was applied and committed
    applied = gw.runner.outcomes[-1]
    assert applied.route is RouteKind.DECISION_APPLIED
    [commit] = gw.topic(gw.commits)
    record = gw.serde.decode(commit.value, gw.catalog.commits)
    assert record.reviewer == "rule:low-risk-entity" and record.proposal == proposal.value


def test_human_decision_on_an_auto_approved_proposal_is_already_decided(gw):
    gw.runner.feedback = False  # the rule's decision has not come back yet
    gw.send(_low_risk_entity(gw))
    human = _decision(
        gw, "proposal:entity:low-risk", proposal=_low_risk_entity(gw), proposal_family=ENTITY
    )
    assert gw.send(human).reason is ReasonCode.APPROVAL_ALREADY_DECIDED


def test_auto_decision_bytes_are_the_same_on_redelivery_and_on_another_worker(gw, pipeline):
    message = gw.message(_low_risk_entity(gw))
    first = gw.runner.run([message])[0]
    again = gw.runner.replay(message)
    assert again.outputs == first.outputs

    from velocity_stream.gateway import GatewayState

    elsewhere = pipeline.process(message, GatewayState())
    assert elsewhere.outputs == first.outputs


def test_a_rejection_in_the_rules_name_is_refused(gw):
    gw.runner.feedback = False
    gw.send(_low_risk_entity(gw))
    forged = _decision(
        gw,
        "proposal:entity:low-risk",
        proposal=_low_risk_entity(gw),
        proposal_family=ENTITY,
        decision_id=auto_decision_id(ENTITY, "proposal:entity:low-risk", "low-risk-entity"),
        reviewer_ref="rule:low-risk-entity",
        source_system="approval-rules",
        decision="REJECTED",
        decision_notes="no",
    )
    assert gw.send(forged).reason is ReasonCode.AUTH_NOT_REVIEWER
