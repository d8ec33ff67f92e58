"""The import store's tables (SQLAlchemy Core), named ``<prefix>imports_<table>``.

Raw batches and raw rows are immutable: one copy of a batch id or a row id is kept (the
earliest by position: consumers/imports/store.py), and another copy that differs is recorded in
``conflicts`` instead of overwriting it (an identical copy is a redelivery and changes
nothing). A manifest's columns each get their fate (MAPPED, IGNORED, UNRESOLVED), and every raw
value of a row is indexed by (batch, column), so "which rows of batch X left column Y
unresolved" is one join of ``row_values`` and ``manifest_columns``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Float, Index, String, Table, Text

from consumers.storage import (
    StoreTables,
    offsets_table,
    position_columns,
    rejects_table,
    table_names,
)


class ColumnFate(StrEnum):
    MAPPED = "MAPPED"
    IGNORED = "IGNORED"
    UNRESOLVED = "UNRESOLVED"


@dataclass(frozen=True)
class ImportTables(StoreTables):
    rejects: Table
    batches: Table
    rows: Table
    row_values: Table
    manifests: Table
    manifest_columns: Table
    conflicts: Table


def import_tables(prefix: str = "") -> ImportTables:
    md, name = table_names(prefix, "imports")
    return ImportTables(
        metadata=md,
        offsets=offsets_table(md, name("offsets")),
        rejects=rejects_table(md, name("rejects")),
        # RawImportBatch: one row per batch id, the earliest copy read (store.py).
        batches=Table(
            name("batches"),
            md,
            Column("batch_id", String, primary_key=True),
            Column("artifact_id", String, nullable=False),
            Column("source_system", String, nullable=False),
            Column("created_at_ms", BigInteger, nullable=False),
            Column("uploaded_filename", String, nullable=False),
            Column("mime_type", String, nullable=False),
            Column("storage_ref", String, nullable=False),
            Column("row_count", BigInteger, nullable=False),
            Column("uploaded_by", String, nullable=False),
            Column("content_sha256", String(64), nullable=False),
            *position_columns(),
        ),
        # ImportRowRecord: one row per row id, the earliest copy read.
        rows=Table(
            name("rows"),
            md,
            Column("row_id", String, primary_key=True),
            Column("batch_id", String, nullable=False),
            Column("row_number", BigInteger, nullable=False),
            Column("content_sha256", String(64), nullable=False),
            Column("artifact_id", String, nullable=False),
            Column("source_system", String, nullable=False),
            Column("created_at_ms", BigInteger, nullable=False),
            Column("raw_values", Text, nullable=False),  # canonical JSON object column -> value
            *position_columns(),
            Index(f"ix_{name('rows')}_batch", "batch_id", "row_number"),
        ),
        # The structured index of raw values: one row per (row, source column).
        row_values=Table(
            name("row_values"),
            md,
            Column("row_id", String, primary_key=True),
            Column("source_column", String, primary_key=True),
            Column("batch_id", String, nullable=False),
            Column("row_number", BigInteger, nullable=False),
            Column("value", Text, nullable=False),
            Index(f"ix_{name('row_values')}_batch_column", "batch_id", "source_column"),
        ),
        # ImportMappingManifest (every major read as the latest model).
        manifests=Table(
            name("manifests"),
            md,
            Column("manifest_id", String, primary_key=True),
            Column("batch_id", String, nullable=False, index=True),
            Column("artifact_id", String, nullable=False),
            Column("source_system", String, nullable=False),
            Column("created_at_ms", BigInteger, nullable=False),
            Column("source_profile", String, nullable=False),
            Column("schema_version", String, nullable=False),
            # JSON array of the resolver's notes on no one column (those on a column are on it).
            Column("notes", Text, nullable=False),
            *position_columns(),
        ),
        # Every source column of a manifest with its fate; a MAPPED column names its target.
        manifest_columns=Table(
            name("manifest_columns"),
            md,
            Column("manifest_id", String, primary_key=True),
            Column("source_column", String, primary_key=True),
            Column("batch_id", String, nullable=False),
            Column("fate", String(16), nullable=False),  # ColumnFate
            Column("entity_type", String),
            Column("field_path", String),
            Column("mapping_kind", String),
            Column("transform", String),
            Column("confidence", Float(precision=53)),
            Column("notes", Text),  # JSON array of the resolver's notes on this column
            Index(f"ix_{name('manifest_columns')}_batch", "batch_id", "source_column", "fate"),
        ),
        # A later copy of a batch, row or manifest id that differs from the stored one.
        conflicts=Table(
            name("conflicts"),
            md,
            *position_columns(primary_key=True),
            Column("kind", String(16), nullable=False),  # batch | row | manifest
            Column("ref", String, nullable=False, index=True),  # the batch, row or manifest id
            Column("artifact_id", String, nullable=False),
            Column("differences", Text, nullable=False),  # JSON: field -> [stored, incoming]
            # JSON: what the copy is compared on (consumers/imports/copies.py), so that the
            # differences can be worked out again when an earlier copy is read later.
            Column("content", Text, nullable=False),
        ),
    )
