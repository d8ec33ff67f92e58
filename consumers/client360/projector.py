"""The pure half of the read model: one accepted artifact in, its facts out.

Which families feed the snapshot is the table at the bottom, keyed by contract model; the
runner subscribes to exactly those families' accepted topics, and to the topic of an internal
family among them. The graph comes only from the committer's applied records (the internal
family AppliedGraphChange, consumers/applied.py): requested changes (ClientGraphDelta) and
approved commits are not read at all, so a change the committer refuses never reaches a
snapshot. Nothing here reads a
clock or the database: the same artifact always projects to the same facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

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
from velocity_stream.contracts.applied_graph_change import AppliedGraphChange
from velocity_stream.contracts.graph_delta import GraphOperationKind
from velocity_stream.contracts.interaction import InteractionBundle
from velocity_stream.contracts.metadata import Artifact
from velocity_stream.contracts.qd_signal import QdSignalBundle

# The node type that makes a graph node a client of its own (writeback domain CLIENT).
CLIENT_NODE_TYPE = "CLIENT"


def project(artifact: Artifact) -> Projection | None:
    """The facts of an artifact; None for a family the read model does not use."""
    function = _ARTIFACTS.get(type(artifact))
    return function(artifact) if function is not None else None


def projected_families() -> tuple[str, ...]:
    """Families whose topics feed the read model (accepted topics; an internal family's own)."""
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


def _applied_change(artifact: Artifact) -> Projection:
    assert isinstance(artifact, AppliedGraphChange)
    # Facts name the change the committer applied (decision or delta id) as their source.
    builder = _FactBuilder(artifact.created_at, artifact.artifact_id, artifact.change_id)
    for operation in artifact.operations:
        kind = operation.op
        if kind is GraphOperationKind.UPSERT_NODE:
            assert operation.node_ref is not None
            builder.node_state(operation.node_ref, operation.node_type, operation.attributes)
        elif kind is GraphOperationKind.DELETE_NODE:
            assert operation.node_ref is not None
            builder.dead_node(operation.node_ref)
        elif kind is GraphOperationKind.MERGE_NODES:
            assert operation.node_ref is not None
            builder.merge(operation.node_ref, operation.merged_refs)
        else:
            assert operation.edge is not None
            edge = operation.edge
            live = kind is GraphOperationKind.UPSERT_EDGE
            builder.edge(edge.from_ref, edge.to_ref, edge.relation, live, operation.attributes)
    return builder.projection(artifact.FAMILY)


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

    def dead_node(self, ref: str) -> None:
        self.nodes.append(NodeFact(ref, None, False, self._next(), self.source_ref))

    def node_state(self, ref: str, node_type: str | None, values: Mapping[str, str]) -> None:
        """The node is live with exactly these attributes: one stamp for the node and its
        values, so values older than it no longer count (fact_writer.py)."""
        at = self._next()
        self.nodes.append(NodeFact(ref, node_type, True, at, self.source_ref))
        if node_type == CLIENT_NODE_TYPE:
            self.clients.append(ref)
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


_ARTIFACTS: dict[type[Artifact], Callable[[Artifact], Projection | None]] = {
    InteractionBundle: _interaction,
    QdSignalBundle: _signal,
    AppliedGraphChange: _applied_change,
}
