"""Writing a batch's governance rows, inside the caller's transaction.

Every write is idempotent and independent of arrival order: proposals, states and decisions
are insert-if-absent (a redelivered record is the same row), a commit row APPLIED wins over a
REFUSED one of the same change, and each touched proposal's current state is derived again
from *all* its stored states (``states.current_state``). A decision or commit whose proposal
is not stored yet keeps its state row; the proposal picks it up when it arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from consumers.governance.mapping import COMMIT_APPLIED, GovWrites, Row
from consumers.governance.states import current_state
from consumers.governance.tables import GovernanceTables
from consumers.sink.writes import Writes
from consumers.storage import chunks, insert_ignore, one_of, write_rows


def _unique(rows: Iterable[Row], keys: Sequence[str]) -> list[Row]:
    """The first row of each key (a batch may carry a record twice)."""
    seen: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        seen.setdefault(tuple(row[k] for k in keys), row)
    return list(seen.values())


def _applied_first(rows: Iterable[Row]) -> list[Row]:
    """One commit row per change id, APPLIED over REFUSED."""
    found: dict[str, Row] = {}
    for row in rows:
        kept = found.get(row["change_id"])
        if kept is None or (row["outcome"] == COMMIT_APPLIED and kept["outcome"] != COMMIT_APPLIED):
            found[row["change_id"]] = row
    return list(found.values())


def governance_applier(tables: GovernanceTables) -> Callable[[Connection, Sequence[Writes]], int]:
    """The sink framework's apply hook: the batch's upserts (GovernanceMapper makes them, one
    per row) grouped back by table and written by :func:`apply_rows`; returns 0 (unchanged
    rows are not counted)."""
    names = {
        tables.proposals: "proposals",
        tables.states: "states",
        tables.decisions: "decisions",
        tables.commits: "commits",
    }

    def apply(conn: Connection, batch: Sequence[Writes]) -> int:
        found = GovWrites()
        for writes in batch:
            for upsert in writes.normalized():
                getattr(found, names[upsert.table]).append(dict(upsert.row))
        apply_rows(conn, tables, [found])
        return 0

    return apply


def apply_rows(conn: Connection, tables: GovernanceTables, batch: Sequence[GovWrites]) -> None:
    """Write ``batch`` (the rows of several records) in the caller's transaction."""
    proposals = _unique((r for w in batch for r in w.proposals), ["proposal_id"])
    states = _unique((r for w in batch for r in w.states), ["proposal_id", "state", "cause_ref"])
    decisions = _unique((r for w in batch for r in w.decisions), ["decision_id"])
    commits = _applied_first(r for w in batch for r in w.commits)
    insert_ignore(conn, tables.states, states)
    insert_ignore(conn, tables.decisions, decisions)
    if commits:
        commits_table = tables.commits

        def applied_wins(statement: Any) -> Any:
            excluded = statement.excluded
            return statement.on_conflict_do_update(
                index_elements=["change_id"],
                set_={c: excluded[c] for c in commits[0] if c != "change_id"},
                where=(excluded.outcome == COMMIT_APPLIED)
                & (commits_table.c.outcome != COMMIT_APPLIED),
            )

        write_rows(conn, commits_table, commits, applied_wins, "applied_wins")
    touched = {r["proposal_id"] for r in proposals} | {r["proposal_id"] for r in states}
    if touched:
        write_proposals(conn, tables, proposals, sorted(touched))


def write_proposals(
    conn: Connection, tables: GovernanceTables, proposals: list[Row], touched: list[str]
) -> None:
    """Insert the new ``proposals`` with their current state, and set the state of the stored
    ones among ``touched`` again, from all their states (the batch's already written)."""
    p, s = tables.proposals, tables.states
    incoming = {r["proposal_id"]: r for r in proposals}
    updates: list[dict[str, Any]] = []
    fresh: list[Row] = []
    for part in chunks(touched):
        stored = {
            pid: (state, int(at))
            for pid, state, at in conn.execute(
                select(p.c.proposal_id, p.c.state, p.c.state_at_ms).where(
                    one_of(conn, p.c.proposal_id, part)
                )
            )
        }
        known = [pid for pid in part if pid in stored or pid in incoming]
        if not known:
            continue
        found: dict[str, list[tuple[str, int, str]]] = {}
        rows = conn.execute(
            select(s.c.proposal_id, s.c.state, s.c.at_ms, s.c.cause_ref).where(
                one_of(conn, s.c.proposal_id, known)
            )
        )
        for pid, state, at_ms, cause in rows:
            found.setdefault(pid, []).append((state, int(at_ms), cause))
        for pid in known:
            now = current_state(found.get(pid, ()))
            if pid in stored:
                if now is not None and now != stored[pid]:
                    updates.append({"pid": pid, "new_state": now[0], "new_at": now[1]})
            else:
                row = incoming[pid]
                if now is not None:
                    row = {**row, "state": now[0], "state_at_ms": now[1]}
                fresh.append(row)
    insert_ignore(conn, p, fresh)
    if updates:
        conn.execute(
            update(p)
            .where(p.c.proposal_id == bindparam("pid"))
            .values(state=bindparam("new_state"), state_at_ms=bindparam("new_at")),
            updates,
        )
