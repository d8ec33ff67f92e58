"""Licences: what an approved proposal grants, the destructive operations it describes.

An approval licenses exactly the change its proposal described, once; that one use is the
commit record the gateway writes with it (no record on the ingress may use it again: the
catalog's ``approved_only_by_commit``). Proposal families say what an approval of them grants
(``licence()``); the gateway records it with the approval in its ``approved_decisions`` table.

Coverage, operation by operation (``Licence.uncovered``):

- ``MERGE_NODES`` into a target: the licence merges into the same target, and every merged
  ref is one it names (merging fewer is narrower, so allowed);
- ``DELETE_NODE``: the licence deletes that node;
- ``DELETE_EDGE``: the licence deletes that edge, or one of its ends is a node the licence
  merges away or deletes (a merge moves the merged node's edges, a delete drops them: a
  committer's report of the change lists those edge deletions).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

MERGE_NODES = "MERGE_NODES"
DELETE_NODE = "DELETE_NODE"
DELETE_EDGE = "DELETE_EDGE"


@dataclass(frozen=True, slots=True, order=True)
class LicensedChange:
    """One destructive operation: ``target`` is the node (the relation for an edge);
    ``refs`` the merged refs (sorted) or an edge's (from_ref, to_ref)."""

    operation: str
    target: str
    refs: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.operation == DELETE_EDGE and len(self.refs) == 2:
            return f"{self.operation} {self.refs[0]} -[{self.target}]-> {self.refs[1]}"
        merged = f" <- {', '.join(self.refs)}" if self.refs else ""
        return f"{self.operation} {self.target}{merged}"


def merge(target: str, refs: Iterable[str]) -> LicensedChange:
    return LicensedChange(MERGE_NODES, target, tuple(sorted(set(refs))))


def delete_node(target: str) -> LicensedChange:
    return LicensedChange(DELETE_NODE, target)


def delete_edge(from_ref: str, to_ref: str, relation: str) -> LicensedChange:
    return LicensedChange(DELETE_EDGE, relation, (from_ref, to_ref))


@dataclass(frozen=True, slots=True)
class Licence:
    """What an approval of one proposal grants."""

    changes: tuple[LicensedChange, ...] = ()
    _removed: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        removed = {
            ref
            for change in self.changes
            for ref in (change.refs if change.operation == MERGE_NODES else (change.target,))
            if change.operation in (MERGE_NODES, DELETE_NODE)
        }
        object.__setattr__(self, "_removed", frozenset(removed))

    def covers(self, change: LicensedChange) -> bool:
        if change.operation == MERGE_NODES:
            return any(
                granted.operation == MERGE_NODES
                and granted.target == change.target
                and set(change.refs) <= set(granted.refs)
                for granted in self.changes
            )
        if change.operation == DELETE_EDGE and any(ref in self._removed for ref in change.refs):
            return True
        return change in self.changes

    def uncovered(self, requested: Iterable[LicensedChange]) -> list[LicensedChange]:
        """The requested changes this licence does not cover, in request order."""
        return [change for change in requested if not self.covers(change)]

    def encode(self) -> bytes:
        rows = [[c.operation, c.target, list(c.refs)] for c in self.changes]
        return json.dumps(rows, separators=(",", ":")).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> Licence:
        rows = json.loads(data.decode("utf-8"))
        return cls(tuple(LicensedChange(op, target, tuple(refs)) for op, target, refs in rows))


@runtime_checkable
class Licensing(Protocol):
    """A proposal family whose approval licenses later changes."""

    def licence(self) -> Licence: ...


def licence_of(proposal: object) -> Licence:
    """What approving ``proposal`` grants; nothing destructive for families that describe none."""
    return proposal.licence() if isinstance(proposal, Licensing) else Licence()
