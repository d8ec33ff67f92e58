"""The generic apply of a sink: a batch of Writes as upserts, inside the store's transaction.

consumers/sink/writes.py says what each mode and the children mean; this module does it with
one SELECT of the stored keys per table and mode, and bulk statements (storage.write_rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, delete, select

from consumers.sink.writes import STAMP, Key, Mode, Row, Upsert, Writes, key_names
from consumers.storage import chunks, insert_ignore, lww_upsert, one_of, replace_rows


def apply_writes(conn: Connection, batch: Sequence[Writes]) -> int:
    """Apply every upsert of ``batch`` (in order) in ``conn``'s transaction; returns how many
    upserts changed nothing (an older or repeated copy)."""
    groups: dict[tuple[Table, Mode], dict[Key, Upsert]] = {}
    total = 0
    for writes in batch:
        for upsert in writes.normalized():
            total += 1
            chosen = groups.setdefault((upsert.table, upsert.mode), {})
            key = upsert.key()
            held = chosen.get(key)
            if held is None or _beats(upsert, held):
                chosen[key] = upsert
    effective = 0
    for (table, mode), chosen in groups.items():
        winners, replaced = _winners(conn, table, mode, chosen)
        effective += len(winners)
        # Only the winners are written (one writer per store); the statements still guard
        # themselves (newer stamp, absent key) so they can never undo a newer row.
        _write(conn, table, mode, [chosen[key].row for key in winners])
        _replace_children(conn, table, [chosen[key] for key in winners], replaced)
    return total - effective


def _beats(incoming: Upsert, held: Upsert) -> bool:
    """Within one batch: does ``incoming`` displace the copy already chosen for its key?"""
    if incoming.mode is Mode.LWW:
        return bool(incoming.row[STAMP] > held.row[STAMP])
    return incoming.mode is Mode.REPLACE  # REPLACE: the later one; KEEP: the first one


def _winners(
    conn: Connection, table: Table, mode: Mode, chosen: dict[Key, Upsert]
) -> tuple[list[Key], list[Key]]:
    """The keys whose batch copy will change the stored row (sorted: a fixed lock order), and
    those of them that replace a stored row (whose owned rows must go first)."""
    if mode is Mode.REPLACE:
        everything = sorted(chosen)
        return everything, everything
    stored = _stored(conn, table, chosen.keys(), with_stamp=mode is Mode.LWW)
    if mode is Mode.KEEP:
        return sorted(key for key in chosen if key not in stored), []
    winners = sorted(
        key for key, u in chosen.items() if key not in stored or u.row[STAMP] > stored[key]
    )
    return winners, [key for key in winners if key in stored]


def _stored(
    conn: Connection, table: Table, keys: Iterable[Key], *, with_stamp: bool
) -> dict[Key, Any]:
    """Stored key -> stamp (None without ``with_stamp``) for those of ``keys`` present."""
    key_columns = [table.c[name] for name in key_names(table)]
    wanted = set(keys)
    found: dict[Key, Any] = {}
    selected = [*key_columns, table.c[STAMP]] if with_stamp else key_columns
    width = len(key_columns)
    for part in chunks(sorted({k[0] for k in wanted})):
        rows = conn.execute(select(*selected).where(_among(conn, key_columns[0], part)))
        for row in rows:
            key = tuple(row[:width])
            if key in wanted:
                found[key] = row[-1] if with_stamp else None
    return found


def _among(conn: Connection, column: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
    """``column IN values``: one array parameter for text keys (storage.one_of), a plain IN
    list for any other type."""
    if all(isinstance(value, str) for value in values):
        return one_of(conn, column, values)
    return column.in_(values)


def _write(conn: Connection, table: Table, mode: Mode, rows: list[Row]) -> None:
    if not rows:
        return
    shaped = _same_columns(rows)
    if mode is Mode.LWW:
        lww_upsert(conn, table, shaped)
    elif mode is Mode.REPLACE:
        replace_rows(conn, table, shaped)
    else:
        insert_ignore(conn, table, shaped)


def _same_columns(rows: Sequence[Row]) -> Sequence[Row]:
    """Rows with the union of their columns (a missing one is NULL): one statement needs one
    column list. Rows that already share theirs are passed as they are."""
    first = rows[0].keys()
    if all(row.keys() == first for row in rows):
        return rows
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return [{name: row.get(name) for name in names} for row in rows]


def _replace_children(
    conn: Connection, parent: Table, winners: Sequence[Upsert], replaced: Sequence[Key]
) -> None:
    """Delete the owned rows of the ``replaced`` parents, insert the winners' owned rows."""
    owning = [u for u in winners if u.children]
    if not owning:
        return
    names = key_names(parent)
    tables = {child for u in owning for child in u.children}
    for child in tables:
        if len(names) == 1:
            column = child.c[names[0]]
            for part in chunks(sorted({key[0] for key in replaced})):
                conn.execute(delete(child).where(_among(conn, column, part)))
        else:
            for key in replaced:
                match = [child.c[n] == v for n, v in zip(names, key, strict=True)]
                conn.execute(delete(child).where(and_(*match)))
        rows = [row for u in owning for row in u.children.get(child, ())]
        if rows:
            insert_ignore(conn, child, _same_columns(rows))
