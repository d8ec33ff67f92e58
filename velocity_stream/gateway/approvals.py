"""The approval gate: proposals wait for a decision (or a catalog auto rule), decisions commit.

Proposals and decisions meet on one partition (catalog copartition group ``approvals``:
proposals keyed by proposal id, decisions by proposal ref), so the ``proposals`` and
``decisions`` tables are read and written under the same key the input carries.

An auto-approved proposal gets an ApprovalDecision written by its rule (reviewer
``rule:<name>``, producer ``approval-rules``, id derived from the proposal id), sent to the
decision family's ingress topic like any reviewer's decision: the commit then follows the one
path every approval takes, and the audit trail shows who (which rule) decided.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from velocity_stream.contracts.approval import proposal_digest
from velocity_stream.contracts.catalog import AutoApproveRule, FieldCondition
from velocity_stream.contracts.metadata import validate_artifact
from velocity_stream.errors import ReasonCode
from velocity_stream.gateway.commits import commit_record
from velocity_stream.gateway.holding import Holding
from velocity_stream.gateway.messages import OutboundMessage, Outcome
from velocity_stream.gateway.outputs import OutputBuilder, dead_letter_outcome, with_released
from velocity_stream.gateway.routes import GatewayRoutes, ModelLookup
from velocity_stream.gateway.rules import Checked, content_digest
from velocity_stream.gateway.state import (
    DecisionRecord,
    GatewayState,
    ProposalRecord,
    held_for_proposal,
    proposal_key,
)
from velocity_stream.protocol import headers as h
from velocity_stream.protocol.decisions import (
    APPROVED,
    DECISION_AT,
    DECISION_ID,
    DECISION_NOTES,
    DECISION_OUTCOME,
    DECISION_PROPOSAL_DIGEST,
    DECISION_PROPOSAL_FAMILY,
    DECISION_PROPOSAL_REF,
    DECISION_REVIEWER,
    RULE_REVIEWER_PREFIX,
    RULE_SOURCE_SYSTEM,
    rule_reviewer,
)
from velocity_stream.protocol.routes import RouteKind
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.trust import SigningKey

# Fixed namespace of every id the gateway derives; changing it would change every auto
# decision id, so it never changes.
GATEWAY_NAMESPACE = uuid.UUID("6f1c2a53-8d0e-4b7e-9a51-3f4c0d9e2b17")


def auto_decision_id(proposal_family: str, proposal_id: str, rule: str) -> str:
    """The id of the decision an auto rule writes: the same proposal always gets the same id."""
    return str(uuid.uuid5(GATEWAY_NAMESPACE, f"decision/{proposal_family}/{proposal_id}/{rule}"))


# The decision field each refusal points at (the reviewer otherwise).
_REFUSAL_FIELDS = {
    ReasonCode.APPROVAL_ALREADY_DECIDED: DECISION_ID,
    ReasonCode.APPROVAL_PROPOSAL_CHANGED: DECISION_PROPOSAL_DIGEST,
}


def _describe(condition: FieldCondition) -> str:
    parts = []
    if condition.equals is not None:
        parts.append(f"{condition.field} is {condition.equals!r}")
    if condition.at_least is not None:
        parts.append(f"{condition.field} >= {condition.at_least}")
    if condition.empty is not None:
        parts.append(f"{condition.field} is {'empty' if condition.empty else 'not empty'}")
    return ", ".join(parts)


class Approvals:
    """The ``proposal`` and ``decision`` routes."""

    def __init__(
        self,
        routes: GatewayRoutes,
        out: OutputBuilder,
        holding: Holding,
        serde: AvroSerde,
        model_lookup: ModelLookup,
        *,
        signer: SigningKey | None = None,
    ) -> None:
        self.routes = routes
        # Signs the auto rules' decisions (signer approval-rules); without it they go out
        # unsigned and the gateway refuses them like any unsigned decision.
        self.signer = signer
        self.out = out
        self.holding = holding
        self.serde = serde
        decider = routes.decision_family
        self.decision_model = model_lookup(decider.name, decider.latest.major) if decider else None

    # --- proposals ------------------------------------------------------------------------

    def proposal(self, c: Checked, state: GatewayState) -> Outcome:
        family = c.plan.family
        key = proposal_key(family.name, c.key)
        waiting = held_for_proposal(family.name, c.key)
        rule = self._rule_that_holds(c)
        digest = content_digest(c.record)
        known = state.proposal(key)
        if known is not None:
            if known.origin == c.message.coordinates:
                return with_released(
                    self._proposal_outcome(c, rule), self.holding.rerelease(state, waiting)
                )
            if known.digest == digest:
                return Outcome(
                    RouteKind.DUPLICATE,
                    (),
                    None,
                    c.message,
                    c.artifact_id,
                    f"{family.name} {c.key!r} was already received with this content",
                )
            return dead_letter_outcome(
                self.out,
                c.message,
                ReasonCode.APPROVAL_PROPOSAL_CONFLICT,
                f"{family.name} {c.key!r} was already received with other content",
                family.key_field,
                c.artifact_id,
            )
        outcome = self._proposal_outcome(c, rule)
        state.remember_proposal(
            key,
            ProposalRecord(
                family=family.name,
                proposal_id=c.key,
                created_by=c.artifact.created_by,
                rule=rule.name if rule else None,
                digest=digest,
                origin=c.message.coordinates,
                value=c.message.value or b"",
            ),
        )
        return with_released(outcome, self.holding.release(state, waiting))

    def _rule_that_holds(self, c: Checked) -> AutoApproveRule | None:
        rule = c.plan.family.auto_approve
        if rule is None:
            return None
        if all(condition.holds(c.field(condition.field)) for condition in rule.when):
            return rule
        return None

    def _proposal_outcome(self, c: Checked, rule: AutoApproveRule | None) -> Outcome:
        family = c.plan.family.name
        if rule is None:
            pending = self.out.forward(
                c.message,
                self.routes.approvals_topic,
                RouteKind.PENDING_APPROVAL,
                c.artifact_id,
                family,
                ((h.APPROVAL_STATE, h.APPROVAL_STATE_PENDING),),
            )
            return Outcome(RouteKind.PENDING_APPROVAL, (pending,), None, c.message, c.artifact_id)
        extra = (
            (h.APPROVAL_STATE, h.APPROVAL_STATE_AUTO_APPROVED),
            (h.APPROVAL_RULE, rule.name.encode("utf-8")),
        )
        proposal = self.out.forward(
            c.message,
            self.routes.approvals_topic,
            RouteKind.AUTO_APPROVED,
            c.artifact_id,
            family,
            extra,
        )
        outputs = (proposal, self._auto_decision(c, rule))
        return Outcome(
            RouteKind.AUTO_APPROVED,
            outputs,
            None,
            c.message,
            c.artifact_id,
            f"approved by rule {rule.name}",
        )

    def _auto_decision(self, c: Checked, rule: AutoApproveRule) -> OutboundMessage:
        """The rule's ApprovalDecision, built only from the proposal: same input, same bytes."""
        decider = self.routes.decision_family
        model = self.decision_model
        assert decider is not None and model is not None and self.routes.decision_ingress
        family = c.plan.family.name
        decision_id = auto_decision_id(family, c.key, rule.name)
        # Times come from the proposal message, never the wall clock (deterministic bytes).
        at = datetime.fromtimestamp(c.message.timestamp_ms / 1000, tz=UTC)
        reviewer = rule_reviewer(rule.name)
        conditions = "; ".join(_describe(condition) for condition in rule.when)
        data = {
            "artifact_id": str(uuid.uuid5(GATEWAY_NAMESPACE, f"artifact/{decision_id}")),
            "artifact_type": model.FAMILY,
            "schema_version": model.SCHEMA_VERSION,
            "source_system": RULE_SOURCE_SYSTEM,
            "created_at": at,
            "created_by": reviewer,
            "confidence": 1.0,
            "provenance": {
                "origin": "SYSTEM",
                "source_refs": [c.key],
                "method": f"auto-approve rule {rule.name}",
                "model": None,
            },
            DECISION_ID: decision_id,
            DECISION_PROPOSAL_REF: c.key,
            DECISION_PROPOSAL_FAMILY: family,
            DECISION_REVIEWER: reviewer,
            DECISION_OUTCOME: APPROVED,
            DECISION_NOTES: f"approved by rule {rule.name}: {conditions}",
            DECISION_AT: at,
        }
        if DECISION_PROPOSAL_DIGEST in model.model_fields:
            data[DECISION_PROPOSAL_DIGEST] = proposal_digest(c.message.value or b"")
        artifact = validate_artifact(model, data)
        headers = (
            *self.out.gateway_headers(
                c.message, RouteKind.AUTO_APPROVED, artifact.artifact_id, decider.name
            ),
            (h.APPROVAL_RULE, rule.name.encode("utf-8")),
        )
        topic = self.routes.decision_ingress
        key = c.key.encode("utf-8")
        value = self.serde.encode(artifact)
        if self.signer is not None:
            # Ed25519 is deterministic: a redelivered proposal gets the same signature bytes.
            headers = (*headers, *self.signer.headers(topic, key, value))
        return OutboundMessage(topic=topic, key=key, value=value, headers=headers, source=c.message)

    # --- decisions ------------------------------------------------------------------------

    def decision(self, c: Checked, state: GatewayState) -> Outcome:
        proposal_ref = str(c.field(DECISION_PROPOSAL_REF))
        proposal_family = str(c.field(DECISION_PROPOSAL_FAMILY))
        decision_id = str(c.field(DECISION_ID))
        reviewer = str(c.field(DECISION_REVIEWER))
        approved = str(c.field(DECISION_OUTCOME)) == APPROVED
        key = proposal_key(proposal_family, proposal_ref)
        proposal = state.proposal(key)
        if proposal is None:
            return self.holding.hold(
                c.message,
                state,
                held_for_proposal(proposal_family, proposal_ref),
                proposal_ref,
                ReasonCode.APPROVAL_UNKNOWN_PROPOSAL,
                c.artifact_id,
            )
        digest = content_digest(c.record)
        decided = state.decision(key)
        if decided is not None:
            if decided.decision_id == decision_id and decided.digest == digest:
                if decided.origin == c.message.coordinates:
                    return self._applied(c, proposal, approved, decision_id, reviewer)
                return Outcome(
                    RouteKind.DUPLICATE,
                    (),
                    None,
                    c.message,
                    c.artifact_id,
                    f"decision {decision_id!r} was already applied",
                )
            return self._refuse(
                c,
                ReasonCode.APPROVAL_ALREADY_DECIDED,
                f"{proposal_family} {proposal_ref!r} was already decided by "
                f"{decided.decision_id!r} ({decided.reviewer})",
            )
        refusal = self._authorize(c, proposal, decision_id, reviewer, approved)
        if refusal is not None:
            return refusal
        seen = getattr(c.artifact, DECISION_PROPOSAL_DIGEST, None)
        if seen is not None and seen != proposal_digest(proposal.value):
            return self._refuse(
                c,
                ReasonCode.APPROVAL_PROPOSAL_CHANGED,
                f"the decision is about other content than {proposal.family} "
                f"{proposal.proposal_id!r} holds (proposal_digest {seen[:12]}..., held "
                f"{proposal_digest(proposal.value)[:12]}...)",
            )
        state.remember_decision(
            key,
            DecisionRecord(decision_id, approved, reviewer, digest, c.message.coordinates),
        )
        return self._applied(c, proposal, approved, decision_id, reviewer)

    def _authorize(
        self,
        c: Checked,
        proposal: ProposalRecord,
        decision_id: str,
        reviewer: str,
        approved: bool,
    ) -> Outcome | None:
        by_rule = reviewer.startswith(RULE_REVIEWER_PREFIX)
        if by_rule != (c.artifact.source_system == RULE_SOURCE_SYSTEM):
            return self._refuse(
                c,
                ReasonCode.AUTH_NOT_REVIEWER,
                f"reviewer {reviewer!r} cannot decide through {c.artifact.source_system!r}: "
                f"rules decide only through {RULE_SOURCE_SYSTEM!r}, and only they do",
            )
        if proposal.rule is not None:
            # Decided by its rule on arrival: only that rule's own decision records it.
            expected = auto_decision_id(proposal.family, proposal.proposal_id, proposal.rule)
            if reviewer == rule_reviewer(proposal.rule) and decision_id == expected and approved:
                return None
            if by_rule or reviewer not in self.routes.reviewers:
                return self._refuse(
                    c,
                    ReasonCode.AUTH_NOT_REVIEWER,
                    f"{reviewer!r} is not a reviewer of {proposal.family} "
                    f"{proposal.proposal_id!r} (approved by rule {proposal.rule})",
                )
            return self._refuse(
                c,
                ReasonCode.APPROVAL_ALREADY_DECIDED,
                f"{proposal.family} {proposal.proposal_id!r} was approved by rule "
                f"{proposal.rule} on arrival",
            )
        if reviewer not in self.routes.reviewers:
            return self._refuse(
                c,
                ReasonCode.AUTH_NOT_REVIEWER,
                f"{reviewer!r} is not one of the catalog's reviewers",
            )
        if reviewer == proposal.created_by:
            return self._refuse(
                c,
                ReasonCode.AUTH_SELF_APPROVAL,
                f"{reviewer!r} created {proposal.family} {proposal.proposal_id!r} and "
                "cannot also decide it",
            )
        return None

    def _applied(
        self,
        c: Checked,
        proposal: ProposalRecord,
        approved: bool,
        decision_id: str,
        reviewer: str,
    ) -> Outcome:
        outputs = [
            self.out.forward(
                c.message,
                c.plan.accepted_topic,
                RouteKind.DECISION_APPLIED,
                c.artifact_id,
                c.plan.family.name,
            )
        ]
        if approved:
            decided_at = c.field(DECISION_AT)
            at_ms = (
                int(decided_at.timestamp() * 1000)
                if isinstance(decided_at, datetime)
                else c.message.timestamp_ms
            )
            record = commit_record(
                proposal_family=proposal.family,
                proposal_id=proposal.proposal_id,
                proposal_topic=proposal.origin[0],
                proposal=proposal.value,
                decision_id=decision_id,
                reviewer=reviewer,
                decided_at_ms=at_ms,
            )
            value = self.serde.encode(record)
            outputs.append(
                self.out.commit(c.message, record, value, c.artifact_id, c.plan.family.name)
            )
        verdict = "approved" if approved else "rejected"
        return Outcome(
            RouteKind.DECISION_APPLIED,
            tuple(outputs),
            None,
            c.message,
            c.artifact_id,
            f"{proposal.family} {proposal.proposal_id!r} {verdict} by {reviewer}",
        )

    def _refuse(self, c: Checked, reason: ReasonCode, text: str) -> Outcome:
        field = _REFUSAL_FIELDS.get(reason, DECISION_REVIEWER)
        return dead_letter_outcome(self.out, c.message, reason, text, field, c.artifact_id)
