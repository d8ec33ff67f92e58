"""Writing a batch's facts: one LWW upsert per table, one row per key.

Rows are reduced in Python to the newest fact per key before the statement runs (one
statement must not touch a row twice), then the database keeps whichever of the stored and
the incoming row has the later stamp, column group by column group for nodes and edges.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from consumers.client360.facts import EdgeFact, NodeFact, Projection
from consumers.client360.tables import Client360Tables
from consumers.storage import chunks, insert_for, insert_ignore, later, lww_upsert, pick_later


def write_facts(conn: Connection, t: Client360Tables, fresh: Sequence[Projection]) -> set[str]:
    """Write every fact; returns the refs merged refs pointed at before (they change too)."""
    # Reduce to one row per key first: one statement must not touch a row twice.
    interactions = _newest(
        (i for p in fresh for i in p.interactions), lambda f: (f.client_ref, f.bundle_ref)
    )
    signals = _newest((s for p in fresh for s in p.signals), lambda f: (f.client_ref, f.signal_ref))
    attributes = _newest((a for p in fresh for a in p.attributes), lambda f: (f.node_ref, f.name))
    merges = _newest((m for p in fresh for m in p.merges), lambda f: f.merged_ref)
    lww_upsert(
        conn,
        t.interactions,
        [
            {
                "client_ref": f.client_ref,
                "bundle_ref": f.bundle_ref,
                "channel": f.channel,
                "occurred_us": f.occurred_us,
                "summary": f.summary,
                "stamp": f.stamp,
            }
            for f in interactions
        ],
    )
    lww_upsert(
        conn,
        t.signals,
        [
            {
                "client_ref": f.client_ref,
                "signal_ref": f.signal_ref,
                "score_type": f.score_type,
                "value": f.value,
                "window_end_us": f.window_end_us,
                "evidence_refs": json.dumps(list(f.evidence_refs)),
                "operator_only": f.operator_only,
                "stamp": f.stamp,
            }
            for f in signals
        ],
    )
    lww_upsert(
        conn,
        t.attributes,
        [
            {
                "node_ref": f.node_ref,
                "name": f.name,
                "value": f.value,
                "stamp": f.stamp,
                "source_ref": f.source_ref,
            }
            for f in attributes
        ],
    )
    old_into: set[str] = set()
    for part in chunks(sorted(m.merged_ref for m in merges)):
        rows = conn.execute(select(t.merges.c.into_ref).where(t.merges.c.merged_ref.in_(part)))
        old_into.update(row.into_ref for row in rows)
    lww_upsert(
        conn,
        t.merges,
        [
            {
                "merged_ref": f.merged_ref,
                "into_ref": f.into_ref,
                "stamp": f.stamp,
                "source_ref": f.source_ref,
            }
            for f in merges
        ],
    )
    _write_nodes(conn, t, [n for p in fresh for n in p.nodes])
    _write_edges(conn, t, [e for p in fresh for e in p.edges])
    clients = sorted({c for p in fresh for c in p.client_refs})
    insert_ignore(conn, t.clients, [{"client_ref": c} for c in clients])
    return old_into


def _write_nodes(conn: Connection, t: Client360Tables, facts: list[NodeFact]) -> None:
    rows: dict[str, dict[str, Any]] = {}
    for fact in facts:
        row = rows.setdefault(
            fact.node_ref,
            {
                "node_ref": fact.node_ref,
                "node_type": None,
                "type_stamp": None,
                "live_stamp": None,
                "live_source": None,
                "dead_stamp": None,
            },
        )
        if fact.live:
            if fact.node_type is not None and _newer(fact.stamp, row["type_stamp"]):
                row["node_type"], row["type_stamp"] = fact.node_type, fact.stamp
            if _newer(fact.stamp, row["live_stamp"]):
                row["live_stamp"], row["live_source"] = fact.stamp, fact.source_ref
        elif _newer(fact.stamp, row["dead_stamp"]):
            row["dead_stamp"] = fact.stamp
    if not rows:
        return
    nodes = t.nodes
    statement = insert_for(conn, nodes)
    ex = statement.excluded
    typed = later(nodes.c.type_stamp, ex.type_stamp)
    lived = later(nodes.c.live_stamp, ex.live_stamp)
    died = later(nodes.c.dead_stamp, ex.dead_stamp)
    statement = statement.on_conflict_do_update(
        index_elements=["node_ref"],
        set_={
            "node_type": pick_later(typed, ex.node_type, nodes.c.node_type),
            "type_stamp": pick_later(typed, ex.type_stamp, nodes.c.type_stamp),
            "live_stamp": pick_later(lived, ex.live_stamp, nodes.c.live_stamp),
            "live_source": pick_later(lived, ex.live_source, nodes.c.live_source),
            "dead_stamp": pick_later(died, ex.dead_stamp, nodes.c.dead_stamp),
        },
    )
    conn.execute(statement, [rows[key] for key in sorted(rows)])


def _write_edges(conn: Connection, t: Client360Tables, facts: list[EdgeFact]) -> None:
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for fact in facts:
        row = rows.setdefault(
            fact.key,
            {
                "from_ref": fact.from_ref,
                "to_ref": fact.to_ref,
                "relation": fact.relation,
                "attributes": None,
                "source_ref": None,
                "live_stamp": None,
                "dead_stamp": None,
            },
        )
        if fact.live and _newer(fact.stamp, row["live_stamp"]):
            row["live_stamp"], row["source_ref"] = fact.stamp, fact.source_ref
            row["attributes"] = json.dumps(dict(fact.attributes), sort_keys=True)
        elif not fact.live and _newer(fact.stamp, row["dead_stamp"]):
            row["dead_stamp"] = fact.stamp
    if not rows:
        return
    edges = t.edges
    statement = insert_for(conn, edges)
    ex = statement.excluded
    lived = later(edges.c.live_stamp, ex.live_stamp)
    died = later(edges.c.dead_stamp, ex.dead_stamp)
    statement = statement.on_conflict_do_update(
        index_elements=["from_ref", "to_ref", "relation"],
        set_={
            "attributes": pick_later(lived, ex.attributes, edges.c.attributes),
            "source_ref": pick_later(lived, ex.source_ref, edges.c.source_ref),
            "live_stamp": pick_later(lived, ex.live_stamp, edges.c.live_stamp),
            "dead_stamp": pick_later(died, ex.dead_stamp, edges.c.dead_stamp),
        },
    )
    conn.execute(statement, [rows[key] for key in sorted(rows)])


def _newer(candidate: str, current: str | None) -> bool:
    return current is None or candidate > current


def _newest(facts: Iterable[Any], key: Any) -> list[Any]:
    best: dict[Any, Any] = {}
    for fact in facts:
        k = key(fact)
        known = best.get(k)
        if known is None or fact.stamp > known.stamp:
            best[k] = fact
    return [best[k] for k in sorted(best)]
