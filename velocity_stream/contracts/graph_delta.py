"""ClientGraphDelta: an ordered change set for the client graph (upserts, merges, deletes).

One record type covers every operation so a delta stays a flat, ordered list that a
committer applies in one transaction; which fields an operation uses is a model rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import Field

from velocity_stream.contracts.metadata import Artifact, ContractModel, FrozenMap, StrMap
from velocity_stream.errors import ReasonCode, Violation


class GraphOperationKind(StrEnum):
    UPSERT_NODE = "UPSERT_NODE"
    UPSERT_EDGE = "UPSERT_EDGE"
    MERGE_NODES = "MERGE_NODES"
    DELETE_NODE = "DELETE_NODE"
    DELETE_EDGE = "DELETE_EDGE"


# Operations that destroy or fold identity: they need an approved decision.
DESTRUCTIVE_OPERATIONS = frozenset(
    {GraphOperationKind.MERGE_NODES, GraphOperationKind.DELETE_NODE, GraphOperationKind.DELETE_EDGE}
)


class GraphEdge(ContractModel):
    from_ref: str = Field(min_length=1)
    to_ref: str = Field(min_length=1)
    relation: str = Field(min_length=1)


class GraphOperation(ContractModel):
    """One change. MERGE_NODES folds ``merged_refs`` into the surviving ``node_ref``."""

    op: GraphOperationKind
    node_ref: str | None = None
    node_type: str | None = None
    attributes: StrMap = Field(default_factory=FrozenMap)
    edge: GraphEdge | None = None
    merged_refs: tuple[str, ...] = ()

    def shape_problems(self) -> Iterator[tuple[str, str]]:
        """``(field, problem)`` for every field the operation must or must not carry."""
        op = self.op
        uses_node = op in (
            GraphOperationKind.UPSERT_NODE,
            GraphOperationKind.MERGE_NODES,
            GraphOperationKind.DELETE_NODE,
        )
        if uses_node and not self.node_ref:
            yield "node_ref", f"{op.value} needs the ref of the node it changes"
        if not uses_node and self.node_ref is not None:
            yield "node_ref", f"{op.value} works on an edge, not a node ref"
        if op is GraphOperationKind.UPSERT_NODE and not self.node_type:
            yield "node_type", "UPSERT_NODE needs the node type"
        if not uses_node and self.node_type is not None:
            yield "node_type", f"{op.value} works on an edge, not a node type"
        if uses_node and self.edge is not None:
            yield "edge", f"{op.value} works on a node, not an edge"
        if not uses_node and self.edge is None:
            yield "edge", f"{op.value} needs the edge (from_ref, to_ref, relation)"
        if op is GraphOperationKind.MERGE_NODES:
            if not self.merged_refs:
                yield "merged_refs", "MERGE_NODES needs the refs folded into node_ref"
            elif self.node_ref in self.merged_refs:
                yield "merged_refs", "the surviving node_ref cannot also be merged away"
            elif len(set(self.merged_refs)) != len(self.merged_refs):
                yield "merged_refs", "lists a ref twice"
        elif self.merged_refs:
            yield "merged_refs", f"only MERGE_NODES folds refs, not {op.value}"
        if op in (GraphOperationKind.DELETE_NODE, GraphOperationKind.DELETE_EDGE) and (
            self.attributes
        ):
            yield "attributes", f"{op.value} removes; it sets no attributes"


class ClientGraphDelta(Artifact):
    FAMILY = "ClientGraphDelta"
    SCHEMA_VERSION = "1.0.0"

    artifact_type: str = "ClientGraphDelta"
    schema_version: str = "1.0.0"
    delta_id: str = Field(min_length=1)
    operations: tuple[GraphOperation, ...] = Field(min_length=1)
    proposal_ref: str | None = None
    decision_ref: str | None = None

    @property
    def needs_approval(self) -> bool:
        """True when any operation merges or deletes (the catalog's approval condition)."""
        return any(operation.op in DESTRUCTIVE_OPERATIONS for operation in self.operations)

    def rules(self) -> Iterator[Violation]:
        for index, operation in enumerate(self.operations):
            for field, problem in operation.shape_problems():
                yield Violation(
                    ReasonCode.CONTRACT_GRAPH_OPERATION_SHAPE,
                    f"operations.{index}.{field}",
                    problem,
                )
        # A merge or delete names the approval it comes from; the gateway then refuses it
        # anyway (catalog: approved_only_by_commit): such a change is applied only through
        # the approved proposal's commit record.
        if self.needs_approval and not self.decision_ref:
            kinds = sorted({o.op.value for o in self.operations if o.op in DESTRUCTIVE_OPERATIONS})
            yield Violation(
                ReasonCode.CONTRACT_GRAPH_APPROVAL_REQUIRED,
                "decision_ref",
                f"{', '.join(kinds)} need the ref of an approved decision",
            )
