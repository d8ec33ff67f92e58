"""The pure half of the committer: an approved change (commit record or accepted graph delta)
as an ordered list of graph changes, before any check against the stored graph.

Which proposal families change the graph, and how, is the table at the bottom (keyed by
contract model); a commit record of any other family is refused as unsupported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from velocity_stream.contracts.commit_record import CommitRecord
from velocity_stream.contracts.entity_proposal import NormalizedEntityProposal
from velocity_stream.contracts.graph_delta import ClientGraphDelta, GraphOperationKind
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.contracts.writeback import ChangeOperation, OracleWritebackProposal


class ChangeKind(StrEnum):
    CREATE_NODE = "CREATE_NODE"  # the node must not exist yet
    UPSERT_NODE = "UPSERT_NODE"  # create, or update an active node of the same type
    UPDATE_NODE = "UPDATE_NODE"  # the node must exist; each field must still hold its old value
    DELETE_NODE = "DELETE_NODE"
    MERGE_NODES = "MERGE_NODES"
    UPSERT_EDGE = "UPSERT_EDGE"
    DELETE_EDGE = "DELETE_EDGE"


@dataclass(frozen=True, slots=True)
class FieldUpdate:
    """``name`` goes from ``expected`` to ``value`` (None: absent on either side)."""

    name: str
    expected: str | None
    value: str | None


@dataclass(frozen=True, slots=True)
class GraphChange:
    kind: ChangeKind
    node_ref: str = ""
    node_type: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    updates: tuple[FieldUpdate, ...] = ()
    merged_refs: tuple[str, ...] = ()
    edge: tuple[str, str, str] | None = None  # (from_ref, to_ref, relation)


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """One approved change, applied all or nothing. ``change_id`` makes it idempotent."""

    change_id: str
    source_family: str
    proposal_ref: str | None
    decision_ref: str | None
    changes: tuple[GraphChange, ...]


def from_commit(record: CommitRecord, proposal: Artifact) -> ChangeSet | None:
    """The changes an approved proposal makes; None when its family has no graph effect."""
    function = _COMMITS.get(type(proposal))
    if function is None:
        return None
    return ChangeSet(
        change_id=record.decision_id,
        source_family=record.proposal_family,
        proposal_ref=record.proposal_id,
        decision_ref=record.decision_id,
        changes=function(proposal),
    )


def from_delta(delta: ClientGraphDelta) -> ChangeSet:
    changes: list[GraphChange] = []
    for operation in delta.operations:
        attributes = tuple(sorted(operation.attributes.items()))
        kind = operation.op
        if kind is GraphOperationKind.UPSERT_NODE:
            changes.append(
                GraphChange(
                    ChangeKind.UPSERT_NODE,
                    operation.node_ref or "",
                    operation.node_type,
                    attributes,
                )
            )
        elif kind is GraphOperationKind.DELETE_NODE:
            changes.append(GraphChange(ChangeKind.DELETE_NODE, operation.node_ref or ""))
        elif kind is GraphOperationKind.MERGE_NODES:
            changes.append(
                GraphChange(
                    ChangeKind.MERGE_NODES,
                    operation.node_ref or "",
                    merged_refs=operation.merged_refs,
                )
            )
        else:
            assert operation.edge is not None
            edge = (operation.edge.from_ref, operation.edge.to_ref, operation.edge.relation)
            edge_kind = (
                ChangeKind.UPSERT_EDGE
                if kind is GraphOperationKind.UPSERT_EDGE
                else ChangeKind.DELETE_EDGE
            )
            changes.append(GraphChange(edge_kind, attributes=attributes, edge=edge))
    return ChangeSet(
        change_id=delta.delta_id,
        source_family=delta.FAMILY,
        proposal_ref=delta.proposal_ref,
        decision_ref=delta.decision_ref,
        changes=tuple(changes),
    )


def _entity(proposal: Artifact) -> tuple[GraphChange, ...]:
    assert isinstance(proposal, NormalizedEntityProposal)
    ref = proposal.entity_ref
    upsert = GraphChange(
        ChangeKind.UPSERT_NODE,
        ref,
        proposal.entity_type.value,
        tuple(sorted(proposal.canonical_payload.items())),
    )
    if not proposal.merge_candidate_refs:
        return (upsert,)
    # The reviewer approved the proposal with its merge candidates: fold them in.
    return (
        upsert,
        GraphChange(ChangeKind.MERGE_NODES, ref, merged_refs=proposal.merge_candidate_refs),
    )


def _writeback(proposal: Artifact) -> tuple[GraphChange, ...]:
    assert isinstance(proposal, OracleWritebackProposal)
    change = proposal.proposed_change
    ref = proposal.target_entity_ref
    updates = tuple(FieldUpdate(c.field, c.from_value, c.to_value) for c in change.field_changes)
    operation = change.operation
    if operation is ChangeOperation.CREATE:
        values = tuple(sorted((u.name, u.value) for u in updates if u.value is not None))
        return (GraphChange(ChangeKind.CREATE_NODE, ref, proposal.target_domain.value, values),)
    if operation is ChangeOperation.DELETE:
        return (GraphChange(ChangeKind.DELETE_NODE, ref),)
    if operation is ChangeOperation.MERGE:
        merge = GraphChange(ChangeKind.MERGE_NODES, ref, merged_refs=change.merge_refs)
        if not updates:
            return (merge,)
        return (merge, GraphChange(ChangeKind.UPDATE_NODE, ref, updates=updates))
    return (GraphChange(ChangeKind.UPDATE_NODE, ref, updates=updates),)


_COMMITS: dict[type[Artifact], Callable[[Artifact], tuple[GraphChange, ...]]] = {
    NormalizedEntityProposal: _entity,
    OracleWritebackProposal: _writeback,
}
