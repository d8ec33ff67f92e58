"""The read model's store: batches of projected events in, snapshots out, offsets kept with both.

:meth:`Client360Store.apply` is one database transaction per batch that, in this order:

1. drops events already applied (by event id) and records the new ones;
2. writes their facts, each keyed row resolved last-writer-wins by stamp;
3. marks the refs those facts touch as dirty (their snapshots must be rebuilt);
4. stores the next Kafka offsets of the batch.

:meth:`Client360Store.refresh` is a second kind of transaction: it rebuilds the snapshots of
the dirty refs' clients (following merges and one hop of graph links), stores the changed
ones, deletes those of clients merged away, and clears the dirty marks it handled. Splitting
the two lets a burst of events for one client cost one rebuild, not one per event.

A crash anywhere rolls back the transaction in flight only. Facts, dirty marks and offsets
commit together, so a restart resumes exactly after the last applied batch (nothing applied
twice, nothing skipped) and still finds every snapshot that was due.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, select, update

from consumers.client360.fact_writer import write_facts
from consumers.client360.facts import Projection
from consumers.client360.merges import MergeIndex
from consumers.client360.snapshot import (
    GRAPH_KEYS,
    BuiltSnapshot,
    GraphSections,
    finish_snapshot,
    graph_sections,
)
from consumers.client360.tables import Client360Tables, client360_tables
from consumers.client360.views import EdgeCache, client_rows, load_activity, load_views
from consumers.storage import (
    OffsetsStore,
    Rejection,
    chunks,
    delete_in,
    insert_ignore,
    one_of,
    replace_rows,
    save_offsets,
    save_rejects,
)
from velocity_stream.contracts.client360 import Client360Snapshot

# A refresh_all transaction takes dirty batches until they name about this many refs: a
# client in several of them is rebuilt once, and a long backlog still commits in parts.
REFRESH_MAX_REFS = 50_000
# Dirty batches are read this many at a time.
MARKS_PAGE = 200


@dataclass(frozen=True, slots=True)
class ApplyResult:
    applied: int
    duplicates: int
    rejected: int
    dirty: int


@dataclass(frozen=True, slots=True)
class RefreshResult:
    handled: int  # dirty batches cleared
    rebuilt: int
    changed_refs: tuple[str, ...]
    removed: int


@dataclass(frozen=True, slots=True)
class PendingSnapshot:
    client_ref: str
    digest: str
    body: str


class Client360Store(OffsetsStore[Client360Tables]):
    """The Client360 tables in one database; ``prefix`` namespaces them (tests, tenants)."""

    def __init__(self, engine: Engine, prefix: str = "") -> None:
        super().__init__(engine, client360_tables(prefix))

    # --- applying -------------------------------------------------------------------------

    def apply(
        self,
        projections: Sequence[Projection],
        next_offsets: dict[tuple[str, int], int],
        rejections: Sequence[Rejection] = (),
    ) -> ApplyResult:
        """Apply one batch and its offsets in one transaction (steps 1-4 above)."""
        t = self.tables
        with self.engine.begin() as conn:
            applied = t.applied
            seen: set[str] = set()
            for part in chunks(sorted({p.event_id for p in projections})):
                query = select(applied.c.event_id).where(one_of(conn, applied.c.event_id, part))
                seen.update(conn.execute(query).scalars().all())
            fresh: list[Projection] = []
            for projection in projections:
                if projection.event_id not in seen:
                    seen.add(projection.event_id)
                    fresh.append(projection)
            insert_ignore(
                conn, applied, [{"event_id": p.event_id, "family": p.family} for p in fresh]
            )
            save_rejects(conn, t.rejects, rejections)
            graph, activity = write_facts(conn, t, fresh)
            if graph or activity:
                marks = {"graph": sorted(graph), "activity": sorted(activity - graph)}
                conn.execute(t.dirty.insert().values(refs=json.dumps(marks)))
            save_offsets(conn, t.offsets, next_offsets)
        dirty = len(graph | activity)
        return ApplyResult(len(fresh), len(projections) - len(fresh), len(rejections), dirty)

    # --- snapshots ------------------------------------------------------------------------

    def dirty_count(self) -> int:
        """Applied batches whose snapshots are not refreshed yet."""
        query = select(func.count()).select_from(self.tables.dirty)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def dirty_refs(self) -> tuple[set[str], set[str]]:
        """The graph refs and the activity refs that applied batches marked and no refresh
        has handled yet."""
        with self.engine.connect() as conn:
            return _split_marks(conn.execute(select(self.tables.dirty.c.refs)).scalars().all())

    def refresh(self, limit: int | None = None, max_refs: int | None = None) -> RefreshResult:
        """Rebuild the snapshots of the clients that dirty batches touched, in one transaction:
        the oldest batches, up to ``limit`` of them and, past the first, while together they
        name at most ``max_refs`` refs (a client in several batches is rebuilt once).

        A client reached by a graph mark (through merge classes and one hop of links) is built
        from its graph, and its graph sections are stored; one reached only by activity marks
        (new interactions or signals) is finished from its stored sections, when it has them.
        """
        t = self.tables
        with self.engine.begin() as conn:
            handled, graph_marks, activity_marks = _take_marks(conn, t.dirty, limit, max_refs)
            if not handled:
                return RefreshResult(0, 0, (), 0)
            index = MergeIndex(t.merges)
            index.load(conn, graph_marks | activity_marks)
            # A graph change reaches the clients linked to any member of the changed class.
            classes = {m for ref in graph_marks for m in index.members(ref)}
            edge_cache = EdgeCache(t.edges)
            edges = edge_cache.touching(conn, classes)
            linked = {e.from_ref for e in edges} | {e.to_ref for e in edges}
            index.load(conn, linked)
            graph_roots = {index.root(ref) for ref in graph_marks | linked}
            roots = graph_roots | {index.root(ref) for ref in activity_marks}
            members = {root: index.members(root) for root in roots}
            known = client_rows(conn, t.clients, {m for group in members.values() for m in group})
            subjects = {root for root, group in members.items() if group & known}
            stored = _load_sections(conn, t.sections, subjects - graph_roots)
            built: dict[str, BuiltSnapshot] = {}
            sections: dict[str, GraphSections] = {}
            for root, view in load_views(
                conn, t, index, edge_cache, subjects - stored.keys()
            ).items():
                if view.node is None or view.node.alive:  # a deleted client has no snapshot
                    sections[root] = made = graph_sections(view)
                    built[root] = finish_snapshot(root, made, view.interactions, view.signals)
            for root, (interactions, signals) in load_activity(conn, t, index, stored).items():
                built[root] = finish_snapshot(root, stored[root], interactions, signals)
            # Only clients ever have a snapshot row: one merged away or deleted loses it.
            stale = known - set(built)
            changed = self._write_snapshots(conn, built)
            replace_rows(
                conn,
                t.sections,
                [_sections_row(ref, made) for ref, made in sorted(sections.items())],
            )
            # Sections of a ref that is no longer a built client (merged away, deleted) go.
            unbuilt = {m for root in subjects for m in members[root]} - set(built)
            delete_in(conn, t.sections, "client_ref", unbuilt)
            removed = delete_in(conn, t.snapshots, "client_ref", stale)
            for part in chunks(handled):
                conn.execute(delete(t.dirty).where(t.dirty.c.batch.in_(part)))
        changed_refs = tuple(b.client_ref for b in changed)
        return RefreshResult(len(handled), len(built), changed_refs, removed)

    def _write_snapshots(
        self, conn: Connection, built: dict[str, BuiltSnapshot]
    ) -> list[BuiltSnapshot]:
        """Store the snapshots whose digest changed; returns those, in ref order."""
        t = self.tables
        current: dict[str, str] = {}
        for part in chunks(sorted(built)):
            query = select(t.snapshots.c.client_ref, t.snapshots.c.digest)
            for ref, digest in conn.execute(
                query.where(one_of(conn, t.snapshots.c.client_ref, part))
            ).all():
                current[ref] = digest
        changed = [b for ref, b in sorted(built.items()) if current.get(ref) != b.digest]
        replace_rows(
            conn,
            t.snapshots,
            [
                {
                    "client_ref": b.client_ref,
                    "artifact_id": b.artifact_id,
                    "digest": b.digest,
                    "as_of_us": b.as_of_us,
                    "body": b.body,
                }
                for b in changed
            ],
        )
        return changed

    def refresh_all(self, *, max_refs: int = REFRESH_MAX_REFS) -> RefreshResult:
        """Refresh until nothing is dirty, a transaction per ``max_refs`` dirty refs at most
        (or per batch, for a batch that names more)."""
        handled, rebuilt, removed = 0, 0, 0
        changed: list[str] = []
        while True:
            result = self.refresh(max_refs=max_refs)
            if not result.handled:
                return RefreshResult(handled, rebuilt, tuple(changed), removed)
            handled += result.handled
            rebuilt += result.rebuilt
            changed += result.changed_refs
            removed += result.removed

    # --- reading --------------------------------------------------------------------------

    def snapshot(self, client_ref: str) -> Client360Snapshot | None:
        """The stored snapshot of a client (following merges to the surviving client)."""
        t = self.tables
        query = select(t.snapshots.c.body)
        with self.engine.connect() as conn:
            body = conn.execute(query.where(t.snapshots.c.client_ref == client_ref)).scalar()
            if body is None:
                index = MergeIndex(t.merges)
                index.load(conn, [client_ref])
                root = index.root(client_ref)
                if root == client_ref:
                    return None
                body = conn.execute(query.where(t.snapshots.c.client_ref == root)).scalar()
                if body is None:
                    return None
        return Client360Snapshot.model_validate_json(body)

    def client_refs(self, limit: int = 100, after: str = "") -> list[str]:
        """Client refs that have a snapshot, in order (a page of ``limit`` after ``after``)."""
        t = self.tables.snapshots
        query = select(t.c.client_ref).where(t.c.client_ref > after).order_by(t.c.client_ref)
        with self.engine.connect() as conn:
            return list(conn.execute(query.limit(limit)).scalars().all())

    def pending(
        self, limit: int = 1000, refs: Sequence[str] | None = None
    ) -> list[PendingSnapshot]:
        """Snapshots whose latest digest is not published yet (the outbox), optionally only
        among ``refs`` (the clients a refresh just changed: no scan of the whole table)."""
        t = self.tables.snapshots
        due = (t.c.published_digest.is_(None)) | (t.c.published_digest != t.c.digest)
        query = select(t.c.client_ref, t.c.digest, t.c.body)
        with self.engine.connect() as conn:
            if refs is None:
                rows = conn.execute(query.where(due).order_by(t.c.client_ref).limit(limit))
                return [PendingSnapshot(*row) for row in rows]
            found: list[PendingSnapshot] = []
            for part in chunks(sorted(set(refs))):
                rows = conn.execute(query.where(due, one_of(conn, t.c.client_ref, part)))
                found.extend(PendingSnapshot(*row) for row in rows)
            return found

    def mark_published(self, published: Iterable[PendingSnapshot]) -> None:
        """Record publication; a snapshot rebuilt since keeps its newer digest pending."""
        t = self.tables.snapshots
        rows = [{"ref": p.client_ref, "done": p.digest} for p in published]
        if not rows:
            return
        statement = (
            update(t)
            .where(t.c.client_ref == bindparam("ref"), t.c.digest == bindparam("done"))
            .values(published_digest=bindparam("done"))
        )
        with self.engine.begin() as conn:
            conn.execute(statement, rows)


def _take_marks(
    conn: Connection, dirty: Table, limit: int | None, max_refs: int | None
) -> tuple[list[int], set[str], set[str]]:
    """The oldest dirty batches a refresh handles (see refresh), with their graph refs and
    their activity refs; read a page at a time, so a long backlog is not read whole."""
    taken: list[int] = []
    graph: set[str] = set()
    activity: set[str] = set()
    named: set[str] = set()  # graph | activity
    page = min(limit or MARKS_PAGE, MARKS_PAGE)
    while True:
        query = select(dirty.c.batch, dirty.c.refs).order_by(dirty.c.batch).limit(page)
        if taken:
            query = query.where(dirty.c.batch > taken[-1])
        rows = conn.execute(query).all()
        for batch, refs in rows:
            more_graph, more_activity = _split_marks([refs])
            more = (more_graph | more_activity) - named
            if taken and max_refs is not None and len(named) + len(more) > max_refs:
                return taken, graph, activity
            graph |= more_graph
            activity |= more_activity
            named |= more
            taken.append(batch)
            if len(taken) == limit:
                return taken, graph, activity
        if len(rows) < page:
            return taken, graph, activity


def _split_marks(marks: Iterable[str]) -> tuple[set[str], set[str]]:
    """The graph refs and the activity refs of dirty marks (tables.py: a JSON object, or a
    plain array of graph refs from an older version)."""
    graph: set[str] = set()
    activity: set[str] = set()
    for text in marks:
        mark = json.loads(text)
        if isinstance(mark, list):
            graph.update(mark)
        else:
            graph.update(mark["graph"])
            activity.update(mark["activity"])
    return graph, activity


def _sections_row(client_ref: str, sections: GraphSections) -> dict[str, Any]:
    return {
        "client_ref": client_ref,
        **sections.encoded,
        "merged": sections.merged,
        "sources": json.dumps(list(sections.sources)),
        "latest_us": sections.latest_us,
    }


def _load_sections(conn: Connection, table: Table, refs: Iterable[str]) -> dict[str, GraphSections]:
    """The stored graph sections of those of ``refs`` that have them."""
    found: dict[str, GraphSections] = {}
    keys = [table.c[key] for key in GRAPH_KEYS]
    columns = (table.c.client_ref, table.c.merged, table.c.sources, table.c.latest_us, *keys)
    for part in chunks(sorted(refs)):
        query = select(*columns).where(one_of(conn, table.c.client_ref, part))
        for ref, merged, sources, latest_us, *encoded in conn.execute(query).all():
            found[ref] = GraphSections(
                dict(zip(GRAPH_KEYS, encoded, strict=True)),
                merged,
                tuple(json.loads(sources)),
                latest_us,
            )
    return found
