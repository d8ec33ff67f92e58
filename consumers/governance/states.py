"""A proposal's states and which one is current (pure).

The states a proposal reached form a set (``gov_states``); the current one is chosen from the
whole set by precedence, never by the order records arrived in: COMMITTED and REFUSED (what
the committer did) over APPROVED and REJECTED (a decision) over AUTO_APPROVED (the gateway
routed it to an auto rule) over PENDING. Within a rank the later state wins; at the same time,
the first in ``_TIE`` (then the cause ref), so the choice is total and repeatable.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any


class ProposalState(StrEnum):
    PENDING = "PENDING"
    AUTO_APPROVED = "AUTO_APPROVED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    COMMITTED = "COMMITTED"
    REFUSED = "REFUSED"  # by the committer


_RANK = {
    ProposalState.COMMITTED: 3,
    ProposalState.REFUSED: 3,
    ProposalState.APPROVED: 2,
    ProposalState.REJECTED: 2,
    ProposalState.AUTO_APPROVED: 1,
    ProposalState.PENDING: 0,
}
_TIE = [
    ProposalState.COMMITTED,
    ProposalState.REFUSED,
    ProposalState.APPROVED,
    ProposalState.REJECTED,
    ProposalState.AUTO_APPROVED,
    ProposalState.PENDING,
]


def current_state(states: Iterable[tuple[str, int, str]]) -> tuple[str, int] | None:
    """``(state, at_ms)`` of the current state among ``(state, at_ms, cause_ref)``; None for
    none."""
    best: tuple[Any, ...] | None = None
    chosen: tuple[str, int] | None = None
    for state, at_ms, cause in states:
        known = ProposalState(state)
        order = (_RANK[known], at_ms, -_TIE.index(known), cause)
        if best is None or order > best:
            best, chosen = order, (known.value, at_ms)
    return chosen
