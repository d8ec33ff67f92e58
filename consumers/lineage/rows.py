"""Reading the stores' rows for a trace: a connection on which a table that does not exist
(a store never run) reads as empty, and what a hop shows of a row (``Spec``: label, column;
the time columns as ISO times)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, Table, select
from sqlalchemy.sql.elements import ColumnElement

from consumers.lineage.trail import Scalar


def when(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


# What a hop shows of a row: (label, column); the time columns are shown as ISO times.
Spec = tuple[tuple[str, str], ...]
TIMES = frozenset(
    {
        "applied_at_ms",
        "at_ms",
        "created_at_ms",
        "decided_at_ms",
        "occurred_at_ms",
        "window_start_ms",
        "window_end_ms",
    }
)


def pick(row: Mapping[str, Any], spec: Spec) -> dict[str, Scalar]:
    return {label: when(row[column]) if column in TIMES else row[column] for label, column in spec}


CHANGE_FACTS: Spec = (
    ("outcome", "outcome"),
    ("source family", "source_family"),
    ("applied at", "applied_at_ms"),
    ("operations", "operations"),
    ("reason", "reason"),
    ("proposal", "proposal_ref"),
    ("decision", "decision_ref"),
)
DECISION_FACTS: Spec = (
    ("outcome", "outcome"),
    ("reviewer", "reviewer"),
    ("rule", "rule"),
    ("decided at", "decided_at_ms"),
    ("notes", "notes"),
    ("proposal", "proposal_id"),
    ("artifact", "artifact_id"),
)
PROPOSAL_FACTS: Spec = (
    ("family", "family"),
    ("operation", "operation"),
    ("target", "target_ref"),
    ("target type", "target_type"),
    ("proposer", "proposer"),
    ("confidence", "confidence"),
    ("created at", "created_at_ms"),
    ("state", "state"),
    ("batch", "batch_id"),
    ("artifact", "artifact_id"),
)
STATE_ITEMS: Spec = (
    ("state", "state"),
    ("at", "at_ms"),
    ("cause", "cause_ref"),
    ("reason", "reason"),
)
ROW_FACTS: Spec = (
    ("batch", "batch_id"),
    ("row number", "row_number"),
    ("source system", "source_system"),
    ("created at", "created_at_ms"),
    ("content sha256", "content_sha256"),
    ("artifact", "artifact_id"),
)
BATCH_FACTS: Spec = (
    ("file", "uploaded_filename"),
    ("mime type", "mime_type"),
    ("uploaded by", "uploaded_by"),
    ("source system", "source_system"),
    ("created at", "created_at_ms"),
    ("rows", "row_count"),
    ("content sha256", "content_sha256"),
    ("stored at", "storage_ref"),
    ("artifact", "artifact_id"),
)
MANIFEST_FACTS: Spec = (
    ("batch", "batch_id"),
    ("source profile", "source_profile"),
    ("source system", "source_system"),
    ("created at", "created_at_ms"),
    ("artifact", "artifact_id"),
)
COLUMN_ITEMS: Spec = (
    ("column", "source_column"),
    ("fate", "fate"),
    ("maps to", "field_path"),
    ("confidence", "confidence"),
)
INTERACTION_FACTS: Spec = (
    ("client", "client_ref"),
    ("channel", "channel"),
    ("occurred at", "occurred_at_ms"),
    ("summary", "summary"),
    ("thread", "thread_ref"),
    ("source system", "source_system"),
    ("artifact", "artifact_id"),
)
TRANSCRIPT_FACTS: Spec = (
    ("interaction", "interaction_ref"),
    ("media", "media_ref"),
    ("language", "language"),
    ("duration ms", "duration_ms"),
    ("created at", "created_at_ms"),
    ("source system", "source_system"),
    ("artifact", "artifact_id"),
)
SEGMENT_ITEMS: Spec = (
    ("speaker", "speaker"),
    ("start", "start_ms"),
    ("end", "end_ms"),
    ("text", "text"),
)
SIGNAL_FACTS: Spec = (
    ("client", "client_ref"),
    ("score type", "score_type"),
    ("value", "value"),
    ("window start", "window_start_ms"),
    ("window end", "window_end_ms"),
    ("operator", "operator_ref"),
    ("source", "source_ref"),
    ("source system", "source_system"),
    ("artifact", "artifact_id"),
)


def parse_json(text: str | None, default: Any) -> Any:
    """The JSON a store keeps in a text column, or ``default`` when it is missing, not JSON or
    not of the default's type (a store is read, never trusted to hold what it should)."""
    if not text:
        return default
    try:
        found = json.loads(text)
    except ValueError:
        return default
    return found if isinstance(found, type(default)) else default


def scalar(value: Any) -> Scalar:
    """A value as a hop shows it: JSON text for anything but a scalar."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


Lookup = tuple[Table, "ColumnElement[Any]", "ColumnElement[bool]"]


class Reader:
    """One connection's reads; a table that does not exist reads as empty."""

    def __init__(self, conn: Connection, existing: set[str]) -> None:
        self.conn = conn
        self.existing = existing

    def rows(
        self,
        table: Table,
        where: ColumnElement[bool],
        *,
        order: Sequence[Any] = (),
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        if table.name not in self.existing:
            return []
        query = select(table).where(where).order_by(*order)
        if limit is not None:
            query = query.limit(limit)
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def one(self, table: Table, where: ColumnElement[bool]) -> dict[str, Any] | None:
        found = self.rows(table, where, limit=1)
        return found[0] if found else None

    def with_items(
        self,
        parent: Table,
        key: str,
        value: str,
        children: Table,
        order: str,
        spec: Spec,
    ) -> tuple[dict[str, Any], tuple[dict[str, Scalar], ...]] | None:
        """The ``parent`` row whose ``key`` is ``value`` and its rows in ``children`` (the
        same key column), ordered by ``order`` and shown as ``spec`` items; None when there is
        no such parent."""
        row = self.one(parent, parent.c[key] == value)
        if row is None:
            return None
        owned = self.rows(children, children.c[key] == value, order=[children.c[order]])
        return row, tuple(pick(child, spec) for child in owned)


class Lookups:
    """Lookups (table, column, where) run as ONE statement, a scalar subquery each: for each,
    the column of the first row that matches, or None (also for a table not there). The
    statement is built once per set of tables present; the values come from the params."""

    def __init__(self, lookups: Sequence[Lookup]) -> None:
        self.lookups = list(lookups)
        self._built: dict[frozenset[str], tuple[Select[Any] | None, list[int]]] = {}

    def first_values(self, reader: Reader, params: dict[str, Any]) -> list[Any]:
        tables = frozenset(reader.existing)
        built = self._built.get(tables)
        if built is None:
            present = [n for n, (table, _, _) in enumerate(self.lookups) if table.name in tables]
            parts = [
                select(column).where(where).limit(1).scalar_subquery().label(f"v{n}")
                for n, (_, column, where) in enumerate(self.lookups)
                if n in present
            ]
            built = self._built[tables] = (select(*parts) if parts else None, present)
        query, present = built
        values: list[Any] = [None] * len(self.lookups)
        if query is not None:
            for n, value in zip(present, reader.conn.execute(query, params).one(), strict=True):
                values[n] = value
        return values
