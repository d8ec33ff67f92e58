"""Writing import copies inside the caller's transaction: the earliest copy kept, the others
compared with it.

Batches, rows and manifests are immutable by id, so every consumed record is a copy of its id.
Of all the copies of an id read so far, the store keeps the one read at the earliest position
(topic, partition, offset); every other copy whose content differs from it is one conflict
row, keyed by its own position, with the fields it differs on; an equal copy is a duplicate
and leaves no row. That outcome depends only on which copies were read, not on the order: every
copy of a batch id is on one partition (the topics' key), where the earliest position is the
first read; copies of one row or manifest id on different partitions or topics may be read in
any order by a rebuild, and still end the same.

:func:`apply_copies` runs, for each kind (batch, row, manifest):

1. loads the stored kept copy of every id the batch names (one lookup per kind and chunk);
2. walks the copies in reading order: an id with no kept copy keeps this one; a copy at the
   kept copy's position is a redelivery; a later one is compared with the kept copy; an
   earlier one takes its place, and the copy it displaces is compared with it;
3. writes the new kept copies (with their details: indexed values, column fates) and the new
   conflicts; where a stored kept copy was displaced, its rows and details are replaced and the
   id's stored conflicts are worked out again against the new kept copy (each conflict keeps
   the content it was compared on).

The offsets go into the same transaction (the caller's), so a crash repeats a batch whole or
not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select

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
class _Seen:
    """A copy of an id as the comparison needs it: where it was read and its content (None
    until it is compared with another copy: most ids have one copy)."""

    position: Position
    artifact_id: str
    content: dict[str, Any] | None
    copy: ImportCopy | None = None  # None for a copy read in an earlier batch

    def compared(self) -> _Seen:
        """This copy with its content worked out."""
        if self.content is not None or self.copy is None:
            return self
        return _Seen(self.position, self.artifact_id, self.copy.content(), self.copy)


def _seen(copy: ImportCopy, *, compared: bool = True) -> _Seen:
    return _Seen(copy.position, copy.artifact_id, copy.content() if compared else None, copy)


def _stored(
    conn: Connection, tables: ImportTables, kind: CopyKind, refs: Sequence[str]
) -> dict[str, _Seen]:
    """The kept copy of each of ``refs`` that is stored, with its content."""
    table, details = copy_tables(tables, kind)
    key = table.primary_key.columns.values()[0]
    found: dict[str, _Seen] = {}
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
            content = copy_content(kind, dict(record), columns.get(ref, []))
            found[ref] = _Seen(position, str(record["artifact_id"]), content)
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


def _stored_conflicts(
    conn: Connection, tables: ImportTables, kind: CopyKind, refs: Sequence[str]
) -> dict[str, list[_Seen]]:
    """The stored conflicting copies of each of ``refs``."""
    c = tables.conflicts
    found: dict[str, list[_Seen]] = {}
    for part in chunks(refs):
        query = select(c).where(c.c.kind == kind.value, one_of(conn, c.c.ref, part))
        for row in conn.execute(query).mappings():
            position = (row["topic"], int(row["partition"]), int(row["offset"]))
            seen = _Seen(position, row["artifact_id"], json.loads(row["content"]))
            found.setdefault(row["ref"], []).append(seen)
    return found


def _conflict_row(kind: CopyKind, ref: str, kept: _Seen, other: _Seen) -> dict[str, Any] | None:
    """The conflict row of ``other`` against the kept copy; None when they are equal."""
    kept_content, other_content = kept.compared().content, other.compared().content
    assert kept_content is not None and other_content is not None
    found = differences(kept_content, other_content)
    if not found:
        return None
    topic, partition, offset = other.position
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "kind": kind.value,
        "ref": ref,
        "artifact_id": other.artifact_id,
        "differences": canonical_json(found),
        "content": canonical_json(other_content),
    }


def _apply_kind(
    conn: Connection, tables: ImportTables, kind: CopyKind, copies: Sequence[ImportCopy]
) -> CopyResult:
    result = CopyResult()
    stored = _stored(conn, tables, kind, sorted({c.ref for c in copies}))
    kept: dict[str, _Seen] = {}  # the id's kept copy where this batch changes it
    others: dict[str, dict[Position, _Seen]] = {}  # the batch's other copies, by id
    for copy in copies:
        held = kept.get(copy.ref) or stored.get(copy.ref)
        if held is None:
            kept[copy.ref] = _seen(copy, compared=False)
            result.kept += 1
            continue
        if held.position == copy.position:  # a redelivery of the kept copy itself
            result.duplicates += 1
            continue
        held = held.compared()
        if copy.position < held.position:  # an earlier copy: it is the one to keep
            kept[copy.ref] = _seen(copy)
            others.setdefault(copy.ref, {})[held.position] = held
        else:
            others.setdefault(copy.ref, {})[copy.position] = _seen(copy)
    displaced = sorted(ref for ref in kept if ref in stored)
    earlier = _stored_conflicts(conn, tables, kind, displaced)
    conflicts: list[dict[str, Any]] = []
    for ref, found in sorted(others.items()):
        final = kept.get(ref) or stored[ref]
        candidates = dict(found)
        for seen in earlier.get(ref, []):
            candidates.setdefault(seen.position, seen)
        for position, other in sorted(candidates.items()):
            if position == final.position:
                continue
            row = _conflict_row(kind, ref, final, other)
            if row is None:
                result.duplicates += position in found
            else:
                conflicts.append(row)
                result.conflicts += position in found
    _write(conn, tables, kind, [s.copy for s in kept.values() if s.copy], displaced)
    insert_ignore(conn, tables.conflicts, conflicts)
    return result


def _write(
    conn: Connection,
    tables: ImportTables,
    kind: CopyKind,
    keep: Sequence[ImportCopy],
    displaced: Sequence[str],
) -> None:
    """Store the kept copies with their details, first removing the displaced stored ones and
    their conflicts (worked out again by the caller)."""
    table, details = copy_tables(tables, kind)
    key = table.primary_key.columns.values()[0]
    c = tables.conflicts
    for part in chunks(displaced):
        conn.execute(delete(table).where(one_of(conn, key, part)))
        if details is not None:
            conn.execute(delete(details).where(one_of(conn, details.c[key.name], part)))
        conn.execute(delete(c).where(c.c.kind == kind.value, one_of(conn, c.c.ref, part)))
    insert_ignore(conn, table, [copy.stored_row() for copy in keep])
    if details is not None:
        insert_ignore(conn, details, [d for copy in keep for d in copy.details])
