"""The committer's store: applies a batch of change sets and its offsets in one transaction.

Per batch, in this order: (1) each change set not seen before (by change id: the decision id,
or the delta id) is checked and applied or refused, and recorded in ``graph_changes``;
(2) the caller's ``before_commit`` hook runs with the refusals (the runner dead-letters them
and waits for the broker's acknowledgement); (3) the batch's next offsets are stored;
(4) the transaction commits. A crash before (4) undoes everything: the batch is read again and
its dead letters are produced again (at-least-once, identical bytes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, select

from consumers.committer.changes import ChangeSet
from consumers.committer.graph import GraphWriter, Node, Refusal, node_of
from consumers.committer.tables import GraphTables, Outcome, graph_tables
from consumers.partitions import RawMessage
from consumers.storage import OffsetsStore, save_offsets


class Verdict(StrEnum):
    APPLIED = "applied"
    REFUSED = "refused"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Incoming:
    """A consumed record as a change set, or why it could not be read as one."""

    message: RawMessage
    change_set: ChangeSet | None
    unreadable: Refusal | None = None


@dataclass(frozen=True, slots=True)
class Result:
    message: RawMessage
    change_id: str
    verdict: Verdict
    refusal: Refusal | None = None


BeforeCommit = Callable[[Sequence[Result]], None]


class GraphStore(OffsetsStore[GraphTables]):
    """The canonical graph tables in one database; ``prefix`` namespaces them."""

    def __init__(self, engine: Engine, prefix: str = "") -> None:
        super().__init__(engine, graph_tables(prefix))

    def apply(
        self,
        batch: Sequence[Incoming],
        next_offsets: dict[tuple[str, int], int],
        before_commit: BeforeCommit | None = None,
    ) -> list[Result]:
        results: list[Result] = []
        with self.engine.begin() as conn:
            writer = GraphWriter(conn, self.tables)
            for item in batch:
                results.append(self._one(conn, writer, item))
            if before_commit is not None:
                before_commit([r for r in results if r.verdict is Verdict.REFUSED])
            save_offsets(conn, self.tables.offsets, next_offsets)
        return results

    def _one(self, conn: Connection, writer: GraphWriter, item: Incoming) -> Result:
        message = item.message
        change_set = item.change_set
        if change_set is None:
            change_id = f"record:{message.topic}:{message.partition}:{message.offset}"
        else:
            change_id = change_set.change_id
        changes = self.tables.changes
        seen = conn.execute(
            select(changes.c.change_id).where(changes.c.change_id == change_id)
        ).first()
        if seen is not None:
            return Result(message, change_id, Verdict.DUPLICATE)
        refusal = item.unreadable
        if refusal is None and change_set is not None:
            refusal = writer.apply(change_set)
        assert refusal is not None or change_set is not None
        conn.execute(
            changes.insert().values(
                change_id=change_id,
                source_family=change_set.source_family if change_set else "",
                proposal_ref=change_set.proposal_ref if change_set else None,
                decision_ref=change_set.decision_ref if change_set else None,
                outcome=(Outcome.REFUSED if refusal else Outcome.APPLIED).value,
                reason=refusal.code.value if refusal else None,
                detail=refusal.message if refusal else None,
                operations=len(change_set.changes) if change_set else 0,
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
            )
        )
        verdict = Verdict.REFUSED if refusal else Verdict.APPLIED
        return Result(message, change_id, verdict, refusal)

    # --- reading --------------------------------------------------------------------------

    def node(self, ref: str) -> Node | None:
        t = self.tables.nodes
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.node_ref == ref)).first()
        return node_of(row) if row is not None else None

    def change(self, change_id: str) -> dict[str, Any] | None:
        t = self.tables.changes
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.change_id == change_id)).first()
        return dict(row._mapping) if row is not None else None
