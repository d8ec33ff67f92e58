"""A sink's store: one transaction per batch holding its rows, its rejects and its offsets.

The tables are the consumer's (a StoreTables with ``offsets`` and ``rejects``); what a batch
writes is the consumer's apply hook's business (by default :func:`apply_writes`), while the
store owns the transaction: the hook's rows, the rejected records and the next offsets commit
together or not at all. A crash rolls back the batch in flight only, so a restart resumes
exactly after the last committed batch; redelivered records meet their own rows (LWW and KEEP
copies lose against themselves) and their own reject rows (keyed by position).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table

from consumers.sink.upserts import apply_writes
from consumers.sink.writes import Writes
from consumers.storage import OffsetsStore, Rejection, StoreTables, save_offsets, save_rejects

# What a consumer does with a batch's writes inside the store's transaction; returns how many
# writes changed nothing (older or repeated copies), for the duplicates metric.
Applier = Callable[[Connection, Sequence[Writes]], int]

__all__ = ["Applier", "Rejection", "SinkResult", "SinkStore"]


@dataclass(frozen=True, slots=True)
class SinkResult:
    records: int  # records that asked for writes
    unchanged: int  # writes that changed nothing
    rejected: int


class SinkStore(OffsetsStore[StoreTables]):
    """A sink's tables in one database; ``apply`` is the consumer's hook (default: generic)."""

    def __init__(self, engine: Engine, tables: StoreTables, apply: Applier = apply_writes) -> None:
        super().__init__(engine, tables)
        rejects = getattr(tables, "rejects", None)
        if not isinstance(rejects, Table):
            raise TypeError(f"{type(tables).__name__} has no rejects table")
        self.rejects: Table = rejects
        self._apply = apply

    def apply(
        self,
        batch: Sequence[Writes],
        rejections: Sequence[Rejection],
        next_offsets: dict[tuple[str, int], int],
    ) -> SinkResult:
        """Apply one batch's writes, its rejects and its next offsets in one transaction."""
        with self.engine.begin() as conn:
            unchanged = self._apply(conn, batch) if batch else 0
            save_rejects(conn, self.rejects, rejections)
            save_offsets(conn, self.tables.offsets, next_offsets)
        return SinkResult(len(batch), unchanged, len(rejections))
