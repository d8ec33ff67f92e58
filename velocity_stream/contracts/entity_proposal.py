"""NormalizedEntityProposal: an AI-assisted projection of imported data, before any commit."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import Field

from velocity_stream.contracts.metadata import Artifact, StrMap
from velocity_stream.errors import ReasonCode, Violation


class EntityType(StrEnum):
    """The kinds of node the client graph holds."""

    PERSON = "PERSON"
    ORGANIZATION = "ORGANIZATION"
    ACCOUNT = "ACCOUNT"
    OPPORTUNITY = "OPPORTUNITY"
    PROPERTY = "PROPERTY"
    TASK = "TASK"


class NormalizedEntityProposal(Artifact):
    """A proposed entity. It reaches the graph only through an approval or the catalog's
    low-risk auto rule; the gateway enforces that, the model keeps the proposal honest."""

    FAMILY = "NormalizedEntityProposal"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "NormalizedEntityProposal"
    schema_version: str = "1.0.0"
    proposal_id: str = Field(min_length=1)
    batch_id: str = Field(min_length=1)
    entity_type: EntityType
    entity_ref: str = Field(min_length=1)
    canonical_payload: StrMap
    merge_candidate_refs: tuple[str, ...]
    review_required: bool

    def rules(self) -> Iterator[Violation]:
        # A possible merge is a destructive decision; no auto rule may take it silently.
        if self.merge_candidate_refs and not self.review_required:
            yield Violation(
                ReasonCode.CONTRACT_ENTITY_MERGE_NEEDS_REVIEW,
                "review_required",
                f"must be true: the proposal names {len(self.merge_candidate_refs)} "
                "merge candidate(s)",
            )
