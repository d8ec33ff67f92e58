"""OracleWritebackProposal: an AI-suggested change to the CRM, which is never committed state."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import Field

from velocity_stream.contracts.metadata import Artifact, ContractModel, ProvenanceOrigin
from velocity_stream.errors import ReasonCode, Violation


class WritebackDomain(StrEnum):
    CLIENT = "CLIENT"
    OPPORTUNITY = "OPPORTUNITY"
    PROPERTY = "PROPERTY"
    TASK = "TASK"
    INTERACTION = "INTERACTION"


class ChangeOperation(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    MERGE = "MERGE"
    DELETE = "DELETE"


class FieldChange(ContractModel):
    """One field's value before and after; ``None`` means absent."""

    field: str = Field(min_length=1)
    from_value: str | None = None
    to_value: str | None = None


class ProposedChange(ContractModel):
    operation: ChangeOperation
    field_changes: tuple[FieldChange, ...]
    merge_refs: tuple[str, ...] = ()

    def shape_problems(self) -> Iterator[tuple[str, str]]:
        """``(path inside the change, problem)`` for a change that says less or more than
        its operation means."""
        op = self.operation
        if op is ChangeOperation.UPDATE and not self.field_changes:
            yield "field_changes", "an UPDATE changes at least one field"
        if op is ChangeOperation.DELETE and self.field_changes:
            yield "field_changes", "a DELETE removes the entity; it changes no fields"
        if op is ChangeOperation.MERGE and not self.merge_refs:
            yield "merge_refs", "a MERGE names the refs folded into the target entity"
        if op is not ChangeOperation.MERGE and self.merge_refs:
            yield "merge_refs", f"only a MERGE folds refs, not {op.value}"
        seen: set[str] = set()
        for index, change in enumerate(self.field_changes):
            if change.field in seen:
                yield f"field_changes.{index}.field", f"{change.field!r} is changed twice"
            seen.add(change.field)
            if op is ChangeOperation.CREATE and change.from_value is not None:
                yield (
                    f"field_changes.{index}.from_value",
                    "a CREATE has no previous value",
                )


class OracleWritebackProposal(Artifact):
    FAMILY = "OracleWritebackProposal"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "OracleWritebackProposal"
    schema_version: str = "1.0.0"
    proposal_id: str = Field(min_length=1)
    target_domain: WritebackDomain
    target_entity_ref: str = Field(min_length=1)
    proposed_change: ProposedChange
    reasoning_summary: str = Field(min_length=1)
    evidence_refs: tuple[str, ...]
    approval_required: bool = True

    def rules(self) -> Iterator[Violation]:
        # A proposal that waives its approval would be committed state in disguise.
        if not self.approval_required:
            yield Violation(
                ReasonCode.CONTRACT_WRITEBACK_APPROVAL_REQUIRED,
                "approval_required",
                "must be true: a writeback proposal is committed only through an approval",
            )
        if not self.evidence_refs:
            yield Violation(
                ReasonCode.CONTRACT_WRITEBACK_EVIDENCE_REQUIRED,
                "evidence_refs",
                "a writeback proposal names the evidence it reasons from",
            )
        if self.provenance.origin is not ProvenanceOrigin.AI:
            yield Violation(
                ReasonCode.CONTRACT_WRITEBACK_NOT_AI,
                "provenance.origin",
                f"is {self.provenance.origin.value}; writeback proposals come from the AI "
                "(human changes go through the CRM, not this family)",
            )
        for path, problem in self.proposed_change.shape_problems():
            yield Violation(
                ReasonCode.CONTRACT_WRITEBACK_CHANGE_SHAPE, f"proposed_change.{path}", problem
            )
