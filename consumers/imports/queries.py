"""Questions asked of the import store, each one SQL query (the lineage view calls these).

A batch's manifest is its *latest*: the one created last (ties broken by the greater manifest
id), so the answer does not depend on the order in which manifests were consumed. Values are
the raw cell text as received: a MAPPED column names its transform, it does not apply it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, select

from consumers.imports.tables import ColumnFate, ImportTables


@dataclass(frozen=True, slots=True)
class UnresolvedRow:
    row_id: str
    row_number: int
    value: str
    manifest_id: str


@dataclass(frozen=True, slots=True)
class MappedField:
    entity_type: str
    field_path: str
    source_column: str
    value: str
    mapping_kind: str
    transform: str | None
    confidence: float
    manifest_id: str


def _latest_manifest(tables: ImportTables, batch_id: ColumnElement[str] | str) -> Select[Any]:
    """The id of ``batch_id``'s latest manifest (no row when it has none)."""
    m = tables.manifests
    return (
        select(m.c.manifest_id)
        .where(m.c.batch_id == batch_id)
        .order_by(m.c.created_at_ms.desc(), m.c.manifest_id.desc())
        .limit(1)
    )


def latest_manifest_id(conn: Connection, tables: ImportTables, batch_id: str) -> str | None:
    found = conn.execute(_latest_manifest(tables, batch_id)).scalar_one_or_none()
    return None if found is None else str(found)


def unresolved_rows(
    conn: Connection, tables: ImportTables, batch_id: str, column: str
) -> list[UnresolvedRow]:
    """The rows of ``batch_id`` that have a value in ``column`` while the batch's latest
    manifest leaves that column UNRESOLVED, by row number (none before a manifest arrives)."""
    values, columns = tables.row_values, tables.manifest_columns
    query = (
        select(values.c.row_id, values.c.row_number, values.c.value, columns.c.manifest_id)
        .join(
            columns,
            and_(
                columns.c.batch_id == values.c.batch_id,
                columns.c.source_column == values.c.source_column,
            ),
        )
        .where(
            values.c.batch_id == batch_id,
            values.c.source_column == column,
            columns.c.fate == ColumnFate.UNRESOLVED.value,
            columns.c.manifest_id == _latest_manifest(tables, values.c.batch_id).scalar_subquery(),
        )
        .order_by(values.c.row_number, values.c.row_id)
    )
    return [UnresolvedRow(*row) for row in conn.execute(query)]


def mapped_fields(conn: Connection, tables: ImportTables, row_id: str) -> list[MappedField]:
    """The canonical fields row ``row_id`` maps to under its batch's latest manifest, with the
    raw value of the column each comes from, by entity type and field path."""
    values, columns = tables.row_values, tables.manifest_columns
    query = (
        select(
            columns.c.entity_type,
            columns.c.field_path,
            values.c.source_column,
            values.c.value,
            columns.c.mapping_kind,
            columns.c.transform,
            columns.c.confidence,
            columns.c.manifest_id,
        )
        .join(columns, columns.c.source_column == values.c.source_column)
        .where(
            values.c.row_id == row_id,
            columns.c.fate == ColumnFate.MAPPED.value,
            columns.c.manifest_id == _latest_manifest(tables, values.c.batch_id).scalar_subquery(),
        )
        .order_by(columns.c.entity_type, columns.c.field_path, values.c.source_column)
    )
    return [MappedField(*row) for row in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class RowCell:
    """One cell of a row and what the batch's latest manifest does with its column: a fate
    (None while the batch has no manifest, or when the manifest does not know the column) and,
    for a MAPPED column, its target."""

    source_column: str
    value: str
    fate: str | None
    entity_type: str | None
    field_path: str | None
    manifest_id: str | None


def row_cells(conn: Connection, tables: ImportTables, row_id: str) -> list[RowCell]:
    """Every cell of row ``row_id``, by column, with its fate under the batch's latest
    manifest (the lineage view of a raw row)."""
    values, columns = tables.row_values, tables.manifest_columns
    query = (
        select(
            values.c.source_column,
            values.c.value,
            columns.c.fate,
            columns.c.entity_type,
            columns.c.field_path,
            columns.c.manifest_id,
        )
        .select_from(values)
        .outerjoin(
            columns,
            and_(
                columns.c.source_column == values.c.source_column,
                columns.c.manifest_id
                == _latest_manifest(tables, values.c.batch_id).scalar_subquery(),
            ),
        )
        .where(values.c.row_id == row_id)
        .order_by(values.c.source_column)
    )
    return [RowCell(*row) for row in conn.execute(query)]
