"""The pure half of the read model: one artifact (or approved commit) in, its facts out.

Which families feed the snapshot is the table at the bottom, keyed by contract model; the
runner subscribes to exactly those families' accepted topics plus the commits topic. Nothing
here reads a clock or the database: the same artifact always projects to the same facts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from consumers.client360.facts import (
    AttributeFact,
    EdgeFact,
    InteractionFact,
    MergeFact,
    NodeFact,
    Projection,
    SignalFact,
    stamp,
    to_micros,
)
from consumers.reading import commit_event_id
from velocity_stream.contracts.entity_proposal import NormalizedEntityProposal
from velocity_stream.contracts.graph_delta import ClientGraphDelta, GraphOperationKind
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.contracts.qd_signal import QdSignalBundle
from velocity_stream.contracts.writeback import ChangeOperation, OracleWritebackProposal
from velocity_stream.gateway.commits import CommitRecord

# The node type that makes a graph node a client of its own (writeback domain CLIENT).
CLIENT_NODE_TYPE = "CLIENT"


def project(artifact: Artifact) -> Projection | None:
    """The facts of an accepted artifact; None for a family the read model does not use."""
    function = _ARTIFACTS.get(type(artifact))
    return function(artifact) if function is not None else None


def project_commit(record: CommitRecord, proposal: Artifact) -> Projection | None:
    """The facts of an approved proposal; None for a proposal family with no graph effect."""
    function = _COMMITS.get(type(proposal))
    return function(record, proposal) if function is not None else None


def projected_families() -> tuple[str, ...]:
    """Families whose accepted topics feed the read model."""
    return tuple(sorted(model.FAMILY for model in _ARTIFACTS))


# --- accepted artifacts -------------------------------------------------------------------


def _interaction(artifact: Artifact) -> Projection:
    assert isinstance(artifact, InteractionBundle)
    # The bundle carries no separate occurrence time: it is created when the thread is cut.
    fact = InteractionFact(
        client_ref=artifact.client_ref,
        bundle_ref=artifact.bundle_id,
        channel=artifact.channel.value,
        occurred_us=to_micros(artifact.created_at),
        summary=artifact.summary,
        stamp=stamp(artifact.created_at, artifact.artifact_id),
    )
    return Projection(artifact.artifact_id, artifact.FAMILY, interactions=(fact,))


def _signal(artifact: Artifact) -> Projection:
    assert isinstance(artifact, QdSignalBundle)
    fact = SignalFact(
        client_ref=artifact.client_ref,
        signal_ref=artifact.signal_id,
        score_type=artifact.score_type,
        value=artifact.value,
        window_end_us=to_micros(artifact.time_window.end),
        evidence_refs=tuple(sorted(set(artifact.supporting_evidence_refs))),
        operator_only=not artifact.supporting_evidence_refs,
        stamp=stamp(artifact.created_at, artifact.artifact_id),
    )
    return Projection(artifact.artifact_id, artifact.FAMILY, signals=(fact,))


def _graph_delta(artifact: Artifact) -> Projection:
    assert isinstance(artifact, ClientGraphDelta)
    builder = _FactBuilder(artifact.created_at, artifact.artifact_id, artifact.delta_id)
    for operation in artifact.operations:
        kind = operation.op
        if kind is GraphOperationKind.UPSERT_NODE:
            assert operation.node_ref is not None
            builder.node(operation.node_ref, operation.node_type, live=True)
            builder.attributes(operation.node_ref, operation.attributes)
        elif kind is GraphOperationKind.DELETE_NODE:
            assert operation.node_ref is not None
            builder.node(operation.node_ref, None, live=False)
        elif kind is GraphOperationKind.MERGE_NODES:
            assert operation.node_ref is not None
            builder.merge(operation.node_ref, operation.merged_refs)
        else:
            assert operation.edge is not None
            edge = operation.edge
            live = kind is GraphOperationKind.UPSERT_EDGE
            builder.edge(edge.from_ref, edge.to_ref, edge.relation, live, operation.attributes)
    return builder.projection(artifact.FAMILY)


# --- approved proposals (commit records) --------------------------------------------------


def _commit_builder(record: CommitRecord) -> _FactBuilder:
    # The decision time orders approved changes; the decision id breaks ties.
    decided = datetime.fromtimestamp(record.decided_at_ms / 1000, tz=UTC)
    return _FactBuilder(decided, commit_event_id(record), record.decision_id)


def _entity_commit(record: CommitRecord, artifact: Artifact) -> Projection:
    assert isinstance(artifact, NormalizedEntityProposal)
    builder = _commit_builder(record)
    builder.node(artifact.entity_ref, artifact.entity_type.value, live=True)
    builder.attributes(artifact.entity_ref, artifact.canonical_payload)
    # Approving a proposal with merge candidates approves folding them into the entity.
    builder.merge(artifact.entity_ref, artifact.merge_candidate_refs)
    return builder.projection(record.proposal_family)


def _writeback_commit(record: CommitRecord, artifact: Artifact) -> Projection:
    assert isinstance(artifact, OracleWritebackProposal)
    builder = _commit_builder(record)
    change = artifact.proposed_change
    target = artifact.target_entity_ref
    if change.operation is ChangeOperation.DELETE:
        builder.node(target, None, live=False)
    else:
        if change.operation is ChangeOperation.CREATE:
            builder.node(target, artifact.target_domain.value, live=True)
        if change.operation is ChangeOperation.MERGE:
            builder.merge(target, change.merge_refs)
        builder.attributes(target, {c.field: c.to_value for c in change.field_changes})
    return builder.projection(record.proposal_family)


class _FactBuilder:
    """Collects one event's facts, numbering them so a later operation beats an earlier one."""

    def __init__(self, event_time: datetime, event_id: str, source_ref: str) -> None:
        self.event_time = event_time
        self.event_id = event_id
        self.source_ref = source_ref
        self.index = 0
        self.clients: list[str] = []
        self.nodes: list[NodeFact] = []
        self.attrs: list[AttributeFact] = []
        self.edges: list[EdgeFact] = []
        self.merges: list[MergeFact] = []

    def _next(self) -> str:
        self.index += 1
        return stamp(self.event_time, self.event_id, self.index)

    def node(self, ref: str, node_type: str | None, *, live: bool) -> None:
        self.nodes.append(NodeFact(ref, node_type, live, self._next(), self.source_ref))
        if node_type == CLIENT_NODE_TYPE:
            self.clients.append(ref)

    def attributes(self, ref: str, values: dict[str, str] | dict[str, str | None]) -> None:
        at = self._next()
        for name in sorted(values):
            self.attrs.append(AttributeFact(ref, name, values[name], at, self.source_ref))

    def edge(
        self, from_ref: str, to_ref: str, relation: str, live: bool, attrs: dict[str, str]
    ) -> None:
        attributes = tuple(sorted(attrs.items())) if live else ()
        self.edges.append(
            EdgeFact(from_ref, to_ref, relation, live, attributes, self._next(), self.source_ref)
        )

    def merge(self, into_ref: str, merged_refs: tuple[str, ...]) -> None:
        for merged in merged_refs:
            self.merges.append(MergeFact(merged, into_ref, self._next(), self.source_ref))

    def projection(self, family: str) -> Projection:
        return Projection(
            event_id=self.event_id,
            family=family,
            clients=tuple(self.clients),
            nodes=tuple(self.nodes),
            attributes=tuple(self.attrs),
            edges=tuple(self.edges),
            merges=tuple(self.merges),
        )


_ARTIFACTS: dict[type[Artifact], Callable[[Artifact], Projection]] = {
    InteractionBundle: _interaction,
    QdSignalBundle: _signal,
    ClientGraphDelta: _graph_delta,
}
_COMMITS: dict[type[Artifact], Callable[[CommitRecord, Artifact], Projection]] = {
    NormalizedEntityProposal: _entity_commit,
    OracleWritebackProposal: _writeback_commit,
}
