"""DlqReplayAudit: one replayed dead letter, as ``dlq replay`` records it (an internal family:
the DLQ operator's tools write it and read it back; the gateway never sees it).

The record is the replay tool's memory too: a dead letter with an audit record is skipped by
later replays unless forced (velocity_stream/dlq/audit.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from velocity_stream.contracts.metadata import Artifact, ContractModel, Timestamp
from velocity_stream.errors import ReasonCode, Violation


class RecordCoordinates(ContractModel):
    """Where a Kafka record is: topic, partition, offset."""

    topic: str = Field(min_length=1)
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)

    @property
    def ref(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


def replay_audit_id(replay_id: str, dead_letter_ref: str) -> str:
    """The artifact id of the audit record of one dead letter in one replay run."""
    return f"replay:{replay_id}:{dead_letter_ref}"


class DlqReplayAudit(Artifact):
    """What was replayed, where it went, by whom and when, and whether it was forced."""

    FAMILY = "DlqReplayAudit"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "DlqReplayAudit"
    schema_version: str = "1.0.0"
    dead_letter_ref: str = Field(min_length=1)
    replay_id: str = Field(min_length=1)
    operator: str = Field(min_length=1)
    replayed_at: Timestamp
    dead_letter: RecordCoordinates
    reason: str = Field(min_length=1)
    family: str | None = None
    replayed_artifact_id: str | None = None
    source: RecordCoordinates | None = None
    target: RecordCoordinates
    forced: bool
    filter: str
    host: str
    tool_version: str

    def rules(self) -> Iterator[Violation]:
        if self.dead_letter_ref != self.dead_letter.ref:
            yield Violation(
                ReasonCode.CONTRACT_AUDIT_REF_MISMATCH,
                "dead_letter_ref",
                f"is {self.dead_letter_ref!r}, the dead letter is at {self.dead_letter.ref!r}",
            )
        wanted = replay_audit_id(self.replay_id, self.dead_letter.ref)
        if self.artifact_id != wanted:
            yield Violation(
                ReasonCode.CONTRACT_AUDIT_REF_MISMATCH,
                "artifact_id",
                f"is {self.artifact_id!r}; this audit record's id is {wanted!r}",
            )
