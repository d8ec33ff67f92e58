"""The canonical client-graph tables the committer owns (SQLAlchemy Core), optionally prefixed.

Nodes and edges are never removed: a deleted or merged node keeps its row with a status, so
every ref a change names can be checked against its lifecycle, and ``graph_changes`` records
every change set (applied or refused) with its proposal and decision refs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

from consumers.storage import check_prefix, offsets_table


class NodeStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DELETED = "DELETED"
    MERGED = "MERGED"


class EdgeStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DELETED = "DELETED"


class Outcome(StrEnum):
    APPLIED = "APPLIED"
    REFUSED = "REFUSED"


@dataclass(frozen=True)
class GraphTables:
    metadata: MetaData
    offsets: Table
    nodes: Table
    edges: Table
    merges: Table
    changes: Table

    def all(self) -> tuple[Table, ...]:
        return tuple(self.metadata.sorted_tables)


def graph_tables(prefix: str = "") -> GraphTables:
    p = f"{check_prefix(prefix)}graph_"
    md = MetaData()
    return GraphTables(
        metadata=md,
        offsets=offsets_table(md, f"{p}offsets"),
        nodes=Table(
            f"{p}nodes",
            md,
            Column("node_ref", String, primary_key=True),
            Column("node_type", String, nullable=False),
            Column("status", String(16), nullable=False),
            Column("merged_into", String),
            Column("attributes", Text, nullable=False),  # canonical JSON object
            Column("created_by", String, nullable=False),  # change id
            Column("updated_by", String, nullable=False),
        ),
        edges=Table(
            f"{p}edges",
            md,
            Column("from_ref", String, primary_key=True),
            Column("to_ref", String, primary_key=True),
            Column("relation", String, primary_key=True),
            Column("status", String(16), nullable=False),
            Column("attributes", Text, nullable=False),
            Column("updated_by", String, nullable=False),
            Index(f"ix_{p}edges_to", "to_ref"),
        ),
        merges=Table(
            f"{p}merges",
            md,
            Column("merged_ref", String, primary_key=True),
            Column("into_ref", String, nullable=False),
            Column("change_id", String, nullable=False),
        ),
        changes=Table(
            f"{p}changes",
            md,
            Column("change_id", String, primary_key=True),
            Column("source_family", String, nullable=False),
            Column("proposal_ref", String),
            Column("decision_ref", String),
            Column("outcome", String(16), nullable=False),
            Column("reason", String),
            Column("detail", Text),
            Column("operations", Integer, nullable=False),
            Column("topic", String(249), nullable=False),
            Column("partition", Integer, nullable=False),
            Column("offset", BigInteger, nullable=False),
        ),
    )
