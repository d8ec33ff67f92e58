"""Checking and applying one change set against the canonical graph, inside a transaction.

The persistence layer's checks: every ref a change names must exist (referential integrity)
and be in a state that allows the change (lifecycle: a merged or deleted node takes no
changes, a node is merged at most once, an update must find the values it expects). Changes
are staged in memory and written only when the whole set passes, so a refused set leaves no
trace but its ``graph_changes`` row. A staged set also says what it will write as applied-record
operations (consumers/applied.py): the final state of every row it touches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, Table, or_, select

from consumers.applied import Operation
from consumers.committer.changes import ChangeKind, ChangeSet, GraphChange
from consumers.committer.tables import EdgeStatus, GraphTables, NodeStatus
from consumers.storage import replace_rows
from velocity_stream.errors import ReasonCode

EdgeKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Refusal:
    code: ReasonCode
    message: str
    field: str = ""


@dataclass(frozen=True, slots=True)
class Node:
    ref: str
    node_type: str
    status: NodeStatus
    merged_into: str | None
    attributes: dict[str, str]
    created_by: str
    updated_by: str


@dataclass(frozen=True, slots=True)
class Edge:
    key: EdgeKey
    status: EdgeStatus
    attributes: dict[str, str]
    updated_by: str


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal


@dataclass
class _Stage:
    """Nodes and edges as the change set leaves them; None means absent."""

    nodes: dict[str, Node | None] = field(default_factory=dict)
    edges: dict[EdgeKey, Edge | None] = field(default_factory=dict)
    merges: dict[str, str] = field(default_factory=dict)
    dirty_nodes: set[str] = field(default_factory=set)
    dirty_edges: set[EdgeKey] = field(default_factory=set)


@dataclass(frozen=True)
class Staged:
    """A change set that passed every check, staged and not written yet."""

    change_set: ChangeSet
    _stage: _Stage

    def operations(self) -> list[Operation]:
        """What the set writes, as ClientGraphDelta operations: the merges it makes, then
        the final state of each node and edge it writes (a node with its whole attribute
        set; a merged node only through its merge), in key order."""
        stage = self._stage
        found: list[Operation] = []
        merged: dict[str, list[str]] = {}
        for ref, into in sorted(stage.merges.items()):
            merged.setdefault(into, []).append(ref)
        for into, refs in sorted(merged.items()):
            found.append({"op": "MERGE_NODES", "node_ref": into, "merged_refs": refs})
        for ref in sorted(stage.dirty_nodes):
            node = stage.nodes[ref]
            assert node is not None  # dirty means staged
            if node.status is NodeStatus.ACTIVE:
                found.append(
                    {
                        "op": "UPSERT_NODE",
                        "node_ref": ref,
                        "node_type": node.node_type,
                        "attributes": dict(node.attributes),
                    }
                )
            elif node.status is NodeStatus.DELETED:
                found.append({"op": "DELETE_NODE", "node_ref": ref})
        for key in sorted(stage.dirty_edges):
            edge = stage.edges[key]
            assert edge is not None
            ends = {"from_ref": key[0], "to_ref": key[1], "relation": key[2]}
            if edge.status is EdgeStatus.ACTIVE:
                found.append(
                    {"op": "UPSERT_EDGE", "edge": ends, "attributes": dict(edge.attributes)}
                )
            else:
                found.append({"op": "DELETE_EDGE", "edge": ends})
        return found


class GraphWriter:
    """Checks and writes change sets on one connection (the caller owns the transaction)."""

    def __init__(self, conn: Connection, tables: GraphTables) -> None:
        self.conn = conn
        self.t = tables

    def stage(self, change_set: ChangeSet) -> Staged | Refusal:
        """Check ``change_set`` against the graph (and nothing else): staged, or refused."""
        stage = _Stage()
        try:
            for index, change in enumerate(change_set.changes):
                self._apply(stage, change, change_set.change_id, f"changes.{index}")
        except _Refused as refused:
            return refused.refusal
        return Staged(change_set, stage)

    def write(self, staged: Staged) -> None:
        """Write a staged change set (nothing else may have been written since it was staged)."""
        self._write(staged._stage)

    # --- checks and staging ---------------------------------------------------------------

    def _apply(self, stage: _Stage, change: GraphChange, change_id: str, where: str) -> None:
        kind = change.kind
        if kind in (ChangeKind.CREATE_NODE, ChangeKind.UPSERT_NODE):
            self._put_node(stage, change, change_id, where)
        elif kind is ChangeKind.UPDATE_NODE:
            node = self._active(stage, change.node_ref, where)
            attributes = dict(node.attributes)
            for update in change.updates:
                current = attributes.get(update.name)
                if current != update.expected:
                    raise _Refused(
                        Refusal(
                            ReasonCode.PERSISTENCE_STALE_VALUE,
                            f"{change.node_ref} field {update.name!r} is {current!r}, the "
                            f"change expects {update.expected!r}",
                            f"{where}.{update.name}",
                        )
                    )
                if update.value is None:
                    attributes.pop(update.name, None)
                else:
                    attributes[update.name] = update.value
            self._stage_node(stage, replace(node, attributes=attributes, updated_by=change_id))
        elif kind is ChangeKind.DELETE_NODE:
            node = self._active(stage, change.node_ref, where)
            self._stage_node(stage, replace(node, status=NodeStatus.DELETED, updated_by=change_id))
            for edge in self._edges_of(stage, change.node_ref):
                self._stage_edge(
                    stage, replace(edge, status=EdgeStatus.DELETED, updated_by=change_id)
                )
        elif kind is ChangeKind.MERGE_NODES:
            self._merge(stage, change, change_id, where)
        elif kind is ChangeKind.UPSERT_EDGE:
            assert change.edge is not None
            from_ref, to_ref, _ = change.edge
            self._active(stage, from_ref, f"{where}.edge.from_ref")
            self._active(stage, to_ref, f"{where}.edge.to_ref")
            known = self._edge(stage, change.edge)
            attributes = dict(known.attributes) if known is not None else {}
            attributes.update(change.attributes)
            self._stage_edge(stage, Edge(change.edge, EdgeStatus.ACTIVE, attributes, change_id))
        else:
            assert change.edge is not None
            known = self._edge(stage, change.edge)
            if known is None or known.status is not EdgeStatus.ACTIVE:
                raise _Refused(
                    Refusal(
                        ReasonCode.PERSISTENCE_EDGE_NOT_FOUND,
                        f"no active edge {' -> '.join(change.edge)} to delete",
                        f"{where}.edge",
                    )
                )
            self._stage_edge(stage, replace(known, status=EdgeStatus.DELETED, updated_by=change_id))

    def _put_node(self, stage: _Stage, change: GraphChange, change_id: str, where: str) -> None:
        known = self._node(stage, change.node_ref)
        node_type = change.node_type or ""
        if known is None:
            self._stage_node(
                stage,
                Node(
                    change.node_ref,
                    node_type,
                    NodeStatus.ACTIVE,
                    None,
                    dict(change.attributes),
                    change_id,
                    change_id,
                ),
            )
            return
        if change.kind is ChangeKind.CREATE_NODE and known.status is NodeStatus.ACTIVE:
            raise _Refused(
                Refusal(
                    ReasonCode.PERSISTENCE_ENTITY_EXISTS,
                    f"{change.node_ref} already exists (created by {known.created_by})",
                    f"{where}.node_ref",
                )
            )
        self._check_lifecycle(known, where)
        if known.node_type != node_type:
            raise _Refused(
                Refusal(
                    ReasonCode.PERSISTENCE_NODE_TYPE_MISMATCH,
                    f"{change.node_ref} is a {known.node_type}, the change says {node_type}",
                    f"{where}.node_type",
                )
            )
        attributes = {**known.attributes, **dict(change.attributes)}
        self._stage_node(stage, replace(known, attributes=attributes, updated_by=change_id))

    def _merge(self, stage: _Stage, change: GraphChange, change_id: str, where: str) -> None:
        into = self._active(stage, change.node_ref, f"{where}.node_ref", merge=True)
        attributes = dict(into.attributes)
        for position, ref in enumerate(change.merged_refs):
            merged = self._active(stage, ref, f"{where}.merged_refs.{position}", merge=True)
            if merged.node_type != into.node_type:
                raise _Refused(
                    Refusal(
                        ReasonCode.PERSISTENCE_NODE_TYPE_MISMATCH,
                        f"cannot merge {merged.node_type} {ref} into {into.node_type} {into.ref}",
                        f"{where}.merged_refs.{position}",
                    )
                )
            # The survivor's own values win; the merged node fills what it lacks.
            for name, value in merged.attributes.items():
                attributes.setdefault(name, value)
            self._stage_node(
                stage,
                replace(
                    merged, status=NodeStatus.MERGED, merged_into=into.ref, updated_by=change_id
                ),
            )
            stage.merges[ref] = into.ref
            for edge in self._edges_of(stage, ref):
                self._stage_edge(
                    stage, replace(edge, status=EdgeStatus.DELETED, updated_by=change_id)
                )
                from_ref, to_ref, relation = edge.key
                moved = (
                    into.ref if from_ref == ref else from_ref,
                    into.ref if to_ref == ref else to_ref,
                    relation,
                )
                if moved[0] == moved[1]:
                    continue  # an edge between the two merged nodes folds away
                existing = self._edge(stage, moved)
                kept = dict(edge.attributes)
                if existing is not None and existing.status is EdgeStatus.ACTIVE:
                    kept.update(existing.attributes)
                self._stage_edge(stage, Edge(moved, EdgeStatus.ACTIVE, kept, change_id))
        self._stage_node(stage, replace(into, attributes=attributes, updated_by=change_id))

    def _active(self, stage: _Stage, ref: str, where: str, *, merge: bool = False) -> Node:
        node = self._node(stage, ref)
        if node is None:
            raise _Refused(
                Refusal(ReasonCode.PERSISTENCE_ENTITY_NOT_FOUND, f"{ref} does not exist", where)
            )
        self._check_lifecycle(node, where, merge=merge)
        return node

    @staticmethod
    def _check_lifecycle(node: Node, where: str, *, merge: bool = False) -> None:
        if node.status is NodeStatus.MERGED:
            code = (
                ReasonCode.PERSISTENCE_ALREADY_MERGED
                if merge
                else ReasonCode.PERSISTENCE_ENTITY_MERGED
            )
            raise _Refused(Refusal(code, f"{node.ref} was merged into {node.merged_into}", where))
        if node.status is NodeStatus.DELETED:
            raise _Refused(
                Refusal(
                    ReasonCode.PERSISTENCE_ENTITY_DELETED,
                    f"{node.ref} was deleted by {node.updated_by}",
                    where,
                )
            )

    # --- reading through the stage --------------------------------------------------------

    def _node(self, stage: _Stage, ref: str) -> Node | None:
        if ref not in stage.nodes:
            t = self.t.nodes
            row = self.conn.execute(select(t).where(t.c.node_ref == ref)).first()
            stage.nodes[ref] = node_of(row) if row is not None else None
        return stage.nodes[ref]

    def _edge(self, stage: _Stage, key: EdgeKey) -> Edge | None:
        if key not in stage.edges:
            t = self.t.edges
            row = self.conn.execute(
                select(t).where(
                    t.c.from_ref == key[0], t.c.to_ref == key[1], t.c.relation == key[2]
                )
            ).first()
            stage.edges[key] = _edge_of(row) if row is not None else None
        return stage.edges[key]

    def _edges_of(self, stage: _Stage, ref: str) -> list[Edge]:
        """Active edges touching ``ref``, stored or staged, in key order."""
        t = self.t.edges
        rows = self.conn.execute(
            select(t).where(or_(t.c.from_ref == ref, t.c.to_ref == ref), t.c.status == "ACTIVE")
        )
        for row in rows:
            key = (row.from_ref, row.to_ref, row.relation)
            stage.edges.setdefault(key, _edge_of(row))
        found = [
            edge
            for key, edge in stage.edges.items()
            if edge is not None and ref in key[:2] and edge.status is EdgeStatus.ACTIVE
        ]
        return sorted(found, key=lambda e: e.key)

    @staticmethod
    def _stage_node(stage: _Stage, node: Node) -> None:
        stage.nodes[node.ref] = node
        stage.dirty_nodes.add(node.ref)

    @staticmethod
    def _stage_edge(stage: _Stage, edge: Edge) -> None:
        stage.edges[edge.key] = edge
        stage.dirty_edges.add(edge.key)

    # --- writing --------------------------------------------------------------------------

    def _write(self, stage: _Stage) -> None:
        nodes = [stage.nodes[ref] for ref in sorted(stage.dirty_nodes)]
        self._upsert(
            self.t.nodes,
            [
                {
                    "node_ref": n.ref,
                    "node_type": n.node_type,
                    "status": n.status.value,
                    "merged_into": n.merged_into,
                    "attributes": json.dumps(n.attributes, sort_keys=True),
                    "created_by": n.created_by,
                    "updated_by": n.updated_by,
                }
                for n in nodes
                if n is not None
            ],
        )
        edges = [stage.edges[key] for key in sorted(stage.dirty_edges)]
        self._upsert(
            self.t.edges,
            [
                {
                    "from_ref": e.key[0],
                    "to_ref": e.key[1],
                    "relation": e.key[2],
                    "status": e.status.value,
                    "attributes": json.dumps(e.attributes, sort_keys=True),
                    "updated_by": e.updated_by,
                }
                for e in edges
                if e is not None
            ],
        )
        change_of = {n.ref: n.updated_by for n in nodes if n is not None}
        self._upsert(
            self.t.merges,
            [
                {"merged_ref": ref, "into_ref": into, "change_id": change_of[ref]}
                for ref, into in sorted(stage.merges.items())
            ],
        )

    def _upsert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        replace_rows(self.conn, table, rows)


def node_of(row: Any) -> Node:
    """A node as its ``graph_nodes`` row stores it."""
    return Node(
        row.node_ref,
        row.node_type,
        NodeStatus(row.status),
        row.merged_into,
        json.loads(row.attributes),
        row.created_by,
        row.updated_by,
    )


def _edge_of(row: Any) -> Edge:
    return Edge(
        (row.from_ref, row.to_ref, row.relation),
        EdgeStatus(row.status),
        json.loads(row.attributes),
        row.updated_by,
    )
