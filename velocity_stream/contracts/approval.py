"""ApprovalDecision: the explicit outcome of reviewing one proposal; an immutable audit record."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import Field

from velocity_stream.contracts.metadata import Artifact, Timestamp
from velocity_stream.errors import ReasonCode, Violation


class DecisionOutcome(StrEnum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ApprovalDecision(Artifact):
    """One decision per proposal; that there is only one is the gateway's (stateful) rule."""

    FAMILY = "ApprovalDecision"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "ApprovalDecision"
    schema_version: str = "1.0.0"
    decision_id: str = Field(min_length=1)
    proposal_ref: str = Field(min_length=1)
    proposal_family: str = Field(min_length=1)
    reviewer_ref: str = Field(min_length=1)
    decision: DecisionOutcome
    decision_notes: str
    decided_at: Timestamp

    @property
    def approved(self) -> bool:
        return self.decision is DecisionOutcome.APPROVED

    def rules(self) -> Iterator[Violation]:
        # The proposer reads the notes to learn why; a bare "no" is not an audit record.
        if self.decision is DecisionOutcome.REJECTED and not self.decision_notes.strip():
            yield Violation(
                ReasonCode.CONTRACT_DECISION_NOTES_REQUIRED,
                "decision_notes",
                "a rejection says why",
            )
