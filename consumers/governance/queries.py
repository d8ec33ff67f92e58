"""Reads of the governance store: a proposal's history, and the audit trail of decisions.

Plain functions over a connection (the caller owns it: the lineage API, the review app, tests).
Times are epoch milliseconds, as stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from consumers.governance.tables import GovernanceTables


@dataclass(frozen=True, slots=True)
class StateEntry:
    state: str
    at_ms: int
    cause_ref: str  # decision id, change id, rule:<name>, the proposal's artifact id, or the
    # refused commit record's coordinates
    reason: str | None


@dataclass(frozen=True, slots=True)
class DecisionEntry:
    decision_id: str
    proposal_id: str
    proposal_family: str
    reviewer: str
    rule: str | None
    outcome: str
    notes: str
    decided_at_ms: int
    # From the proposal, when it is stored (a decision can arrive before its proposal).
    target_ref: str | None = None
    target_type: str | None = None


@dataclass(frozen=True, slots=True)
class CommitEntry:
    change_id: str
    decision_id: str | None
    outcome: str  # APPLIED | REFUSED
    reason: str | None
    at_ms: int


@dataclass(frozen=True, slots=True)
class ProposalHistory:
    proposal_id: str
    proposal: dict[str, Any] | None  # the proposal's row (evidence_refs decoded), if stored
    states: list[StateEntry]  # oldest first
    decisions: list[DecisionEntry]
    commits: list[CommitEntry]

    @property
    def state(self) -> str | None:
        return self.proposal["state"] if self.proposal else None


def proposal_history(
    conn: Connection, tables: GovernanceTables, proposal_id: str
) -> ProposalHistory:
    """Everything the store knows of one proposal (empty lists when it knows nothing)."""
    p, s, c = tables.proposals, tables.states, tables.commits
    row = conn.execute(select(p).where(p.c.proposal_id == proposal_id)).mappings().first()
    proposal = dict(row) if row is not None else None
    if proposal is not None:
        proposal["evidence_refs"] = json.loads(proposal["evidence_refs"])
    states = [
        StateEntry(r.state, int(r.at_ms), r.cause_ref, r.reason)
        for r in conn.execute(
            select(s)
            .where(s.c.proposal_id == proposal_id)
            .order_by(s.c.at_ms, s.c.state, s.c.cause_ref)
        )
    ]
    commits = [
        CommitEntry(r.change_id, r.decision_id, r.outcome, r.reason, int(r.at_ms))
        for r in conn.execute(
            select(c).where(c.c.proposal_id == proposal_id).order_by(c.c.at_ms, c.c.change_id)
        )
    ]
    decisions = audit_trail(conn, tables, proposal_id=proposal_id)
    return ProposalHistory(proposal_id, proposal, states, decisions, commits)


def audit_trail(
    conn: Connection,
    tables: GovernanceTables,
    *,
    target_ref: str | None = None,
    reviewer: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    proposal_id: str | None = None,
    limit: int | None = None,
) -> list[DecisionEntry]:
    """Decisions, oldest first, filtered by the proposal's target, the reviewer (``human:x``
    or ``rule:x``) and ``since_ms <= decided_at_ms < until_ms``. A decision whose proposal is
    not stored yet has no target: it is listed unless a target is asked for."""
    d, p = tables.decisions, tables.proposals
    query = select(
        d.c.decision_id,
        d.c.proposal_id,
        d.c.proposal_family,
        d.c.reviewer,
        d.c.rule,
        d.c.outcome,
        d.c.notes,
        d.c.decided_at_ms,
        p.c.target_ref,
        p.c.target_type,
    ).select_from(d.outerjoin(p, p.c.proposal_id == d.c.proposal_id))
    if target_ref is not None:
        query = query.where(p.c.target_ref == target_ref)
    if reviewer is not None:
        query = query.where(d.c.reviewer == reviewer)
    if since_ms is not None:
        query = query.where(d.c.decided_at_ms >= since_ms)
    if until_ms is not None:
        query = query.where(d.c.decided_at_ms < until_ms)
    if proposal_id is not None:
        query = query.where(d.c.proposal_id == proposal_id)
    query = query.order_by(d.c.decided_at_ms, d.c.decision_id)
    if limit is not None:
        query = query.limit(limit)
    return [
        DecisionEntry(
            r.decision_id,
            r.proposal_id,
            r.proposal_family,
            r.reviewer,
            r.rule,
            r.outcome,
            r.notes,
            int(r.decided_at_ms),
            r.target_ref,
            r.target_type,
        )
        for r in conn.execute(query)
    ]
