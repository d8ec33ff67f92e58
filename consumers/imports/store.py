"""Writing import copies inside the caller's transaction: first copy kept, others compared.

:func:`apply_copies` runs, for each kind (batch, row, manifest), in this order:

1. loads the stored copy of every id the batch names (one lookup per kind and chunk);
2. walks the copies in the order they were read: an id with no stored copy is kept (its
   record and its details, the indexed values or the column fates, are written); a copy read
   at the kept copy's own position is a redelivery; one equal to the kept copy is a
   duplicate; any other becomes one conflict row keyed by its position, with the fields it
   differs on (so a redelivered conflict is not recorded twice).

The offsets go into the same transaction (the caller's), so a crash repeats a batch whole or
not at all. Nothing is ever updated: the kept copy is the first read, which for copies on one
partition (every copy of a batch id, the topics' key) is the first by offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from consumers.imports.copies import (
    CopyKind,
    ImportCopy,
    Position,
    canonical_json,
    copy_content,
    copy_tables,
    differences,
)
from consumers.imports.tables import ImportTables
from consumers.storage import chunks, insert_ignore, one_of


@dataclass
class CopyResult:
    kept: int = 0
    duplicates: int = 0  # identical copies and redeliveries
    conflicts: int = 0

    def add(self, other: CopyResult) -> None:
        self.kept += other.kept
        self.duplicates += other.duplicates
        self.conflicts += other.conflicts


@dataclass(frozen=True, slots=True)
class _Kept:
    position: Position
    content: dict[str, Any]


def _stored(
    conn: Connection, tables: ImportTables, kind: CopyKind, refs: Sequence[str]
) -> dict[str, _Kept]:
    """The kept copy of each of ``refs`` that is stored, with its content."""
    table, details = copy_tables(tables, kind)
    key = table.primary_key.columns.values()[0]
    found: dict[str, _Kept] = {}
    for part in chunks(refs):
        records = conn.execute(select(table).where(one_of(conn, key, part))).mappings().all()
        columns: dict[str, list[dict[str, Any]]] = {}
        if kind is CopyKind.MANIFEST and records:
            assert details is not None
            owners = [str(r[key.name]) for r in records]
            query = select(details).where(one_of(conn, details.c.manifest_id, owners))
            for column in conn.execute(query).mappings():
                columns.setdefault(column["manifest_id"], []).append(dict(column))
        for record in records:
            ref = str(record[key.name])
            position = (record["topic"], int(record["partition"]), int(record["offset"]))
            found[ref] = _Kept(position, copy_content(kind, dict(record), columns.get(ref, [])))
    return found


def apply_copies(
    conn: Connection, tables: ImportTables, copies: Sequence[ImportCopy]
) -> CopyResult:
    """Keep, skip or record as conflicts ``copies`` (steps 1-2 above), in ``conn``'s
    transaction."""
    result = CopyResult()
    for kind in CopyKind:
        mine = [c for c in copies if c.kind is kind]
        if mine:
            result.add(_apply_kind(conn, tables, kind, mine))
    return result


def _apply_kind(
    conn: Connection, tables: ImportTables, kind: CopyKind, copies: Sequence[ImportCopy]
) -> CopyResult:
    result = CopyResult()
    stored = _stored(conn, tables, kind, sorted({c.ref for c in copies}))
    fresh: dict[str, ImportCopy] = {}  # kept by this batch (content worked out only if asked)
    conflicts: list[dict[str, Any]] = []
    for copy in copies:
        held = fresh.get(copy.ref)
        known = stored.get(copy.ref) if held is None else _Kept(held.position, held.content())
        if known is None:
            fresh[copy.ref] = copy
            result.kept += 1
            continue
        if known.position == copy.position:  # a redelivery of the kept copy itself
            result.duplicates += 1
            continue
        found = differences(known.content, copy.content())
        if not found:
            result.duplicates += 1
            continue
        topic, partition, offset = copy.position
        conflicts.append(
            {
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "kind": kind.value,
                "ref": copy.ref,
                "artifact_id": copy.artifact_id,
                "differences": canonical_json(found),
            }
        )
        result.conflicts += 1
    table, details = copy_tables(tables, kind)
    insert_ignore(conn, table, [c.stored_row() for c in fresh.values()])
    if details is not None:
        insert_ignore(conn, details, [d for c in fresh.values() for d in c.details])
    insert_ignore(conn, tables.conflicts, conflicts)
    return result
