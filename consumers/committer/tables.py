"""The canonical client-graph tables the committer owns (SQLAlchemy Core), optionally prefixed.

Nodes and edges are never removed: a deleted or merged node keeps its row with a status, so
every ref a change names can be checked against its lifecycle, and ``graph_changes`` records
every change set (applied or refused) with its proposal and decision refs. ``graph_outbox``
holds the applied records (consumers/applied.py) written with the rows they describe, until
the broker has acknowledged their publication.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from consumers.storage import (
    StoreTables,
    edges_table,
    merges_table,
    offsets_table,
    position_columns,
    table_names,
)


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
class GraphTables(StoreTables):
    nodes: Table
    edges: Table
    merges: Table
    changes: Table
    outbox: Table


def graph_tables(prefix: str = "") -> GraphTables:
    md, name = table_names(prefix, "graph")
    return GraphTables(
        metadata=md,
        offsets=offsets_table(md, name("offsets")),
        nodes=Table(
            name("nodes"),
            md,
            Column("node_ref", String, primary_key=True),
            Column("node_type", String, nullable=False),
            Column("status", String(16), nullable=False),
            Column("merged_into", String),
            Column("attributes", Text, nullable=False),  # canonical JSON object
            Column("created_by", String, nullable=False),  # change id
            Column("updated_by", String, nullable=False, index=True),
        ),
        edges=edges_table(
            md,
            name("edges"),
            Column("status", String(16), nullable=False),
            Column("attributes", Text, nullable=False),
            Column("updated_by", String, nullable=False),
        ),
        merges=merges_table(md, name("merges"), Column("change_id", String, nullable=False)),
        changes=Table(
            name("changes"),
            md,
            Column("change_id", String, primary_key=True),
            Column("source_family", String, nullable=False),
            Column("proposal_ref", String, index=True),  # lineage walks from these
            Column("decision_ref", String, index=True),
            Column("outcome", String(16), nullable=False),
            Column("reason", String),
            Column("detail", Text),
            Column("operations", Integer, nullable=False),
            *position_columns(),
            # When it was applied (ms since the epoch, strictly increasing); NULL if refused.
            Column("applied_at_ms", BigInteger),
        ),
        # Applied records not yet acknowledged by the broker, published in applied order.
        outbox=Table(
            name("outbox"),
            md,
            Column("change_id", String, primary_key=True),
            Column("applied_at_ms", BigInteger, nullable=False, index=True),
            Column("record", Text, nullable=False),  # the ClientGraphDelta as JSON
            Column("trace_id", String),  # the input's, so one trace follows the change
        ),
    )
