"""What a reviewer sees of one proposal, read from its fields rather than from its family name.

Any proposal family of the catalog is shown the same way: the target, the change, the
reasoning, the evidence and the confidence come from well-known field names
(``proposed_change``, ``canonical_payload``, ``reasoning_summary``, ``evidence_refs`` ...)
with the envelope's provenance as the fallback, so a new proposal family needs no code here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from velocity_stream.contracts.metadata import Artifact


@dataclass(frozen=True, slots=True)
class FieldChangeView:
    """One field of the change: ``before`` None means it had no value (or is new)."""

    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class ProposalView:
    """A proposal as the queue shows it."""

    family: str
    proposal_id: str
    artifact_id: str
    created_by: str
    created_at: datetime
    source_system: str
    confidence: float
    target_ref: str
    target_kind: str
    operation: str
    changes: tuple[FieldChangeView, ...]
    merge_refs: tuple[str, ...]
    reasoning: str
    evidence_refs: tuple[str, ...]
    method: str | None
    model: str | None


def _text(value: object) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _reasoning(artifact: Artifact) -> str:
    summary = getattr(artifact, "reasoning_summary", None)
    if isinstance(summary, str) and summary.strip():
        return summary
    provenance = artifact.provenance
    how = provenance.method or "an unnamed method"
    made_by = f" ({provenance.model})" if provenance.model else ""
    sources = len(provenance.source_refs)
    return (
        f"Proposed by {artifact.created_by} through {how}{made_by} from "
        f"{sources} source{'s' if sources != 1 else ''}."
    )


def _changes(artifact: Artifact) -> tuple[str, tuple[FieldChangeView, ...], tuple[str, ...]]:
    """(operation, field changes, merge refs) of a proposal's change, however it is spelled."""
    change = getattr(artifact, "proposed_change", None)
    if change is not None:
        rows = tuple(
            FieldChangeView(
                item.field, _optional_text(item.from_value), _optional_text(item.to_value)
            )
            for item in getattr(change, "field_changes", ())
        )
        merges = tuple(getattr(change, "merge_refs", ()))
        return _text(change.operation), rows, merges
    payload = getattr(artifact, "canonical_payload", None)
    merges = tuple(getattr(artifact, "merge_candidate_refs", ()))
    if isinstance(payload, Mapping):
        rows = tuple(
            FieldChangeView(str(name), None, _optional_text(value))
            for name, value in sorted(payload.items())
        )
        return ("MERGE" if merges else "CREATE"), rows, merges
    return "CHANGE", (), merges


def _target(artifact: Artifact) -> tuple[str, str]:
    for ref_field, kind_field in (
        ("target_entity_ref", "target_domain"),
        ("entity_ref", "entity_type"),
    ):
        ref = getattr(artifact, ref_field, None)
        if ref:
            return str(ref), _text(getattr(artifact, kind_field, "") or "")
    return "", ""


def proposal_view(family: str, proposal_id: str, artifact: Artifact) -> ProposalView:
    """The reviewer's view of a decoded, validated proposal artifact."""
    operation, changes, merges = _changes(artifact)
    target_ref, target_kind = _target(artifact)
    evidence = getattr(artifact, "evidence_refs", None)
    return ProposalView(
        family=family,
        proposal_id=proposal_id,
        artifact_id=artifact.artifact_id,
        created_by=artifact.created_by,
        created_at=artifact.created_at,
        source_system=artifact.source_system,
        confidence=artifact.confidence,
        target_ref=target_ref,
        target_kind=target_kind,
        operation=operation,
        changes=changes,
        merge_refs=merges,
        reasoning=_reasoning(artifact),
        evidence_refs=tuple(evidence) if evidence else tuple(artifact.provenance.source_refs),
        method=artifact.provenance.method,
        model=artifact.provenance.model,
    )
