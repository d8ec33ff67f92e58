"""The committer's store: applies a batch of change sets and its offsets in one transaction.

Per batch, in this order: (1) each change set not seen before (by change id: the decision id,
or the delta id) is checked; one that passes is written together with its applied record
(consumers/applied.py) in ``graph_outbox``, one that fails is refused; either way it is
recorded in ``graph_changes``; (2) the caller's ``before_commit`` hook runs with the refusals
(the runner dead-letters them and waits for the broker's acknowledgement); (3) the batch's next
offsets are stored; (4) the transaction commits. A crash before (4) undoes everything: the batch
is read again and its dead letters are produced again (at-least-once, identical bytes).

Applied records are published only after (4), from the outbox (:meth:`GraphStore.unpublished`,
then :meth:`GraphStore.mark_published` once the broker acknowledged them): what is published
is exactly what committed. A crash between the acknowledgement and the outbox update publishes
the same records again on restart; readers deduplicate them by artifact id.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from consumers.applied import applied_change
from consumers.committer.changes import ChangeSet
from consumers.committer.graph import GraphWriter, Node, Refusal, Staged, node_of
from consumers.committer.tables import GraphTables, Outcome, graph_tables
from consumers.storage import OffsetsStore, delete_in, save_offsets
from velocity_stream.contracts.applied_graph_change import APPLIED_PREFIX, AppliedGraphChange
from velocity_stream.errors import ContractError, ReasonCode
from velocity_stream.observability import trace_id_from_headers
from velocity_stream.protocol.records import InboundMessage as RawMessage


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
    applied: AppliedGraphChange | None = None  # the applied record, for an applied change set


@dataclass(frozen=True, slots=True)
class Unpublished:
    """An applied record in the outbox, waiting for the broker."""

    change_id: str
    record: AppliedGraphChange
    trace_id: str | None


BeforeCommit = Callable[[Sequence[Result]], None]
Clock = Callable[[], float]  # seconds since the epoch


class GraphStore(OffsetsStore[GraphTables]):
    """The canonical graph tables in one database; ``prefix`` namespaces them.

    ``clock`` stamps applied records (``created_at``); one store has one writer, which keeps
    the stamps strictly increasing even when the clock stalls or steps back.
    """

    def __init__(self, engine: Engine, prefix: str = "", clock: Clock = time.time) -> None:
        super().__init__(engine, graph_tables(prefix))
        self.clock = clock
        self._last_applied_ms: int | None = None

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
        record: AppliedGraphChange | None = None
        applied_at_ms: int | None = None
        if refusal is None and change_set is not None:
            staged = writer.stage(change_set)
            if isinstance(staged, Refusal):
                refusal = staged
            else:
                applied_at_ms = self._next_applied_ms(conn)
                record, refusal = _applied_record(staged, applied_at_ms)
                if record is not None:
                    writer.write(staged)
                    conn.execute(
                        self.tables.outbox.insert().values(
                            change_id=change_id,
                            applied_at_ms=applied_at_ms,
                            record=record.model_dump_json(),
                            trace_id=trace_id_from_headers(message.headers),
                        )
                    )
                    self._last_applied_ms = applied_at_ms
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
                applied_at_ms=None if refusal else applied_at_ms,
            )
        )
        verdict = Verdict.REFUSED if refusal else Verdict.APPLIED
        return Result(message, change_id, verdict, refusal, record)

    def _next_applied_ms(self, conn: Connection) -> int:
        """Now in ms, but always after the last change this store applied."""
        if self._last_applied_ms is None:
            last = conn.execute(select(func.max(self.tables.changes.c.applied_at_ms))).scalar()
            self._last_applied_ms = int(last) if last is not None else 0
        return max(int(self.clock() * 1000), self._last_applied_ms + 1)

    # --- the outbox -----------------------------------------------------------------------

    def unpublished(self, limit: int = 1000) -> list[Unpublished]:
        """Applied records not yet acknowledged, oldest first."""
        t = self.tables.outbox
        query = (
            select(t.c.change_id, t.c.record, t.c.trace_id)
            .order_by(t.c.applied_at_ms, t.c.change_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                Unpublished(change_id, _outbox_record(record), trace_id)
                for change_id, record, trace_id in conn.execute(query)
            ]

    def mark_published(self, change_ids: Sequence[str]) -> None:
        """Forget records the broker acknowledged."""
        t = self.tables.outbox
        with self.engine.begin() as conn:
            delete_in(conn, t, "change_id", change_ids)

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


def _applied_record(
    staged: Staged, applied_at_ms: int
) -> tuple[AppliedGraphChange | None, Refusal | None]:
    """The applied record of a staged change set, or why it cannot be published (then the
    set is refused: nothing is applied that readers could not be told about)."""
    change_set = staged.change_set
    try:
        record = applied_change(
            change_set.change_id,
            change_set.proposal_ref,
            change_set.decision_ref,
            staged.operations(),
            applied_at_ms,
        )
    except ContractError as error:
        first = error.violations[0] if error.violations else None
        return None, Refusal(
            first.code if first else ReasonCode.CONTRACT_INVALID_FIELD,
            f"the applied change would not be a valid AppliedGraphChange: {error}",
            f"applied.{first.path}" if first and first.path else "applied",
        )
    return record, None


def _outbox_record(text: str) -> AppliedGraphChange:
    """An outbox row as its record. Rows written before applied records had a family of their
    own hold the ClientGraphDelta they then were (``delta_id`` ``applied:<change id>``): they
    go out as the AppliedGraphChange of the same change, same artifact id."""
    data = json.loads(text)
    if "delta_id" not in data:
        return AppliedGraphChange.model_validate_json(text)
    created = datetime.fromisoformat(data["created_at"])
    return applied_change(
        str(data["delta_id"]).removeprefix(APPLIED_PREFIX),
        data.get("proposal_ref"),
        data.get("decision_ref"),
        data["operations"],
        round(created.timestamp() * 1000),
    )
