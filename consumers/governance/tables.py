"""The governance store's tables (SQLAlchemy Core), named ``<prefix>gov_<table>``.

Every proposal (entity and writeback) with its current state and the history of its states
(pending, auto-approved, approved, rejected, committed, refused by the committer), every
decision with its reviewer, notes and time (``rule`` names the auto rule that decided), and
every change the committer applied or refused for a proposal. The audit trail "who approved
what" is ``decisions`` joined to ``proposals``, queryable by target, reviewer or time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Float, Index, String, Table, Text

from consumers.governance.states import ProposalState
from consumers.storage import (
    StoreTables,
    offsets_table,
    position_columns,
    rejects_table,
    table_names,
)

__all__ = ["GovernanceTables", "ProposalState", "governance_tables"]


@dataclass(frozen=True)
class GovernanceTables(StoreTables):
    rejects: Table
    proposals: Table
    states: Table
    decisions: Table
    commits: Table


def governance_tables(prefix: str = "") -> GovernanceTables:
    md, name = table_names(prefix, "gov")
    return GovernanceTables(
        metadata=md,
        offsets=offsets_table(md, name("offsets")),
        rejects=rejects_table(md, name("rejects")),
        proposals=Table(
            name("proposals"),
            md,
            Column("proposal_id", String, primary_key=True),
            Column("family", String, nullable=False),
            Column("artifact_id", String, nullable=False),
            Column("proposer", String, nullable=False),  # source_system
            Column("operation", String(16), nullable=False),  # CREATE | UPDATE | MERGE | DELETE
            Column("target_ref", String, nullable=False, index=True),
            Column("target_type", String, nullable=False),  # entity type or writeback domain
            Column("batch_id", String),  # an entity proposal's import batch
            Column("confidence", Float(precision=53), nullable=False),
            Column("created_at_ms", BigInteger, nullable=False),
            Column("evidence_refs", Text, nullable=False),  # JSON array (evidence + source refs)
            Column("body", Text, nullable=False),  # the proposal as canonical JSON
            Column("state", String(16), nullable=False),  # ProposalState, the latest
            Column("state_at_ms", BigInteger, nullable=False),
            *position_columns(),
        ),
        # One row per state a proposal reached, with what caused it (decision id, change id or
        # dead-letter coordinates) and why.
        states=Table(
            name("states"),
            md,
            Column("proposal_id", String, primary_key=True),
            Column("state", String(16), primary_key=True),
            Column("cause_ref", String, primary_key=True),
            Column("at_ms", BigInteger, nullable=False),
            Column("reason", String),
        ),
        decisions=Table(
            name("decisions"),
            md,
            Column("decision_id", String, primary_key=True),
            Column("proposal_id", String, nullable=False, index=True),
            Column("proposal_family", String, nullable=False),
            Column("artifact_id", String, nullable=False),
            Column("reviewer", String, nullable=False, index=True),
            Column("rule", String),  # the auto rule's name when a rule decided
            Column("outcome", String(16), nullable=False),  # APPROVED | REJECTED
            Column("notes", Text, nullable=False),
            Column("decided_at_ms", BigInteger, nullable=False, index=True),
            *position_columns(),
        ),
        # What the committer did with an approved proposal: APPLIED (its change id) or REFUSED
        # (the dead letter's reason code).
        commits=Table(
            name("commits"),
            md,
            Column("change_id", String, primary_key=True),
            Column("proposal_id", String, nullable=False, index=True),
            Column("decision_id", String),
            Column("outcome", String(16), nullable=False),
            Column("reason", String),
            Column("at_ms", BigInteger, nullable=False),
            *position_columns(),
            Index(f"ix_{name('commits')}_decision", "decision_id"),
        ),
    )
