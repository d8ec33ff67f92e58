"""Loading what the snapshot builder needs for a set of clients, in a few bulk queries.

Given the clients' roots, this reads their merge classes' interactions and signals, the edges
touching them, and the nodes at both ends, then folds each merge class into one node view:
the survivor's own values first, then per attribute the newest value among the merged refs.

Rows come back as plain named tuples (:class:`NodeRow`, :class:`EdgeRow`): a refresh reads each
field of thousands of rows, and a SQLAlchemy ``Row`` answers an attribute about ten times slower
than a tuple answers an index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, select

from consumers.client360.facts import InteractionFact, SignalFact, stamp_micros
from consumers.client360.merges import MergeIndex
from consumers.client360.snapshot import ClientView, Neighbor, NodeView
from consumers.client360.tables import Client360Tables
from consumers.storage import chunks, one_of, plain_rows


class NodeRow(NamedTuple):
    """A row of the nodes table (columns in table order)."""

    node_ref: str
    node_type: str | None
    type_stamp: str | None
    live_stamp: str | None
    live_source: str | None
    dead_stamp: str | None
    attributes: str
    shown: str
    shown_sources: str
    latest: str | None


class EdgeRow(NamedTuple):
    """A row of the edges table (columns in table order); its first three fields are its key."""

    from_ref: str
    to_ref: str
    relation: str
    attributes: str | None
    source_ref: str | None
    live_stamp: str | None
    dead_stamp: str | None


def _rows(
    conn: Connection, table: Table, column: str, keys: Iterable[str]
) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    for part in chunks(sorted(set(keys))):
        found.extend(conn.execute(select(table).where(one_of(conn, table.c[column], part))).all())
    return found


def edges_touching(conn: Connection, edges: Table, refs: Iterable[str]) -> list[EdgeRow]:
    """Every edge row with an end in ``refs`` (each row once), in key order."""
    keyed: dict[tuple[str, str, str], EdgeRow] = {}
    wanted = set(refs)
    for column in ("from_ref", "to_ref"):
        for values in _rows(conn, edges, column, wanted):
            row = EdgeRow._make(values)
            keyed[row[:3]] = row
    return [keyed[key] for key in sorted(keyed)]


def _alive(live: str | None, dead: str | None) -> bool:
    return live is not None and (dead is None or live > dead)


def _node_view(root: str, rows: list[NodeRow]) -> NodeView:
    """The rows of one merge class folded into the view of its surviving ref."""
    if len(rows) == 1:  # never merged: the row carries its view, derived when it was written
        row = rows[0]
        return NodeView(
            ref=root,
            node_type=row.node_type if row.type_stamp is not None else None,
            alive=_alive(row.live_stamp, row.dead_stamp),
            attributes=json.loads(row.shown),
            sources=tuple(json.loads(row.shown_sources)),
            latest_us=stamp_micros(row.latest) if row.latest else 0,
        )
    typed = [r for r in rows if r.node_type is not None and r.type_stamp is not None]
    own = next((r for r in typed if r.node_ref == root), None)
    chosen = own or max(typed, key=lambda r: r.type_stamp or "", default=None)
    live = max((r.live_stamp for r in rows if r.live_stamp), default=None)
    dead = max((r.dead_stamp for r in rows if r.dead_stamp), default=None)
    # As the committer folds a merge: the survivor's own values win, and each attribute it
    # lacks comes from the newest value among the refs merged into it. The committer states
    # the survivor's whole state when it folds a merge, so a merged ref's value older than
    # the survivor's last stated state was folded in then (or removed since): it is skipped.
    stated = own.live_stamp if own is not None else None
    winners: dict[str, tuple[bool, str, str | None, str]] = {}
    for row in rows:
        is_root = row.node_ref == root
        for name, (value, stamp, source) in json.loads(row.attributes).items():
            if not is_root and stated is not None and stamp < stated:
                continue
            candidate = (is_root, stamp, value, source)
            known = winners.get(name)
            if known is None or candidate[:2] > known[:2]:
                winners[name] = candidate
    attributes = {n: w[2] for n, w in sorted(winners.items()) if w[2] is not None}
    sources = {w[3] for w in winners.values() if w[2] is not None}
    sources |= {r.live_source for r in rows if r.live_source and r.live_stamp == live}
    # Stamps sort by time first, so the newest stamp is the latest time.
    latest = max([w[1] for w in winners.values()] + [s for s in (live, dead) if s], default=None)
    return NodeView(
        ref=root,
        node_type=chosen.node_type if chosen is not None else None,
        alive=_alive(live, dead),
        attributes=attributes,
        sources=tuple(sorted(sources)),
        latest_us=stamp_micros(latest) if latest else 0,
    )


class EdgeCache:
    """Edge rows by ref, each ref queried once per refresh."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._by_ref: dict[str, list[EdgeRow]] = {}

    def touching(self, conn: Connection, refs: Iterable[str]) -> list[EdgeRow]:
        """Every edge with an end in ``refs`` (each once), in key order."""
        wanted = set(refs)
        missing = wanted - self._by_ref.keys()
        for ref in missing:
            self._by_ref[ref] = []
        if missing:
            for row in edges_touching(conn, self.table, missing):
                for end in {row.from_ref, row.to_ref} & missing:
                    self._by_ref[end].append(row)
        # An EdgeRow is its own key (its first three fields are unique), so a set dedupes.
        return sorted({row for ref in wanted for row in self._by_ref[ref]})


