"""ApprovalDecision: the explicit outcome of reviewing one proposal; an immutable audit record.

Who may decide is part of the contract: a person (``human:<name>``) or an auto rule
(``rule:<name>``), never an AI or another system; the record's author (``created_by``) is the
reviewer, and its provenance says which kind of actor that is. A person's decision also names
the exact proposal bytes they reviewed (``proposal_digest``), so an approval never carries
over to content the reviewer did not see. That the decision was really made by the review app
for that reviewer is the signature's job (docs/security.md), checked by the gateway.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from enum import StrEnum

from pydantic import Field

from velocity_stream.contracts.metadata import Artifact, ProvenanceOrigin, Timestamp
from velocity_stream.errors import ReasonCode, Violation

HUMAN_PREFIX = "human:"
RULE_PREFIX = "rule:"
_DIGEST = re.compile(r"[0-9a-f]{64}")


def proposal_digest(value: bytes) -> str:
    """What a decision's ``proposal_digest`` holds: hex SHA-256 of the proposal's message value
    (Confluent framing included), the bytes the gateway forwards to the approvals topic."""
    return hashlib.sha256(value).hexdigest()


class DecisionOutcome(StrEnum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ApprovalDecision(Artifact):
    """One decision per proposal; that there is only one is the gateway's (stateful) rule."""

    FAMILY = "ApprovalDecision"
    SCHEMA_VERSION = "1.1.0"

    artifact_type: str = "ApprovalDecision"
    schema_version: str = "1.1.0"
    decision_id: str = Field(min_length=1)
    proposal_ref: str = Field(min_length=1)
    proposal_family: str = Field(min_length=1)
    reviewer_ref: str = Field(min_length=1)
    decision: DecisionOutcome
    decision_notes: str
    decided_at: Timestamp
    proposal_digest: str | None = None

    @property
    def approved(self) -> bool:
        return self.decision is DecisionOutcome.APPROVED

    @property
    def by_person(self) -> bool:
        return self.reviewer_ref.startswith(HUMAN_PREFIX)

    @property
    def by_rule(self) -> bool:
        return self.reviewer_ref.startswith(RULE_PREFIX)

    def rules(self) -> Iterator[Violation]:
        # The proposer reads the notes to learn why; a bare "no" is not an audit record.
        if self.decision is DecisionOutcome.REJECTED and not self.decision_notes.strip():
            yield Violation(
                ReasonCode.CONTRACT_DECISION_NOTES_REQUIRED,
                "decision_notes",
                "a rejection says why",
            )
        yield from self._actor_rules()

    def _actor_rules(self) -> Iterator[Violation]:
        reviewer = self.reviewer_ref
        if self.created_by != reviewer:
            yield Violation(
                ReasonCode.CONTRACT_DECISION_ACTOR_MISMATCH,
                "created_by",
                f"a decision is authored by its reviewer {reviewer!r}, not {self.created_by!r}",
            )
        if self.by_person:
            expected = ProvenanceOrigin.HUMAN
        elif self.by_rule:
            expected = ProvenanceOrigin.SYSTEM
        else:
            yield Violation(
                ReasonCode.CONTRACT_DECISION_REVIEWER_KIND,
                "reviewer_ref",
                f"{reviewer!r} is neither a person ({HUMAN_PREFIX}<name>) nor an auto rule "
                f"({RULE_PREFIX}<name>); an AI or system actor never decides",
            )
            return
        if self.provenance.origin is not expected:
            yield Violation(
                ReasonCode.CONTRACT_DECISION_PROVENANCE,
                "provenance.origin",
                f"a decision by {reviewer!r} has provenance {expected.value}, "
                f"not {self.provenance.origin.value}",
            )
        digest = self.proposal_digest
        if digest is not None and not _DIGEST.fullmatch(digest):
            yield Violation(
                ReasonCode.CONTRACT_DECISION_DIGEST_REQUIRED,
                "proposal_digest",
                "is not a lowercase hex SHA-256 (64 characters)",
            )
        elif digest is None and self.by_person:
            yield Violation(
                ReasonCode.CONTRACT_DECISION_DIGEST_REQUIRED,
                "proposal_digest",
                "a person's decision names the SHA-256 of the proposal bytes they reviewed",
            )
