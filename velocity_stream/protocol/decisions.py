"""The decision route's vocabulary, typed from the ApprovalDecision contract.

A family with route "decision" carries these fields; the gateway reads the first five and
writes all of them when an auto rule decides, the review app writes them for a reviewer and
folds them back into its queue. The outcome is the contract's :class:`DecisionOutcome`, not
a bare string (it is a ``StrEnum``, so it still compares equal to the text on the wire).
"""

from __future__ import annotations

from typing import Final

from velocity_stream.contracts.approval import HUMAN_PREFIX, RULE_PREFIX, DecisionOutcome

DECISION_ID = "decision_id"
DECISION_PROPOSAL_REF = "proposal_ref"
DECISION_PROPOSAL_FAMILY = "proposal_family"
DECISION_REVIEWER = "reviewer_ref"
DECISION_OUTCOME = "decision"
DECISION_NOTES = "decision_notes"
DECISION_AT = "decided_at"
# Optional in the protocol: the digest of the proposal bytes the reviewer saw; when a decision
# carries it, it must be the digest of the proposal the gateway holds.
DECISION_PROPOSAL_DIGEST = "proposal_digest"
DECISION_FIELDS = (
    DECISION_ID,
    DECISION_PROPOSAL_REF,
    DECISION_PROPOSAL_FAMILY,
    DECISION_REVIEWER,
    DECISION_OUTCOME,
    DECISION_NOTES,
    DECISION_AT,
)
APPROVED: Final = DecisionOutcome.APPROVED
REJECTED: Final = DecisionOutcome.REJECTED

# Auto rules decide as this producer and as reviewer ``rule:<name>``; people as ``human:<name>``.
RULE_SOURCE_SYSTEM = "approval-rules"
RULE_REVIEWER_PREFIX: Final = RULE_PREFIX
HUMAN_REVIEWER_PREFIX: Final = HUMAN_PREFIX


def rule_reviewer(rule: str) -> str:
    return f"{RULE_REVIEWER_PREFIX}{rule}"


def outcome_of(value: object) -> DecisionOutcome | None:
    """The decision field's value as the contract's outcome; None for anything else."""
    try:
        return DecisionOutcome(str(value))
    except ValueError:
        return None


__all__ = [
    "APPROVED",
    "DECISION_AT",
    "DECISION_FIELDS",
    "DECISION_ID",
    "DECISION_NOTES",
    "DECISION_OUTCOME",
    "DECISION_PROPOSAL_DIGEST",
    "DECISION_PROPOSAL_FAMILY",
    "DECISION_PROPOSAL_REF",
    "DECISION_REVIEWER",
    "HUMAN_REVIEWER_PREFIX",
    "REJECTED",
    "RULE_REVIEWER_PREFIX",
    "RULE_SOURCE_SYSTEM",
    "DecisionOutcome",
    "outcome_of",
    "rule_reviewer",
]
