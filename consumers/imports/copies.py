"""Pure: one consumed import artifact (batch, row or manifest) as the rows it asks the store for.

Each of the three is immutable by id, so a consumed record is a *copy*: the store keeps the
earliest copy of an id and compares every other one with it (``store.py``). What two copies are
compared on is :meth:`ImportCopy.content`: every field the store keeps of the copy. It names
the tables a copy goes to but opens no connection and reads no Kafka.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from consumers.imports.tables import ColumnFate, ImportTables
from velocity_stream.contracts.import_manifest import (
    ImportMappingManifest,
    ResolverNote,
    TargetField,
)
from velocity_stream.contracts.imports import ImportRowRecord, RawImportBatch
from velocity_stream.contracts.metadata import Artifact

if TYPE_CHECKING:
    from sqlalchemy import Table

Position = tuple[str, int, int]  # topic, partition, offset
Row = Mapping[str, Any]


class CopyKind(StrEnum):
    BATCH = "batch"
    ROW = "row"
    MANIFEST = "manifest"


@dataclass(frozen=True, slots=True)
class ImportCopy:
    """One copy of a batch, row or manifest and where it was read.

    ``record`` is the kind's table row without its position; ``details`` are the rows that
    come with it (a row's indexed values, a manifest's columns), written only for the kept copy.
    """

    kind: CopyKind
    ref: str  # the batch, row or manifest id
    artifact_id: str
    position: Position
    record: Row
    details: tuple[Row, ...] = ()

    def stored_row(self) -> dict[str, Any]:
        topic, partition, offset = self.position
        return {**self.record, "topic": topic, "partition": partition, "offset": offset}

    def content(self) -> dict[str, Any]:
        return copy_content(self.kind, self.record, self.details)


def copy_tables(tables: ImportTables, kind: CopyKind) -> tuple[Table, Table | None]:
    """The table a kind of copy is kept in, and the table of its details (a row's indexed
    values, a manifest's columns; a batch has none)."""
    if kind is CopyKind.BATCH:
        return tables.batches, None
    if kind is CopyKind.ROW:
        return tables.rows, tables.row_values
    return tables.manifests, tables.manifest_columns


def copy_content(kind: CopyKind, record: Row, details: Sequence[Row]) -> dict[str, Any]:
    """What two copies of one id are compared on: the record's fields, a row's cells one by
    one (``raw_values.<column>``, so a conflict names the cells that differ) and a manifest's
    columns one by one (``columns.<column>``: fate, target, kind, transform, confidence,
    notes). A row's indexed values follow from its cells and add nothing to compare."""
    found = {name: value for name, value in record.items() if name not in _POSITION}
    if kind is CopyKind.ROW:
        for column, value in json.loads(found.pop("raw_values")).items():
            found[f"raw_values.{column}"] = value
    if kind is CopyKind.MANIFEST:
        for column in details:
            found[f"columns.{column['source_column']}"] = {
                name: value
                for name, value in column.items()
                if name not in ("manifest_id", "source_column", "batch_id")
            }
    return found


def differences(stored: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Field -> [stored, incoming] for every field the two differ on (missing is None)."""
    return {
        name: [stored.get(name), incoming.get(name)]
        for name in sorted(set(stored) | set(incoming))
        if stored.get(name) != incoming.get(name)
    }


_POSITION = ("topic", "partition", "offset")


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, non-ASCII kept: the text ``row_content_sha256`` hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


# --- one function per family --------------------------------------------------------------


def batch_copy(batch: RawImportBatch, position: Position) -> ImportCopy:
    return ImportCopy(
        CopyKind.BATCH,
        batch.batch_id,
        batch.artifact_id,
        position,
        {
            "batch_id": batch.batch_id,
            "artifact_id": batch.artifact_id,
            "source_system": batch.source_system,
            "created_at_ms": epoch_ms(batch.created_at),
            "uploaded_filename": batch.uploaded_filename,
            "mime_type": batch.mime_type,
            "storage_ref": batch.storage_ref,
            "row_count": batch.row_count,
            "uploaded_by": batch.uploaded_by,
            "content_sha256": batch.content_sha256,
        },
    )


def row_copy(row: ImportRowRecord, position: Position) -> ImportCopy:
    values = [
        {
            "row_id": row.row_id,
            "source_column": column,
            "batch_id": row.batch_id,
            "row_number": row.row_number,
            "value": value,
        }
        for column, value in sorted(row.raw_values.items())
    ]
    return ImportCopy(
        CopyKind.ROW,
        row.row_id,
        row.artifact_id,
        position,
        {
            "row_id": row.row_id,
            "batch_id": row.batch_id,
            "row_number": row.row_number,
            "content_sha256": row.content_sha256,
            "artifact_id": row.artifact_id,
            "source_system": row.source_system,
            "created_at_ms": epoch_ms(row.created_at),
            "raw_values": canonical_json(dict(row.raw_values)),
        },
        tuple(values),
    )


def _target(target: TargetField) -> dict[str, str]:
    return {"entity_type": target.entity_type.value, "field_path": target.field_path}


def _note(note: ResolverNote) -> dict[str, Any]:
    return {
        "kind": note.kind.value,
        "note": note.note,
        "candidate_fields": [_target(t) for t in note.candidate_fields],
    }


def manifest_copy(manifest: ImportMappingManifest, position: Position) -> ImportCopy:
    """A manifest (already the latest major's model) with every source column's fate; the
    resolver's notes go on the column they name, the others on the manifest."""
    notes: dict[str | None, list[dict[str, Any]]] = {}
    for note in manifest.resolver_notes:
        notes.setdefault(note.column, []).append(_note(note))
    mapped = {m.source_column: m for m in manifest.column_mappings}
    ignored, unresolved = set(manifest.ignored_columns), set(manifest.unmapped_columns)
    columns: list[Row] = []
    for column in manifest.source_columns:
        found = mapped.get(column)
        fate = (
            ColumnFate.MAPPED
            if found is not None
            else ColumnFate.IGNORED
            if column in ignored
            else ColumnFate.UNRESOLVED
        )
        assert found is not None or column in ignored or column in unresolved  # contract rule
        columns.append(
            {
                "manifest_id": manifest.manifest_id,
                "source_column": column,
                "batch_id": manifest.batch_id,
                "fate": fate.value,
                "entity_type": found.target.entity_type.value if found else None,
                "field_path": found.target.field_path if found else None,
                "mapping_kind": found.mapping_kind.value if found else None,
                "transform": found.transform if found else None,
                "confidence": found.confidence if found else None,
                "notes": canonical_json(notes.get(column, [])),
            }
        )
    return ImportCopy(
        CopyKind.MANIFEST,
        manifest.manifest_id,
        manifest.artifact_id,
        position,
        {
            "manifest_id": manifest.manifest_id,
            "batch_id": manifest.batch_id,
            "artifact_id": manifest.artifact_id,
            "source_system": manifest.source_system,
            "created_at_ms": epoch_ms(manifest.created_at),
            "source_profile": manifest.source_profile,
            "schema_version": manifest.schema_version,
            "notes": canonical_json(notes.get(None, [])),
        },
        tuple(columns),
    )


_COPIES: dict[type[Artifact], Callable[[Any, Position], ImportCopy]] = {
    RawImportBatch: batch_copy,
    ImportRowRecord: row_copy,
    ImportMappingManifest: manifest_copy,
}
IMPORT_FAMILIES = tuple(model.FAMILY for model in _COPIES)


def import_copy(artifact: Artifact, position: Position) -> ImportCopy | None:
    """The copy an import artifact makes; None for any other family."""
    make = _COPIES.get(type(artifact))
    return make(artifact, position) if make is not None else None
