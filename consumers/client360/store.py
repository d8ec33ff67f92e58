"""The read model's store: applies batches of projected events in one transaction each.

One :meth:`Client360Store.apply` call is one database transaction that, in this order:

1. drops events already applied (by event id) and records the new ones;
2. writes their facts, each keyed row resolved last-writer-wins by stamp;
3. finds every client whose snapshot the facts can change, rebuilds those snapshots and
   stores the ones whose digest changed (deleting those of clients merged away);
4. stores the next Kafka offsets of the batch.

A crash anywhere rolls all four back together, so a restart resumes exactly after the last
batch whose rows exist: nothing is applied twice, nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, select, update

from consumers.client360.fact_writer import write_facts
from consumers.client360.facts import Projection
from consumers.client360.merges import MergeIndex
from consumers.client360.snapshot import build_snapshot
from consumers.client360.tables import Client360Tables, client360_tables
from consumers.client360.views import client_rows, edges_touching, load_views
from consumers.storage import (
    chunks,
    insert_for,
    insert_ignore,
    load_offsets,
    save_offsets,
)
from velocity_stream.contracts.client360 import Client360Snapshot
from velocity_stream.errors import ReasonCode


@dataclass(frozen=True, slots=True)
class Rejection:
    """A consumed record that could not be read; stored, and its offset still advances."""

    topic: str
    partition: int
    offset: int
    reason: ReasonCode
    detail: str


@dataclass(frozen=True, slots=True)
class ApplyResult:
    applied: int
    duplicates: int
    rejected: int
    snapshots_changed: int
    snapshots_removed: int
    changed_refs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PendingSnapshot:
    client_ref: str
    digest: str
    body: str


class Client360Store:
    """The Client360 tables in one database; ``prefix`` namespaces them (tests, tenants)."""

    def __init__(self, engine: Engine, prefix: str = "") -> None:
        self.engine = engine
        self.tables: Client360Tables = client360_tables(prefix)

    def create(self) -> None:
        self.tables.metadata.create_all(self.engine)

    def drop(self) -> None:
        self.tables.metadata.drop_all(self.engine)

    def offsets(self) -> dict[tuple[str, int], int]:
        with self.engine.connect() as conn:
            return load_offsets(conn, self.tables.offsets)

    # --- applying -------------------------------------------------------------------------

    def apply(
        self,
        projections: Sequence[Projection],
        next_offsets: dict[tuple[str, int], int],
        rejections: Sequence[Rejection] = (),
    ) -> ApplyResult:
        """Apply one batch and its offsets in one transaction (see the module docstring)."""
        t = self.tables
        with self.engine.begin() as conn:
            fresh = self._fresh(conn, projections)
            insert_ignore(
                conn, t.applied, [{"event_id": p.event_id, "family": p.family} for p in fresh]
            )
            insert_ignore(
                conn,
                t.rejects,
                [
                    {
                        "topic": r.topic,
                        "partition": r.partition,
                        "offset": r.offset,
                        "reason": r.reason.value,
                        "detail": r.detail,
                    }
                    for r in rejections
                ],
            )
            old_into = write_facts(conn, t, fresh)
            changed, removed = self._refresh(conn, fresh, old_into)
            save_offsets(conn, t.offsets, next_offsets)
        return ApplyResult(
            len(fresh),
            len(projections) - len(fresh),
            len(rejections),
            len(changed),
            removed,
            changed,
        )

    def _fresh(self, conn: Connection, projections: Sequence[Projection]) -> list[Projection]:
        """Projections not applied before, the first of any repeated within the batch."""
        applied = self.tables.applied
        ids = {p.event_id for p in projections}
        seen: set[str] = set()
        for part in chunks(sorted(ids)):
            rows = conn.execute(select(applied.c.event_id).where(applied.c.event_id.in_(part)))
            seen.update(row.event_id for row in rows)
        fresh = []
        for projection in projections:
            if projection.event_id not in seen:
                seen.add(projection.event_id)
                fresh.append(projection)
        return fresh

    # --- snapshots ------------------------------------------------------------------------

    def _refresh(
        self, conn: Connection, fresh: Sequence[Projection], old_into: set[str]
    ) -> tuple[tuple[str, ...], int]:
        """Rebuild the snapshots the batch can change; returns the changed refs and how many
        snapshots were removed."""
        t = self.tables
        index = MergeIndex(t.merges)
        direct = {c for p in fresh for c in p.client_refs}
        graph = {r for p in fresh for r in p.graph_refs} | old_into
        index.load(conn, direct | graph)
        # A graph change reaches the clients linked to any member of the changed node's class.
        changed_class = {m for ref in graph for m in index.members(ref)}
        edges = edges_touching(conn, t.edges, changed_class)
        linked = {e.from_ref for e in edges} | {e.to_ref for e in edges}
        index.load(conn, linked)
        roots = {index.root(ref) for ref in direct | graph | linked}
        classes = {root: index.members(root) for root in roots}
        known = client_rows(conn, t.clients, {m for group in classes.values() for m in group})
        subjects = {root for root, group in classes.items() if group & known}
        views = load_views(conn, t, index, subjects)
        built = {}
        for root, view in views.items():
            if view.node is not None and not view.node.alive:
                continue  # the client's own node was deleted: no snapshot
            built[root] = build_snapshot(view)
        stale = {m for group in classes.values() for m in group} - set(built)
        current: dict[str, str] = {}
        for part in chunks(sorted(built)):
            rows = conn.execute(
                select(t.snapshots.c.client_ref, t.snapshots.c.digest).where(
                    t.snapshots.c.client_ref.in_(part)
                )
            )
            current.update((row.client_ref, row.digest) for row in rows)
        changed: list[dict[str, Any]] = [
            {
                "client_ref": ref,
                "artifact_id": b.snapshot.artifact_id,
                "digest": b.digest,
                "as_of_us": b.as_of_us,
                "body": b.body,
            }
            for ref, b in sorted(built.items())
            if current.get(ref) != b.digest
        ]
        if changed:
            statement = insert_for(conn, t.snapshots)
            ex = statement.excluded
            statement = statement.on_conflict_do_update(
                index_elements=["client_ref"],
                set_={name: ex[name] for name in ("artifact_id", "digest", "as_of_us", "body")},
            )
            conn.execute(statement, changed)
        removed = 0
        for part in chunks(sorted(stale)):
            result = conn.execute(delete(t.snapshots).where(t.snapshots.c.client_ref.in_(part)))
            removed += result.rowcount or 0
        return tuple(row["client_ref"] for row in changed), removed

    # --- reading --------------------------------------------------------------------------

    def snapshot(self, client_ref: str) -> Client360Snapshot | None:
        """The stored snapshot of a client (following merges to the surviving client)."""
        t = self.tables
        with self.engine.connect() as conn:
            body = conn.execute(
                select(t.snapshots.c.body).where(t.snapshots.c.client_ref == client_ref)
            ).scalar_one_or_none()
            if body is None:
                index = MergeIndex(t.merges)
                index.load(conn, [client_ref])
                root = index.root(client_ref)
                if root == client_ref:
                    return None
                body = conn.execute(
                    select(t.snapshots.c.body).where(t.snapshots.c.client_ref == root)
                ).scalar_one_or_none()
                if body is None:
                    return None
        return Client360Snapshot.model_validate_json(body)

    def client_refs(self, limit: int = 100, after: str = "") -> list[str]:
        """Client refs that have a snapshot, in order (a page of ``limit`` after ``after``)."""
        t = self.tables.snapshots
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.client_ref)
                .where(t.c.client_ref > after)
                .order_by(t.c.client_ref)
                .limit(limit)
            )
            return [row.client_ref for row in rows]

    def pending(
        self, limit: int = 1000, refs: Sequence[str] | None = None
    ) -> list[PendingSnapshot]:
        """Snapshots whose latest digest is not published yet (the outbox), optionally only
        among ``refs`` (the clients a batch just changed: no scan of the whole table)."""
        t = self.tables.snapshots
        due = (t.c.published_digest.is_(None)) | (t.c.published_digest != t.c.digest)
        columns = (t.c.client_ref, t.c.digest, t.c.body)
        with self.engine.connect() as conn:
            if refs is None:
                rows = conn.execute(
                    select(*columns).where(due).order_by(t.c.client_ref).limit(limit)
                )
                return [PendingSnapshot(*row) for row in rows]
            found: list[PendingSnapshot] = []
            for part in chunks(sorted(set(refs))):
                rows = conn.execute(select(*columns).where(due, t.c.client_ref.in_(part)))
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

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows, sorted, by unprefixed name: for comparing two runs."""
        prefix_len = len(self.tables.offsets.name) - len("offsets")
        found: dict[str, list[tuple[Any, ...]]] = {}
        with self.engine.connect() as conn:
            for table in self.tables.all():
                rows = conn.execute(select(table)).all()
                found[table.name[prefix_len:]] = sorted((tuple(row) for row in rows), key=repr)
        return found
