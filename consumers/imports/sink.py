"""The imports consumer as a sink: its tables, its mapper and its own apply hook (earliest copy
kept, a different later copy recorded as a conflict: ``store.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from consumers.imports.copies import ImportCopy
from consumers.imports.mapper import ImportsMapper
from consumers.imports.store import apply_copies
from consumers.imports.tables import ImportTables, import_tables
from consumers.sink.parts import Sink
from consumers.sink.writes import Writes


class ImportsApplier:
    """The store's hook: the batch's copies, in reading order, through ``apply_copies``;
    returns how many changed nothing (identical copies and redeliveries)."""

    def __init__(self, tables: ImportTables) -> None:
        self.tables = tables

    def __call__(self, conn: Connection, batch: Sequence[Writes]) -> int:
        copies = [c for writes in batch for c in writes.extra if isinstance(c, ImportCopy)]
        return apply_copies(conn, self.tables, copies).duplicates


def imports_sink(table_prefix: str = "") -> Sink:
    tables = import_tables(table_prefix)
    return Sink(ImportsMapper(tables), tables, ImportsApplier(tables))
