"""The commit record: what the gateway tells the committers when a proposal is approved.

A record of the catalog's commits family (``[gateway] commits_family``, an internal family),
Avro-encoded in the Confluent wire format like every other record on Kafka. The proposal
travels as its original Confluent-framed bytes in a ``bytes`` field, so the committer decodes
it with the writer schema named in the frame, exactly as the gateway did. Everything in the
record comes from the decision and the proposal (no wall clock): the same approval always
yields the same bytes, so a redelivered decision can be deduplicated.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from velocity_stream.contracts.commit_record import CommitRecord, commit_id
from velocity_stream.contracts.metadata import validate_artifact

GATEWAY = "gateway"
COMMIT_METHOD = "gateway.approval"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

__all__ = ["COMMIT_METHOD", "CommitRecord", "commit_record"]


def commit_record(
    *,
    proposal_family: str,
    proposal_id: str,
    proposal_topic: str,
    proposal: bytes,
    decision_id: str,
    reviewer: str,
    decided_at_ms: int,
) -> CommitRecord:
    """The validated commit record of an approval (ContractError if one cannot be made)."""
    decided_at = _EPOCH + timedelta(milliseconds=decided_at_ms)
    return validate_artifact(
        CommitRecord,
        {
            "artifact_id": commit_id(decision_id),
            "artifact_type": CommitRecord.FAMILY,
            "schema_version": CommitRecord.SCHEMA_VERSION,
            "source_system": GATEWAY,
            "created_at": decided_at,
            "created_by": GATEWAY,
            "confidence": 1.0,
            "provenance": {
                "origin": "SYSTEM",
                "source_refs": [proposal_id, decision_id],
                "method": COMMIT_METHOD,
            },
            "proposal_id": proposal_id,
            "proposal_family": proposal_family,
            "proposal_topic": proposal_topic,
            "proposal": proposal,
            "decision_id": decision_id,
            "reviewer": reviewer,
            "decided_at": decided_at,
        },
    )
