"""Merge classes: which refs were folded into which, loaded from the merges table on demand.

A merged ref's facts count for the ref that survived it (its root); a chain a -> b -> c
resolves to c. Two merges that point at each other (possible when both were approved) would
make a cycle: its smallest ref is taken as the root, so the answer never depends on order.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Table, select

from consumers.client360.facts import MergeFact
from consumers.storage import chunks, one_of


class MergeIndex:
    """The merge facts reachable from the refs asked about so far."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.facts: dict[str, MergeFact] = {}
        self._children: dict[str, set[str]] = {}
        self._loaded: set[str] = set()
        self._members: dict[str, frozenset[str]] = {}

    def load(self, conn: Connection, refs: Iterable[str]) -> None:
        """Load every merge connected (in either direction) to ``refs``."""
        frontier = set(refs) - self._loaded
        t = self.table
        while frontier:
            self._loaded |= frontier
            found: list[MergeFact] = []
            for part in chunks(sorted(frontier)):
                for column in (t.c.merged_ref, t.c.into_ref):
                    rows = conn.execute(
                        select(t.c.merged_ref, t.c.into_ref, t.c.stamp, t.c.source_ref).where(
                            one_of(conn, column, part)
                        )
                    )
                    found.extend(MergeFact(*row) for row in rows)
            frontier = set()
            if found:
                self._members.clear()  # classes may have grown
            for fact in found:
                if fact.merged_ref not in self.facts:
                    self.facts[fact.merged_ref] = fact
                    self._children.setdefault(fact.into_ref, set()).add(fact.merged_ref)
                frontier.update((fact.merged_ref, fact.into_ref))
            frontier -= self._loaded

    def root(self, ref: str) -> str:
        path: list[str] = []
        seen: set[str] = set()
        current = ref
        while current in self.facts:
            if current in seen:
                return min(path[path.index(current) :])
            seen.add(current)
            path.append(current)
            current = self.facts[current].into_ref
        return current

    def members(self, ref: str) -> frozenset[str]:
        """Every ref whose root is ``ref``'s root (the ref itself included)."""
        if ref not in self.facts and ref not in self._children:
            return frozenset((ref,))  # the usual case: never merged, nothing merged into it
        root = self.root(ref)
        known = self._members.get(root)
        if known is not None:
            return known
        component = {root}
        stack = [root]
        while stack:
            current = stack.pop()
            neighbours = set(self._children.get(current, ()))
            if current in self.facts:
                neighbours.add(self.facts[current].into_ref)
            for other in neighbours - component:
                component.add(other)
                stack.append(other)
        found = frozenset(member for member in component if self.root(member) == root)
        self._members[root] = found
        return found

    def merges_into(self, roots: set[str]) -> list[MergeFact]:
        """Merge facts whose class root is one of ``roots``, with ``into_ref`` as that root."""
        found = []
        for fact in self.facts.values():
            root = self.root(fact.merged_ref)
            if root in roots and fact.merged_ref != root:
                found.append(MergeFact(fact.merged_ref, root, fact.stamp, fact.source_ref))
        return sorted(found, key=lambda f: (f.into_ref, f.merged_ref))