Activity = tuple[tuple[InteractionFact, ...], tuple[SignalFact, ...]]


def load_activity(
    conn: Connection, tables: Client360Tables, index: MergeIndex, roots: Iterable[str]
) -> dict[str, Activity]:
    """Per root, the interactions and signals of its merge class, each sorted by its ref
    (``index`` must already know the roots' merge classes)."""
    owner = {member: root for root in set(roots) for member in index.members(root)}
    interactions: dict[str, list[InteractionFact]] = {}
    ti = tables.interactions
    columns = (ti.c.client_ref, ti.c.bundle_ref, ti.c.channel, ti.c.occurred_us, ti.c.summary)
    for part in chunks(sorted(owner)):
        query = select(*columns, ti.c.stamp).where(one_of(conn, ti.c.client_ref, part))
        for values in plain_rows(conn, query):
            interactions.setdefault(owner[values[0]], []).append(InteractionFact(*values))
    signals: dict[str, list[SignalFact]] = {}
    ts = tables.signals
    for part in chunks(sorted(owner)):
        query = select(
            ts.c.client_ref,
            ts.c.signal_ref,
            ts.c.score_type,
            ts.c.value,
            ts.c.window_end_us,
            ts.c.evidence_refs,
            ts.c.operator_only,
            ts.c.stamp,
        ).where(one_of(conn, ts.c.client_ref, part))
        for ref, signal, kind, value, end, evidence, operator, at in plain_rows(conn, query):
            signals.setdefault(owner[ref], []).append(
                SignalFact(
                    ref,
                    signal,
                    kind,
                    float(value),
                    end,
                    _refs(evidence),
                    bool(operator),
                    at,
                )
            )
    return {
        root: (
            tuple(sorted(interactions.get(root, []), key=lambda i: i.bundle_ref)),
            tuple(sorted(signals.get(root, []), key=lambda s: s.signal_ref)),
        )
        for root in set(owner.values())
    }


def load_views(
    conn: Connection,
    tables: Client360Tables,
    index: MergeIndex,
    edge_cache: EdgeCache,
    roots: Iterable[str],
) -> dict[str, ClientView]:
    """A ClientView per root (``index`` must already know the roots' merge classes)."""
    members = {root: index.members(root) for root in sorted(set(roots))}
    owner = {member: root for root, group in members.items() for member in group}
    activity = load_activity(conn, tables, index, members)
    edges = edge_cache.touching(conn, owner)
    far_ends = {e.to_ref for e in edges} | {e.from_ref for e in edges}
    index.load(conn, far_ends)
    node_members = {
        r: index.members(r) for r in {index.root(ref) for ref in far_ends} | set(members)
    }
    node_owner = {m: r for r, group in node_members.items() for m in group}
    node_rows: dict[str, list[NodeRow]] = {r: [] for r in node_members}
    for found in _rows(conn, tables.nodes, "node_ref", node_owner):
        node = NodeRow._make(found)
        node_rows[node_owner[node.node_ref]].append(node)
    node_views = {r: _node_view(r, rows) for r, rows in node_rows.items()}

    links: dict[str, dict[str, list[EdgeRow]]] = {root: {} for root in members}
    for edge in edges:
        if not _alive(edge.live_stamp, edge.dead_stamp):
            continue
        ends = (edge.from_ref, edge.to_ref)
        for here, there in (ends, ends[::-1]):
            root = owner.get(here)
            far = index.root(there)
            if root is not None and far != root:
                links[root].setdefault(far, []).append(edge)

    merges = index.merges_into(set(node_views))
    views: dict[str, ClientView] = {}
    for root in members:
        neighbors = tuple(
            _neighbor(node_views[far], rows) for far, rows in sorted(links[root].items())
        )
        near = {root} | {n.node.ref for n in neighbors}
        views[root] = ClientView(
            client_ref=root,
            node=node_views[root] if node_rows[root] else None,
            interactions=activity[root][0],
            signals=activity[root][1],
            neighbors=neighbors,
            merges=tuple(m for m in merges if m.into_ref in near),
        )
    return views


def _neighbor(node: NodeView, edges: list[EdgeRow]) -> Neighbor:
    attributes: dict[str, str] = {}
    ordered = edges if len(edges) == 1 else sorted(edges, key=lambda e: e.live_stamp or "")
    for edge in ordered:  # newest assertion last, so it wins per attribute
        if edge.attributes and edge.attributes != "{}":
            attributes.update(json.loads(edge.attributes))
    latest = max((s for e in edges for s in (e.live_stamp, e.dead_stamp) if s), default=None)
    return Neighbor(
        node=node,
        relations=tuple(sorted({e.relation for e in edges})),
        edge_attributes=dict(sorted(attributes.items())),
        sources=tuple(sorted({e.source_ref for e in edges if e.source_ref})),
        latest_us=stamp_micros(latest) if latest else 0,
    )


def client_rows(conn: Connection, clients: Table, refs: Iterable[str]) -> set[str]:
    """Which of ``refs`` are known clients."""
    return {row[0] for row in _rows(conn, clients, "client_ref", refs)}


@lru_cache(maxsize=1 << 14)
def _refs(text: str) -> tuple[str, ...]:
    """A stored JSON array of refs as a tuple; cached, as every refresh reads a client's
    signals again and most carry the same few evidence lists."""
    return tuple(json.loads(text))
