"""Writing a batch's facts with as few rows and statements as the data allows.

Every keyed row keeps the fact with the newest stamp. Interactions, signals, merges and edges
are reduced in Python to one row per key (one statement must not touch a row twice) and then
resolved in SQL (``ON CONFLICT ... WHERE newer``). Nodes are read, merged attribute by
attribute in Python and written back whole: a batch touches each node once, and one worker
owns the tables, so the read-modify-write happens inside the batch's transaction.

A live node fact states the node's whole attribute set (the committer's applied records carry
it): attribute values stamped before the node's newest live stamp no longer count, whichever
arrives first, so a value the committer removed disappears and order still does not matter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from consumers.client360.facts import AttributeFact, EdgeFact, NodeFact, Projection
from consumers.client360.tables import Client360Tables
from consumers.json_text import json_encoder
from consumers.storage import (
    chunks,
    insert_ignore,
    later,
    lww_upsert,
    one_of,
    pick_later,
    replace_rows,
    write_rows,
)


def write_facts(
    conn: Connection, t: Client360Tables, fresh: Sequence[Projection]
) -> tuple[set[str], set[str]]:
    """Write every fact; returns the refs whose snapshots may have changed (the dirty refs) in
    two sets. Graph refs: the clients the events name, the nodes whose row changed, both ends
    of every edge and merge, and the refs that merged refs pointed at before. Activity refs:
    the clients that interactions and signals name (their graph sections still hold)."""
    interactions = _newest(
        (i for p in fresh for i in p.interactions), lambda f: (f.client_ref, f.bundle_ref)
    )
    signals = _newest((s for p in fresh for s in p.signals), lambda f: (f.client_ref, f.signal_ref))
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
    old_into: set[str] = set()
    for part in chunks(sorted(m.merged_ref for m in merges)):
        query = select(t.merges.c.into_ref).where(one_of(conn, t.merges.c.merged_ref, part))
        old_into.update(conn.execute(query).scalars().all())
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
    changed_nodes = _write_nodes(
        conn,
        t,
        [n for p in fresh for n in p.nodes],
        [a for p in fresh for a in p.attributes],
    )
    edges = [e for p in fresh for e in p.edges]
    _write_edges(conn, t, edges)
    clients = {c for p in fresh for c in p.client_refs}
    insert_ignore(conn, t.clients, [{"client_ref": c} for c in sorted(clients)])
    # Every keyed fact above is new to its row or newer than it, or it was reduced away; a
    # node fact that changed nothing (older than what the row holds) leaves no dirty mark.
    graph = {c for p in fresh for c in p.clients} | old_into | changed_nodes
    for edge in edges:
        graph.update((edge.from_ref, edge.to_ref))
    for merge in merges:
        graph.update((merge.merged_ref, merge.into_ref))
    activity = {f.client_ref for f in interactions} | {f.client_ref for f in signals}
    return graph, activity


def _write_nodes(
    conn: Connection, t: Client360Tables, facts: list[NodeFact], attributes: list[AttributeFact]
) -> set[str]:
    """Read, merge and write back the nodes the facts name; returns the refs of those whose row
    changed."""
    refs = sorted({f.node_ref for f in facts} | {a.node_ref for a in attributes})
    if not refs:
        return set()
    nodes = t.nodes
    names = [c.name for c in nodes.columns]
    rows: dict[str, dict[str, Any]] = {}
    for part in chunks(refs):
        for found in conn.execute(select(nodes).where(one_of(conn, nodes.c.node_ref, part))):
            rows[found[0]] = dict(zip(names, found, strict=True))
    before = {ref: dict(row) for ref, row in rows.items()}
    merged: dict[str, dict[str, list[str | None]]] = {
        ref: json.loads(row["attributes"]) for ref, row in rows.items()
    }
    for ref in refs:
        if ref not in rows:
            rows[ref] = {
                "node_ref": ref,
                "node_type": None,
                "type_stamp": None,
                "live_stamp": None,
                "live_source": None,
                "dead_stamp": None,
                "attributes": "{}",
                "shown": "{}",
                "shown_sources": "[]",
                "latest": None,
            }
            merged[ref] = {}
    for fact in facts:
        row = rows[fact.node_ref]
        if fact.live:
            if fact.node_type is not None and _newer(fact.stamp, row["type_stamp"]):
                row["node_type"], row["type_stamp"] = fact.node_type, fact.stamp
            if _newer(fact.stamp, row["live_stamp"]):
                row["live_stamp"], row["live_source"] = fact.stamp, fact.source_ref
        elif _newer(fact.stamp, row["dead_stamp"]):
            row["dead_stamp"] = fact.stamp
    for attribute in attributes:
        values = merged[attribute.node_ref]
        known = values.get(attribute.name)
        if known is None or _newer(attribute.stamp, known[1]):
            values[attribute.name] = [attribute.value, attribute.stamp, attribute.source_ref]
    changed = []
    for ref in refs:
        row = rows[ref]
        stated = row["live_stamp"]
        values = {n: v for n, v in merged[ref].items() if stated is None or str(v[1]) >= stated}
        row["attributes"] = _compact(values)
        current = {name: v[0] for name, v in values.items() if v[0] is not None}
        sources = {str(v[2]) for v in values.values() if v[0] is not None}
        if row["live_source"]:
            sources.add(row["live_source"])
        stamps = [str(v[1]) for v in values.values()]
        stamps += [s for s in (row["live_stamp"], row["dead_stamp"]) if s]
        row["shown"] = _compact(current)
        row["shown_sources"] = _compact(sorted(sources))
        row["latest"] = max(stamps, default=None)
        if before.get(ref) != row:
            changed.append(row)
    replace_rows(conn, nodes, changed)
    return {row["node_ref"] for row in changed}


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

    def newer_parts_win(statement: Any) -> Any:
        ex = statement.excluded
        lived = later(edges.c.live_stamp, ex.live_stamp)
        died = later(edges.c.dead_stamp, ex.dead_stamp)
        return statement.on_conflict_do_update(
            index_elements=["from_ref", "to_ref", "relation"],
            set_={
                "attributes": pick_later(lived, ex.attributes, edges.c.attributes),
                "source_ref": pick_later(lived, ex.source_ref, edges.c.source_ref),
                "live_stamp": pick_later(lived, ex.live_stamp, edges.c.live_stamp),
                "dead_stamp": pick_later(died, ex.dead_stamp, edges.c.dead_stamp),
            },
        )

    write_rows(conn, edges, [rows[key] for key in sorted(rows)], newer_parts_win, "newer_parts")


_compact = json_encoder(sort_keys=True, ensure_ascii=True)


def _newer(candidate: str, current: str | None) -> bool:
    return current is None or candidate > current


def _newest(facts: Iterable[Any], key: Callable[[Any], Any]) -> list[Any]:
    best: dict[Any, Any] = {}
    for fact in facts:
        k = key(fact)
        known = best.get(k)
        if known is None or fact.stamp > known.stamp:
            best[k] = fact
    return [best[k] for k in sorted(best)]
