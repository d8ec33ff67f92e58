"""CommitRecord: an approved change, written by the gateway for the committers (an internal
family: it never goes through the gateway, its readers check it themselves).

The gateway writes one when a decision approves a proposal: the proposal's original bytes
(Confluent framing included, so a reader decodes them with the writer schema named in the
frame, exactly as the gateway did), the topic they arrived on, and the decision. Everything in
it comes from the decision and the proposal, never the wall clock: the same approval always
gives the same record, so a redelivered decision is deduplicated by its artifact id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import ConfigDict, Field

from velocity_stream.contracts.metadata import Artifact, ProvenanceOrigin, Timestamp
from velocity_stream.errors import ReasonCode, Violation

COMMIT_PREFIX = "commit:"
_REVIEWER_KINDS = ("human:", "rule:")


def commit_id(decision_id: str) -> str:
    """The artifact id of the commit record of ``decision_id``: one per approval."""
    return f"{COMMIT_PREFIX}{decision_id}"


class CommitRecord(Artifact):
    """The proposal (family, id, topic, bytes) an approval applies to, and the decision."""

    FAMILY = "CommitRecord"
    SCHEMA_VERSION = "1.0.0"

    # The proposal bytes are base64 in JSON (``example``, ``validate``), raw bytes in Avro.
    model_config: ClassVar[ConfigDict] = ConfigDict(
        **Artifact.model_config, ser_json_bytes="base64", val_json_bytes="base64"
    )

    artifact_type: str = "CommitRecord"
    schema_version: str = "1.0.0"
    proposal_id: str = Field(min_length=1)
    proposal_family: str = Field(min_length=1)
    proposal_topic: str = Field(min_length=1)
    proposal: bytes = Field(min_length=1)
    decision_id: str = Field(min_length=1)
    reviewer: str = Field(min_length=1)
    decided_at: Timestamp

    @property
    def decided_at_ms(self) -> int:
        return int(self.decided_at.timestamp() * 1000)

    def rules(self) -> Iterator[Violation]:
        if self.artifact_id != commit_id(self.decision_id):
            yield Violation(
                ReasonCode.CONTRACT_COMMIT_ID_MISMATCH,
                "artifact_id",
                f"is {self.artifact_id!r}; a commit record's id is "
                f"{commit_id(self.decision_id)!r} (one per approval)",
            )
        if not self.reviewer.startswith(_REVIEWER_KINDS):
            yield Violation(
                ReasonCode.CONTRACT_COMMIT_REVIEWER_KIND,
                "reviewer",
                f"{self.reviewer!r} is neither a person (human:<name>) nor an auto rule "
                "(rule:<name>)",
            )
        if self.provenance.origin is not ProvenanceOrigin.SYSTEM:
            yield Violation(
                ReasonCode.CONTRACT_COMMIT_PROVENANCE,
                "provenance.origin",
                f"the gateway writes commit records: SYSTEM, not {self.provenance.origin.value}",
            )
