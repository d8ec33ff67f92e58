"""Client360Snapshot: the derived read model of one client, for the UI and Oracle."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import Field

from velocity_stream.contracts.metadata import Artifact, ContractModel, ProvenanceOrigin, Timestamp
from velocity_stream.errors import ReasonCode, Violation


class RiskSeverity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class ClientIdentity(ContractModel):
    display_name: str = Field(min_length=1)
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    entity_refs: tuple[str, ...]


class AccountLink(ContractModel):
    system: str = Field(min_length=1)
    external_ref: str = Field(min_length=1)


class ActiveOpportunity(ContractModel):
    opportunity_ref: str = Field(min_length=1)
    title: str
    stage: str
    amount: float | None = None


class RecentInteraction(ContractModel):
    bundle_ref: str = Field(min_length=1)
    # A string, not the InteractionChannel enum: the snapshot is FORWARD_TRANSITIVE and old
    # readers must survive a channel added to InteractionBundle later.
    channel: str
    occurred_at: Timestamp
    summary: str | None = None


class PropertyInterest(ContractModel):
    property_ref: str = Field(min_length=1)
    interest_level: str
    note: str | None = None


class ClientTask(ContractModel):
    task_ref: str = Field(min_length=1)
    title: str
    status: str
    due_at: Timestamp | None = None


class QdScore(ContractModel):
    score_type: str = Field(min_length=1)
    value: float
    window_end: Timestamp
    signal_ref: str = Field(min_length=1)


class RiskFlag(ContractModel):
    code: str = Field(min_length=1)
    severity: RiskSeverity
    evidence_refs: tuple[str, ...]


class Client360Snapshot(Artifact):
    FAMILY = "Client360Snapshot"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "Client360Snapshot"
    schema_version: str = "1.0.0"
    client_ref: str = Field(min_length=1)
    as_of: Timestamp
    identity: ClientIdentity
    account_links: tuple[AccountLink, ...]
    active_opportunities: tuple[ActiveOpportunity, ...]
    recent_interactions: tuple[RecentInteraction, ...]
    property_interests: tuple[PropertyInterest, ...]
    tasks: tuple[ClientTask, ...]
    qd_overview: tuple[QdScore, ...]
    risk_flags: tuple[RiskFlag, ...]

    def rules(self) -> Iterator[Violation]:
        # A snapshot that claims any other origin would pose as a source of truth. That a
        # DERIVED snapshot names its sources is the envelope's provenance_refs_required.
        if self.provenance.origin is not ProvenanceOrigin.DERIVED:
            yield Violation(
                ReasonCode.CONTRACT_SNAPSHOT_NOT_DERIVED,
                "provenance.origin",
                f"is {self.provenance.origin.value}; a snapshot is DERIVED from its sources",
            )
